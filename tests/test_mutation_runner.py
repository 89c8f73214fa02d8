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


def test_dropping_from_a_pair_leaves_a_tuple():
    """`x in (a, b)` less one element is `x in (b,)`: `(b)` would be a string and `in` a substring test."""
    run = runner()
    code = "def f(x, a, b):\n    return x in (a, b)\n"
    made = {m.source for m in run.runner_mutants("x.py", code) if m.operator == "runner drop element"}
    assert made == {code.replace("(a, b)", "(b,)"), code.replace("(a, b)", "(a,)")}


def test_cosmic_ray_operators_cover_boundaries_and_module_level_code():
    run = runner()
    code = "LIMIT = 5\n\ndef f(s):\n    return s.count(':') >= LIMIT\n"
    made = {m.source for m in run.cosmic_ray_mutants("x.py", code)}
    assert code.replace(">=", ">") in made
    assert code.replace("LIMIT = 5", "LIMIT = 6") in made
    assert all(run._compiles(source) for source in made)


TARGET = '''def at_import():
    return 1


def in_module_fixture():
    return 2


def in_a_test():
    return 3


def in_a_subprocess():
    return 4
'''

TESTS = {
    "test_import.py": "import target\nVALUE = target.at_import()\n\n\ndef test_value():\n    assert VALUE == 1\n\n\n"
                      "def test_unrelated():\n    pass\n",
    "test_fixture.py": "import pytest\nimport target\n\n\n@pytest.fixture(scope='module')\ndef made():\n"
                       "    return target.in_module_fixture()\n\n\ndef test_first(made):\n    assert made == 2\n\n\n"
                       "def test_second():\n    assert target.in_a_test() == 3\n",
    # The child runs the scratch virtualenv's python without PYTHONPATH, as the engine runs a plugin.
    "test_child.py": "import os, subprocess, sys\nfrom pathlib import Path\n\n\ndef test_child():\n"
                     "    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}\n"
                     "    python = Path(__file__).resolve().parent.parent / '.venv' / 'bin' / 'python'\n"
                     "    code = 'import target; assert target.in_a_subprocess() == 4'\n"
                     "    subprocess.run([str(python), '-c', code], env=env, check=True)\n",
}


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan stays one until init reaps it)."""
    import time

    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_a_line_selects_the_tests_that_run_it_at_import_in_fixtures_and_in_processes_they_start(tmp_path):
    """Lines run at a test file's import or in a module fixture select that file; a line run in a
    process a test starts (with the scratch copy's own virtualenv, no PYTHONPATH) selects that test."""
    import shutil

    run = runner()
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "target.py").write_text(TARGET, encoding="utf-8")
    (tmp_path / "mutation").mkdir()
    shutil.copy(ROOT / "mutation" / "contexts.py", tmp_path / "mutation" / "contexts.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    for name, text in TESTS.items():
        (tmp_path / "tests" / name).write_text(text, encoding="utf-8")
    run._overlay_virtualenv(tmp_path)
    tests = [f"tests/{name}" for name in TESTS]
    by_line, _, durations = run.covering_tests(tmp_path, "components/target.py", tests)
    line = {name: TARGET.splitlines().index(f"def {name}():") + 2 for name in
            ("at_import", "in_module_fixture", "in_a_test", "in_a_subprocess")}
    assert by_line[line["at_import"]] == {"tests/test_import.py"}
    assert by_line[line["in_module_fixture"]] == {"tests/test_fixture.py"}
    assert by_line[line["in_a_test"]] == {"tests/test_fixture.py::test_second"}
    assert by_line[line["in_a_subprocess"]] == {"tests/test_child.py::test_child"}
    assert set(durations) >= {"tests/test_child.py::test_child", "tests/test_import.py"}   # quickest tried first

    # A fault that breaks a test file's import is caught (pytest exits 2), not an error of the run.
    (tmp_path / "components" / "target.py").write_text(TARGET.replace("return 1", "raise KeyError('x')"))
    assert run.run_tests(tmp_path, ["tests/test_import.py"], timeout=60)[0] == "caught"
    # A fault that hangs: the tests and every process they started are stopped.
    (tmp_path / "tests" / "test_hang.py").write_text(
        "import subprocess, sys, time\n\n\ndef test_hang(tmp_path):\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "    (tmp_path.parent.parent / 'child.pid').write_text(str(child.pid))\n    time.sleep(600)\n")
    import tempfile

    base = Path(tempfile.mkdtemp())
    try:
        env_dir = f"--basetemp={base / 'bt'}"
        assert run.run_tests(tmp_path, ["tests/test_hang.py", env_dir], timeout=5)[0] == "timeout"
        pid = int((base / "child.pid").read_text())
        assert not _running(pid)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_each_equivalent_fault_named_is_one_the_runner_makes():
    """A stale entry (its line rewritten) would excuse nothing, but would claim a fault that no longer exists."""
    run = runner()
    from equivalent import EQUIVALENT   # mutation/ is on sys.path once run.py is loaded

    faults: dict[str, list] = {}   # made once per module (a large module takes seconds)
    for module, operator, before, after, why in EQUIVALENT:
        code = (ROOT / module).read_text(encoding="utf-8")
        if module not in faults:
            faults[module] = run.all_mutants(module, code)
        first = before.split(" / ")[0]
        lines = {n for n, text in enumerate(code.splitlines(), 1) if text.strip() == first}
        assert lines, (module, first)
        # Only faults near those lines are made (cosmic-ray re-parses the module for each one).
        made = [m for m in faults[module]
                if m.operator == operator and any(abs(m.line - n) <= 3 for n in lines)]
        assert any(m.materialize(code) and (m.before, m.after) == (before, after) for m in made), (module, before)
        assert why
