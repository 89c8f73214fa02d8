"""Command line: `python -m components <command>`.

  plan --stack NAME [--json] [--template NAME]   what a stack would create (offline, mock runtime)
  validate [--stack NAME ...]                    check every stack file in stacks/ (a PR check)
  env ... / exec ...                             fetch a stack's secrets for a local run (envcmd)

Exit codes (every command, see README "Exit codes"): 0 ok, 1 a failure while running, 2 bad input
(stack file, config, command line), 3 a `--fail-on` condition. Every error is one line per
problem naming the file and key path (or the flag); never a traceback or an exception class name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_FAIL_ON = 0, 1, 2, 3


class CliError(Exception):
    """The one error type of the command line: lines to print (each prefixed `error: `) and an
    exit code. Raise it anywhere in a command; `main` prints it."""

    def __init__(self, lines, code: int = EXIT_INVALID):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, instead of a usage dump
        raise CliError(f"{self.prog}: {message} (see --help)")


def _problem_lines(source: str, error: BaseException) -> list[str]:
    problems = getattr(error, "problems", None)
    if problems:
        return [f"{source}: {p}" for p in problems]
    return [f"{source}: {error}"]


def _plan_or_errors(stack: str, template: Optional[str], project_dir: Path):
    """(document, None) or (None, (exit code, lines))."""
    from app_secrets.naming import STACK_NAME_PATTERN
    from .offline import StackFileError
    from .plan import plan_stack
    from stack_program.program import InvalidConfig

    for flag, name in (("--stack", stack), ("--template", template)):
        if name is not None and not STACK_NAME_PATTERN.match(name):
            return None, (EXIT_INVALID, [f"{flag} {name!r}: expected a stack name (letters, digits, '-', '_', '.')"])
    if template is not None:
        problem = template_problem(stack, template, project_dir)
        if problem:
            return None, (EXIT_INVALID, [problem])
    try:
        return plan_stack(stack, template=template, project_dir=project_dir), None
    except StackFileError as error:
        return None, (EXIT_INVALID, [str(error)])
    except InvalidConfig as error:
        source = f"{_relative(project_dir)}stacks/Pulumi.{template or stack}.yaml"
        return None, (EXIT_INVALID, _problem_lines(source, error))
    except Exception as error:  # noqa: BLE001 - one line, never a traceback nor a class name
        first = (str(error).strip().splitlines() or ["no detail"])[0]
        return None, (EXIT_FAILED, [f"stack {stack}: failed while running the program: {first}"])


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


def cmd_plan(args: argparse.Namespace) -> int:
    doc, failure = _plan_or_errors(args.stack, args.template, args.project_dir)
    if failure:
        code, lines = failure
        for line in lines:
            print(f"error: {line}", file=sys.stderr)
        return code
    if args.json:
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    elif sys.stdout.isatty() and not args.plain:
        from rich.console import Console

        from .plan import render_rich
        render_rich(doc, Console())
    else:
        from .plan import render_text
        print(render_text(doc))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .offline import StackFileError, load_project, stack_names

    try:
        project = load_project(args.project_dir)
        stacks = args.stack or stack_names(project)
    except StackFileError as error:
        raise CliError(str(error)) from None
    if not stacks:
        raise CliError(f"{project.stack_config_dir}: no stack files; expected Pulumi.<stack>.yaml files there")
    worst = EXIT_OK
    for stack in stacks:
        doc, failure = _plan_or_errors(stack, None, args.project_dir)
        if failure:
            code, lines = failure
            worst = max(worst, code)
            print(f"{stack}: {'invalid' if code == EXIT_INVALID else 'failed'}")
            for line in lines:
                print(f"  {line}")
        else:
            print(f"{stack}: ok ({doc['summary']['total']} resources, {len(doc['secrets'])} secrets)")
    return worst


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .offline import PROJECT_DIR

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("env", "exec"):
        from .envcmd import main as env_main
        return env_main(argv)
    parser = _Parser(prog="python -m components", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="show what a stack would create (offline)")
    plan.add_argument("--stack", default="dev", help="stack name (default: dev)")
    plan.add_argument("--template", help="plan STACK as a copy of this stack's config (e.g. --stack pr-7 --template pr)")
    plan.add_argument("--json", action="store_true", help="print one JSON document")
    plan.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    plan.set_defaults(func=cmd_plan)
    for command in (plan,):
        command.add_argument("--project-dir", type=Path, default=PROJECT_DIR,
                             help="project folder holding Pulumi.yaml (default: this project)")
    validate = sub.add_parser("validate", help="check every stack file in stacks/")
    validate.add_argument("--stack", action="append", help="only these stacks (repeatable)")
    validate.set_defaults(func=cmd_validate)
    validate.add_argument("--project-dir", type=Path, default=PROJECT_DIR,
                          help="project folder holding Pulumi.yaml (default: this project)")
    sub.add_parser("env", help="print a stack's secrets as a dotenv file (see: env --help)")
    sub.add_parser("exec", help="run a command with a stack's secrets in its environment")
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except CliError as error:
        for line in error.lines:
            print(f"error: {line}", file=sys.stderr)
        return error.code
    except SystemExit as done:  # --help
        return int(done.code or 0)


def run() -> None:
    """Entry point of `python -m components`: exit with main()'s code."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `plan | head`: the reader has gone, nothing more to say
        code = EXIT_OK
    except KeyboardInterrupt:
        code = 130
    except Exception as error:  # noqa: BLE001 - never a traceback; the first line of the reason only
        print(f"error: failed while running: {(str(error).strip().splitlines() or ['no detail'])[0]}", file=sys.stderr)
        code = EXIT_FAILED
    # The mock runtime leaves an event loop behind whose teardown at interpreter exit prints
    # noise on stderr; nothing is left to clean up here, so leave at once.
    import os
    os._exit(code)


if __name__ == "__main__":
    run()
