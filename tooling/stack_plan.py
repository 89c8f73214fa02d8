"""A stack's plan, or its problems as one line each with the exit code they mean; shared by
`plan`, `validate` and `env --stack` so that all three judge a stack the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .exit_codes import EXIT_FAILED, EXIT_INVALID


def _problem_lines(source: str, error: BaseException) -> list[str]:
    problems = getattr(error, "problems", None)
    if problems:
        return [f"{source}: {p}" for p in problems]
    return [f"{source}: {error}"]


def plan_or_errors(stack: str, template: Optional[str], project_dir: Path):
    """(document, None) or (None, (exit code, lines))."""
    from app_secrets.naming import STACK_NAME_PATTERN
    from stack_program.program import InvalidConfig

    from .offline import StackFileError
    from .plan import plan_stack   # at call time: env's tests stand a module in for it

    for flag, name in (("--stack", stack), ("--template", template)):
        if name is not None and not STACK_NAME_PATTERN.match(name):
            return None, (EXIT_INVALID, [f"{flag} {name!r}: expected a stack name (letters, digits, '-', '_', '.')"])
    if template is not None:
        problem = template_problem(stack, template, project_dir)
        if problem:
            return None, (EXIT_INVALID, [problem])
    refused = engine_problems(stack, template, project_dir)
    try:
        doc = plan_stack(stack, template=template, project_dir=project_dir)
    except StackFileError as error:
        return None, (EXIT_INVALID, [str(error)])
    except InvalidConfig as error:
        source = f"{_relative(project_dir)}stacks/Pulumi.{template or stack}.yaml"
        return None, (EXIT_INVALID, _problem_lines(source, error) + refused)
    except Exception as error:  # noqa: BLE001 - one line, never a traceback nor a class name
        first = (str(error).strip().splitlines() or ["no detail"])[0]
        return None, (EXIT_FAILED, [f"stack {stack}: failed while running the program: {first}"])
    if refused:
        return None, (EXIT_INVALID, refused)
    if doc.get("problems"):   # e.g. a read policy whose role cannot read its secrets (tooling/apps.py)
        return None, (EXIT_INVALID, [f"{doc['source']}: {p}" for p in doc["problems"]])
    return doc, None


def engine_problems(stack: str, template: Optional[str], project_dir: Path) -> list[str]:
    """What the Pulumi CLI says before it runs the program (tooling/engine_config.py), one line
    each naming the file; [] when it would start the program (or the files cannot be read, which
    the plan reports itself)."""
    from stack_program.project import StackFileError, load_project, read_yaml

    from .engine_config import copy_config_from, project_problems, stack_problems

    try:
        project_doc = read_yaml(project_dir / "Pulumi.yaml")
        stack_doc = read_yaml(load_project(project_dir).stack_config_dir / f"Pulumi.{template or stack}.yaml")
    except StackFileError:
        return []
    if not isinstance(project_doc, dict) or not isinstance(stack_doc, dict):
        return []
    config = stack_doc.get("config") or {}
    if not isinstance(config, dict):
        return []
    if template:
        config = copy_config_from(config)
    refusal = "the Pulumi CLI refuses every stack of this project before the program runs"
    problems = project_problems(project_doc)
    if problems:
        return [f"{_relative(project_dir)}Pulumi.yaml: {refusal}: {p}" for p in problems]
    source = f"{_relative(project_dir)}stacks/Pulumi.{template or stack}.yaml"
    return [f"{source}: the Pulumi CLI refuses stack {stack} before the program runs: {p}"
            for p in stack_problems(project_doc, stack, {str(k): v for k, v in config.items()})]


def template_problem(stack: str, template: str, project_dir: Path) -> Optional[str]:
    """`--template` plans a stack that does not exist yet as a copy of another; a stack that has
    its own file is planned from that file by Pulumi, so a template would show the wrong config."""
    from .offline import StackFileError, load_project

    if template == stack:
        return f"--template {template}: expected another stack than --stack (the stack to copy the config from)"
    try:
        own = load_project(project_dir).stack_config_dir / f"Pulumi.{stack}.yaml"
    except StackFileError as error:
        return str(error)
    if own.is_file():
        return (f"{own}: exists, so `pulumi up --stack {stack}` uses it and not a copy of {template}; "
                f"expected a new stack name with --template (or plan {stack} without --template)")
    return None


def _relative(project_dir: Path) -> str:
    from .offline import PROJECT_DIR
    return "" if project_dir.resolve() == PROJECT_DIR else f"{project_dir}/"
