"""`make mutation`: put one small fault at a time into the modules that carry the security and rotation
claims, run the tests that cover that module, and report how many faults the tests catch.

Operators come from two places:
- cosmic-ray (8.7, a maintained mutation tool whose operators work on parso trees of the whole
  module, module level included): comparisons, boolean constants and connectives, `not` added or
  removed, numbers, break/continue, loops that never run, exception types;
- this runner, for what cosmic-ray has no operator for: an element dropped from a list, tuple, set
  or dict display (an action from an action list, a condition from a statement, a choice from a
  schema), a keyword argument dropped from a call (`Condition=` of a statement), and a string
  constant changed where it is data (module-level constants, dict keys and values, collection
  elements: actions, condition keys, patterns; not messages, i.e. strings with a space).

Each fault is applied to a scratch copy of the repository (never to the work tree: a run that is
stopped leaves nothing behind), and tests run there with `-x` in a fresh interpreter: those that
execute the mutated statement, or the whole list for module- and class-level code (it runs at
import). Which tests execute a line comes from one run of the module's test list under coverage.py,
with contexts named by mutation/contexts.py: a test's phases and fixtures, the import of a test file,
and every Python process a test starts (the scratch copy has its own `.venv` that imports the
mutated module first, so a dynamic provider process launched as the engine launches it runs the
fault too). A fault that survives them is run against the module's whole list before it counts as
survived.
A fault is caught when the tests fail (or hang past the timeout). The faults are shuffled with a
fixed seed and run until the time budget of the module is spent, so two runs with the same budget
and seed try the same faults first (that is how before and after are compared).

Usage: python mutation/run.py [--seconds N] [--modules substr,...] [--rev GIT-REV] [--label NAME]
--rev takes the tests (and modules) from a commit instead of the work tree: the "before" run.
Results: build/mutation/<label>.json and .md (per module caught/run/total, the surviving faults,
the tests run).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from equivalent import why_equivalent  # noqa: E402  (mutation/equivalent.py)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

# Module -> the tests that cover it, most specific first (-x stops at the first failure). Only
# tests of behaviour: the JSON-schema snapshot (tests/test_stack_schema.py) is left out on purpose.
MODULES: dict[str, list[str]] = {
    "components/app_secrets/policies.py": [
        "tests/test_access_faults.py", "tests/test_operator_denials.py", "tests/test_review_boundary.py",
        "tests/test_access_abilities.py", "tests/test_access_matrix.py", "tests/test_access.py",
        "tests/test_components.py", "tests/test_rds_component.py", "tests/test_login_component.py",
        "tests/test_policy_summary.py"],
    "tooling/access.py": [
        "tests/test_access.py", "tests/test_access_rules.py", "tests/test_access_faults.py",
        "tests/test_operator_denials.py", "tests/test_review_boundary.py", "tests/test_access_abilities.py",
        "tests/test_access_matrix.py"],
    "stack_program/config.py": [
        "tests/test_config.py", "tests/test_config_boundaries.py", "tests/test_stack_checks.py", "tests/test_stacks.py",
        "tests/test_day2.py", "tests/test_login_component.py", "tests/test_rotation_alerts.py", "tests/test_corpus.py"],
    "stack_program/schema.py": [
        "tests/test_schema_specs.py", "tests/test_config.py", "tests/test_config_boundaries.py", "tests/test_stack_checks.py",
        "tests/test_stacks.py", "tests/test_corpus.py"],
    "components/app_secrets/key_merge.py": [
        "tests/test_key_merge_providers.py", "tests/test_dynamic_provider_process.py", "tests/test_day2.py"],
    "rotation/postgres_admin/rotation_secret.py": [
        "tests/rotation/test_rotation_secret.py", "tests/rotation/test_login_format.py",
        "tests/rotation/test_handler_settings.py",
        "tests/rotation/test_hostile_pending.py", "tests/rotation/test_rotation_handler.py",
        "tests/rotation/test_rotation_login.py", "tests/rotation/test_rotation_tls.py"],
    "rotation/postgres_admin/lambda_function.py": [
        "tests/rotation/test_handler_settings.py", "tests/rotation/test_hostile_pending.py",
        "tests/rotation/test_handler_logs.py", "tests/rotation/test_rotation_handler.py",
        "tests/rotation/test_rotation_login.py", "tests/rotation/test_rotation_tls.py",
        "tests/rotation/test_rotation_operations.py"],
}

# cosmic-ray operators used (core/<name>): one swap per comparison towards its boundary or its
# negation, rather than all 56 pairings; binary arithmetic is left out (strings and paths here:
# `+` to `-` only raises TypeError, which says nothing about the tests).
COSMIC_RAY_OPERATORS = [
    "ReplaceComparisonOperator_Eq_NotEq", "ReplaceComparisonOperator_NotEq_Eq",
    "ReplaceComparisonOperator_Lt_LtE", "ReplaceComparisonOperator_LtE_Lt",
    "ReplaceComparisonOperator_Gt_GtE", "ReplaceComparisonOperator_GtE_Gt",
    "ReplaceComparisonOperator_Is_IsNot", "ReplaceComparisonOperator_IsNot_Is",
    "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceAndWithOr", "ReplaceOrWithAnd",
    "AddNot", "ReplaceUnaryOperator_Delete_Not", "NumberReplacer",
    "ReplaceBreakWithContinue", "ReplaceContinueWithBreak", "ZeroIterationForLoop",
]


@dataclass
class Mutant:
    module: str
    operator: str
    line: int
    before: str = ""
    after: str = ""
    source: str = ""
    outcome: str = ""   # caught | survived | timeout (caught); empty: not run
    seconds: float = 0.0
    occurrence: int = -1   # cosmic-ray's occurrence of the operator; the source is made when it runs

    def materialize(self, code: str) -> bool:
        """Make the mutated source (cosmic-ray re-parses the module for each fault: done only for the
        faults that run). False when the operator makes no change there."""
        if not self.source:
            from cosmic_ray.mutating import mutate_code
            from cosmic_ray.plugins import get_operator

            name = self.operator.split(" ", 1)[1]
            mutated = mutate_code(code, get_operator(f"core/{name}")(), self.occurrence)
            if mutated is None or mutated == code:
                return False
            self.source = mutated
        self.line, self.before, self.after = _diff_lines(code, self.source)
        return True


# --------------------------------------------------------------------------- generating faults

def _diff_lines(code: str, mutated: str) -> tuple[int, str, str]:
    old, new = code.splitlines(), mutated.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            return i1 + 1, " / ".join(s.strip() for s in old[i1:i2])[:160], " / ".join(s.strip() for s in new[j1:j2])[:160]
    return 0, "", ""


def cosmic_ray_mutants(module: str, code: str, materialize: bool = True):
    """One fault per (operator, occurrence), found with one parse of the module."""
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.plugins import get_operator

    nodes = list(ast_nodes(get_ast(code)))
    for name in COSMIC_RAY_OPERATORS:
        operator = get_operator(f"core/{name}")()
        positions = [start for node in nodes for start, _ in operator.mutation_positions(node)]
        for occurrence, (line, _) in enumerate(positions):
            mutant = Mutant(module, f"cosmic-ray {name}", line, occurrence=occurrence)
            if not materialize or mutant.materialize(code):
                yield mutant


def _offsets(code: str) -> list[int]:
    starts, total = [], 0
    for line in code.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    return starts


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside annotations (never evaluated here: `from __future__ import annotations`) and
    docstrings, which no fault should touch."""
    skip: set[int] = set()
    roots = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            roots.append(node.returns)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            roots.append(node.body[0].value)
    for root in roots:
        skip.update(id(n) for n in ast.walk(root))
    return skip


