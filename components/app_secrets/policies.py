"""IAM, KMS and Secrets Manager policy documents (pure functions over plain strings).

Components call these inside `Output.all(...).apply(...)`, so each can be tested and linted
without Pulumi. Statements for an empty principal list are left out rather than written with an
empty principal, which AWS rejects.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

from .naming import sid_suffix

VERSION = "2012-10-17"

# Actions that touch plaintext: kept away from key and secret administrators.
KMS_CRYPTO_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
SECRET_READ_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
SECRET_WRITE_ACTIONS = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
ROTATION_SECRET_ACTIONS = SECRET_READ_ACTIONS + SECRET_WRITE_ACTIONS

Document = dict[str, Any]


def document(statements: Iterable[Mapping[str, Any]]) -> Document:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def to_json(doc: Document) -> str:
    # Compact: the C encoder (indent= falls back to pure Python), and AWS reformats policies anyway.
    return json.dumps(doc)


def account_root(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def secretsmanager_via_service(region: str, dns_suffix: str = "amazonaws.com") -> dict:
    """Condition limiting KMS use to requests that Secrets Manager makes in this region."""
    return {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.{dns_suffix}"}}


def _principal(arns: Sequence[str]) -> dict:
    unique = sorted(set(arns))
    return {"AWS": unique[0] if len(unique) == 1 else unique}


def _allow(sid: str, principals: Sequence[str] | None, **fields: Any) -> list[dict]:
    """One Allow statement, or none when there is no principal to give it to."""
    if principals is not None and not principals:
        return []
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow"}
    if principals is not None:
        statement["Principal"] = _principal(principals)
    statement.update(fields)
    return [statement]


def trust_tag_condition(trust_tags: Mapping[str, str]) -> dict | None:
    if not trust_tags:
        return None
    return {"StringEquals": {f"aws:PrincipalTag/{k}": v for k, v in sorted(trust_tags.items())}}


def merge_documents(base: Document, extra_documents: Sequence[str | Mapping]) -> Document:
    """Append the statements of extra documents; a statement whose Sid already exists replaces it
    (the way Terraform's override_policy_documents does)."""
    statements = [dict(s) for s in base["Statement"]]
    for extra in extra_documents:
        parsed = json.loads(extra) if isinstance(extra, str) else dict(extra)
        extra_statements = parsed.get("Statement", [])
        if isinstance(extra_statements, Mapping):
            extra_statements = [extra_statements]
        for statement in extra_statements:
            sid = statement.get("Sid")
            index = next((i for i, s in enumerate(statements) if sid and s.get("Sid") == sid), None)
            if index is None:
                statements.append(dict(statement))
            else:
                statements[index] = dict(statement)
    return document(statements)


def key_admin_statements(admin_principals: Sequence[str]) -> list[dict]:
    """Key administrators may do everything with the key but use it on data."""
    return _allow("AllowAdmin", admin_principals, NotAction=KMS_CRYPTO_ACTIONS, Resource="*")


def key_policy(
    *,
    admin_principals: Sequence[str],
    account_root_arn: str,
    read_principals: Sequence[str] = (),
    readwrite_principals: Sequence[str] = (),
    rotation_role_arn: str | None = None,
    region: str,
    dns_suffix: str = "amazonaws.com",
) -> Document:
    """Policy of a secret's own KMS key. In a key policy, "Resource": "*" means this key.

    The account root always stays an administrator (KMS refuses a key policy that would lock the
    caller out, and it is the break-glass route) and may use the key through Secrets Manager only,
    so the deployer can write the initial value and people can fill in values by hand, as far as
    their IAM policies and the secret's resource policy allow. Named readers and writers are
    listed too, for principals of other accounts."""
    via = secretsmanager_via_service(region, dns_suffix)
    statements = key_admin_statements([*admin_principals, account_root_arn])
    statements += _allow(
        "AllowAccountUseViaSecretsManager",
        [account_root_arn],
        Action=["kms:Decrypt", "kms:GenerateDataKey"],
        Resource="*",
        Condition=via,
    )
    if rotation_role_arn:
        statements += _allow(
            "AllowRotation",
            [rotation_role_arn],
            Action=["kms:Decrypt", "kms:GenerateDataKey"],
            Resource="*",
            Condition=via,
        )
    statements += _allow("AllowRead", read_principals, Action=["kms:Decrypt"], Resource="*", Condition=via)
    statements += _allow(
        "AllowReadWrite",
        readwrite_principals,
        Action=["kms:Decrypt", "kms:GenerateDataKey"],
        Resource="*",
        Condition=via,
    )
    return document(statements)


def shared_key_policy(*, admin_principals: Sequence[str], account_root_arn: str, region: str,
                      dns_suffix: str = "amazonaws.com") -> Document:
    """Policy of the one key a review stack shares between its secrets: a secret key's policy
    with no named readers, writers or rotation role, so use through Secrets Manager is decided by
    each principal's IAM policy and each secret's resource policy."""
    return key_policy(admin_principals=admin_principals, account_root_arn=account_root_arn,
                      region=region, dns_suffix=dns_suffix)


def secret_resource_policy(
    *,
    admin_principals: Sequence[str],
    read_principals: Sequence[str] = (),
    readwrite_principals: Sequence[str] = (),
    rotation_role_arn: str | None = None,
    trust_tags: Mapping[str, str] | None = None,
    extra_documents: Sequence[str | Mapping] = (),
) -> Document:
    """Resource policy of a secret. In a resource policy, "Resource": "*" means this secret."""
    statements = []
    statements += _allow(
        "AllowAdmin", admin_principals, NotAction=["secretsmanager:GetSecretValue"], Resource="*"
    )
    if rotation_role_arn:
        statements += _allow("AllowRotation", [rotation_role_arn], Action=ROTATION_SECRET_ACTIONS, Resource="*")
    # Writers put new values; only rotation moves staging labels (AWSCURRENT back to an old value).
    statements += _allow("AllowReadWrite", readwrite_principals,
                         Action=SECRET_READ_ACTIONS + ["secretsmanager:PutSecretValue"], Resource="*")
    read = _allow("AllowRead", read_principals, Action=SECRET_READ_ACTIONS, Resource="*")
    condition = trust_tag_condition(trust_tags or {})
    if read and condition:
        read[0]["Condition"] = condition
    statements += read
    return merge_documents(document(statements), extra_documents)


def read_policy(
    secrets: Sequence[tuple[str, str, str | None]], *, region: str, dns_suffix: str = "amazonaws.com"
) -> Document:
    """Identity policy that reads secrets and decrypts them with their keys.

    `secrets` is a list of (name, secret arn, kms key arn). A key arn of None means the secret
    uses the AWS-managed key, whose own policy already lets the account decrypt through
    Secrets Manager, so no KMS statement is needed for it."""
    via = secretsmanager_via_service(region, dns_suffix)
    if len(secrets) == 1:
        name, _, _ = secrets[0]
        read_sid, decrypt_sid = f"Read{sid_suffix(name)}", f"Decrypt{sid_suffix(name)}"
    else:
        read_sid, decrypt_sid = "ReadSecrets", "DecryptSecrets"
    arns = sorted({arn for _, arn, _ in secrets})
    keys = sorted({key for _, _, key in secrets if key})
    statements = [{"Sid": read_sid, "Effect": "Allow", "Action": SECRET_READ_ACTIONS,
                   "Resource": arns[0] if len(arns) == 1 else arns}]
    if keys:
        statements.append({"Sid": decrypt_sid, "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": keys[0] if len(keys) == 1 else keys, "Condition": via})
    return document(statements)


def decrypt_policy(key_arn: str, *, sid: str = "DecryptWithKey") -> Document:
    """Identity policy to decrypt with one key (the customer-managed-kms module's output)."""
    return document([{"Sid": sid, "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn}])


def rotation_policy(*, secret_arn: str, key_arn: str, region: str, dns_suffix: str = "amazonaws.com") -> Document:
    """Identity policy of a rotation function's role: this secret, this key, random passwords."""
    return document([
        {"Sid": "RotateSecret", "Effect": "Allow", "Action": ROTATION_SECRET_ACTIONS, "Resource": secret_arn},
        # GetRandomPassword has no resource type, so it can only be granted on "*".
        {"Sid": "GenerateRandomPassword", "Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword"],
         "Resource": "*"},
        {"Sid": "UseSecretKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": key_arn, "Condition": secretsmanager_via_service(region, dns_suffix)},
    ])


def lambda_trust_policy(extra_documents: Sequence[str | Mapping] = ()) -> Document:
    base = document([{
        "Sid": "AssumedByLambda",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }])
    return merge_documents(base, extra_documents)


def describe_db_instance_policy(db_instance_arn: str) -> Document:
    return document([{
        "Sid": "DescribeDatabaseInstance",
        "Effect": "Allow",
        "Action": ["rds:DescribeDBInstances"],
        "Resource": db_instance_arn,
    }])


def summarize(doc: Document) -> list[str]:
    """One line per statement, 'Sid: principal → actions [on resource]', for the offline plan."""
    lines = []
    for statement in doc.get("Statement", []):
        principal = statement.get("Principal", {})
        if isinstance(principal, Mapping):
            who = ", ".join(
                ", ".join(v if isinstance(v, list) else [v]) for v in principal.values()
            )
        else:
            who = str(principal)
        if "NotAction" in statement:
            what = "all but " + ", ".join(_as_list(statement["NotAction"]))
        else:
            what = ", ".join(_as_list(statement.get("Action", [])))
        resource = statement.get("Resource")
        line = f"{statement.get('Sid', '-')}: {who or 'caller'} -> {what}"
        if resource and resource != "*":
            line += f" on {', '.join(_as_list(resource))}"
        if statement.get("Condition"):
            line += f" if {json.dumps(statement['Condition'], sort_keys=True)}"
        lines.append(line)
    return lines


def _as_list(value: Any) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]
