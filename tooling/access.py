"""Who may do what: AWS's policy evaluation for one request, over plain policy documents (pure).

No well-kept library evaluates identity, resource and KMS key policies together (PyPI, checked
for this: policyuniverse parses and expands, cloudsplaining and policy-sentry analyse identity
policies, py-iam-expand expands wildcards, aws-iam-tester calls IAM's policy simulator API (an
account is needed); moto's `moto.iam.access_control` treats a non-matching Allow condition or
principal as a Deny, which AWS does not, and knows no KMS key policies). So this is the small part
we need, written from AWS's documentation:

- IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic.html) and
  "Policy evaluation for requests within a single account": an explicit Deny in any policy wins;
  within one account a request is allowed when the identity policy OR the resource policy allows
  it; a resource policy that names the account (root ARN or account id) delegates to IAM, so the
  identity policy must allow. Across accounts both must allow ("Cross-account policy evaluation").
- KMS Developer Guide, "Key policies" / "Allows access to the AWS account and enables IAM
  policies": the key policy is required. A principal may use a key when the key policy allows
  it directly, or when the key policy allows the account and an IAM policy allows it.
- IAM User Guide, "Condition operators": several values for one key match when any matches; for
  negated operators (StringNotEquals, ArnNotLike, …) none may match. Keys within an operator and
  operators within a block must all hold. A key missing from the request makes a positive
  operator false and a negated one true; `…IfExists` is true when the key is missing.

- IAM User Guide, "Permissions boundaries for IAM entities": a boundary limits the role's
  identity-policy grants and resource-policy grants naming the role's ARN (not those naming a
  user's ARN or a role session's ARN, which this project never writes).

Left out (not produced by this project): NotPrincipal, NotResource in resource policies, policy
variables, ForAnyValue/ForAllValues, numeric/date/IP operators, SCPs, RCPs, session policies,
grants.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """An IAM role or user making a request: its ARN, tags and identity policies."""

    arn: str
    identity_policies: Sequence[Document] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # Keys its requests carry besides the global ones, e.g. lambda:SourceFunctionArn for a role
    # used by a Lambda function.
    context: Mapping[str, str] = field(default_factory=dict)
    # A permissions boundary: identity-policy grants (and grants naming the role) need it too.
    boundary: Optional[Document] = None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    # IAM wildcards: * any run of characters, ? one character; nothing else is special.
    regex = "^" + ".*".join(".".join(re.escape(p) for p in part.split("?")) for part in pattern.split("*")) + "$"
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _action_matches(statement: Mapping, action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(a, action, False) for a in _as_list(statement["NotAction"]))
    return any(_wildcard(a, action, False) for a in _as_list(statement.get("Action")))


def _resource_matches(statement: Mapping, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_wildcard(r, resource) for r in _as_list(statement["NotResource"]))
    return any(_wildcard(r, resource) for r in _as_list(statement.get("Resource", "*")))


def _principal_match(statement: Mapping, principal: Principal) -> Optional[str]:
    """How a resource-policy statement names the caller: 'direct' (its ARN, or *), 'account'
    (its account: delegated to IAM), or None."""
    named = statement.get("Principal")
    if named == "*":
        return "direct"
    if not isinstance(named, Mapping):
        return None
    for value in _as_list(named.get("AWS")):
        if value == "*" or value == principal.arn:
            return "direct"
        if value in (principal.account, f"arn:{principal.arn.split(':')[1]}:iam::{principal.account}:root"):
            return "account"
    return None


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _compare(operator: str, expected: str, actual: str) -> bool:
    base = operator.replace("Not", "")
    if base == "StringEquals":
        return expected == actual
    if base == "StringEqualsIgnoreCase":
        return expected.lower() == actual.lower()
    if base in ("StringLike", "ArnLike", "ArnEquals"):   # ArnEquals takes wildcards too
        return _wildcard(expected, actual)
    if base == "Bool":
        return expected.lower() == str(actual).lower()
    raise ValueError(f"condition operator {operator} is not supported by this evaluator")


def condition_holds(condition: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, Any]) -> bool:
    for operator, entries in (condition or {}).items():
        if_exists = operator.endswith("IfExists")
        name = operator[:-len("IfExists")] if if_exists else operator
        for key, expected in entries.items():
            if name == "Null":
                missing = key not in context
                if missing != (str(expected).lower() == "true"):
                    return False
                continue
            actual_values = [str(v) for v in _as_list(context.get(key))]
            if not actual_values:
                if if_exists or name in _NEGATED:
                    continue
                return False
            expected_values = [str(v) for v in _as_list(expected)]
            matched = any(_compare(name, e, a) for e in expected_values for a in actual_values)
            if matched == (name in _NEGATED):
                return False
    return True


def _statements(document: Document | None) -> list[Mapping]:
    return [s for s in _as_list((document or {}).get("Statement"))]


def _effects(documents: Iterable[Document | None], action: str, resource: str, context: Mapping[str, Any],
             principal: Optional[Principal] = None) -> dict[str, set]:
    """Effects of the statements that apply: {'Allow': {'direct'|'account'|'identity'}, 'Deny': {...}}."""
    found: dict[str, set] = {"Allow": set(), "Deny": set()}
    for document in documents:
        for statement in _statements(document):
            if not (_action_matches(statement, action) and _resource_matches(statement, resource)):
                continue
            how = "identity" if principal is None else _principal_match(statement, principal)
            if how is None or not condition_holds(statement.get("Condition"), context):
                continue
            found[statement.get("Effect", "Deny")].add(how)
    return found


def request_context(principal: Principal, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The global keys AWS adds to every request, plus service keys (e.g. kms:ViaService)."""
    # Principals here are IAM roles and users, never AWS service principals.
    context: dict[str, Any] = {"aws:PrincipalArn": principal.arn, "aws:PrincipalAccount": principal.account,
                               "aws:PrincipalIsAWSService": "false"}
    context.update({f"aws:PrincipalTag/{k}": v for k, v in principal.tags.items()})
    context.update(principal.context)
    context.update(extra or {})
    return context


