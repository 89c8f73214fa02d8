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
# What a writer needs from the key: Secrets Manager decrypts to read and generates a data key to write.
KMS_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# Key administration for everyone but the deployer: no crypto, no kms:PutKeyPolicy (the deployer
# owns policies), no kms:CreateGrant (a grant can hand out Decrypt), no turning rotation off.
KMS_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
]
# The account root and the deployer: everything but crypto and grants. Root keeps kms:PutKeyPolicy:
# KMS's lockout check wants it, and it is the break-glass route (an IAM admin may rewrite the policy;
# CloudTrail records it). Crypto is granted only through Secrets Manager, statement by statement.
KMS_ROOT_NOT_ACTIONS = [*KMS_CRYPTO_ACTIONS, "kms:CreateGrant"]
# Named secret admins: manage, tag, delete and restore; never read or write a value
# (UpdateSecret can write one), move stages, rotate with another function, replicate to a key of
# their choosing, or change the resource policy.
SECRET_ADMIN_ACTIONS = [
    "secretsmanager:CancelRotateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds",
    "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:RestoreSecret", "secretsmanager:TagResource",
    "secretsmanager:UntagResource", "secretsmanager:ValidateResourcePolicy",
]

Document = dict[str, Any]


def document(statements: Iterable[Mapping[str, Any]]) -> Document:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def to_json(doc: Document) -> str:
    # Compact: the C encoder (indent= falls back to pure Python), and AWS reformats policies anyway.
    return json.dumps(doc)


