"""The organisation's guardrails for app-secrets stacks, as CrossGuard policies (importable: the
PolicyPack itself is built only in `__main__.py`, since building it starts a gRPC server).

| policy | kind | what it stops |
|---|---|---|
| `secret-customer-managed-key` | resource | a secret, or a replica, on the AWS-managed key (the whole account may decrypt it) |
| `no-public-or-wildcard-principal` | resource | an Allow to `*` in a secret or key policy |
| `kms-key-rotation` | resource | a symmetric key with rotation off |
| `kms-no-lockout-bypass` | resource | `bypassPolicyLockoutSafetyCheck: true` |
| `review-stack-deletes-at-once` | resource | a review-stack secret (tag `app-secrets:ephemeral=true`) with a recovery window |
| `review-stack-allowed-references` | resource (before it is created) | a review stack that reads a long-lived secret, or attaches a policy to a role, not in the pack's lists (exact role names, full secret ARNs), changes or administers any secret it does not own, grants through NotAction/NotResource, grants permissions management or code changes (iam:PassRole, kms:PutKeyPolicy, lambda:UpdateFunctionCode, …), attaches to users or groups, or opens another stack's security group; every IAM policy-bearing type is read (managed policies, role/user/group inline policies, roles' inlinePolicies, all attachments) |
| `database-login-rotation` | resource + stack | a database login of a long-lived stack that does not rotate, or rotates less often than every `maxRotationDays` |

Pack config (set in Pulumi Cloud or in a `--policy-pack-config` file, outside any pull request):

| key | type | default | meaning |
|---|---|---|---|
| `allowedLongLivedSecrets` | list of secret ARNs without the random suffix | `[]` | long-lived secrets a review stack may read, with account and region (e.g. `arn:aws:secretsmanager:us-east-1:123456789012:secret:example-prismic`) |
| `allowedReviewRoleNames` | list of role names | `[]` | roles a review stack may attach policies to (besides the rotation roles it creates, `<secret>-<stack>-rotation` exactly) |
| `reviewStackNamePattern` | regex | `^pr(-\\|$)` | stacks that are review stacks whatever their config says (a pull request can set `reviewStack: false`, not rename its stack) |
| `maxRotationDays` | integer | `30` | database logins rotate at least this often |

Values a preview does not know yet (a policy built from ARNs of secrets it creates) are checked
when `pulumi up` registers the resource; CrossGuard runs on both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Iterable, Optional

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy)

EPHEMERAL_TAG = "app-secrets:ephemeral"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
KMS_KEY = "aws:kms/key:Key"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ROLE_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
ROLE_POLICIES_EXCLUSIVE = "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive"
USER_OR_GROUP_EXCLUSIVE = ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
                           "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
                           "aws:iam/userPoliciesExclusive:UserPoliciesExclusive",
                           "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive")
DATABASE_LOGIN = "app-secrets:databases:RdsPostgresAdminLogin"
AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULTS = {"allowedLongLivedSecrets": [], "allowedReviewRoleNames": [], "maxRotationDays": 30,
            "reviewStackNamePattern": "^pr(-|$)"}


def _config(args) -> dict[str, Any]:
    return {**DEFAULTS, **dict(args.get_config() or {})}


def _as_list(value: Any) -> list:
    # The engine hands props over wrapped (pulumi_policy's proxies): a list is a Sequence, not a list.
    if value is None:
        return []
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]


def _document(value: Any) -> Optional[Mapping]:
    """A policy input: a JSON string, or already a map; None while unknown (preview)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def _is_ephemeral(props: Mapping) -> bool:
    return str((props.get("tags") or {}).get(EPHEMERAL_TAG, "")).lower() == "true"


# --- resource policies ------------------------------------------------------------------------


def _customer_managed_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECRET:
        return
    key = args.props.get("kmsKeyId")
    if not key or key == AWS_MANAGED_SECRETS_KEY:
        report("the secret is encrypted with the AWS-managed key aws/secretsmanager, which every principal of "
               "the account may use; give it a customer-managed key (kmsKeyId)", None)
    for replica in _as_list(args.props.get("replicas")):
        replica_key = (replica or {}).get("kmsKeyId")
        if not replica_key or replica_key == AWS_MANAGED_SECRETS_KEY:
            report(f"the replica in {replica.get('region')} uses the AWS-managed key; give it a customer-managed "
                   "key in its region (kmsKeyId)", None)


