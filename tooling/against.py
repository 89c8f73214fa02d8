"""`plan --against REF`: the plan a stack had at REF, to diff with the plan of the working tree.

REF is either a file saved with `plan --json`, or a git ref (commit, branch, tag). For a ref,
the project is exported with `git archive` into a temporary folder and planned there offline,
with that checkout's own code and stack files, run by this interpreter (this venv): its
`components/app_secrets` (or, before the layout move, its `components/`) comes first on the
path. Every commit since the offline plan exists (`python -m components plan --json`) works;
a REF without it, or whose code cannot plan the stack, is reported in one line (exit 2); a
stack file missing at REF means everything is a create.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional


class AgainstError(Exception):
    """Bad REF (exit 2). str() is one line."""


class AgainstFailed(Exception):
    """The plan at REF could not be made (exit 1). str() is one line."""


def _git(project_dir: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=not binary)


def load_plan_file(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise AgainstError(f"{path}: not a plan document ({error})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise AgainstError(f"{path}: not a plan document (expected the JSON of `plan --json`)")
    return doc


def empty_plan(stack: str) -> dict[str, Any]:
    return {"stack": stack, "resources": [], "secrets": [], "summary": {"total": 0, "byType": {}}}


def plan_at_ref(ref: str, stack: str, *, template: Optional[str], project_dir: Path) -> dict[str, Any]:
    """The plan JSON of `stack` as the project was at git `ref`."""
    commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise AgainstError(f"--against {ref}: neither a plan file nor a git ref of {project_dir}")
    sha = commit.stdout.strip()
    top = _git(project_dir, "rev-parse", "--show-toplevel").stdout.strip()
    prefix = _git(project_dir, "rev-parse", "--show-prefix").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="app-secrets-against-") as tmp:
        archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", sha], capture_output=True)
        if archive.returncode != 0:
            raise AgainstFailed(f"--against {ref}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        root = Path(tmp) / prefix
        if not (root / "components" / "__main__.py").is_file():
            raise AgainstError(f"--against {ref}: that commit has no offline plan (`python -m components plan`); "
                               "use a later commit or a file saved with `plan --json`")
        stack_file = _stack_file(root, template or stack)
        if stack_file is not None and not stack_file.is_file():
            return empty_plan(stack)  # the stack did not exist yet: everything is a create
        build = project_dir / "build"
        if build.is_dir():
            (root / "build").symlink_to(build.resolve(), target_is_directory=True)  # reuse built layers
        env = dict(os.environ)
        # After the layout move the library is components/app_secrets (import name app_secrets);
        # before it, components/ was a plain package (whose packaging.py must not shadow PyPI's).
        library = [str(root / "components")] if (root / "components" / "app_secrets").is_dir() else []
        env["PYTHONPATH"] = os.pathsep.join([*library, str(root)])
        env["APP_SECRETS_BUILD_DIR"] = str(build.resolve()) if build.is_dir() else str(root / "build")
        command = [sys.executable, "-m", "components", "plan", "--stack", stack, "--json"]
        if template:
            command += ["--template", template]
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            # That commit's own code could not plan the stack (a broken commit, a stack file it
            # refuses, a library it imports that this venv lacks): a REF this command cannot
            # use, said in one line without the child's traceback or exception class.
            raise AgainstError(f"--against {ref}: the code at {sha[:12]} cannot plan stack {stack} "
                               f"({child_problem(result.stderr.replace(str(root) + os.sep, ''))}); use another commit or a file saved with "
                               "`plan --json`")
        try:
            doc = json.loads(result.stdout)
        except ValueError:
            raise AgainstError(f"--against {ref}: the plan at {sha[:12]} is not JSON; use another commit "
                               "or a file saved with `plan --json`") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
            raise AgainstError(f"--against {ref}: the plan at {sha[:12]} is not a plan document")
        return doc


_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit)\b:?\s*")


def child_problem(stderr: str) -> str:
    """The last meaningful line a failed child plan printed, without `error:`, `stack X:` and
    exception class prefixes (`ImportError: ...`). Pure."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "it printed nothing"
    while True:
        stripped = re.sub(r"^(?:error:\s*|stack [\w.-]+:\s*)", "", last)
        stripped = _EXCEPTION_PREFIX.sub("", stripped)
        if stripped == last:
            break
        last = stripped
    return last[:300] or "no message"


def _stack_file(root: Path, stack: str) -> Optional[Path]:
    """Where that checkout keeps the stack's file (its own Pulumi.yaml's stackConfigDir)."""
    from stack_program.project import StackFileError, load_project

    try:
        return load_project(root).stack_config_dir / f"Pulumi.{stack}.yaml"
    except StackFileError:
        return None


def load_against(ref: str, stack: str, *, template: Optional[str], project_dir: Path) -> tuple[dict[str, Any], str]:
    """(plan document, label) for REF: a plan file if such a file exists, else a git ref."""
    from .urns import to_engine_form

    path = Path(ref)
    if path.is_file():
        doc, label = load_plan_file(path), str(path)
    elif shutil.which("git") is None:
        raise AgainstError(f"--against {ref}: no such file, and git is not installed")
    else:
        doc, label = plan_at_ref(ref, stack, template=template, project_dir=project_dir), ref
    # Plans made before the offline URNs took the engine's form (whole parent type chain).
    return {**doc, "resources": to_engine_form(doc["resources"])}, label