def account_root(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def one_or_many(values: Iterable[str]) -> str | list[str]:
    """The sorted distinct values, as policy documents write them: one bare string, or a list."""
    unique = sorted(set(values))
    return unique[0] if len(unique) == 1 else unique


def secretsmanager_via_service(region: str | Sequence[str], dns_suffix: str = "amazonaws.com") -> dict:
    """Condition limiting KMS use to requests that Secrets Manager makes in this region (or these)."""
    regions = [region] if isinstance(region, str) else region
    return {"StringEquals": {"kms:ViaService": one_or_many(f"secretsmanager.{r}.{dns_suffix}" for r in regions)}}


def _principal(arns: Sequence[str]) -> dict:
    return {"AWS": one_or_many(arns)}


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
    """Key administrators may manage the key; never use it on data, grant it, or change its policy."""
    return _allow("AllowAdmin", admin_principals, Action=KMS_ADMIN_ACTIONS, Resource="*")


def key_policy(
    *,
    admin_principals: Sequence[str],
    account_root_arn: str,
    deployer_principals: Sequence[str] = (),
    read_principals: Sequence[str] = (),
    readwrite_principals: Sequence[str] = (),
    rotation_role_arn: str | None = None,
    region: str,
    dns_suffix: str = "amazonaws.com",
    primary_region: str | None = None,
    break_glass_principals: Sequence[str] = (),
) -> Document:
    """Policy of a secret's own KMS key. In a key policy, "Resource": "*" means this key.

    Only the principals named here may use the key, and only through Secrets Manager: readers
    decrypt; writers, the rotation role and the deployer (who writes the initial value and reads it
    back on refresh) also generate data keys. The account root keeps administration (lockout check,
    break-glass) but no crypto: naming the root would let any IAM policy decrypt. Readers that
    default to the account (root in `read_principals`) are the one exception, and say so.

    A replica's key (`primary_region` set): whoever writes the primary also encrypts the replica
    (ReplicateSecretToRegions needs kms:GenerateDataKey and kms:Encrypt on the replica's key), through
    Secrets Manager in either region; readers decrypt through Secrets Manager in the replica's region."""
    via = secretsmanager_via_service(region, dns_suffix)
    use_actions = KMS_USE_ACTIONS
    use_via = via
    if primary_region:
        use_actions = [*KMS_USE_ACTIONS, "kms:Encrypt"]
        use_via = secretsmanager_via_service([region, primary_region], dns_suffix)
    statements = _allow("AllowAccountAdministration", [account_root_arn], NotAction=KMS_ROOT_NOT_ACTIONS,
                        Resource="*")
    statements += _allow("AllowDeployerAdministration", deployer_principals, NotAction=KMS_ROOT_NOT_ACTIONS,
                         Resource="*")
    statements += key_admin_statements(admin_principals)
    statements += _allow("AllowDeployerUse", deployer_principals, Action=use_actions, Resource="*",
                         Condition=use_via)
    if rotation_role_arn:
        statements += _allow("AllowRotation", [rotation_role_arn], Action=use_actions, Resource="*",
                             Condition=use_via)
    statements += _allow("AllowRead", read_principals, Action=["kms:Decrypt"], Resource="*", Condition=via)
    statements += _allow("AllowReadWrite", readwrite_principals, Action=use_actions, Resource="*",
                         Condition=use_via)
    if deployer_principals:
        statements += key_policy_denials(account_root_arn=account_root_arn, deployer_principals=deployer_principals,
                                         break_glass_principals=break_glass_principals)
    return document(statements)


def shared_key_policy(*, admin_principals: Sequence[str], account_root_arn: str, region: str,
                      deployer_principals: Sequence[str] = (), read_principals: Sequence[str] = (),
                      readwrite_principals: Sequence[str] = (), dns_suffix: str = "amazonaws.com",
                      break_glass_principals: Sequence[str] = ()) -> Document:
    """Policy of the one key a review stack shares between its secrets: a secret key's policy
    whose readers and writers are those of every secret of the stack."""
    return key_policy(admin_principals=admin_principals, account_root_arn=account_root_arn,
                      deployer_principals=deployer_principals, read_principals=read_principals,
                      readwrite_principals=readwrite_principals, region=region, dns_suffix=dns_suffix,
                      break_glass_principals=break_glass_principals)


def trust_tag_denials(trust_tags: Mapping[str, str], exempt_principals: Sequence[str]) -> list[dict]:
    """Deny reading to any principal missing a trust tag, except the exempt ones (the deployer, so
    `pulumi refresh` keeps working, and the rotation role). One statement per tag: a Deny fires
    when any tag is wrong, and conditions within one statement would need all of them wrong.
    A Deny binds whatever IAM allows; an Allow's condition only narrows that one Allow."""
    statements = []
    for key, value in sorted((trust_tags or {}).items()):
        condition: dict[str, Any] = {"StringNotEquals": {f"aws:PrincipalTag/{key}": value}}
        if exempt_principals:
            condition["ArnNotEquals"] = {"aws:PrincipalArn": one_or_many(exempt_principals)}
        statements.append({"Sid": f"DenyReadWithoutTag{sid_suffix(key)}", "Effect": "Deny", "Principal": "*",
                           "Action": ["secretsmanager:GetSecretValue"], "Resource": "*", "Condition": condition})
    return statements


def secret_resource_policy(
    *,
    admin_principals: Sequence[str],
    read_principals: Sequence[str] = (),
    readwrite_principals: Sequence[str] = (),
    rotation_role_arn: str | None = None,
    trust_tags: Mapping[str, str] | None = None,
    deployer_principals: Sequence[str] = (),
    extra_documents: Sequence[str | Mapping] = (),
    account_root_arn: str | None = None,
    break_glass_principals: Sequence[str] = (),
) -> Document:
    """Resource policy of a secret. In a resource policy, "Resource": "*" means this secret.
    With `account_root_arn` (the components always pass it) it also denies every change to the
    value, key, stages, rotation, policy and replication to whoever the config does not name."""
    statements = []
    statements += _allow("AllowAdmin", admin_principals, Action=SECRET_ADMIN_ACTIONS, Resource="*")
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
    exempt = [*deployer_principals, *([rotation_role_arn] if rotation_role_arn else [])]
    statements += trust_tag_denials(trust_tags or {}, exempt)
    if account_root_arn:
        statements += operator_denials(
            account_root_arn=account_root_arn, deployer_principals=deployer_principals,
            admin_principals=admin_principals, readwrite_principals=readwrite_principals,
            rotation_role_arn=rotation_role_arn, break_glass_principals=break_glass_principals)
        statements += trust_tag_write_denials(trust_tags or {}, exempt)
    return merge_documents(document(statements), extra_documents)


# ---------------------------------------------------------------------------------------------
# Operators (issue 16). Within an account an Allow in a resource policy narrows nothing: a role with
# `secretsmanager:*` (SecretsManagerReadWrite, PowerUserAccess) could write a value, move the
# secret to aws/secretsmanager (UpdateSecret KmsKeyId) and rotate it, or rewrite the policy. Only a
# Deny binds them. Each group of actions is denied to every principal but those that need it.
# Action names: Service Authorization Reference, "Actions defined by AWS Secrets Manager".

# Writing a value: PutSecretValue, and UpdateSecret (SecretString, but also KmsKeyId and description).
DENY_PUT_VALUE = ["secretsmanager:PutSecretValue"]
DENY_UPDATE_SECRET = ["secretsmanager:UpdateSecret"]
# Moving staging labels (AWSCURRENT back to an old value, or onto a value someone wrote).
DENY_STAGES = ["secretsmanager:UpdateSecretVersionStage"]
# Starting a rotation (RotationLambdaARN may name another function) or changing its schedule.
DENY_ROTATE = ["secretsmanager:RotateSecret"]
# Turning rotation off, dropping a replica: a named admin's own actions (SECRET_ADMIN_ACTIONS).
DENY_ADMIN_CHANGES = ["secretsmanager:CancelRotateSecret", "secretsmanager:RemoveRegionsFromReplication"]
# The resource policy and replication to a region and key of the caller's choosing.
DENY_POLICY_AND_REPLICATION = [
    "secretsmanager:DeleteResourcePolicy", "secretsmanager:PutResourcePolicy",
    "secretsmanager:ReplicateSecretToRegions", "secretsmanager:StopReplicationToReplica",
]
# Every action the Denies above cover (the pack and the tests read this list).
OPERATOR_DENIED_ACTIONS = sorted({*DENY_PUT_VALUE, *DENY_UPDATE_SECRET, *DENY_STAGES, *DENY_ROTATE,
                                  *DENY_ADMIN_CHANGES, *DENY_POLICY_AND_REPLICATION})
# Secrets Manager's own requests (replication, the rotation schedule) carry no caller ARN.
NOT_AN_AWS_SERVICE = {"Bool": {"aws:PrincipalIsAWSService": "false"}}


def _deny_unless(sid: str, actions: Sequence[str], exempt_principals: Sequence[str]) -> dict:
    condition: dict[str, Any] = {"ArnNotEquals": {"aws:PrincipalArn": one_or_many(exempt_principals)}}
    condition.update(NOT_AN_AWS_SERVICE)
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": list(actions), "Resource": "*",
            "Condition": condition}


