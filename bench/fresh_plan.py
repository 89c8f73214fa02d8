"""Benchmark: `make plan` on a fresh clone with empty caches, this checkout against a baseline ref.

Each run clones the ref into a new temporary folder and gives it empty download caches (uv's and
pip's, so every package and the rotation layer's wheels come from PyPI again), then times
`make plan` as a whole (set-up included). The two are run in turn, A B A B …, and reported as
medians and the ratio of medians.

    .venv/bin/python bench/fresh_plan.py --baseline b80d4c2 --runs 3

b80d4c2 is the last commit before the uv project (pip into a venv from requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_plan(ref: str) -> float:
    with tempfile.TemporaryDirectory(prefix="fresh-plan-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", ref], check=True)
        env = {**os.environ, "UV_CACHE_DIR": str(Path(tmp) / "uv-cache"), "PIP_NO_CACHE_DIR": "1",
               "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("VIRTUAL_ENV", None)
        start = time.perf_counter()
        result = subprocess.run(["make", "plan"], cwd=clone, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"make plan failed at {ref}:\n{result.stderr[-2000:]}")
        shutil.rmtree(clone, ignore_errors=True)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default="HEAD", help="the commit to measure (default: HEAD)")
    parser.add_argument("--baseline", default="b80d4c2", help="the commit to compare against")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {args.ref: [], args.baseline: []}
    for run in range(args.runs):
        for ref in (args.ref, args.baseline):
            times[ref].append(fresh_plan(ref))
            print(f"run {run + 1}: {ref:>10} {times[ref][-1]:6.1f} s", flush=True)
    current, baseline = statistics.median(times[args.ref]), statistics.median(times[args.baseline])
    print(f"median: {args.ref} {current:.1f} s, {args.baseline} {baseline:.1f} s, "
          f"ratio {current / baseline:.2f}x")


if __name__ == "__main__":
    main()