def evaluate(principal: Principal, action: str, resource: str, *, resource_policy: Document | None = None,
             key_policy: bool = False, context: Mapping[str, Any] | None = None) -> Decision:
    """One request. `resource_policy` is the secret's policy, or the key's policy with
    `key_policy=True` (then it is required: IAM alone never grants use of a key)."""
    ctx = request_context(principal, context)
    identity = _effects(principal.identity_policies, action, resource, ctx)
    resource_side = _effects([resource_policy], action, resource, ctx, principal) if resource_policy else \
        {"Allow": set(), "Deny": set()}
    if identity["Deny"] or resource_side["Deny"]:
        return Decision(False, "explicit deny")
    if principal.boundary is not None:
        # IAM User Guide, "Permissions boundaries": the effective permissions are what both the
        # identity policies and the boundary allow; grants naming a role ARN are limited too.
        bounded = _effects([principal.boundary], action, resource, ctx)
        if bounded["Deny"]:
            return Decision(False, "explicit deny (permissions boundary)")
        if not bounded["Allow"]:
            return Decision(False, "permissions boundary does not allow")
    identity_allows = bool(identity["Allow"])
    # ARNs without an account (S3 buckets) belong to the caller's account in these examples.
    resource_account = (resource.split(":")[4] if resource.count(":") >= 5 else "") or principal.account
    same_account = resource_account == principal.account
    if key_policy:
        if "direct" in resource_side["Allow"] and (same_account or identity_allows):
            return Decision(True, "key policy names the principal")
        if "account" in resource_side["Allow"] and identity_allows:
            return Decision(True, "key policy delegates to IAM, and IAM allows")
        return Decision(False, "key policy does not allow" if not resource_side["Allow"] else "IAM does not allow")
    if same_account:
        if "direct" in resource_side["Allow"]:
            return Decision(True, "resource policy names the principal")
        if identity_allows:
            return Decision(True, "identity policy allows")
        return Decision(False, "no policy allows")
    if resource_side["Allow"] and identity_allows:
        return Decision(True, "cross-account: both allow")
    return Decision(False, "cross-account: both must allow")


@dataclass(frozen=True)
class SecretAccess:
    """What decides access to one secret: its ARN and policy, its key's ARN and policy (None for
    an AWS-managed key), and its region. A rotating secret also names its rotation function and
    that function's role: whoever may change the function's code or hand the role to another
    function runs code with the role's rights."""

    arn: str
    policy: Document | None
    key_arn: Optional[str]
    key_policy: Document | None
    region: str
    dns_suffix: str = "amazonaws.com"
    rotation_function_arn: Optional[str] = None
    rotation_role_arn: Optional[str] = None
    tags: Mapping[str, str] = field(default_factory=dict)       # the secret's (aws:ResourceTag/…)
    key_tags: Mapping[str, str] = field(default_factory=dict)   # its key's


def _resource_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