def public_statements(document: Mapping) -> list[str]:
    """Sids (or indexes) of Allow statements whose principal is everyone."""
    found = []
    for i, statement in enumerate(_as_list(document.get("Statement"))):
        principal = statement.get("Principal")
        values = [principal] if principal == "*" else (
            _as_list(principal.get("AWS")) if isinstance(principal, Mapping) else [])
        if statement.get("Effect") == "Allow" and "*" in values:
            found.append(str(statement.get("Sid") or f"Statement[{i}]"))
    return found


def _no_public_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (SECRET_POLICY, KMS_KEY):
        return
    document = _document(args.props.get("policy"))
    if document is None:
        return
    for sid in public_statements(document):
        report(f"statement {sid} allows Principal '*': name the principals", None)


def _key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != KMS_KEY:
        return
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and args.props.get("enableKeyRotation") is not True:
        report("key rotation is off: set enableKeyRotation: true", None)


def _no_lockout_bypass(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == KMS_KEY and args.props.get("bypassPolicyLockoutSafetyCheck") is True:
        report("bypassPolicyLockoutSafetyCheck is true: KMS would accept a policy that nobody can change", None)


def _review_deletes_at_once(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECRET or not _is_ephemeral(args.props):
        return
    window = args.props.get("recoveryWindowInDays")
    if window not in (0, 0.0):
        report(f"review-stack secrets must be deleted at once (recoveryWindowInDays: 0), not {window!r}", None)


RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")


def rotation_interval_days(rules: Mapping) -> Optional[float]:
    """Days between rotations of SecretRotation rotationRules; None for a cron schedule."""
    if rules.get("automaticallyAfterDays"):
        return float(rules["automaticallyAfterDays"])
    match = RATE.match(str(rules.get("scheduleExpression") or ""))
    if not match:
        return None
    n = int(match.group(1))
    return n / 24 if match.group(2).startswith("hour") else float(n)


def _rotation_often_enough(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECRET_ROTATION:
        return
    limit = _config(args)["maxRotationDays"]
    days = rotation_interval_days(args.props.get("rotationRules") or {})
    if days is not None and days > limit:
        report(f"the secret rotates every {days:g} days; the organisation requires at least every {limit} days",
               None)


# --- stack policies ---------------------------------------------------------------------------


def secret_name_of_arn(arn: str) -> Optional[str]:
    """`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random>` -> name."""
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[2] != "secretsmanager" or parts[5] != "secret":
        return None
    name = parts[6]
    return name[:-7] if re.search(r"-[A-Za-z0-9]{6}$", name) else name


def _covers(action_pattern: str, action: str) -> bool:
    """Whether an action pattern (IAM wildcards * and ?, any case) covers an action."""
    regex = "^" + ".*".join(".".join(re.escape(p) for p in part.split("?")) for part in action_pattern.split("*")) + "$"
    return re.match(regex, action, re.IGNORECASE) is not None


def _reads_values(action_pattern: str) -> bool:
    """Whether an action (wildcards allowed) covers secretsmanager:GetSecretValue."""
    return _covers(action_pattern, "secretsmanager:GetSecretValue")


# Secrets Manager actions on a secret (Service Authorization Reference): reading a value, and
# everything that changes a value, its key, stages, rotation, policy, replication or existence.
SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
                       "secretsmanager:DescribeSecret"]
SECRET_CHANGE_ACTIONS = [
    "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret", "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy", "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:StopReplicationToReplica",
    "secretsmanager:DeleteSecret", "secretsmanager:RestoreSecret", "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
]
# Permissions management and code: whoever holds these in a review stack grants itself the rest.
ESCALATION_ACTIONS = [
    "iam:PassRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:PutGroupPolicy",
    "iam:AttachGroupPolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary", "sts:AssumeRole", "kms:PutKeyPolicy", "kms:CreateGrant",
    "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:CreateFunction",
]


def _actions_covered(statement: Mapping, actions: Sequence[str]) -> list[str]:
    patterns = [str(a) for a in _as_list(statement.get("Action"))]
    return [a for a in actions if any(_covers(p, a) for p in patterns)]


def secret_arn_without_suffix(arn: str) -> Optional[str]:
    """`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random>` -> the ARN up to the name."""
    name = secret_name_of_arn(arn)
    return None if name is None else ":".join(arn.split(":", 6)[:6]) + ":" + name


def review_statement_problems(document: Mapping, stack: str, allowed_secret_arns: Sequence[str]) -> list[str]:
    """What a review stack's identity policy may not grant: anything through NotAction or
    NotResource, permissions management or code changes, any change to a secret it does not own,
    and reads of long-lived secrets not allowed by their full ARN (account and region included)."""
    problems = []
    for i, statement in enumerate(_as_list(document.get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        sid = str(statement.get("Sid") or f"Statement[{i}]")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"statement {sid} uses NotAction or NotResource: a review stack names its actions "
                            "and resources")
            continue
        escalation = _actions_covered(statement, ESCALATION_ACTIONS)
        if escalation:
            problems.append(f"statement {sid} grants {', '.join(escalation)}: a review stack manages no "
                            "permissions and no code")
        changes = _actions_covered(statement, SECRET_CHANGE_ACTIONS)
        reads = [a for a in _actions_covered(statement, SECRET_READ_ACTIONS) if a != "secretsmanager:DescribeSecret"]
        if not changes and not reads:
            continue
        for resource in (str(r) for r in _as_list(statement.get("Resource"))):
            name = secret_name_of_arn(resource)
            if name is None or "*" in resource or "?" in resource:
                verb = "changes" if changes else "reads"
                problems.append(f"statement {sid} {verb} secrets on '{resource}': a review stack names each secret")
                continue
            if name.endswith(f"-{stack}"):
                continue   # its own (a name the pull request does not choose)
            if changes:
                problems.append(f"statement {sid} may change long-lived secret '{name}' ({', '.join(changes)}): "
                                "a review stack only reads allowed ones")
            elif secret_arn_without_suffix(resource) not in allowed_secret_arns:
                problems.append(f"statement {sid} reads long-lived secret '{name}' "
                                f"({secret_arn_without_suffix(resource)}), which is not in allowedLongLivedSecrets")
    return problems


def stack_of_urn(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> stack."""
    return urn.split("::")[0].split(":")[-1] if urn.startswith("urn:pulumi:") else ""


def is_review_stack(urn: str, props: Mapping, config: Mapping) -> bool:
    """By the pack's stack-name pattern (outside the pull request's reach) or the ephemeral tag."""
    return bool(re.search(config["reviewStackNamePattern"], stack_of_urn(urn))) or _is_ephemeral(props)


def own_role(role: str, stack: str) -> bool:
    """Roles a review stack creates: rotation roles `<secret>-<stack>-rotation`, exactly."""
    return re.fullmatch(rf".+-{re.escape(stack)}-rotation", role) is not None


# Every IAM type that carries a policy document or attaches one (pulumi-aws 7).
POLICY_DOCUMENT_TYPES = (IAM_POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY)
ROLE_ATTACHING_TYPES = (ROLE_POLICY_ATTACHMENT, ROLE_POLICY)
USER_OR_GROUP_TYPES = (USER_POLICY, GROUP_POLICY, USER_POLICY_ATTACHMENT, GROUP_POLICY_ATTACHMENT,
                       *USER_OR_GROUP_EXCLUSIVE)


def _review_references(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Judged per resource, before it is created: a stack policy would run after the update."""
    config = _config(args)
    if not is_review_stack(args.urn, args.props, config):
        return
    # What the review stack creates carries its stack's name (a name the pull request does not
    # choose): `<name>-<stack>`, rotation roles `<name>-<stack>-rotation`.
    stack = stack_of_urn(args.urn)
    props = args.props
    allowed_arns = [str(a) for a in config["allowedLongLivedSecrets"]]
    if args.resource_type == INGRESS_RULE and isinstance(props.get("securityGroupId"), str):
        # A group id known before the update is not one the stack creates (those are computed).
        report(f"a review stack may not open security group '{props['securityGroupId']}' of another stack "
               "(databaseSecurityGroupId)", None)
    roles = []
    if args.resource_type in ROLE_ATTACHING_TYPES:
        roles = [props.get("role")]
    elif args.resource_type in (ROLE_ATTACHMENTS_EXCLUSIVE, ROLE_POLICIES_EXCLUSIVE):
        roles = [props.get("roleName")]
    elif args.resource_type == POLICY_ATTACHMENT:
        roles = _as_list(props.get("roles"))
        if _as_list(props.get("users")) or _as_list(props.get("groups")):
            report("a review stack may not attach policies to users or groups", None)
    for role in roles:
        if isinstance(role, str) and role not in config["allowedReviewRoleNames"] and not own_role(role, stack):
            report(f"a review stack may not attach policies to role '{role}' (not in allowedReviewRoleNames, "
                   "not created by this stack)", None)
    if args.resource_type in USER_OR_GROUP_TYPES:
        report("a review stack may not attach policies to users or groups", None)
    documents = []
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        documents = [props.get("policy")]
    elif args.resource_type == IAM_ROLE:
        documents = [(p or {}).get("policy") for p in _as_list(props.get("inlinePolicies"))]
        if _as_list(props.get("managedPolicyArns")):
            report("a review stack's role may not carry managedPolicyArns: attach each policy with a "
                   "RolePolicyAttachment the pack can judge", None)
    for value in documents:
        for problem in review_statement_problems(_document(value) or {}, stack, allowed_arns):
            report(problem, None)


def _in_database_login(resource) -> bool:
    # The URN's type chain names the ancestors (the parent's URN too, where a chain is shortened).
    return DATABASE_LOGIN in resource.urn or DATABASE_LOGIN in str(getattr(resource.opts, "parent", "") or "")


def _logins_rotate(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every database login of a long-lived stack has a rotation (matched by the login component's
    name, which its Secret and SecretRotation share)."""
    resources = args.resources
    config = _config(args)
    if any(is_review_stack(r.urn, r.props, config) for r in resources):
        return
    rotated = {r.name for r in resources if r.resource_type == SECRET_ROTATION and _in_database_login(r)}
    for r in resources:
        if r.resource_type == SECRET and _in_database_login(r) and r.name not in rotated:
            report(f"database login secret '{r.props.get('name')}' has no rotation", r.urn)


LIST_OF_NAMES = {"type": "array", "items": {"type": "string"}, "default": []}

POLICIES = [
    ResourceValidationPolicy(
        name="secret-customer-managed-key",
        description="Every secret and replica is encrypted with a customer-managed KMS key.",
        validate=_customer_managed_key, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        name="no-public-or-wildcard-principal",
        description="No secret or key policy allows Principal '*'.",
        validate=_no_public_principal, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        name="kms-key-rotation",
        description="Symmetric KMS keys rotate yearly.",
        validate=_key_rotation, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        name="kms-no-lockout-bypass",
        description="KMS keys keep the policy lockout safety check.",
        validate=_no_lockout_bypass, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        name="review-stack-deletes-at-once",
        description="Secrets of review stacks (tag app-secrets:ephemeral=true) are deleted without a recovery window.",
        validate=_review_deletes_at_once, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(
        name="review-stack-allowed-references",
        description="A review stack reads only its own secrets and the allowed long-lived ones, and attaches "
                    "policies only to its own roles and the allowed ones.",
        validate=_review_references, enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={
            "allowedLongLivedSecrets": LIST_OF_NAMES, "allowedReviewRoleNames": LIST_OF_NAMES,
            "reviewStackNamePattern": {"type": "string", "default": "^pr(-|$)"}})),
    ResourceValidationPolicy(
        name="database-login-rotation",
        description="Database logins rotate at least every maxRotationDays days.",
        validate=_rotation_often_enough, enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={
            "maxRotationDays": {"type": "integer", "minimum": 1, "default": 30}})),
    StackValidationPolicy(
        name="database-login-rotation-configured",
        description="Every database login of a long-lived stack has a rotation.",
        validate=_logins_rotate, enforcement_level=EnforcementLevel.MANDATORY),
]


# Design gap: the pack sees resources, not the API calls the pull request's code makes with the
# deploy role's credentials. `review_deploy_boundary` (policy_pack/boundary.py) closes it.