def operator_denials(
    *,
    account_root_arn: str,
    deployer_principals: Sequence[str],
    admin_principals: Sequence[str] = (),
    readwrite_principals: Sequence[str] = (),
    rotation_role_arn: str | None = None,
    break_glass_principals: Sequence[str] = (),
) -> list[dict]:
    """Deny statements of a secret policy: nobody but the principals the config names changes the
    value, the key, the stages, the rotation, the policy or the replication. Always exempt: the
    deployer (pulumi up/refresh/destroy call UpdateSecret, PutSecretValue, PutResourcePolicy,
    RotateSecret, replication), the account's root user and the break-glass principals."""
    always = [account_root_arn, *deployer_principals, *break_glass_principals]
    rotation = [rotation_role_arn] if rotation_role_arn else []
    # Named admins that default to the account root are the root user only.
    admins = [a for a in admin_principals if a != account_root_arn]
    return [
        _deny_unless("DenyWriteUnlessNamed", DENY_PUT_VALUE, [*always, *readwrite_principals, *rotation]),
        _deny_unless("DenyStageMovesUnlessNamed", DENY_STAGES, [*always, *rotation]),
        _deny_unless("DenyUpdateExceptDeployer", DENY_UPDATE_SECRET + DENY_ROTATE, always),
        _deny_unless("DenyPolicyAndReplicationExceptDeployer", DENY_POLICY_AND_REPLICATION, always),
        _deny_unless("DenyAdminChangesUnlessNamed", DENY_ADMIN_CHANGES, [*always, *admins]),
    ]


def trust_tag_write_denials(trust_tags: Mapping[str, str], exempt_principals: Sequence[str]) -> list[dict]:
    """Writes honour trust tags as reads do: whoever writes must carry every tag (the deployer and the
    rotation role excepted)."""
    statements = []
    for key, value in sorted((trust_tags or {}).items()):
        condition: dict[str, Any] = {"StringNotEquals": {f"aws:PrincipalTag/{key}": value}}
        if exempt_principals:
            condition["ArnNotEquals"] = {"aws:PrincipalArn": one_or_many(exempt_principals)}
        statements.append({"Sid": f"DenyWriteWithoutTag{sid_suffix(key)}", "Effect": "Deny", "Principal": "*",
                           "Action": [*DENY_PUT_VALUE, *DENY_UPDATE_SECRET, *DENY_STAGES], "Resource": "*",
                           "Condition": condition})
    return statements