# What each ability needs: one or more routes, each a Secrets Manager action and the KMS action
# Secrets Manager then makes with the caller's credentials (via the service), if any. An ability
# is held when any route is allowed.
ABILITIES: dict[str, list[tuple[str, Optional[str]]]] = {
    "read": [("secretsmanager:GetSecretValue", "kms:Decrypt")],
    # UpdateSecret(SecretString) writes a value as PutSecretValue does.
    "write": [("secretsmanager:PutSecretValue", "kms:GenerateDataKey"),
              ("secretsmanager:UpdateSecret", "kms:GenerateDataKey")],
    # UpdateSecret(KmsKeyId="") moves the secret to aws/secretsmanager, which the whole account may
    # use; without Decrypt on the old key AWS skips re-encrypting old versions but still moves it.
    # No right on the secret's own key is needed.
    "re-key": [("secretsmanager:UpdateSecret", None)],
    # RotateSecret starts the configured function (or, with RotationLambdaARN, another one).
    "rotate": [("secretsmanager:RotateSecret", None)],
    "administer": [("secretsmanager:DeleteSecret", None)],
    # Rewriting the secret's policy or the key's policy lets the caller grant itself the rest.
    "change-policy": [("secretsmanager:PutResourcePolicy", None), ("secretsmanager:DeleteResourcePolicy", None)],
}
# The abilities of operators (besides reading) that the access matrix asks about.
OPERATOR_ABILITIES = ("write", "re-key", "rotate", "change-policy", "change-code")
# Changing a rotation function's code, layers or configuration, or passing its role to a new
# function: the code then runs with the role's rights (Lambda service authorization reference).
LAMBDA_CODE_ACTIONS = ["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"]


def _can_route(principal: Principal, action: str, kms_action: Optional[str], secret: SecretAccess) -> Decision:
    decision = evaluate(principal, action, secret.arn, resource_policy=secret.policy,
                        context=_resource_tags(secret.tags))
    if not decision.allowed or kms_action is None or secret.key_arn is None:
        return decision
    via = {"kms:ViaService": f"secretsmanager.{secret.region}.{secret.dns_suffix}", **_resource_tags(secret.key_tags)}
    key = evaluate(principal, kms_action, secret.key_arn, resource_policy=secret.key_policy, key_policy=True,
                   context=via)
    return key if not key.allowed else Decision(True, f"{decision.reason}; {key.reason}")


def _can_change_code(principal: Principal, secret: SecretAccess) -> Decision:
    """Identity policies decide (a function's resource policy here lets only Secrets Manager invoke)."""
    if secret.rotation_function_arn is None:
        return Decision(False, "no rotation function")
    for action in LAMBDA_CODE_ACTIONS:
        decision = evaluate(principal, action, secret.rotation_function_arn)
        if decision.allowed:
            return Decision(True, f"{action}: {decision.reason}")
    if secret.rotation_role_arn:
        decision = evaluate(principal, "iam:PassRole", secret.rotation_role_arn)
        if decision.allowed:
            return Decision(True, f"iam:PassRole: {decision.reason}")
    return Decision(False, "may not change the function or pass its role")


def can(principal: Principal, ability: str, secret: SecretAccess) -> Decision:
    if ability == "change-code":
        return _can_change_code(principal, secret)
    decision = Decision(False, f"{ability}: no route")
    for action, kms_action in ABILITIES[ability]:
        decision = _can_route(principal, action, kms_action, secret)
        if decision.allowed:
            return decision
    if ability == "change-policy" and secret.key_arn is not None and secret.key_policy is not None:
        key = evaluate(principal, "kms:PutKeyPolicy", secret.key_arn, resource_policy=secret.key_policy,
                       key_policy=True, context=_resource_tags(secret.key_tags))
        if key.allowed:
            return Decision(True, f"kms:PutKeyPolicy: {key.reason}")
    return decision


def can_read_after_re_key(principal: Principal, secret: SecretAccess) -> Decision:
    """The operator's route to plaintext: move the secret to aws/secretsmanager, start a rotation
    (the function writes the next value under that key), then GetSecretValue, which the account
    key no longer stops. Each step must be allowed by the secret's own policy and IAM."""
    steps = [can(principal, "re-key", secret), can(principal, "rotate", secret),
             evaluate(principal, "secretsmanager:GetSecretValue", secret.arn, resource_policy=secret.policy,
                      context=_resource_tags(secret.tags))]
    blocked = next((s for s in steps if not s.allowed), None)
    return blocked or Decision(True, "re-key to aws/secretsmanager, rotate, then read")


# ---------------------------------------------------------------------------------------------
# Per-secret view of a plan: what decides access to each secret, and who it names.

ANY_IAM_PRINCIPAL = "any principal IAM allows"


def _named(statement: Mapping) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    return [str(p) for p in _as_list(principal.get("AWS"))] if isinstance(principal, Mapping) else []


def _granted_to(document: Document | None, action: str) -> list[str]:
    return sorted({p for s in _statements(document) if s.get("Effect") == "Allow" and _action_matches(s, action)
                   for p in _named(s)})


def _is_root(arn: str) -> bool:
    return arn.endswith(":root") or re.fullmatch(r"\d{12}", arn) is not None


