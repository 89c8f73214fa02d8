"""Rotation operations: `python -m components rotate …` and `python -m components rotation …`.

  rotate --secret NAME [--wait [--timeout S]]      start a rotation now (RotateSecret); with --wait,
                                                   wait for its outcome and report it
  rotation status (--stack NAME | --secret NAME…)  rotation on/off, schedule, last and next rotation,
                                                   version stages, a stuck AWSPENDING (since when) and
                                                   the rotation function's most recent error line
  rotation cancel --secret NAME                    cancel a stuck rotation (CancelRotateSecret, which
                                                   also turns automatic rotation off) and take
                                                   AWSPENDING off the unfinished version

AWS options as for `env`: --region, --profile, --role-arn, --endpoint-url (here: Secrets Manager and
CloudWatch Logs, e.g. one local emulator). Nothing here reads a secret value: DescribeSecret,
ListSecretVersionIds, RotateSecret, CancelRotateSecret, UpdateSecretVersionStage and the function's
log events are all it needs. Exit codes (tooling.exit_codes): 0 fine (status: also when a rotation
is stuck, it is reported), 1 a failure while running (AWS refused or unreachable, a secret not found,
a rotation that failed or did not finish in time), 2 bad input (the command line). Errors are one
line, never a traceback, an exception class name or a value.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import time
import uuid
from typing import Any, Optional, Sequence

from .envcmd import (CommandError, _check_secret_id, add_aws_options, error_parts, make_session, plan_from_stack,
                     reporting_errors, resolve_region, usage)
from .exit_codes import EXIT_FAILED, EXIT_OK

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
ERROR_LINE = re.compile(r"\[ERROR\]|\bERROR\b|Traceback|Task timed out|Error:")


# ---------------------------------------------------------------------------------------------
# AWS


class Clients:
    def __init__(self, args: argparse.Namespace, stack_region: Optional[str] = None):
        self._args = args
        region = resolve_region(args.region, stack_region, f"--stack {getattr(args, 'stack', None)}: aws:region")
        self._session = make_session(region, args.profile, args.role_arn)
        self.secrets = self._client("secretsmanager")
        self._logs = None

    def _client(self, service: str):
        from botocore.exceptions import NoRegionError
        try:
            return self._session.client(service, endpoint_url=self._args.endpoint_url or None)
        except NoRegionError:
            raise usage("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")

    @property
    def logs(self):
        if self._logs is None:
            self._logs = self._client("logs")
        return self._logs


def _call(what: str, fn, **kwargs) -> Any:
    """fn(**kwargs), or CommandError (exit 1) with AWS's error code and message on one line."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        return fn(**kwargs)
    except ClientError as error:
        code, message = error_parts(error)
        if code == "ResourceNotFoundException" and what.startswith("secret "):
            raise CommandError(f"{what} not found ({message})" if message else f"{what} not found", EXIT_FAILED)
        raise CommandError(f"{what}: {code}: {message}" if message else f"{what}: {code}", EXIT_FAILED)
    except BotoCoreError as error:  # no credentials, endpoint unreachable, ...
        raise CommandError(f"{what}: {error}")


def _when(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.timezone.utc) if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, (int, float)):
        return _when(datetime.datetime.fromtimestamp(value, datetime.timezone.utc))
    return "never" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# What a secret's rotation looks like


def describe(clients: Clients, secret_id: str) -> dict:
    return _call(f"secret {secret_id}", clients.secrets.describe_secret, SecretId=secret_id)


def versions(clients: Clients, secret_id: str) -> list[dict]:
    """Every version with a stage label (id, stages, created), newest first."""
    found, token = [], None
    while True:
        kwargs = {"SecretId": secret_id, "IncludeDeprecated": False}
        if token:
            kwargs["NextToken"] = token
        page = _call(f"secret {secret_id}", clients.secrets.list_secret_version_ids, **kwargs)
        found += [v for v in page.get("Versions", []) if v.get("VersionStages")]
        token = page.get("NextToken")
        if not token:
            break
    return sorted(found, key=lambda v: v.get("CreatedDate") or 0, reverse=True)


def stuck_pending(described: dict, listed: list[dict]) -> Optional[dict]:
    """The version holding AWSPENDING when it is not also AWSCURRENT (a rotation that has not finished:
    in progress, or stuck after a failure), else None."""
    stages = described.get("VersionIdsToStages") or {}
    for version_id, labels in stages.items():
        if PENDING in labels and CURRENT not in labels:
            created = next((v.get("CreatedDate") for v in listed if v.get("VersionId") == version_id), None)
            return {"VersionId": version_id, "CreatedDate": created}
    return None


def function_name(described: dict) -> Optional[str]:
    arn = described.get("RotationLambdaARN") or ""
    match = re.match(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)", arn)
    return match.group(1) if match else (arn or None)


