"""Every mistake in tests/corpus/stack_mistakes.yaml, run through the real command line.

Each case must be refused with exit code 2 and a message that names the file (for stack files),
the key path or flag, and what was expected; never a traceback, an exception class name, or a
secret value (every secret value and ciphertext in the corpus contains `s3cr3t`; the plan's
stand-ins for secure values start with `secure-`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tooling.cli import main
from tooling.offline import PROJECT_DIR

CASES = yaml.safe_load((Path(__file__).parent / "corpus" / "stack_mistakes.yaml").read_text(encoding="utf-8"))
GOOD = ("config:\n  aws:region: us-east-1\n  app-secrets:deployerPrincipals: [arn:aws:iam::123456789012:role/ci]\n"
        "  app-secrets:secrets:\n    web: {type: random, environmentVariables: [A]}\n")
CLASS_NAME = re.compile(r"\b(Traceback|[A-Z][A-Za-z]*(Error|Exception)|InvalidConfig|RunError)\b")


def make_project(root: Path, case: dict) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    (root / "stacks" / "Pulumi.s.yaml").write_bytes(case["stack"].encode(case.get("encoding", "utf-8")))
    (root / "stacks" / "Pulumi.t.yaml").write_text(GOOD)
    if case.get("broken"):
        (root / "stacks" / "Pulumi.b.yaml").write_text(case["broken"])
    return root


def check_message(case: dict, code: int, text: str, project: Path) -> None:
    assert code == 2, (code, text)
    assert text.strip(), "no message"
    assert case["path"] in text, (case["path"], text)
    assert case["expect"] in text, (case["expect"], text)
    if case.get("file", True):
        # The broken file is named (the good Pulumi.t.yaml beside it never is the culprit).
        assert re.search(r"stacks/Pulumi\.(?!t\.yaml)[\w.-]+\.yaml", text), text
    found = CLASS_NAME.search(text)
    assert not found, (found and found.group(0), text)
    assert "s3cr3t" not in text and "secure-" not in text, text


def test_the_corpus_is_big_and_every_case_is_named_once():
    names = [case["name"] for case in CASES]
    assert len(names) >= 100 and len(set(names)) == len(names)
    assert all(case["path"] and case["expect"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_mistake_is_refused_clearly(case, tmp_path, capsys, monkeypatch):
    project = make_project(tmp_path, case)
    args = [a.replace("{project}", str(project)) for a in case.get("args", ["plan", "--stack", "s"])]
    if args[0] in ("plan", "validate") and "--project-dir" not in args:
        args += ["--project-dir", str(project)]
    if args[0] in ("env", "exec"):
        import tooling.offline
        monkeypatch.setattr(tooling.offline, "PROJECT_DIR", project)
    for name, value in (case.get("environ") or {}).items():
        monkeypatch.setenv(name, value)
    code = main(args)
    out, err = capsys.readouterr()
    text = out if case.get("stream") == "out" else err
    check_message(case, code, text, project)
    if case.get("stream") != "out":
        assert out == "", out
        assert all(line.startswith("error: ") for line in err.splitlines()), err


@pytest.mark.parametrize("name", ["unknown region us-east-9", "duplicate secret key", "tab indentation",
                                  "initialValue in plaintext", "flag typo", "existing stack shadowed by --template"])
def test_a_few_cases_as_real_processes(name, tmp_path):
    """The same through `python -m components`, as a person runs it: no traceback on stderr."""
    case = next(c for c in CASES if c["name"] == name)
    project = make_project(tmp_path, case)
    args = case.get("args", ["plan", "--stack", "s"])
    done = subprocess.run([sys.executable, "-m", "components", *args, "--project-dir", str(project)],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    check_message(case, done.returncode, done.stderr, project)
    assert done.stdout == ""


def test_validate_judges_each_stack_on_its_own(tmp_path, capsys):
    """Every broken stack of the corpus, then a good one, in one `validate` run: each broken one
    is reported with its own problem, and the good one is still ok."""
    root = tmp_path
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    stack_cases = [c for c in CASES if "args" not in c]
    for i, case in enumerate(stack_cases):
        (root / "stacks" / f"Pulumi.c{i:03d}.yaml").write_bytes(case["stack"].encode(case.get("encoding", "utf-8")))
    (root / "stacks" / "Pulumi.zz-good.yaml").write_text(GOOD)
    code = main(["validate", "--project-dir", str(root)])
    out = capsys.readouterr().out
    assert code == 2
    reports = re.split(r"^(?=\S)", out, flags=re.M)
    reports = [r for r in reports if r.strip()]
    assert len(reports) == len(stack_cases) + 1
    for case, report in zip(stack_cases, reports):
        assert report.splitlines()[0].endswith(": invalid"), (case["name"], report)
        assert case["path"] in report and case["expect"] in report, (case["name"], report)
    assert reports[-1].strip() == "zz-good: ok (9 resources, 1 secrets)"
