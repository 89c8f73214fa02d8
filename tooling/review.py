"""`plan --against REF` (review a change before it runs) and `status` (what is still unfilled).

plan --stack NAME --against REF [--format text|markdown | --json] [--fail-on data-loss]
    diffs the plan of the working tree with the plan at REF (tooling/against.py) and prints the
    changes (tooling/diff.py). Exit 0, or 3 with `--fail-on data-loss` when any change loses
    data or would make `pulumi up` fail half way.

status --stack NAME [--region R] [--endpoint-url URL] [--profile P] [--fail-on empty|drift]
    reads each user-managed secret of the stack (names from the offline plan) and says which of
    its variables are still empty or missing in AWS. Values are never printed, only their state.
    For every secret the stack creates it also compares the live secret with the program (issue
    16): its KMS key (the stack's key, found by its alias, and not aws/secretsmanager) and, per
    Sid, the effect and actions of its resource policy; principals are not compared (the plan
    runs in a mock account). `--fail-on drift` exits 3 on any difference.
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


AWS_MANAGED_KEY = "alias/aws/secretsmanager"


def _actions(statement: dict) -> tuple[str, frozenset]:
    field = "NotAction" if "NotAction" in statement else "Action"
    value = statement.get(field)
    return field, frozenset(a.lower() for a in ([value] if isinstance(value, str) else value or []))


def policy_drift(expected: dict | None, live: dict | None) -> list[str]:
    """Differences between the program's secret policy and the live one, per Sid: statements
    missing or added, and a changed effect or action list. Pure."""
    def by_sid(document):
        statements = (document or {}).get("Statement") or []
        statements = [statements] if isinstance(statements, dict) else statements
        return {str(s.get("Sid") or f"#{i}"): s for i, s in enumerate(statements)}
    want, have = by_sid(expected), by_sid(live)
    problems = [f"statement {sid} missing" for sid in sorted(set(want) - set(have))]
    problems += [f"statement {sid} added" for sid in sorted(set(have) - set(want))]
    for sid in sorted(set(want) & set(have)):
        if want[sid].get("Effect") != have[sid].get("Effect") or _actions(want[sid]) != _actions(have[sid]):
            problems.append(f"statement {sid} changed")
    return problems


def key_drift(sm_client, kms_client, secret_name: str, expected_alias: str | None) -> list[str]:
    """The live secret's KMS key against the key the stack created (by its alias)."""
    described = sm_client.describe_secret(SecretId=secret_name)
    live_key = described.get("KmsKeyId") or AWS_MANAGED_KEY
    problems = []
    if live_key in (AWS_MANAGED_KEY, "") or live_key.endswith(":" + AWS_MANAGED_KEY):
        problems.append(f"KMS key is {AWS_MANAGED_KEY}, which every principal of the account may use"
                        + (f"; expected {expected_alias}" if expected_alias else ""))
    elif expected_alias:
        live_arn = kms_client.describe_key(KeyId=live_key)["KeyMetadata"]["Arn"]
        try:
            expected_arn = kms_client.describe_key(KeyId=expected_alias)["KeyMetadata"]["Arn"]
        except kms_client.exceptions.NotFoundException:
            expected_arn = None
        if live_arn != expected_arn:
            problems.append(f"KMS key is {live_arn}, expected {expected_alias}"
                            + (f" ({expected_arn})" if expected_arn else " (not found)"))
    for replica in described.get("ReplicationStatus") or []:
        if (replica.get("KmsKeyId") or AWS_MANAGED_KEY) == AWS_MANAGED_KEY:
            problems.append(f"replica in {replica.get('Region')} is on {AWS_MANAGED_KEY}")
    return problems


def stack_drift(stack: str, secrets: list[dict], region: str, args: argparse.Namespace) -> tuple[int, int]:
    """Print each created secret's drift; (secrets drifted, secrets unreadable)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .access import secret_accesses
    from .envcmd import make_session
    from .offline import run_program

    run = run_program(stack)
    expected = secret_accesses(run)
    session = make_session(region, args.profile, args.role_arn)
    sm = session.client("secretsmanager", endpoint_url=args.endpoint_url)
    kms = session.client("kms", endpoint_url=args.endpoint_url)
    drifted = unreadable = 0
    for secret in secrets:
        described = run.outputs["secrets"].get(secret["name"]) or {}
        if secret.get("external") or described.get("external"):
            continue
        try:
            problems = key_drift(sm, kms, secret["secretName"], described.get("kmsKeyAlias"))
            live_policy = sm.get_resource_policy(SecretId=secret["secretName"]).get("ResourcePolicy")
            problems += [f"resource policy: {p}" for p in
                         policy_drift(expected[secret["name"]].policy, json.loads(live_policy) if live_policy else None)]
        except (BotoCoreError, ClientError) as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            if code == "ResourceNotFoundException":
                print(f"{secret['name']} ({secret['secretName']}): not deployed yet")
                continue
            print(f"{secret['name']} ({secret['secretName']}): cannot check drift: {code}")
            unreadable += 1
            continue
        if problems:
            drifted += 1
            print(f"{secret['name']} ({secret['secretName']}): drift: {'; '.join(problems)}")
    return drifted, unreadable


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
        drifted, undecided = stack_drift(args.stack, doc["secrets"], region, args)
        unreadable += undecided
        for warning in doc.get("warnings") or ():
            print(f"warning: {warning}", file=sys.stderr)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    if unreadable:  # a failure while running, not an answer: exit 1 whatever --fail-on says
        print(f"error: {unreadable} secret(s) could not be read; their variables are unknown", file=sys.stderr)
        return EXIT_FAILED
    print(f"{unfilled} user-managed variable(s) still to fill in" if unfilled else "every user-managed variable is set")
    print(f"{drifted} secret(s) drifted from the program" if drifted else "no drift of keys or resource policies")
    if unfilled and "empty" in (args.fail_on or ()):
        return EXIT_FAIL_ON
    return EXIT_FAIL_ON if drifted and "drift" in (args.fail_on or ()) else EXIT_OK
