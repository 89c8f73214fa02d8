"""Helpers shared by the tests of the Pulumi program (no fixtures here)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import yaml

from tooling.offline import FAKE_ACCOUNT_ID, PROJECT_DIR, SECRET_SIG, OfflineRun

SIG_KEY, SIG_SECRET = next(iter(SECRET_SIG.items()))

# Where each resource type carries a policy document, and which kind it is.
POLICY_INPUTS = {
    ("aws:kms/key:Key", "policy"): "resource",
    ("aws:secretsmanager/secretPolicy:SecretPolicy", "policy"): "resource",
    ("aws:iam/role:Role", "assumeRolePolicy"): "trust",
    ("aws:iam/rolePolicy:RolePolicy", "policy"): "identity",
    ("aws:iam/policy:Policy", "policy"): "identity",
}


def plaintext_strings(raw: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a registered input that is NOT inside a Pulumi secret."""
    if isinstance(raw, dict):
        if raw.get(SIG_KEY) == SIG_SECRET:
            return
        for key, value in raw.items():
            yield from plaintext_strings(value, f"{path}.{key}")
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from plaintext_strings(value, f"{path}[{i}]")
    elif isinstance(raw, str):
        yield path, raw


def leaks(run: OfflineRun) -> list[str]:
    """Places where a secret value appears in plaintext: registered inputs and stack outputs."""
    sensitive = run.sensitive_values
    assert sensitive, "the run has no secret values to look for"
    found = []
    for reg in run.registrations:
        for path, text in plaintext_strings(reg.raw_inputs):
            for value in sensitive:
                if value in text:
                    found.append(f"{reg.type} {reg.name}{path}")
    for path, leaf in run.output_leaves:
        if leaf.secret or leaf.value is None:
            continue
        text = json.dumps(leaf.value)
        for value in sensitive:
            if value in text:
                found.append(f"output {path}")
    return found


def policy_documents(run: OfflineRun) -> list[tuple[str, str, dict]]:
    """(kind, where, document) for every policy document the program registered or exported."""
    docs = []
    for reg in run.registrations:
        kind = None
        for (type_, key), k in POLICY_INPUTS.items():
            if reg.type == type_ and isinstance(reg.inputs.get(key), str):
                kind = k
                docs.append((kind, f"{reg.type} {reg.name}", json.loads(reg.inputs[key])))
    for key, described in (run.outputs.get("secrets") or {}).items():
        docs.append(("identity", f"output secrets.{key}.policyJson", json.loads(described["policyJson"])))
    for key, described in (run.outputs.get("readPolicies") or {}).items():
        docs.append(("identity", f"output readPolicies.{key}.policyJson", json.loads(described["policyJson"])))
    return docs


def plain(value: Any) -> Any:
    """A registered input with Pulumi's secret markers taken off (to read what a secret holds)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SIG_SECRET:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def stack_config(stack: str) -> dict:
    """The `config:` map of an example stack file, as written."""
    return yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def stack_account(config: dict) -> str:
    """The account the stack file's principals live in (the plan's mock account otherwise)."""
    for value in json.dumps(config).split('"'):
        if value.startswith("arn:aws:iam::"):
            return value.split(":")[4]
    return FAKE_ACCOUNT_ID
