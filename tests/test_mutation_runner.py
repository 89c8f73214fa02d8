"""The mutation runner (mutation/run.py) can express the faults issue 19 lists: it drops an action
from a module-level action list, a Condition from a statement, a principal from a list; changes a
condition key; and cosmic-ray's operators move a boundary. The run itself is `make mutation`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def runner():
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def apply(code: str, old: str, new: str) -> str:
    assert code.count(old) == 1, old
    return code.replace(old, new)


def test_the_runner_makes_the_listed_policy_faults():
    run = runner()
    code = (ROOT / "components/app_secrets/policies.py").read_text(encoding="utf-8")
    made = {m.source for m in run.runner_mutants("policies.py", code)}
    assert apply(code, '"kms:GenerateDataKey*", "kms:ReEncrypt*"]', '"kms:GenerateDataKey*"]') in made
    assert apply(code, '''Action=use_actions, Resource="*",
                             Condition=use_via)
    statements += _allow("AllowRead"''', '''Action=use_actions, Resource="*")
    statements += _allow("AllowRead"''') in made
    assert apply(code, '"kms:ViaService": one_or_many(', '\'XXkms:ViaService\': one_or_many(') in made
    # Messages are not data: no fault changes a sentence.
    assert not any("XXKey administrators" in m.after for m in run.runner_mutants("policies.py", code))


def test_cosmic_ray_operators_cover_boundaries_and_module_level_code():
    run = runner()
    code = "LIMIT = 5\n\ndef f(s):\n    return s.count(':') >= LIMIT\n"
    made = {m.source for m in run.cosmic_ray_mutants("x.py", code)}
    assert code.replace(">=", ">") in made
    assert code.replace("LIMIT = 5", "LIMIT = 6") in made
    assert all(run._compiles(source) for source in made)
