"""What each operator of production may do, action by action, by its grants alone (no IAM policy of
its own): named secret and key administrators manage but never read, write, re-key, grant or
rewrite policies; the deployer administers the key and writes through Secrets Manager; the account
root keeps the key policy (break-glass). Decisions of tooling.access over the registered policies."""

from __future__ import annotations


import pytest
import yaml

from tooling.access import Principal, evaluate, secret_accesses
from tooling.offline import PROJECT_DIR, AwsMocks, run_program

# Secrets Manager actions on a secret (Service Authorization Reference, resource type "Secret").
SECRET_MANAGE = ["secretsmanager:CancelRotateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
                 "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds",
                 "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:RestoreSecret",
                 "secretsmanager:TagResource", "secretsmanager:UntagResource",
                 "secretsmanager:ValidateResourcePolicy"]
SECRET_NEVER_FOR_ADMINS = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                           "secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage",
                           "secretsmanager:RotateSecret", "secretsmanager:PutResourcePolicy",
                           "secretsmanager:DeleteResourcePolicy", "secretsmanager:ReplicateSecretToRegions",
                           "secretsmanager:StopReplicationToReplica"]
KEY_MANAGE = ["kms:CancelKeyDeletion", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey", "kms:EnableKeyRotation",
              "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies",
              "kms:ListResourceTags", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
              "kms:UntagResource", "kms:UpdateKeyDescription"]
KEY_NEVER_FOR_ADMINS = ["kms:PutKeyPolicy", "kms:CreateGrant", "kms:DisableKeyRotation", "kms:Decrypt", "kms:Encrypt",
                        "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:ImportKeyMaterial"]
VIA = {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}


@pytest.fixture(scope="module")
def production():
    config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.production.yaml").read_text())["config"]
    account = config["app-secrets:adminPrincipals"][0].split(":")[4]
    run = run_program("production", mocks=AwsMocks(region="us-east-1", account_id=account))
    return config, account, {k: v for k, v in secret_accesses(run).items() if v.key_policy is not None}


def allowed(principal, actions, arn, policy, key=False, context=None):
    return {a for a in actions if evaluate(principal, a, arn, resource_policy=policy, key_policy=key,
                                           context=context).allowed}


def test_named_admins_manage_secrets_and_keys_but_never_touch_values(production):
    config, account, accesses = production
    admin = Principal(config["app-secrets:adminPrincipals"][0])
    for name, access in accesses.items():
        assert allowed(admin, SECRET_MANAGE, access.arn, access.policy) == set(SECRET_MANAGE), name
        assert allowed(admin, SECRET_NEVER_FOR_ADMINS, access.arn, access.policy) == set(), name
        assert allowed(admin, KEY_MANAGE, access.key_arn, access.key_policy, True) == set(KEY_MANAGE), name
        for context in (None, VIA):
            assert allowed(admin, KEY_NEVER_FOR_ADMINS, access.key_arn, access.key_policy, True, context) == set(), name


def test_the_deployer_administers_keys_and_uses_them_only_through_secrets_manager(production):
    config, account, accesses = production
    deployer = Principal(config["app-secrets:deployerPrincipals"][0])
    for name, access in accesses.items():
        assert allowed(deployer, [*KEY_MANAGE, "kms:PutKeyPolicy", "kms:DisableKeyRotation"], access.key_arn,
                       access.key_policy, True) == {*KEY_MANAGE, "kms:PutKeyPolicy", "kms:DisableKeyRotation"}, name
        assert allowed(deployer, ["kms:Decrypt", "kms:GenerateDataKey"], access.key_arn, access.key_policy, True,
                       VIA) == {"kms:Decrypt", "kms:GenerateDataKey"}, name
        assert allowed(deployer, ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
                       access.key_arn, access.key_policy, True) == set(), name


def test_the_account_keeps_the_key_policy_through_iam_only(production):
    """The account delegates key administration to IAM, but not the key policy itself: since issue 16
    only the deployer, the root user and break-glass principals may rewrite it (a Deny), so an IAM
    administrator keeps e.g. ScheduleKeyDeletion and loses PutKeyPolicy; a role without such an IAM
    policy gets neither, and nobody gets crypto or grants that way."""
    config, account, accesses = production
    iam_admin = Principal(f"arn:aws:iam::{account}:role/some-admin", [{"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}])
    nobody = Principal(f"arn:aws:iam::{account}:role/nobody")
    root = Principal(f"arn:aws:iam::{account}:root")
    for name, access in accesses.items():
        assert allowed(iam_admin, ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], access.key_arn, access.key_policy,
                       True) == {"kms:ScheduleKeyDeletion"}, name
        assert "kms:PutKeyPolicy" in allowed(root, ["kms:PutKeyPolicy"], access.key_arn, access.key_policy, True), name
        assert allowed(nobody, ["kms:PutKeyPolicy", "kms:DescribeKey"], access.key_arn, access.key_policy, True) == set()
        assert allowed(iam_admin, ["kms:CreateGrant", "kms:Decrypt"], access.key_arn, access.key_policy, True) == set()


def test_a_read_write_principal_writes_new_values_but_never_moves_stages(production):
    config, account, accesses = production
    writer_arn = config["app-secrets:secrets"]["example-prismic"]["readwritePrincipals"][0]
    writer = Principal(writer_arn)
    access = accesses["example-prismic"]
    assert allowed(writer, ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                            "secretsmanager:PutSecretValue"], access.arn, access.policy) == {
        "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"}
    assert allowed(writer, ["secretsmanager:UpdateSecretVersionStage", "secretsmanager:UpdateSecret",
                            "secretsmanager:DeleteSecret"], access.arn, access.policy) == set()
    assert allowed(writer, ["kms:Decrypt", "kms:GenerateDataKey"], access.key_arn, access.key_policy, True,
                   VIA) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_whoever_may_change_a_rotation_functions_code_or_pass_its_role_holds_change_code(production):
    """change-code by either route, on what the plan registers: lambda:UpdateFunctionCode or
    lambda:UpdateFunctionConfiguration on the secret's own function, or iam:PassRole on its role."""
    from tooling.access import can

    config, account, accesses = production
    rotating = {k: v for k, v in accesses.items() if v.rotation_function_arn}
    assert rotating
    for name, access in rotating.items():
        assert access.rotation_role_arn and access.rotation_role_arn.startswith(f"arn:aws:iam::{account}:role/")
        grants = {
            "lambda:UpdateFunctionCode": access.rotation_function_arn,
            "lambda:UpdateFunctionConfiguration": access.rotation_function_arn,
            "iam:PassRole": access.rotation_role_arn,
        }
        for action, resource in grants.items():
            holder = Principal(f"arn:aws:iam::{account}:role/ops",
                               [{"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}])
            assert can(holder, "change-code", access).allowed, (name, action)
        other_function = {"Statement": [{"Effect": "Allow", "Action": "lambda:*",
                                         "Resource": f"{access.rotation_function_arn}-other"}]}
        assert not can(Principal(f"arn:aws:iam::{account}:role/ops", [other_function]), "change-code", access).allowed
