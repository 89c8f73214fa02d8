"""Issue 16: secret and key policies deny operators what the config does not name, evaluated with
tooling.access on the pure policy documents (no mocks)."""

from __future__ import annotations

import pytest

from app_secrets import policies
from aws_managed_policies import MANAGED_POLICIES
from tooling.access import Principal, SecretAccess, can, evaluate

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/example-deployer"
ROTATION = f"arn:aws:iam::{ACCOUNT}:role/example-db-rotation"
OPS = f"arn:aws:iam::{ACCOUNT}:role/example-ops"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/break-glass"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/app-secrets-review-deploy-boundary"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:example-db-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

# What pulumi up/refresh/destroy call on a secret and its key through pulumi-aws (the Terraform
# provider's aws_secretsmanager_secret, _secret_version, _secret_policy, _secret_rotation, aws_kms_key).
PULUMI_SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DeleteSecret",
    "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy", "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret", "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:ListSecretVersionIds",
]
PULUMI_KEY_ACTIONS = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:EnableKeyRotation",
                      "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:TagResource", "kms:ScheduleKeyDeletion"]


def secret_policy(**overrides):
    args = dict(admin_principals=[ADMIN], read_principals=[f"arn:aws:iam::{ACCOUNT}:role/app"],
                readwrite_principals=[OPS], rotation_role_arn=ROTATION, deployer_principals=[DEPLOYER],
                account_root_arn=ROOT, break_glass_principals=[BREAK_GLASS])
    args.update(overrides)
    return policies.secret_resource_policy(**args)


def key_policy():
    return policies.key_policy(admin_principals=[ADMIN], account_root_arn=ROOT, deployer_principals=[DEPLOYER],
                               read_principals=[f"arn:aws:iam::{ACCOUNT}:role/app"], readwrite_principals=[OPS],
                               rotation_role_arn=ROTATION, region="us-east-1", break_glass_principals=[BREAK_GLASS])


def test_every_denied_action_is_a_secrets_manager_action_of_aws_s_list():
    # AWS Secrets Manager API Reference, "Actions" (each is also its IAM action of the same name).
    api = {"BatchGetSecretValue", "CancelRotateSecret", "CreateSecret", "DeleteResourcePolicy", "DeleteSecret",
           "DescribeSecret", "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListSecrets",
           "ListSecretVersionIds", "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication",
           "ReplicateSecretToRegions", "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource",
           "UntagResource", "UpdateSecret", "UpdateSecretVersionStage", "ValidateResourcePolicy"}
    assert {a.split(":", 1)[1] for a in policies.OPERATOR_DENIED_ACTIONS} <= api
    # Every action that changes a value, key, stage, rotation, policy or replication is covered.
    changes = {"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret", "CancelRotateSecret",
               "PutResourcePolicy", "DeleteResourcePolicy", "ReplicateSecretToRegions",
               "RemoveRegionsFromReplication", "StopReplicationToReplica"}
    assert changes <= {a.split(":", 1)[1] for a in policies.OPERATOR_DENIED_ACTIONS}


@pytest.mark.parametrize("who", [DEPLOYER, ROOT, BREAK_GLASS])
def test_the_deployer_root_and_break_glass_keep_everything_pulumi_calls(who):
    principal = Principal(who, [ALL])
    policy, kpolicy = secret_policy(), key_policy()
    for action in PULUMI_SECRET_ACTIONS:
        assert evaluate(principal, action, SECRET, resource_policy=policy).allowed, (who, action)
    for action in PULUMI_KEY_ACTIONS:
        assert evaluate(principal, action, KEY, resource_policy=kpolicy, key_policy=True).allowed, (who, action)


@pytest.mark.parametrize("managed", sorted(MANAGED_POLICIES))
def test_operators_with_managed_policies_change_nothing(managed):
    principal = Principal(f"arn:aws:iam::{ACCOUNT}:role/{managed}", [MANAGED_POLICIES[managed]])
    policy, kpolicy = secret_policy(), key_policy()
    for action in policies.OPERATOR_DENIED_ACTIONS:
        assert not evaluate(principal, action, SECRET, resource_policy=policy).allowed, (managed, action)
    assert not evaluate(principal, "kms:PutKeyPolicy", KEY, resource_policy=kpolicy, key_policy=True).allowed
    # Before issue 16 (no Denies): every one of them was allowed to all three.
    old = secret_policy(account_root_arn=None)
    assert all(evaluate(principal, a, SECRET, resource_policy=old).allowed for a in policies.OPERATOR_DENIED_ACTIONS)