def key_policy_denials(*, account_root_arn: str, deployer_principals: Sequence[str],
                       break_glass_principals: Sequence[str] = ()) -> list[dict]:
    """Key policy Deny: only the deployer, the root user and break-glass rewrite the key policy (the
    account-administration statement would otherwise let any IAM admin grant itself Decrypt). KMS's
    lockout check passes: the deployer, who calls PutKeyPolicy, is exempt and keeps it."""
    statement = _deny_unless("DenyKeyPolicyChangesExceptDeployer", ["kms:PutKeyPolicy"],
                             [account_root_arn, *deployer_principals, *break_glass_principals])
    return [statement]


# ---------------------------------------------------------------------------------------------
# The review-stack deploy role's permissions boundary (issue 16). Review stacks run the pull
# request's code with the deploy role's credentials; the policy pack sees resources, not API
# calls. The boundary limits the role itself: it may touch only resources tagged
# `app-secrets:ephemeral=true` (what review stacks create), create only tagged ones, and create
# roles only under this same boundary.

EPHEMERAL_TAG_KEY = "app-secrets:ephemeral"
# Actions on an existing secret (Service Authorization Reference, resource type "Secret").
# DescribeSecret stays open: a preview looks up allowed long-lived secrets by name (metadata only).
SECRET_RESOURCE_ACTIONS = [
    "secretsmanager:CancelRotateSecret", "secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
    "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds",
    "secretsmanager:PutResourcePolicy", "secretsmanager:PutSecretValue", "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:ReplicateSecretToRegions", "secretsmanager:RestoreSecret", "secretsmanager:RotateSecret",
    "secretsmanager:StopReplicationToReplica", "secretsmanager:TagResource", "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ValidateResourcePolicy",
]
KMS_KEY_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateGrant", "kms:Decrypt", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:PutKeyPolicy", "kms:ReEncrypt*",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
]
IAM_ROLE_CHANGE_ACTIONS = [
    "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PassRole",
    "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
]
SECURITY_GROUP_ACTIONS = [
    "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules",
]
LAMBDA_FUNCTION_ACTIONS = [
    "lambda:AddPermission", "lambda:DeleteFunction", "lambda:InvokeFunction", "lambda:TagResource",
    "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
]


def review_deploy_boundary(boundary_arn: str, attachable_role_arns: Sequence[str] = ()) -> Document:
    """Permissions boundary for the role that deploys review stacks. `boundary_arn` is this policy's
    own ARN (roles the stack creates must carry it too); `attachable_role_arns` are long-lived app
    roles a review stack may attach its read policies to (the pack's allowedReviewRoleNames)."""
    not_ephemeral = {"StringNotEquals": {f"aws:ResourceTag/{EPHEMERAL_TAG_KEY}": "true"}}
    untagged_request = {"StringNotEquals": {f"aws:RequestTag/{EPHEMERAL_TAG_KEY}": "true"}}
    statements: list[dict] = [
        {"Sid": "DeployWhatTheRoleAllows", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "OnlyEphemeralSecrets", "Effect": "Deny", "Action": SECRET_RESOURCE_ACTIONS, "Resource": "*",
         "Condition": not_ephemeral},
        {"Sid": "CreateOnlyEphemeralSecrets", "Effect": "Deny", "Action": ["secretsmanager:CreateSecret"],
         "Resource": "*", "Condition": untagged_request},
        {"Sid": "OnlyEphemeralKeys", "Effect": "Deny", "Action": KMS_KEY_ACTIONS, "Resource": "*",
         "Condition": not_ephemeral},
        {"Sid": "CreateOnlyEphemeralKeys", "Effect": "Deny", "Action": ["kms:CreateKey"], "Resource": "*",
         "Condition": untagged_request},
        {"Sid": "OnlyEphemeralFunctions", "Effect": "Deny", "Action": LAMBDA_FUNCTION_ACTIONS, "Resource": "*",
         "Condition": not_ephemeral},
        {"Sid": "RolesOnlyUnderThisBoundary", "Effect": "Deny",
         "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"], "Resource": "*",
         "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}}},
        {"Sid": "NeverRemoveBoundaries", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary"],
         "Resource": "*"},
        {"Sid": "KeepThisBoundary", "Effect": "Deny",
         "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion"], "Resource": boundary_arn},
        {"Sid": "NoUserOrGroupPolicies", "Effect": "Deny",
         "Action": ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:PutGroupPolicy", "iam:PutUserPolicy",
                    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"], "Resource": "*"},
    ]
    statements += [
        {"Sid": "CreateOnlyEphemeralFunctions", "Effect": "Deny", "Action": ["lambda:CreateFunction"],
         "Resource": "*", "Condition": untagged_request},
        {"Sid": "OnlyEphemeralSecurityGroups", "Effect": "Deny", "Action": SECURITY_GROUP_ACTIONS,
         "Resource": "*", "Condition": not_ephemeral},
    ]
    roles: dict[str, Any] = {"Sid": "OnlyEphemeralRoles", "Effect": "Deny", "Action": IAM_ROLE_CHANGE_ACTIONS,
                             "Resource": "*", "Condition": not_ephemeral}
    if attachable_role_arns:
        # Long-lived app roles: the review stack attaches (and detaches) its read policies, nothing more.
        roles.pop("Resource")
        roles["NotResource"] = one_or_many(attachable_role_arns)
        statements.append({"Sid": "AttachableRolesOnlyAttach", "Effect": "Deny",
                           "Action": [a for a in IAM_ROLE_CHANGE_ACTIONS
                                      if a not in ("iam:AttachRolePolicy", "iam:DetachRolePolicy")],
                           "Resource": one_or_many(attachable_role_arns)})
    statements.append(roles)
    return document(statements)