def access_summary(secret: SecretAccess) -> dict[str, Any]:
    """Who can read, write and administer one secret, as its policies say. The key policy decides
    reads and writes (Secrets Manager uses the key with the caller's credentials); the account root
    there means every principal whose IAM policies allow it."""
    if secret.key_policy is None:
        # An AWS-managed key lets the whole account decrypt through Secrets Manager.
        read = write = [ANY_IAM_PRINCIPAL]
    else:
        read = [ANY_IAM_PRINCIPAL if _is_root(p) else p for p in _granted_to(secret.key_policy, "kms:Decrypt")]
        write = [ANY_IAM_PRINCIPAL if _is_root(p) else p for p in _granted_to(secret.key_policy, "kms:GenerateDataKey")]
    administer = [p for p in _granted_to(secret.policy, "secretsmanager:DeleteSecret")
                  if not _is_root(p)] + ["account root (IAM, break-glass)"]
    tags: dict[str, str] = {}
    exempt: set[str] = set()
    for statement in _statements(secret.policy):
        if statement.get("Effect") == "Deny" and _action_matches(statement, "secretsmanager:GetSecretValue"):
            condition = statement.get("Condition") or {}
            for key, value in (condition.get("StringNotEquals") or {}).items():
                if key.startswith("aws:PrincipalTag/"):
                    tags[key[len("aws:PrincipalTag/"):]] = value
            exempt.update(str(p) for p in _as_list((condition.get("ArnNotEquals") or {}).get("aws:PrincipalArn")))
    return {
        "read": sorted(set(read)),
        "write": sorted(set(write)),
        "administer": administer,
        "readRequiresTags": dict(sorted(tags.items())),
        "tagExempt": sorted(exempt),
        "readableByAnyIamPrincipal": ANY_IAM_PRINCIPAL in read and not tags,
    }


def _key_policies(run) -> dict[str, Mapping]:
    """Each KMS key of an offline run by ARN (the mock's ARN scheme, in the key's own region)."""
    region, account = run.mocks.region, run.mocks.account
    return {f"arn:aws:kms:{reg.inputs.get('region') or region}:{account}:key/{reg.id}": json.loads(reg.inputs["policy"])
            for reg in run.by_type("aws:kms/key:Key")}


def _key_tags(run) -> dict[str, Mapping]:
    region, account = run.mocks.region, run.mocks.account
    return {f"arn:aws:kms:{reg.inputs.get('region') or region}:{account}:key/{reg.id}": dict(reg.inputs.get("tags") or {})
            for reg in run.by_type("aws:kms/key:Key")}


def secret_accesses(run) -> dict[str, SecretAccess]:
    """The policies of each secret of an offline run (tooling.offline.OfflineRun), by config key.
    Existing secrets (not created here) have no policy or key policy we know."""
    keys = _key_policies(run)
    policies_by_secret = {reg.inputs["secretArn"]: json.loads(reg.inputs["policy"])
                          for reg in run.by_type("aws:secretsmanager/secretPolicy:SecretPolicy")}
    key_tags = _key_tags(run)
    secret_tags = {reg.name: dict(reg.inputs.get("tags") or {})
                   for reg in run.by_type("aws:secretsmanager/secret:Secret")}
    functions = {reg.inputs["secretId"]: reg.inputs["rotationLambdaArn"]
                 for reg in run.by_type("aws:secretsmanager/secretRotation:SecretRotation")}
    roles_by_function_name = {reg.inputs.get("name"): reg.inputs.get("role")
                              for reg in run.by_type("aws:lambda/function:Function")}
    roles = {arn: roles_by_function_name.get(arn.rsplit(":function:", 1)[-1]) for arn in functions.values() if arn}
    found = {}
    for key, described in (run.outputs.get("secrets") or {}).items():
        arn, key_arn = described["arn"], described.get("kmsKeyArn")
        function_arn = functions.get(arn)
        found[key] = SecretAccess(arn=arn, policy=policies_by_secret.get(arn), key_arn=key_arn,
                                  key_policy=keys.get(key_arn), region=run.mocks.region,
                                  rotation_function_arn=function_arn, rotation_role_arn=roles.get(function_arn),
                                  tags=secret_tags.get(key, {}), key_tags=key_tags.get(key_arn, {}))
    return found


def replica_accesses(run) -> dict[tuple[str, str], SecretAccess]:
    """Each replica of each secret, by (config key, region): Secrets Manager copies the resource
    policy to the replica, which is encrypted with its own key in its region."""
    primaries = secret_accesses(run)
    keys = _key_policies(run)
    found = {}
    for reg in run.by_type("aws:secretsmanager/secret:Secret"):
        primary = primaries[reg.name]
        for replica in reg.inputs.get("replicas") or []:
            arn = primary.arn.split(":")
            arn[3] = replica["region"]
            found[(reg.name, replica["region"])] = SecretAccess(
                arn=":".join(arn), policy=primary.policy, key_arn=replica.get("kmsKeyId"),
                key_policy=keys.get(replica.get("kmsKeyId")), region=replica["region"])
    return found