def test_each_named_principal_keeps_exactly_its_own_changes():
    policy = secret_policy()
    everyone = lambda arn: Principal(arn, [ALL])  # noqa: E731  (what IAM allows does not matter)
    allowed = lambda arn: {a for a in policies.OPERATOR_DENIED_ACTIONS  # noqa: E731
                           if evaluate(everyone(arn), a, SECRET, resource_policy=policy).allowed}
    assert allowed(OPS) == {"secretsmanager:PutSecretValue"}
    assert allowed(ROTATION) == {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
    assert allowed(ADMIN) == {"secretsmanager:CancelRotateSecret", "secretsmanager:RemoveRegionsFromReplication"}


def test_writes_honour_trust_tags():
    policy = secret_policy(trust_tags={"team": "payments"})
    access = SecretAccess(SECRET, policy, KEY, key_policy(), "us-east-1")
    untagged, tagged = Principal(OPS), Principal(OPS, tags={"team": "payments"})
    assert not can(untagged, "write", access).allowed
    assert can(tagged, "write", access).allowed
    # The deployer and the rotation role stay exempt (refresh, rotation).
    assert can(Principal(DEPLOYER, [ALL]), "write", access).allowed
    assert can(Principal(ROTATION), "write", access).allowed


def test_aws_service_requests_are_not_denied():
    """Secrets Manager's own requests (replication, scheduled rotation) carry no caller ARN: the
    Denies exclude AWS service principals rather than lock the service out."""
    policy = secret_policy()
    statement = next(s for s in policy["Statement"] if s["Sid"] == "DenyPolicyAndReplicationExceptDeployer")
    assert statement["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "false"}


def test_stack_config_break_glass_code_signing_and_boundary_reach_the_resources():
    import json

    from tooling.offline import AwsMocks, run_program
    csc = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    run = run_program("production", mocks=AwsMocks(region="us-east-1", account_id=ACCOUNT),
                      config_override={"breakGlassPrincipals": [BREAK_GLASS], "codeSigningConfigArn": csc,
                                       "permissionsBoundaryArn": BOUNDARY})
    functions = run.by_type("aws:lambda/function:Function")
    roles = run.by_type("aws:iam/role:Role")
    assert roles and all(r.inputs["permissionsBoundary"] == BOUNDARY for r in roles)
    assert functions and all(f.inputs["codeSigningConfigArn"] == csc for f in functions)
    for reg in run.by_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        statement = next(s for s in json.loads(reg.inputs["policy"])["Statement"]
                         if s["Sid"] == "DenyUpdateExceptDeployer")
        assert BREAK_GLASS in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    # Every key that encrypts a secret (the rotation-alerts topic's key encrypts only alert messages).
    secret_keys = [reg for reg in run.by_type("aws:kms/key:Key") if "RotationAlerts" not in reg.urn]
    assert secret_keys
    for reg in secret_keys:
        statement = next(s for s in json.loads(reg.inputs["policy"])["Statement"]
                         if s["Sid"] == "DenyKeyPolicyChangesExceptDeployer")
        assert BREAK_GLASS in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]


def test_break_glass_code_signing_and_boundary_reach_an_application_login_too():
    """Issue 20's logins create their own secret, key, rotation role and function: the stack's
    breakGlassPrincipals, codeSigningConfigArn and permissionsBoundaryArn (issue 16) hold there too
    (a review deploy role may create roles only under its boundary)."""
    import json

    from tooling.offline import AwsMocks, run_program
    csc = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    run = run_program("dev", mocks=AwsMocks(region="us-east-1", account_id=ACCOUNT),
                      config_override={"breakGlassPrincipals": [BREAK_GLASS], "codeSigningConfigArn": csc,
                                       "permissionsBoundaryArn": BOUNDARY,
                                       "logins": {"web-login": {"database": "example-db", "username": "web"}}})
    login = [r for r in run.registrations if "RdsPostgresLogin" in r.urn]
    roles = [r for r in login if r.type == "aws:iam/role:Role"]
    functions = [r for r in login if r.type == "aws:lambda/function:Function"]
    assert roles and all(r.inputs.get("permissionsBoundary") == BOUNDARY for r in roles)
    assert functions and all(f.inputs.get("codeSigningConfigArn") == csc for f in functions)
    policies_ = [r for r in login if r.type == "aws:secretsmanager/secretPolicy:SecretPolicy"]
    keys = [r for r in login if r.type == "aws:kms/key:Key"]
    assert policies_ and keys
    for reg, sid in [*((p, "DenyUpdateExceptDeployer") for p in policies_),
                     *((k, "DenyKeyPolicyChangesExceptDeployer") for k in keys)]:
        statement = next(s for s in json.loads(reg.inputs["policy"])["Statement"] if s["Sid"] == sid)
        assert BREAK_GLASS in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"], reg.name
