"""Issue 16, the pack's design gap: review stacks run the pull request's code with the deploy
role's credentials. The permissions boundary of that role (policies.review_deploy_boundary) lets it
touch only `app-secrets:ephemeral` resources: proven with tooling.access on what the example
stacks register."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from app_secrets import policies
from tooling.access import Principal, can, can_read_after_re_key, evaluate, secret_accesses
from tooling.offline import DEPLOYER_ROLE, FAKE_ACCOUNT_ID, AwsMocks, run_program

ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BOUNDARY_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/app-secrets-review-deploy-boundary"
BOUNDARY = policies.review_deploy_boundary(BOUNDARY_ARN,
                                           [f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/example-review-app"])
ABILITIES = ("read", "write", "re-key", "rotate", "change-policy", "administer")


def deployers(bounded: bool) -> dict[str, Principal]:
    """The review deploy role, and (worst case) the same boundary on a role every long-lived policy
    names as deployer: the boundary alone must hold."""
    boundary = BOUNDARY if bounded else None
    return {name: Principal(f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{name}", [ALL], boundary=boundary)
            for name in ("review-deployer", DEPLOYER_ROLE)}


@pytest.fixture(scope="module")
def long_lived():
    # The plan's mock account for every stack, so the deployer named in dev and staging is DEPLOYER_ROLE.
    return {stack: secret_accesses(run_program(stack, mocks=AwsMocks(account_id=FAKE_ACCOUNT_ID)))
            for stack in ("dev", "staging")}


def test_pr_code_running_as_the_bounded_deploy_role_reaches_no_long_lived_secret(long_lived):
    for stack, accesses in long_lived.items():
        for secret, access in accesses.items():
            assert not access.tags.get(policies.EPHEMERAL_TAG_KEY), (stack, secret)
            for name, principal in deployers(bounded=True).items():
                for ability in ABILITIES:
                    assert can(principal, ability, access).allowed is False, (stack, secret, name, ability)
                assert can_read_after_re_key(principal, access).allowed is False


def test_without_the_boundary_the_same_role_reads_them():
    """What the boundary closes: where readers default to the account (dev without its read policy,
    whose roles would otherwise be the named readers), an unbounded deploy role (Action * in IAM)
    reads every secret; the bounded one reads none of them."""
    accesses = secret_accesses(run_program("dev", config_override={"readPolicies": {}},
                                           mocks=AwsMocks(account_id=FAKE_ACCOUNT_ID)))
    assert accesses
    unbounded = deployers(bounded=False)["review-deployer"]
    assert all(can(unbounded, "read", access).allowed for access in accesses.values())
    bounded = deployers(bounded=True)["review-deployer"]
    assert not any(can(bounded, "read", access).allowed for access in accesses.values())


def test_the_bounded_deploy_role_still_deploys_its_own_review_stack():
    accesses = secret_accesses(run_program("pr-7", template="pr", mocks=AwsMocks(account_id=FAKE_ACCOUNT_ID)))
    assert accesses
    deployer = deployers(bounded=True)[DEPLOYER_ROLE]
    for secret, access in accesses.items():
        if access.policy is None:
            continue   # a placeholder pointing at an allowed long-lived secret: looked up, not deployed
        assert access.tags[policies.EPHEMERAL_TAG_KEY] == "true"
        for ability in ("read", "write", "re-key", "rotate", "change-policy", "administer"):
            assert can(deployer, ability, access).allowed, (secret, ability)


def test_the_boundary_keeps_itself_and_roles_it_creates_bounded():
    role = deployers(bounded=True)["review-deployer"]
    own_role = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/review-deployer"
    new_role = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/x-pr-7-rotation"
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert not evaluate(role, action, BOUNDARY_ARN).allowed, action
    assert not evaluate(role, "iam:DeleteRolePermissionsBoundary", own_role).allowed
    with_boundary = lambda action, boundary: evaluate(  # noqa: E731
        role, action, new_role, context={"iam:PermissionsBoundary": boundary} if boundary else {}).allowed
    for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary"):
        assert with_boundary(action, BOUNDARY_ARN)
        assert not with_boundary(action, None) and not with_boundary(action, "arn:aws:iam::aws:policy/ReadOnlyAccess")
    # Long-lived app roles: attach a read policy, nothing else (no PassRole, no inline policy).
    app = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/example-review-app"
    assert evaluate(role, "iam:AttachRolePolicy", app).allowed
    assert not evaluate(role, "iam:PutRolePolicy", app).allowed and not evaluate(role, "iam:PassRole", app).allowed
    other = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/example-production-app"
    assert not evaluate(role, "iam:AttachRolePolicy", other).allowed
    # Users and groups: never.
    assert not evaluate(role, "iam:PutUserPolicy", f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/alice").allowed


def test_the_boundary_is_a_valid_managed_policy():
    text = json.dumps(BOUNDARY, separators=(",", ":"))
    assert len(text) <= 6144   # IAM's limit for a managed policy, whitespace excluded
    findings = [(f.issue, f.detail) for f in analyze_policy_string(text, include_community_auditors=True).findings]
    # Every action, condition key and operator is one IAM knows (parliament's copy of the Service
    # Authorization Reference); the Allow * that a boundary starts from draws the rest.
    unknown = [f for f in findings if f[0].startswith(("UNKNOWN", "MALFORMED", "INVALID"))]
    assert unknown == [], unknown


# Actions on existing resources of each type (Service Authorization Reference: the actions whose
# resource type is Secret, key, function, security-group, role), written out here as the spec the
# boundary answers to: each one is denied on a long-lived resource and allowed on an ephemeral one.
A = f"arn:aws:{{}}:us-east-1:{FAKE_ACCOUNT_ID}:{{}}"
ON_EXISTING = {
    A.format("secretsmanager", "secret:app/db-AbCdEf"): [
        "secretsmanager:CancelRotateSecret", "secretsmanager:DeleteResourcePolicy", "secretsmanager:DeleteSecret",
        "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutResourcePolicy", "secretsmanager:PutSecretValue",
        "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:ReplicateSecretToRegions",
        "secretsmanager:RestoreSecret", "secretsmanager:RotateSecret", "secretsmanager:StopReplicationToReplica",
        "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:UpdateSecret",
        "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ValidateResourcePolicy"],
    A.format("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"): [
        "kms:CancelKeyDeletion", "kms:CreateGrant", "kms:Decrypt", "kms:DisableKey", "kms:DisableKeyRotation",
        "kms:EnableKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
        "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:ScheduleKeyDeletion", "kms:TagResource",
        "kms:UntagResource", "kms:UpdateKeyDescription"],
    A.format("lambda", "function:app-rotation"): [
        "lambda:AddPermission", "lambda:DeleteFunction", "lambda:InvokeFunction", "lambda:TagResource",
        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"],
    A.format("ec2", "security-group/sg-0123456789abcdef0"): [
        "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules"],
    f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/app-rotation": [
        "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PassRole",
        "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole"],
}
CREATES = {"secretsmanager:CreateSecret": "*", "kms:CreateKey": "*",
           "lambda:CreateFunction": A.format("lambda", "function:app-pr-7-rotation")}
TAG = f"aws:ResourceTag/{policies.EPHEMERAL_TAG_KEY}"


def test_each_action_on_a_long_lived_resource_is_denied_and_allowed_on_an_ephemeral_one():
    role = deployers(bounded=True)["review-deployer"]
    for resource, actions in ON_EXISTING.items():
        for action in actions:
            assert not evaluate(role, action, resource).allowed, (action, "untagged")
            assert not evaluate(role, action, resource, context={TAG: "false"}).allowed, (action, "tag false")
            assert evaluate(role, action, resource, context={TAG: "true"}).allowed, (action, "ephemeral")


def test_it_creates_only_what_it_tags_ephemeral():
    role = deployers(bounded=True)["review-deployer"]
    request_tag = f"aws:RequestTag/{policies.EPHEMERAL_TAG_KEY}"
    for action, resource in CREATES.items():
        assert not evaluate(role, action, resource).allowed, action
        assert not evaluate(role, action, resource, context={request_tag: "false"}).allowed, action
        assert evaluate(role, action, resource, context={request_tag: "true"}).allowed, action
    # Users, groups and their credentials: never, tagged or not.
    for action in ("iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:PutGroupPolicy", "iam:PutUserPolicy",
                   "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"):
        for tags in ({}, {TAG: "true"}):
            assert not evaluate(role, action, f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/alice", context=tags).allowed
    # The boundary itself: no new version, no deletion, and no role sheds it.
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                   "iam:SetDefaultPolicyVersion"):
        assert not evaluate(role, action, BOUNDARY_ARN, context={TAG: "true"}).allowed, action
    assert not evaluate(role, "iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/x-pr-7",
                        context={TAG: "true"}).allowed
