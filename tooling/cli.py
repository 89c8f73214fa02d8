"""Command line: `python -m components <command>`.

  plan --stack NAME [--json] [--template NAME]   what a stack would create (offline, mock runtime)
  plan --stack NAME --against REF [--format markdown] [--fail-on data-loss]
                                                 what changes since REF (git ref or `plan --json` file)
  status --stack NAME                            user-managed variables still empty in AWS; key/policy drift
  validate [--stack NAME ...]                    check every stack file in stacks/ (a PR check)
  adopt --stack NAME (--secret N | --prefix P | --tag K=V) [--write]
                                                 take existing secrets under a stack (tooling/adopt.py)
  env ... / exec ...                             fetch a stack's secrets for a local run (envcmd)
  rotate ... / rotation status|cancel ...        drive and watch rotations (rotation_ops)

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

from .exit_codes import EXIT_FAIL_ON, EXIT_FAILED, EXIT_INVALID, EXIT_OK  # noqa: F401 (the one table)
from .stack_plan import plan_or_errors, template_problem  # noqa: F401


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


def cmd_plan(args: argparse.Namespace) -> int:
    if (args.format or args.fail_on) and not args.against:
        raise CliError("--format and --fail-on go with --against REF")
    doc, failure = plan_or_errors(args.stack, args.template, args.project_dir)
    if failure:
        code, lines = failure
        raise CliError(lines, code)
    if args.against:
        from .review import review
        return review(doc, args)
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
        doc, failure = plan_or_errors(stack, None, args.project_dir)
        if failure:
            code, lines = failure
            worst = max(worst, code)
            print(f"{stack}: {'invalid' if code == EXIT_INVALID else 'failed'}")
            for line in lines:
                print(f"  {line}")
        else:
            print(f"{stack}: ok ({doc['summary']['total']} resources, {len(doc['secrets'])} secrets)")
            for warning in doc.get("warnings") or ():
                print(f"  warning: {warning}")
    return worst


def cmd_adopt(args: argparse.Namespace) -> int:
    from .adopt import AdoptError, cmd_adopt as adopt
    try:
        return adopt(args)
    except AdoptError as error:
        raise CliError(error.lines, error.code) from None


def cmd_status(args: argparse.Namespace) -> int:
    from .review import cmd_status as status
    return status(args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .offline import PROJECT_DIR

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("env", "exec"):
        from .envcmd import main as env_main
        return env_main(argv)
    if argv and argv[0] in ("rotate", "rotation"):
        from .rotation_ops import main as rotation_main
        return rotation_main(argv)
    parser = _Parser(prog="python -m components", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="show what a stack would create (offline)")
    plan.add_argument("--stack", default="dev", help="stack name (default: dev)")
    plan.add_argument("--template", help="plan STACK as a copy of this stack's config (e.g. --stack pr-7 --template pr)")
    plan.add_argument("--json", action="store_true", help="print one JSON document")
    plan.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    plan.add_argument("--against", metavar="REF", help="show what changes since REF: a git ref, or a file saved with --json")
    plan.add_argument("--format", choices=("text", "markdown"), help="with --against: markdown for a PR comment")
    plan.add_argument("--fail-on", action="append", choices=("data-loss",), help="with --against: exit 3 if any change loses data")
    plan.set_defaults(func=cmd_plan)
    validate = sub.add_parser("validate", help="check every stack file in stacks/")
    validate.add_argument("--stack", action="append", help="only these stacks (repeatable)")
    validate.set_defaults(func=cmd_validate)
    adopt = sub.add_parser("adopt", help="take existing secrets under a stack (writes import IDs; see README)")
    from .adopt import build_parser as adopt_options
    adopt_options(adopt)
    adopt.set_defaults(func=cmd_adopt)
    for command in (plan, validate, adopt):
        command.add_argument("--project-dir", type=Path, default=PROJECT_DIR,
                             help="project folder holding Pulumi.yaml (default: this project)")
    status = sub.add_parser("status", help="user-managed variables still empty in AWS")
    status.add_argument("--stack", default="dev", help="stack name (default: dev)")
    from .envcmd import add_aws_options
    add_aws_options(status)
    status.add_argument("--fail-on", action="append", choices=("empty", "drift"),
                        help="exit 3 if any variable is empty (empty) or a live key or policy drifted (drift)")
    status.set_defaults(func=cmd_status)
    sub.add_parser("env", help="print a stack's secrets as a dotenv file (see: env --help)")
    sub.add_parser("exec", help="run a command with a stack's secrets in its environment")
    sub.add_parser("rotate", help="rotate a secret now (see: rotate --help)")
    sub.add_parser("rotation", help="rotation status / cancel (see: rotation status --help)")
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:   # named with its subcommand, as `env` does
            raise CliError(f"python -m components {args.command}: unrecognized arguments: {' '.join(extra)} "
                           "(see --help)")
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
