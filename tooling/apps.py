"""Apps in a plan (issue 18): an app is a read policy. For each one, its secrets, variables,
readers and monthly cost, and the proof that its roles read its secrets and only those.

`app_views(run, secrets)` evaluates identity, secret and key policies together (tooling/access.py)
for every role of every read policy, with the tags the policy says its roles carry (`roleTags`):
- a role that cannot read a secret of its own app is a problem (the plan and `validate` refuse
  the stack, naming the reason), e.g. a trust tag the role does not carry;
- a role that can read another app's secret is a warning (stack-wide `readPrincipals`, or a
  secret's own readers, naming a role of another app).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from . import pricing
from .access import Principal, access_summary, can, secret_accesses

CROSS_APP_HINT = ("name readers per app with readPolicies (and drop the stack-wide readPrincipals), "
                  "or list the secret in that app's read policy if it is meant to be shared")


def role_arn(account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


IAM_ACCOUNT = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):")


def stack_account(run) -> str:
    """The account the stack file's principal ARNs live in, when they name exactly one: the
    account the stack deploys to. The offline plan's mocks invent another one, so a role of a read
    policy (built from the running account) and the same role named in `readPrincipals` (written
    with the real account) would look like two principals; evaluating in the stack's account
    makes them one, as they are in AWS. Otherwise the plan's own account."""
    named = set(IAM_ACCOUNT.findall(json.dumps(run.config.values, default=str)))
    return named.pop() if len(named) == 1 else run.mocks.account


def _in_account(value, mock: str, account: str):
    """A policy document or ARN with the plan's invented account replaced by the stack's."""
    if mock == account or value is None:
        return value
    if isinstance(value, str):
        return value.replace(f":{mock}:", f":{account}:")
    return json.loads(json.dumps(value).replace(f":{mock}:", f":{account}:"))


def _accesses_in(accesses: dict, mock: str, account: str) -> dict:
    return {key: replace(access, arn=_in_account(access.arn, mock, account),
                         policy=_in_account(access.policy, mock, account),
                         key_arn=_in_account(access.key_arn, mock, account),
                         key_policy=_in_account(access.key_policy, mock, account))
            for key, access in accesses.items()}


def _descendants(children: dict[str, list], root_urn: str) -> list:
    found, todo = [], [root_urn]
    while todo:
        for reg in children.get(todo.pop(), []):
            found.append(reg)
            todo.append(reg.urn)
    return found


def secret_resources(run) -> dict[str, list]:
    """The resources each secret's component creates, by config key (outermost component)."""
    out: dict[str, list] = {}
    keys = set(run.outputs.get("secrets") or {})
    components = {reg.urn for reg in run.registrations if not reg.custom}
    children: dict[str, list] = {}
    for reg in run.registrations:
        children.setdefault(reg.parent, []).append(reg)
    for reg in run.registrations:
        if not reg.custom and reg.name in keys and reg.name not in out and reg.parent not in components:
            out[reg.name] = _descendants(children, reg.urn)
    return out


def _role_principals(run, apps: dict[str, Any], account: str) -> dict[str, Principal]:
    """Each role of a read policy, with every read policy attached to it and the tags declared."""
    policies = run.outputs.get("readPolicies") or {}
    documents: dict[str, list] = {}
    tags: dict[str, dict] = {}
    for app, view in apps.items():
        text = (policies.get(app) or {}).get("policyJson")
        for name in view["roleNames"]:
            documents.setdefault(name, []).append(
                _in_account(json.loads(text), run.mocks.account, account) if isinstance(text, str) else {})
            tags.setdefault(name, {}).update(view.get("roleTags") or {})
    return {name: Principal(role_arn(account, name), tuple(documents[name]), tags.get(name, {}))
            for name in documents}


def _why_not(decision, summary: dict[str, Any], tags: dict[str, str]) -> str:
    required = summary.get("readRequiresTags") or {}
    missing = {k: v for k, v in required.items() if tags.get(k) != v}
    if decision.reason == "explicit deny" and missing:
        wanted = ", ".join(f"{k}={v}" for k, v in missing.items())
        return (f"its secret policy denies reading without the principal tag {wanted} (trustTags); "
                f"tag the role {wanted} in IAM and declare it in roleTags")
    return decision.reason


def app_views(run, secrets: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(apps, problems, warnings) of an offline run; `secrets` is the plan document's list."""
    apps: dict[str, Any] = run.outputs.get("apps") or {}
    if not apps:
        return [], [], []
    by_key = {s["name"]: s for s in secrets}
    account = stack_account(run)
    accesses = _accesses_in(secret_accesses(run), run.mocks.account, account)
    resources = secret_resources(run)
    principals = _role_principals(run, apps, account)
    problems: list[str] = []
    warnings: list[str] = []
    views = []
    for app, view in apps.items():
        members = [k for k in view["secrets"] if k in by_key]
        variables = sorted({v for k in members for v in by_key[k]["environmentVariables"]})
        readers = sorted({r for k in members for r in ((by_key[k].get("access") or {}).get("read") or [])})
        items = pricing.line_items((reg.type, reg.inputs) for k in members for reg in resources.get(k, []))
        grants = {}
        for name in view["roleNames"]:
            principal = principals[name]
            readable = []
            for key in members:
                if key not in accesses or by_key[key]["external"]:
                    continue   # an existing secret: its own policies decide, unknown here
                decision = can(principal, "read", accesses[key])
                if decision.allowed:
                    readable.append(key)
                else:
                    why = _why_not(decision, access_summary(accesses[key]), dict(principal.tags))
                    problems.append(f"readPolicies.{app}.roleNames: role {name} cannot read secrets.{key}: {why}")
            grants[name] = readable
        views.append({"name": app, "secrets": members, "environmentVariables": variables,
                      "roleNames": list(view["roleNames"]), "readers": readers, "roleCanRead": grants,
                      "cost": {"items": items, "monthlyUsd": pricing.total(items)}})
    for app, view in apps.items():
        own = set(view["secrets"])
        for other, other_view in apps.items():
            if other == app:
                continue
            for name in view["roleNames"]:
                decisions = {k: can(principals[name], "read", accesses[k]) for k in other_view["secrets"]
                             if k not in own and k in accesses}
                readable = {k: d.reason for k, d in decisions.items() if d.allowed}
                if readable:
                    reasons = sorted(set(readable.values()))
                    warnings.append(f"readPolicies.{app}: its role {name} can also read app {other}'s "
                                    f"{', '.join('secrets.' + k for k in readable)} ({'; '.join(reasons)}); "
                                    f"{CROSS_APP_HINT}")
    return views, problems, warnings


def stack_cost(run) -> dict[str, Any]:
    """Every priced resource of the stack once (a secret shared by two apps, a shared key)."""
    items = pricing.line_items((reg.type, reg.inputs) for reg in run.registrations)
    return {"items": items, "monthlyUsd": pricing.total(items), "prices": pricing.price_table()}
