"""pytest plugin of `make mutation` (loaded with `-p contexts` by mutation/run.py): names the
coverage.py context of everything a test run executes, so a fault is tried against exactly the tests
that execute its line, wherever that happens:
- `import <file>`: the test module's own top level (collection), e.g. a policy built at import;
- `setup <node id>` / `call <node id>` / `teardown <node id>`: the phases of one test;
- `fixture-<scope> <node id>`: a fixture being made for that test; one wider than a function is
  also used by the tests after it (run.py takes the file, or for a session fixture every file);
- in a subprocess a test starts (a dynamic provider process, a CLI), the same name: coverage.py
  starts there from the `.pth` hook with COVERAGE_PROCESS_START, and its static context is
  `${MUTATION_CONTEXT}`, which this plugin keeps equal to the current context.
"""

from __future__ import annotations

import os

import pytest


def _switch(label: str) -> None:
    import coverage

    current = coverage.Coverage.current()
    if current is not None:
        current.switch_context(label)
    os.environ["MUTATION_CONTEXT"] = label


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    if isinstance(collector, pytest.Module):
        _switch(f"import {collector.nodeid}")
        yield
        _switch("")
    else:
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _switch(f"setup {item.nodeid}")
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    node = getattr(request, "_pyfuncitem", None) or request.node
    before = os.environ.get("MUTATION_CONTEXT", "")
    _switch(f"fixture-{fixturedef.scope} {node.nodeid}")
    yield
    _switch(before)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _switch(f"call {item.nodeid}")
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    _switch(f"teardown {item.nodeid}")
    yield
    _switch("")


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    """Each test's time (setup, call and teardown), for run.py to try the quick tests first."""
    target = os.environ.get("MUTATION_DURATIONS")
    if target:
        import json

        with open(target, "w", encoding="utf-8") as out:
            json.dump(_durations, out)
