"""Issue 16, the pack's design gap: review stacks run the pull request's code with the deploy
role's credentials. The permissions boundary of that role (policies.review_deploy_boundary) lets it
touch only `app-secrets:ephemeral` resources: proven with tooling.access on what the example
stacks register."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from app_secrets import policies
from tooling.access import Principal, can, can_read_after_re_key, secret_accesses
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
    from tooling.access import evaluate
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
