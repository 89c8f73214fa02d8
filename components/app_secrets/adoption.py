"""Adoption: a Secret component that takes over a secret made elsewhere (thoughtbot's Terraform
modules, another tool, the console) instead of creating one.

The engine imports a resource when its registration carries an `import` ID, and refuses the
import when the registered inputs differ from the live resource ("inputs to import do not match
the existing resource", pulumi/pulumi pkg/resource/deploy/step.go, ImportStep.Apply). So an
adopted component registers exactly what exists:

- the secret, its resource policy, its KMS key and alias, each with `import_` and `protect`;
- the live policies verbatim (`secret_policy`, `key_policy`) when given, instead of the built ones;
- no initial `SecretVersion` (the live value stays; the key merge only adds missing keys);
- no `deletionWindowInDays` on the key and no `blockPublicPolicy` on the policy: AWS does not
  report them, so the provider's read leaves them empty and any value would be a mismatch
  (terraform-provider-aws internal/service/kms/key.go `importIgnore=deletion_window_in_days`;
  secretsmanager/secret_policy.go reads only `policy` and `secret_arn`).

Everything here depends on `Adoption` alone, never on whether import IDs are present: deleting
the IDs after the first `up` leaves every registered input as it was.

Import ID formats (provider importers, terraform-provider-aws, all `ImportStatePassthrough`):
| resource | ID | source |
|---|---|---|
| aws.secretsmanager.Secret | the secret ARN | secretsmanager/secret.go (`d.SetId(ARN)`) |
| aws.secretsmanager.SecretPolicy | the secret ARN | secretsmanager/secret_policy.go (`secret_arn = d.Id()`) |
| aws.kms.Key | the key id (UUID or mrk-…) | kms/key.go (`d.SetId(KeyMetadata.KeyId)`) |
| aws.kms.Alias | the alias name, `alias/<name>` | kms/alias.go (`d.SetId(name)`) |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi

from . import policies

# The import IDs an adoption may carry, by the resource they adopt.
IMPORT_TARGETS = ("secret", "secretPolicy", "kmsKey", "kmsAlias")

# Inputs with a provider default that AWS never reports, so the provider's read after an import
# leaves them empty (terraform-provider-aws: `recovery_window_in_days` and
# `force_overwrite_replica_secret` are only sent on delete / replica creation; kms/key.go lists
# `deletion_window_in_days;bypass_policy_lockout_safety_check` as `importIgnore`). Whether the
# bridge fills the default into the imported inputs could not be checked here without the engine,
# so they are ignored on adopted resources: the import cannot fail on them, and AWS holds none of
# them (the delete uses the provider's default window).
UNREAD_INPUTS = {
    "secret": ["recoveryWindowInDays", "forceOverwriteReplicaSecret"],
    "kmsKey": ["bypassPolicyLockoutSafetyCheck", "deletionWindowInDays"],
}

SECRET_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$")
KMS_KEY_ID_PATTERN = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
KMS_ALIAS_PATTERN = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


@dataclass(frozen=True)
class Adoption:
    """What a stack file says about a secret it took over (config key `adopted`)."""

    import_ids: Mapping[str, str] = field(default_factory=dict)  # IMPORT_TARGETS -> ID
    secret_policy: Optional[str] = None   # the live resource policy, kept as it is
    key_policy: Optional[str] = None      # the live key policy, kept as it is
    aws_managed_key: bool = False         # encrypted with aws/secretsmanager: no key of its own


def secret_name_of_arn(arn: str) -> Optional[str]:
    """The secret name inside a secret ARN (without AWS's 6-character suffix), or None. Pure."""
    match = SECRET_ARN_PATTERN.match(arn)
    return match.group(1) if match else None


def options(adoption: Optional[Adoption], target: str, parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options of one adopted child: its import ID (when still in the stack file) and `protect`,
    from the first `up` on. Without an adoption: the child's plain options."""
    if adoption is None:
        return pulumi.ResourceOptions(parent=parent)
    return pulumi.ResourceOptions(parent=parent, protect=True, import_=adoption.import_ids.get(target) or None,
                                  ignore_changes=UNREAD_INPUTS.get(target))


# ---------------------------------------------------------------------------------------------
# Reading a secret policy in config terms (pure; used by `adopt` and by the config's checks)

READ_ACTIONS = set(policies.SECRET_READ_ACTIONS)
READWRITE_ACTIONS = READ_ACTIONS | {"secretsmanager:PutSecretValue"}
PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)/[\w+=,.@/-]+)$")


def _list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class PolicyReading:
    """What a secret policy says in config terms, and what it says that config cannot."""

    read: list[str] = field(default_factory=list)
    admin: list[str] = field(default_factory=list)
    readwrite: list[str] = field(default_factory=list)
    trust_tags: dict[str, str] = field(default_factory=dict)
    rotation_roles: list[str] = field(default_factory=list)
    unexpressed: list[str] = field(default_factory=list)


def _trust_tags(condition: Any) -> Optional[dict[str, str]]:
    """{tag: value} when a condition is only `StringEquals aws:PrincipalTag/<k>: <one value>`."""
    if not condition:
        return {}
    if not isinstance(condition, dict) or set(condition) != {"StringEquals"}:
        return None
    tags = {}
    for key, value in condition["StringEquals"].items():
        values = _list(value)
        if not key.startswith("aws:PrincipalTag/") or len(values) != 1:
            return None
        tags[key.split("/", 1)[1]] = str(values[0])
    return tags


def read_secret_policy(text: Optional[str]) -> PolicyReading:
    """Readers, admins, writers and trust tags of a secret policy shaped like thoughtbot's
    `secret` module's (statements AllowRead, AllowAdmin, AllowReadWrite, AllowRotation); every
    other statement is listed as unexpressed (it stays in the live policy, kept verbatim). Pure."""
    out = PolicyReading()
    if not text:
        return out
    doc = json.loads(text)
    for index, statement in enumerate(_list(doc.get("Statement"))):
        sid = statement.get("Sid") or f"Statement[{index}]"
        principals = _list((statement.get("Principal") or {}).get("AWS")) if isinstance(statement.get("Principal"), dict) else []
        actions = set(_list(statement.get("Action")))
        known = (statement.get("Effect") == "Allow" and principals and
                 all(isinstance(p, str) and PRINCIPAL_ARN.match(p) for p in principals))
        tags = _trust_tags(statement.get("Condition"))
        if known and statement.get("NotAction") and not actions and tags == {}:
            out.admin += principals
        elif known and actions and actions <= READ_ACTIONS and tags is not None:
            out.read += principals
            out.trust_tags.update(tags)
        elif known and actions and actions <= READWRITE_ACTIONS and tags == {}:
            out.readwrite += principals
        elif known and actions == set(policies.ROTATION_SECRET_ACTIONS) and tags == {}:
            out.rotation_roles += principals
            out.unexpressed.append(f"{sid}: rotation by {', '.join(principals)} is left as it is (this stack does "
                                   "not manage that role, its policy or a rotation function)")
        else:
            what = ", ".join(sorted(actions or {f"all but {a}" for a in _list(statement.get('NotAction'))}))
            who = ", ".join(str(p) for p in principals) or json.dumps(statement.get("Principal"))
            out.unexpressed.append(f"{sid}: {statement.get('Effect')} {what} for {who}"
                                   + (" with a condition" if statement.get("Condition") else "")
                                   + " has no config equivalent")
    for name in ("read", "admin", "readwrite"):
        setattr(out, name, list(dict.fromkeys(getattr(out, name))))
    return out