def last_error_line(clients: Clients, function: str, streams: int = 5) -> Optional[tuple[str, str]]:
    """(when, line) of the most recent error line in the function's own log group
    (/app-secrets/rotation/<function>, where the component sends its logs), or None (no group, no
    error, or not allowed to look: status works without logs permissions)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from app_secrets.naming import rotation_log_group
    group = rotation_log_group(function)
    try:
        described = clients.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                                      descending=True, limit=streams)
        best: Optional[tuple[int, str]] = None
        for stream in described.get("logStreams", []):
            events = clients.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                                 startFromHead=False, limit=200).get("events", [])
            for event in events:
                message = " ".join(str(event.get("message", "")).split())
                if ERROR_LINE.search(message) and (best is None or event.get("timestamp", 0) >= best[0]):
                    best = (event.get("timestamp", 0), message)
    except (ClientError, BotoCoreError):
        return None
    if best is None:
        return None
    line = best[1]
    return _when(best[0] / 1000), line[:300] + ("..." if len(line) > 300 else "")


def schedule_of(described: dict) -> str:
    rules = described.get("RotationRules") or {}
    if rules.get("ScheduleExpression"):
        text = rules["ScheduleExpression"]
    elif rules.get("AutomaticallyAfterDays"):
        text = f"every {rules['AutomaticallyAfterDays']} days"
    else:
        return "none"
    return text + (f" (window {rules['Duration']})" if rules.get("Duration") else "")


def status_lines(clients: Clients, secret_id: str) -> tuple[list[str], bool]:
    """(lines, stuck) for one secret."""
    described = describe(clients, secret_id)
    listed = versions(clients, secret_id)
    name = described.get("Name") or secret_id
    function = function_name(described)
    if described.get("RotationEnabled"):
        state = "enabled"
    elif function:
        state = "disabled (a function is configured, automatic rotation is off)"
    else:
        state = "not configured"
    lines = [f"{name}",
             f"  rotation: {state}" + (f", function {function}" if function else ""),
             f"  schedule: {schedule_of(described)}",
             f"  last rotated: {_when(described.get('LastRotatedDate'))}; "
             f"next rotation: {_when(described.get('NextRotationDate')) if described.get('RotationEnabled') else 'none'}"]
    for version in listed:
        lines.append(f"  version {version['VersionId']}: {', '.join(sorted(version['VersionStages']))} "
                     f"(created {_when(version.get('CreatedDate'))})")
    stuck = stuck_pending(described, listed)
    if stuck:
        lines.append(f"  STUCK: AWSPENDING on version {stuck['VersionId']} since {_when(stuck['CreatedDate'])}, "
                     "not AWSCURRENT: a rotation is in progress or failed; new rotations are refused until it "
                     f"finishes (retry: rotate --secret {name}) or is cancelled (rotation cancel --secret {name})")
    if function:
        error = last_error_line(clients, function)
        if error:
            lines.append(f"  last error of {function} ({error[0]}): {error[1]}")
    return lines, stuck is not None


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_status(args: argparse.Namespace) -> int:
    names = list(args.secret)
    stack_region = None
    if args.stack:
        doc = plan_from_stack(args.stack)
        names += [entry["secretName"] for entry in doc.get("secrets", [])
                  if entry.get("kind") in ("rds-postgres-admin-login", "rds-postgres-login")
                  and not entry.get("external")]
        stack_region = doc.get("region") if isinstance(doc.get("region"), str) else None
        if not names:
            raise usage(f"--stack {args.stack}: the stack has no database logins (nothing rotates)")
    if not names:
        raise usage("rotation status needs --stack NAME or --secret NAME")
    for name in names:
        _check_secret_id(name, f"--secret {name}")
    clients = Clients(args, stack_region)
    for i, name in enumerate(names):
        lines, _ = status_lines(clients, name)
        if i:
            print()
        print("\n".join(lines))
    return EXIT_OK


def cmd_rotate(args: argparse.Namespace) -> int:
    name = _check_secret_id(args.secret, f"--secret {args.secret}")
    clients = Clients(args)
    described = describe(clients, name)
    if not function_name(described):
        raise CommandError(f"secret {name} has no rotation function, so it cannot be rotated: only database "
                           "logins rotate (databases.<key>.rotation in the stack file); a random, user-managed or "
                           "plain secret changes through the stack (`pulumi up`) or by writing a new value")
    stuck = stuck_pending(described, versions(clients, name))
    if stuck:
        raise CommandError(f"secret {name}: a rotation is already in progress or stuck (AWSPENDING on version "
                           f"{stuck['VersionId']} since {_when(stuck['CreatedDate'])}); see `rotation status "
                           f"--secret {name}`, or `rotation cancel --secret {name}`")
    token = str(uuid.uuid4())
    response = _call(f"rotate {name}", clients.secrets.rotate_secret, SecretId=name, ClientRequestToken=token)
    version = response.get("VersionId") or token
    if not args.wait:
        print(f"rotation of {name} started: version {version} (follow it with `rotation status --secret {name}`)")
        return EXIT_OK
    deadline = time.monotonic() + args.timeout
    while True:
        stages = (describe(clients, name).get("VersionIdsToStages") or {}).get(version, [])
        if CURRENT in stages:
            print(f"rotated {name}: version {version} is AWSCURRENT")
            return EXIT_OK
        if PENDING not in stages:
            raise CommandError(f"rotation of {name} ended without finishing: version {version} is no longer "
                               "AWSPENDING and never became AWSCURRENT (cancelled?)")
        if time.monotonic() >= deadline:
            function = function_name(described)
            error = last_error_line(clients, function) if function else None
            detail = f"; last error of {function} ({error[0]}): {error[1]}" if error else ""
            raise CommandError(f"rotation of {name} did not finish within {args.timeout:g} s: version {version} "
                               f"is still AWSPENDING{detail}")
        time.sleep(args.poll)


def cmd_cancel(args: argparse.Namespace) -> int:
    name = _check_secret_id(args.secret, f"--secret {args.secret}")
    clients = Clients(args)
    described = describe(clients, name)
    stuck = stuck_pending(described, versions(clients, name))
    if not function_name(described):
        raise CommandError(f"secret {name} has no rotation configured: nothing to cancel")
    _call(f"cancel rotation of {name}", clients.secrets.cancel_rotate_secret, SecretId=name)
    if stuck:
        _call(f"remove AWSPENDING from {name}", clients.secrets.update_secret_version_stage, SecretId=name,
              VersionStage=PENDING, RemoveFromVersionId=stuck["VersionId"])
        print(f"cancelled the rotation of {name}: AWSPENDING removed from version {stuck['VersionId']}")
    else:
        print(f"no rotation of {name} was in progress; automatic rotation is now off")
    print(f"warning: automatic rotation of {name} is now OFF until the next `pulumi up` of its stack (or a "
          "RotateSecret with the function) turns it back on.", file=sys.stderr)
    if stuck:
        print(f"warning: if the rotation had already changed the password in the database (setSecret ran), "
              f"AWSCURRENT may no longer log in; the unfinished version is kept (without a label): check with "
              f"`env --secret {name}` and read it with `env --secret {name} --version-id {stuck['VersionId']} "
              "--reveal`.", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, instead of a usage dump (as tooling.cli)
        raise usage(f"{self.prog}: {message} (see --help)")


def _aws_options(parser: argparse.ArgumentParser, stack: bool = False) -> None:
    add_aws_options(parser, endpoint="Secrets Manager and CloudWatch Logs", stack_region=stack)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m components", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rotate = sub.add_parser("rotate", help="rotate a secret now")
    rotate.add_argument("--secret", required=True, metavar="NAME")
    rotate.add_argument("--wait", action="store_true", help="wait for the outcome and report it")
    rotate.add_argument("--timeout", type=float, metavar="SECONDS", help="with --wait (default 300)")
    rotate.add_argument("--poll", type=float, default=2, metavar="SECONDS", help=argparse.SUPPRESS)
    _aws_options(rotate)
    rotate.set_defaults(func=cmd_rotate)
    rotation = sub.add_parser("rotation", help="rotation status / cancel")
    actions = rotation.add_subparsers(dest="action", required=True, parser_class=_Parser)
    status = actions.add_parser("status", help="rotation state of a stack's database logins or of secrets")
    status.add_argument("--stack", metavar="NAME")
    status.add_argument("--secret", action="append", default=[], metavar="NAME")
    _aws_options(status, stack=True)
    status.set_defaults(func=cmd_status)
    cancel = actions.add_parser("cancel", help="cancel a stuck rotation (turns automatic rotation off)")
    cancel.add_argument("--secret", required=True, metavar="NAME")
    _aws_options(cancel)
    cancel.set_defaults(func=cmd_cancel)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def command() -> int:
        try:
            args, extra = build_parser().parse_known_args(argv)
        except SystemExit as done:  # --help
            return int(done.code or 0)
        command_name = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
        if extra:   # named with its subcommand, as `env` does
            raise usage(f"python -m components {command_name}: unrecognized arguments: {' '.join(extra)} "
                        "(see --help)")
        if args.command == "rotate":
            if args.timeout is not None and not args.wait:
                raise usage(f"--timeout {args.timeout:g}: goes with --wait (without --wait, rotate only starts the "
                            "rotation and returns)")
            if args.timeout is not None and args.timeout <= 0:
                raise usage(f"--timeout {args.timeout:g}: expected a positive number of seconds")
            if args.poll <= 0:
                raise usage(f"--poll {args.poll:g}: expected a positive number of seconds")
            args.timeout = 300.0 if args.timeout is None else args.timeout
        return args.func(args)

    return reporting_errors(command)
