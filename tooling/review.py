"""`plan --against REF` (review a change before it runs) and `status` (what is still unfilled).

plan --stack NAME --against REF [--format text|markdown | --json] [--fail-on data-loss]
    diffs the plan of the working tree with the plan at REF (tooling/against.py) and prints the
    changes (tooling/diff.py). Exit 0, or 3 with `--fail-on data-loss` when any change loses
    data or would make `pulumi up` fail half way.

status --stack NAME [--region R] [--endpoint-url URL] [--profile P] [--fail-on empty]
    reads each user-managed secret of the stack (names from the offline plan) and says which of
    its variables are still empty or missing in AWS. Values are never printed, only their state.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .exit_codes import EXIT_FAIL_ON, EXIT_FAILED, EXIT_INVALID, EXIT_OK


def review(doc: dict[str, Any], args: argparse.Namespace) -> int:
    from .against import AgainstError, AgainstFailed, load_against
    from .diff import diff_plans, has_data_loss, render_markdown, render_text

    try:
        before, label = load_against(args.against, args.stack, template=args.template, project_dir=args.project_dir)
    except AgainstError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except AgainstFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    from .pricing import cost_difference, difference_line

    changes = diff_plans(before, doc)
    cost = cost_difference(before, doc)
    now = f"working tree (stack {args.stack})"
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        json.dump({"against": label, "stack": args.stack, "dataLoss": has_data_loss(changes),
                   "changes": [c.to_json() for c in changes], "cost": cost}, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    elif fmt == "markdown":
        print(render_markdown(changes, label, now))
        print(f"\n{difference_line(cost)}")
    else:
        print(render_text(changes, label, now))
        print(difference_line(cost))
    for warning in doc.get("warnings") or ():
        print(f"warning: {warning}", file=sys.stderr)
    if "data-loss" in (args.fail_on or ()) and has_data_loss(changes):
        return EXIT_FAIL_ON
    return EXIT_OK


def variable_states(value_text: str | None, variables: list[str]) -> dict[str, str]:
    """Per variable: "set", "empty" or "missing" in a secret's JSON value. Pure."""
    try:
        live = json.loads(value_text or "")
    except ValueError:
        live = None
    if not isinstance(live, dict):
        return {v: "missing" for v in variables}
    return {v: "missing" if v not in live else ("empty" if live[v] in ("", None) else "set") for v in variables}


def cmd_status(args: argparse.Namespace) -> int:
    from .envcmd import CommandError, fetch, make_client, plan_from_stack, resolve_region

    unreadable = 0
    try:
        doc = plan_from_stack(args.stack)
        region = resolve_region(args.region, doc.get("region") if isinstance(doc.get("region"), str) else None,
                                f"--stack {args.stack}: aws:region")
        client = make_client(region, args.profile, args.role_arn, args.endpoint_url)
        unfilled = 0
        for secret in doc["secrets"]:
            if secret["kind"] != "user-managed":
                continue
            variables = list(secret["environmentVariables"])
            try:
                response = fetch(client, secret["secretName"], "AWSCURRENT", None)
                states = variable_states(response.get("SecretString"), variables)
            except CommandError as error:
                if error.code == EXIT_INVALID:
                    raise
                print(f"{secret['name']} ({secret['secretName']}): cannot read: {error}")
                unreadable += 1
                continue
            todo = [v for v in variables if states[v] != "set"]
            unfilled += len(todo)
            detail = ", ".join(f"{v} {states[v]}" for v in todo) if todo else "all set"
            print(f"{secret['name']} ({secret['secretName']}): {detail}")
        for warning in doc.get("warnings") or ():
            print(f"warning: {warning}", file=sys.stderr)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    if unreadable:  # a failure while running, not an answer: exit 1 whatever --fail-on says
        print(f"error: {unreadable} secret(s) could not be read; their variables are unknown", file=sys.stderr)
        return EXIT_FAILED
    print(f"{unfilled} user-managed variable(s) still to fill in" if unfilled else "every user-managed variable is set")
    return EXIT_FAIL_ON if unfilled and "empty" in (args.fail_on or ()) else EXIT_OK
