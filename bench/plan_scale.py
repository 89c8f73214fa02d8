"""Benchmark: offline plan of a generated stack with N secrets, components vs raw resources.

For each N, in one process and interleaved (A B A B ...):
  A: the real program (config parsing + validation + components) for a generated stack config;
  B: a baseline program registering the same raw pulumi-aws / pulumi-random resources directly
     (same names, same inputs shape, policies built inline) under the same mocks.
Prints the median seconds of each, the overhead ratio A/B, and how time grows from N to 2N.

    .venv/bin/python bench/plan_scale.py [--sizes 100 1000 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402
import pulumi_random as random  # noqa: E402

from app_secrets.key_merge import KmsKeyGuard, SecretKeys  # noqa: E402
from tooling.offline import StackConfig, execute  # noqa: E402

KINDS = ("random", "user-managed", "secret")


def generated_config(n: int) -> tuple[dict, set[str]]:
    """N secrets, a third of each kind; `secret` kinds hold secure (placeholder) values."""
    secrets, sensitive = {}, set()
    for i in range(n):
        kind = KINDS[i % 3]
        name = f"app-{i:05d}"
        variable = f"TOKEN_{i:05d}"   # one variable per secret: the config refuses two secrets giving the same one
        if kind == "secret":
            value = f"secure-bench-{i:05d}"
            sensitive.add(value)
            secrets[name] = {"type": "secret", "initialValue": {variable: value}}
        else:
            secrets[name] = {"type": kind, "environmentVariables": [variable]}
    return {"aws:region": "us-east-1", "app-secrets:secrets": secrets}, sensitive


def stack_config(n: int) -> StackConfig:
    values, sensitive = generated_config(n)
    values = {**values, "app-secrets:deployerPrincipals": ["arn:aws:iam::000000000000:role/bench-deployer"]}
    return StackConfig(stack="bench", path=Path("<bench>"), values=values,
                       secret_keys={"app-secrets:secrets"}, sensitive=sensitive)


def baseline_program(n: int):
    """The same resources, registered directly: no components, no validation."""
    values, _ = generated_config(n)

    def program():
        identity = aws.get_caller_identity_output()
        region = aws.get_region_output()
        root = identity.account_id.apply(lambda a: f"arn:aws:iam::{a}:root")
        for name, spec in values["app-secrets:secrets"].items():
            key = aws.kms.Key(name, description=name, enable_key_rotation=True, deletion_window_in_days=30,
                              policy=pulumi.Output.all(root, region.region).apply(lambda a: json.dumps({
                                  "Version": "2012-10-17", "Statement": [
                                      {"Sid": "AllowAdmin", "Effect": "Allow", "Principal": {"AWS": a[0]},
                                       "NotAction": ["kms:Decrypt"], "Resource": "*"},
                                      {"Sid": "AllowRead", "Effect": "Allow", "Principal": {"AWS": a[0]},
                                       "Action": ["kms:Decrypt"], "Resource": "*",
                                       "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{a[1]}.amazonaws.com"}}}]})))
            aws.kms.Alias(name, name=f"alias/{name}", target_key_id=key.key_id)
            guard = KmsKeyGuard(name, secret_name=name, kms_key_id=key.arn)
            secret = aws.secretsmanager.Secret(name, name=name, kms_key_id=key.arn, recovery_window_in_days=30,
                                               opts=pulumi.ResourceOptions(depends_on=[guard]))
            aws.secretsmanager.SecretPolicy(name, secret_arn=secret.arn, block_public_policy=True,
                                            policy=root.apply(lambda r: json.dumps({
                                                "Version": "2012-10-17", "Statement": [
                                                    {"Sid": "AllowRead", "Effect": "Allow", "Principal": {"AWS": r},
                                                     "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}]})))
            variable = next(iter(spec["initialValue"])) if spec["type"] == "secret" else spec["environmentVariables"][0]
            if spec["type"] == "random":
                value = random.RandomPassword(f"{name}-{variable.lower()}", length=32, special=False).result
            elif spec["type"] == "secret":
                value = pulumi.Output.secret(spec["initialValue"][variable])
            else:
                value = ""
            version = aws.secretsmanager.SecretVersion(
                name, secret_id=secret.id,
                secret_string=pulumi.Output.secret(pulumi.Output.from_input(value).apply(
                    lambda v, variable=variable: json.dumps({variable: v}))),
                version_stages=["AWSCURRENT", "APP_SECRETS_INITIAL"],
                opts=pulumi.ResourceOptions(ignore_changes=["secretString", "versionStages"]))
            # The two dynamic resources of a Secret (key guard, key merge), registered directly.
            SecretKeys(name, secret_id=secret.arn, key_names=[variable], values={variable: value},
                       region=region.region, opts=pulumi.ResourceOptions(depends_on=[version]))
    return program


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    run = fn()
    return time.perf_counter() - start, len(run.registrations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        comp, raw = [], []
        counts = None
        for _ in range(args.repeat):
            t_comp, n_comp = timed(lambda: execute("app-secrets", stack_config(n)))
            t_raw, n_raw = timed(lambda: execute("app-secrets", stack_config(n), program=baseline_program(n)))
            comp.append(t_comp)
            raw.append(t_raw)
            counts = (n_comp, n_raw)
        results[n] = (statistics.median(comp), statistics.median(raw), counts)
        c, r, (nc, nr) = results[n]
        print(f"N={n:5d}  components {c:7.2f} s ({nc} registrations)  raw {r:7.2f} s ({nr} registrations)  "
              f"overhead {c / r:4.2f}x  per secret {1000 * c / n:5.2f} ms vs {1000 * r / n:5.2f} ms", flush=True)
    sizes = sorted(results)
    for small, large in zip(sizes, sizes[1:]):
        growth_c = results[large][0] / results[small][0]
        growth_r = results[large][1] / results[small][1]
        print(f"growth N={small} -> N={large} ({large / small:.1f}x secrets): components {growth_c:.2f}x, raw {growth_r:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