def _compiles(code: str) -> bool:
    try:
        compile(code, "<mutant>", "exec")
        return True
    except SyntaxError:
        return False


def runner_mutants(module: str, code: str):
    """The faults cosmic-ray has no operator for (see the module docstring)."""
    tree = ast.parse(code)
    starts = _offsets(code)
    pos = lambda line, col: starts[line - 1] + col  # noqa: E731  (ast columns are characters here)
    span = lambda n: (pos(n.lineno, n.col_offset), pos(n.end_lineno, n.end_col_offset))  # noqa: E731
    skip = _annotation_nodes(tree)
    edits: list[tuple[str, int, int, str]] = []   # (operator, start, end, replacement)

    def drop_each(name: str, items: list[tuple[int, int]]) -> None:
        for i, (a, b) in enumerate(items):
            if i + 1 < len(items):
                edits.append((name, a, items[i + 1][0], ""))
            elif i > 0:
                edits.append((name, items[i - 1][1], b, ""))
            else:
                edits.append((name, a, b, ""))

    data_strings: list[ast.Constant] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, (ast.List, ast.Set)) or (isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load)):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2 and not _is_bare_tuple(code, node, span):
                # Stay a tuple: `(a, b)` less one is `(b,)`, not `(b)` (a string, where `in` would test substrings).
                (a0, b0), (a1, b1) = span(node.elts[0]), span(node.elts[1])
                edits.append(("drop element", a0, b1, code[a1:b1] + ","))
                edits.append(("drop element", a0, b1, code[a0:b0] + ","))
            elif node.elts and not (isinstance(node, ast.Tuple) and node.col_offset == node.elts[0].col_offset
                                    and node.lineno == node.elts[0].lineno and len(node.elts) > 1
                                    and _is_bare_tuple(code, node, span)):
                drop_each("drop element", [span(e) for e in node.elts])
            data_strings += [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        elif isinstance(node, ast.Dict) and node.keys:
            items = []
            for key, value in zip(node.keys, node.values):
                start = span(key)[0] if key is not None else span(value)[0] - 2  # **mapping
                items.append((start, span(value)[1]))
                data_strings += [v for v in (key, value) if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            drop_each("drop dict entry", items)
        elif isinstance(node, ast.Call) and node.keywords:
            parts = sorted([span(a) for a in node.args] + [
                (span(k.value)[0] - len(k.arg) - 1, span(k.value)[1]) if k.arg else (span(k.value)[0] - 2, span(k.value)[1])
                for k in node.keywords])
            keyword_spans = {(span(k.value)[0] - len(k.arg) - 1, span(k.value)[1]) for k in node.keywords if k.arg}
            for i, (a, b) in enumerate(parts):
                if (a, b) not in keyword_spans:
                    continue
                if i > 0:
                    edits.append(("drop keyword argument", parts[i - 1][1], b, ""))
                elif i + 1 < len(parts):
                    edits.append(("drop keyword argument", a, parts[i + 1][0], ""))
                else:
                    edits.append(("drop keyword argument", a, b, ""))
    for statement in tree.body:   # module-level constants
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            data_strings += [n for n in ast.walk(statement.value)
                             if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]
    seen: set[int] = set()
    for constant in data_strings:
        # Messages (anything with a space) are text for people; the data strings are names, keys, patterns.
        if id(constant) in seen or id(constant) in skip or not constant.value or " " in constant.value:
            continue
        seen.add(id(constant))
        a, b = span(constant)
        if code[a] not in "'\"rRbBuU":   # part of an f-string
            continue
        edits.append(("change string", a, b, repr("XX" + constant.value)))

    for name, a, b, replacement in edits:
        mutated = code[:a] + replacement + code[b:]
        if mutated == code or not _compiles(mutated):
            continue
        yield Mutant(module, f"runner {name}", code.count("\n", 0, a) + 1, source=mutated)


def _is_bare_tuple(code: str, node: ast.Tuple, span) -> bool:
    a, _ = span(node)
    return code[a] != "("


def all_mutants(module: str, code: str) -> list[Mutant]:
    """Every fault of the module; cosmic-ray's are made only when they run (see Mutant.materialize)."""
    return [*cosmic_ray_mutants(module, code, materialize=False), *runner_mutants(module, code)]


# --------------------------------------------------------------------------- running them

def scratch_copy(rev: str | None) -> Path:
    target = Path(tempfile.mkdtemp(prefix="app-secrets-mutation-")).resolve()   # coverage records real paths
    try:
        _fill_scratch(target, rev)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def _fill_scratch(target: Path, rev: str | None) -> None:
    if rev:
        archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target)
    else:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout.split("\0")
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    if (ROOT / "build").is_dir():   # PostgreSQL servers of the version matrix (make pg-matrix)
        shutil.rmtree(target / "build", ignore_errors=True)
        (target / "build").symlink_to(ROOT / "build")
    _overlay_virtualenv(target)


def _overlay_virtualenv(scratch: Path) -> None:
    """`<scratch>/.venv`: a virtualenv that imports `app_secrets` from the scratch copy first and
    everything else from the project's `.venv`. Processes the tests start without PYTHONPATH (the
    dynamic provider process, launched as the engine launches it, with the project's `.venv`) then
    run the mutated module too; with the project's `.venv` they would run the work tree's."""
    venv = scratch / ".venv"
    subprocess.run([str(PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    project_site = subprocess.run([str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip()
    overlay_site = subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip()
    # .pth files run in name order: the scratch components go on sys.path before the project's
    # site-packages, whose own .pth (the editable app_secrets, coverage's subprocess hook) follow.
    Path(overlay_site, "00_mutation_scratch.pth").write_text(
        f"{scratch / 'components'}\nimport site; site.addsitedir({project_site!r})\n", encoding="utf-8")


def _python(scratch: Path) -> str:
    return str(scratch / ".venv" / "bin" / "python")


def _env(scratch: Path) -> dict[str, str]:
    # The runner's own mutation/ (contexts.py), so a --rev run of an older commit has the plugin too.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(scratch / "components"), str(scratch), str(HERE)]),
            "PYTHONDONTWRITEBYTECODE": "1"}


def covering_tests(scratch: Path, module: str, tests: list[str]) -> tuple[dict[int, set[str]], float, dict[str, float]]:
    """Run the module's tests once under coverage.py, in this process and in every Python process
    they start, with contexts named by mutation/contexts.py: {line: the test node ids to run when a
    fault is on that line}, and how long the run took (it must pass).

    A line run by one test (its call, setup, teardown or function-scoped fixtures) selects that test.
    A line run at the import of a test file or in a module- or class-scoped fixture (whose result the
    file's later tests use) selects that file. A line run in a session fixture or outside any test
    (a conftest's import) selects every test of the module's list."""
    import coverage

    data_file, rc_file = scratch / ".mutation-coverage", scratch / ".mutation-coveragerc"
    rc_file.write_text(f"[run]\ndata_file = {data_file}\nparallel = true\nsigterm = true\n"
                       f"include = {scratch / module}\ncontext = ${{MUTATION_CONTEXT}}\n", encoding="utf-8")
    durations_file = scratch / ".mutation-durations.json"
    env = {**_env(scratch), "COVERAGE_PROCESS_START": str(rc_file), "MUTATION_CONTEXT": "",
           "MUTATION_DURATIONS": str(durations_file)}
    command = [_python(scratch), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "contexts", *tests]
    started = time.monotonic()
    result = _run_group(command, scratch, env, None)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{module}: the unmutated tests do not pass:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    combined = coverage.Coverage(data_file=str(data_file), config_file=str(rc_file))
    combined.combine(keep=False)
    data = combined.get_data()
    by_line: dict[int, set[str]] = {}
    for line, contexts in data.contexts_by_lineno(str(scratch / module)).items():
        selected = by_line.setdefault(line, set())
        for context in contexts:
            phase, _, node = _context(context)
            test_file = node.split("::")[0]
            if test_file not in tests or phase in ("fixture-session", "fixture-package"):
                selected.update(tests)
            elif phase in ("setup", "call", "teardown", "fixture-function"):
                selected.add(node)
            else:   # import of the test file, a module- or class-scoped fixture
                selected.add(test_file)
    durations: dict[str, float] = json.loads(durations_file.read_text(encoding="utf-8"))
    for node, took in list(durations.items()):
        durations[node.split("::")[0]] = durations.get(node.split("::")[0], 0.0) + took
    return by_line, seconds, durations


def _context(context: str) -> tuple[str, str, str]:
    """'call tests/x.py::test_y' -> ('call', ' ', 'tests/x.py::test_y'). A subprocess's context is its
    static one (the test's, from MUTATION_CONTEXT); in the test process the dynamic one (its static
    one is empty, so coverage.py adds no 'static|' prefix)."""
    return context.partition(" ")


def _statement_lines(code: str, line: int) -> tuple[int, int] | None:
    """The lines of the innermost statement inside a function that holds `line` (for a compound
    statement, its header up to `line`); None at module or class level (import time)."""
    best = None
    def visit(node: ast.AST, in_function: bool) -> None:
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) and child.lineno <= line <= (child.end_lineno or child.lineno):
                if in_function:
                    best = (child.lineno, line if hasattr(child, "body") else child.end_lineno)
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
            elif not isinstance(child, ast.stmt):
                visit(child, in_function)
    visit(ast.parse(code), False)
    return best


def _whole_files(selected) -> list[str]:
    """A test file in the selection stands for all of its tests: drop its single node ids."""
    files = {node for node in selected if "::" not in node}
    return [node for node in selected if "::" not in node or node.split("::")[0] not in files]


def _run_group(command: list[str], cwd: Path, env: dict[str, str], timeout: float | None
               ) -> subprocess.CompletedProcess | None:
    """Run pytest in its own process group and kill the whole group when it ends early (timeout,
    Ctrl-C): processes the tests started (a dynamic provider process waits forever) go with it.
    None on timeout."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    except subprocess.TimeoutExpired:
        return None
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if process.poll() is None:
            process.wait()


def run_tests(scratch: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = _env(scratch)
    command = [_python(scratch), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    result = _run_group(command, scratch, env, timeout)
    seconds = time.monotonic() - started
    if result is None:
        return "timeout", seconds
    if result.returncode == 0:
        return "survived", seconds
    # 1: a test failed; 3: an error inside pytest or a fixture; 2: a test file no longer imports
    # (collection error); 4: a conftest or plugin no longer imports. The unmutated run passed.
    if result.returncode in (1, 2, 3, 4):
        return "caught", seconds
    raise RuntimeError(f"pytest exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def run_module(scratch: Path, module: str, tests: list[str], budget: float, seed: int) -> dict:
    path = scratch / module
    code = path.read_text(encoding="utf-8")
    tests = [t for t in tests if (scratch / t).exists()]
    mutants = all_mutants(module, code)
    random.Random(seed).shuffle(mutants)
    by_line, baseline, durations = covering_tests(scratch, module, tests)
    timeout = max(60.0, 2 * baseline)
    started = time.monotonic()
    seen: set[str] = set()
    try:
        for mutant in mutants:
            if time.monotonic() - started > budget:
                break
            if not mutant.materialize(code) or mutant.source in seen:   # no change, or one run already
                mutant.outcome = "duplicate"
                continue
            seen.add(mutant.source)
            span = _statement_lines(code, mutant.line)
            if span is None:   # module or class level: runs at import, so every test file, quickest first
                selected = sorted(tests, key=lambda test: (durations.get(test, 0.0), test))
            else:
                # The quickest first: -x stops at the first failure.
                selected = sorted(_whole_files(set().union(*(by_line.get(n, set()) for n in range(span[0], span[1] + 1)))),
                                  key=lambda node: (durations.get(node, 0.0), node))
            path.write_text(mutant.source, encoding="utf-8")
            if selected:
                mutant.outcome, mutant.seconds = run_tests(scratch, selected, timeout)
                note = f"{len(selected)} tests"
            else:
                mutant.outcome, note = "survived", "no test runs it"
            everything = sorted(tests, key=lambda test: (durations.get(test, 0.0), test))
            if mutant.outcome == "survived" and selected != everything \
                    and not why_equivalent(module, mutant.operator, mutant.before, mutant.after):
                # Before calling it a survivor, the module's whole list: what the contexts cannot see
                # (code run while the mutated module itself is imported, process-wide caches filled by
                # an earlier test, a session fixture's finalizer) is then tried too.
                mutant.outcome, more = run_tests(scratch, everything, timeout)
                mutant.seconds += more
                note += f", then all {len(everything)} files"
            print(f"  {mutant.outcome:8} {module}:{mutant.line} {mutant.operator} ({note}, {mutant.seconds:.0f} s)",
                  flush=True)
    finally:
        path.write_text(code, encoding="utf-8")
    for m in mutants:
        if m.outcome == "survived" and why_equivalent(module, m.operator, m.before, m.after):
            m.outcome = "equivalent"
    ran = [m for m in mutants if m.outcome and m.outcome not in ("duplicate", "equivalent")]
    caught = [m for m in ran if m.outcome in ("caught", "timeout")]
    return {"module": module, "tests": tests, "baseline_seconds": round(baseline, 1), "total": len(mutants),
            "ran": len(ran), "caught": len(caught),
            "survivors": [{k: v for k, v in asdict(m).items() if k != "source"} for m in ran if m.outcome == "survived"],
            "equivalent": [{"line": m.line, "operator": m.operator, "before": m.before, "after": m.after,
                            "why": why_equivalent(module, m.operator, m.before, m.after)}
                           for m in mutants if m.outcome == "equivalent"],
            "outcomes": [[m.line, m.operator, m.outcome] for m in ran],
            "by_operator": _by_operator(ran)}


def _by_operator(ran: list[Mutant]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for m in ran:
        entry = counts.setdefault(m.operator, [0, 0])
        entry[0] += m.outcome != "survived"
        entry[1] += 1
    return dict(sorted(counts.items()))


def markdown(label: str, results: list[dict], budget: float, seed: int, rev: str | None) -> str:
    lines = [f"# Mutation run `{label}`", "",
             f"Tests from {'commit ' + rev if rev else 'the work tree'}; budget {budget:.0f} s per module; seed {seed}.", "",
             "Caught / run leaves out the equivalent faults (mutation/equivalent.py, listed below with why).", "",
             "| module | caught / run | % | faults generated | tests run (-x) |", "|---|---|---|---|---|"]
    for r in results:
        pct = f"{100 * r['caught'] / r['ran']:.0f}%" if r["ran"] else "-"
        lines.append(f"| {r['module']} | {r['caught']}/{r['ran']} | {pct} | {r['total']} | {' '.join(r['tests'])} |")
    for r in results:
        if r.get("equivalent"):
            lines += ["", f"## Equivalent faults in {r['module']} (not counted)", ""]
            lines += [f"- line {e['line']}, {e['operator']}: `{e['before']}` -> `{e['after']}`: {e['why']}"
                      for e in r["equivalent"]]
        if r["survivors"]:
            lines += ["", f"## Surviving faults in {r['module']}", ""]
            lines += [f"- line {s['line']}, {s['operator']}: `{s['before']}` -> `{s['after']}`" for s in r["survivors"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("MUTATION_SECONDS") or 600),
                        help="time budget per module (default 600, or $MUTATION_SECONDS)")
    parser.add_argument("--modules", default="", help="comma-separated substrings of module paths to run")
    parser.add_argument("--rev", default=None, help="take modules and tests from this commit (a 'before' run)")
    parser.add_argument("--label", default=None, help="name of the report files under build/mutation/")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--list", action="store_true", help="only count the faults per module")
    args = parser.parse_args(argv)
    wanted = [m for m in MODULES if not args.modules or any(s and s in m for s in args.modules.split(","))]
    if not wanted:
        parser.error(f"--modules {args.modules!r} matches none of: {', '.join(MODULES)}")
    if args.list:
        for module in wanted:
            mutants = all_mutants(module, (ROOT / module).read_text(encoding="utf-8"))  # cosmic-ray's not made
            kinds: dict[str, int] = {}
            for m in mutants:
                kinds[m.operator] = kinds.get(m.operator, 0) + 1
            print(f"{module}: {len(mutants)} faults {json.dumps(kinds, sort_keys=True)}")
        return 0
    label = args.label or (f"before-{args.rev}" if args.rev else "after")
    scratch = scratch_copy(args.rev)
    results = []
    try:
        for module in wanted:
            print(f"{module}: running (budget {args.seconds:.0f} s)", flush=True)
            results.append(run_module(scratch, module, MODULES[module], args.seconds, args.seed))
            r = results[-1]
            print(f"{module}: caught {r['caught']}/{r['ran']} of {r['total']}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = ROOT / "build" / "mutation"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report = markdown(label, results, args.seconds, args.seed, args.rev)
    (out / f"{label}.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
