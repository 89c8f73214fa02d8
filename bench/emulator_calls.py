"""Benchmark: what one Secrets Manager call costs against moto, and whether two calls overlap.

    .venv/bin/python bench/emulator_calls.py [--calls N] [--emulator process|thread]

Times N sequential describe_secret calls (wall and client CPU per call), then N pairs issued at
once (one on a worker thread, one on the caller's) against the same emulator. If the pair takes
about one call's time, the emulator serves requests in parallel; about two calls' time, in turn.
This is why the rotation handler's guard overlap helps less against moto than against AWS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "rotation"))

import servers  # noqa: E402  (tests/rotation/servers.py)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--emulator", choices=["process", "thread"], default="process")
    args = parser.parse_args(argv)

    import boto3

    with servers.secrets_manager_emulator(args.emulator) as (_, endpoint):
        client = boto3.client("secretsmanager", endpoint_url=endpoint)
        client.create_secret(Name="bench-calls", SecretString=json.dumps({"A": "1"}))
        for _ in range(5):
            client.describe_secret(SecretId="bench-calls")

        walls, cpus = [], []
        for _ in range(args.calls):
            wall, cpu = time.perf_counter(), time.process_time()
            client.describe_secret(SecretId="bench-calls")
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        pairs = []
        with ThreadPoolExecutor(max_workers=1) as worker:
            for _ in range(args.calls):
                wall = time.perf_counter()
                other = worker.submit(client.describe_secret, SecretId="bench-calls")
                client.describe_secret(SecretId="bench-calls")
                other.result()
                pairs.append(time.perf_counter() - wall)

    one, pair = statistics.median(walls), statistics.median(pairs)
    print(f"moto in {'its own process' if args.emulator == 'process' else 'this process (thread)'}, "
          f"{args.calls} samples, medians:")
    print(f"  one describe_secret: {one * 1000:.1f} ms wall, {statistics.median(cpus) * 1000:.1f} ms client CPU")
    print(f"  two at once:         {pair * 1000:.1f} ms wall = {pair / one:.2f}x one call "
          f"(1.0x: fully parallel, 2.0x: one after the other)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