def replica_arn(secret_arn: str, region: str) -> str:
    """A replica's ARN is the primary's with the replica's region."""
    parts = secret_arn.split(":")
    return ":".join(parts[:3] + [region] + parts[4:]) if len(parts) > 4 else secret_arn


def read_policy(
    secrets: Sequence[tuple[str, str, str | None]], *, region: str, dns_suffix: str = "amazonaws.com",
    replicas: Sequence[tuple[str, str, str | None]] = (),
) -> Document:
    """Identity policy that reads secrets and decrypts them with their keys.

    `secrets` is a list of (name, secret arn, kms key arn). A key arn of None means the secret
    uses the AWS-managed key, whose own policy already lets the account decrypt through
    Secrets Manager, so no KMS statement is needed for it. `replicas` is a list of (region,
    replica arn, replica key arn): readers fail over to them, through Secrets Manager there."""
    regions = [region, *(r for r, _, _ in replicas)]
    via = secretsmanager_via_service(regions, dns_suffix)
    if len(secrets) == 1:
        name, _, _ = secrets[0]
        read_sid, decrypt_sid = f"Read{sid_suffix(name)}", f"Decrypt{sid_suffix(name)}"
    else:
        read_sid, decrypt_sid = "ReadSecrets", "DecryptSecrets"
    arns = [arn for _, arn, _ in [*secrets, *replicas]]
    keys = [key for _, _, key in [*secrets, *replicas] if key]
    statements = [{"Sid": read_sid, "Effect": "Allow", "Action": SECRET_READ_ACTIONS, "Resource": one_or_many(arns)}]
    if keys:
        statements.append({"Sid": decrypt_sid, "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": one_or_many(keys), "Condition": via})
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


def only_from_own_function(function_arn: str) -> dict:
    """Identity-policy Deny for a rotation role: its secret and key rights hold only in requests
    made by its own function. Passing the role to another function (iam:PassRole) then gains
    nothing: Lambda adds `lambda:SourceFunctionArn` to every request made with the function's
    credentials (a key of identity policies only), and a missing key denies too."""
    return {"Sid": "OnlyFromItsOwnFunction", "Effect": "Deny",
            "Action": [*ROTATION_SECRET_ACTIONS, *KMS_USE_ACTIONS], "Resource": "*",
            "Condition": {"ArnNotEquals": {"lambda:SourceFunctionArn": function_arn}}}


def lambda_trust_policy(extra_documents: Sequence[str | Mapping] = ()) -> Document:
    base = document([{
        "Sid": "AssumedByLambda",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }])
    return merge_documents(base, extra_documents)


def log_policy(log_group_arn: str) -> Document:
    """A rotation function may write to its own log group only (not AWS's managed policy on `*`).
    Lambda creates the streams; the group exists already, so no logs:CreateLogGroup."""
    return document([{
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:*",
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
