"""The plan benchmark's generated stack must stay a valid stack (a new config rule once made it
refuse every generated secret, and the benchmark stopped with a traceback)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "plan_scale.py"


def test_plan_benchmark_programs_run_on_a_small_stack():
    spec = importlib.util.spec_from_file_location("plan_scale", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    components = bench.execute("app-secrets", bench.stack_config(6))
    secrets = [r for r in components.registrations if r.type == "aws:secretsmanager/secret:Secret"]
    assert len(secrets) == 6
    raw = bench.execute("app-secrets", bench.stack_config(6), program=bench.baseline_program(6))
    assert len([r for r in raw.registrations if r.type == "aws:secretsmanager/secret:Secret"]) == 6
