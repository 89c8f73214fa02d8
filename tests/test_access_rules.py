"""The evaluator's remaining rules, each on a small example from AWS's documentation: wildcards and
case in actions and resources, NotAction/NotResource, principals written as "*", the condition
operators the project's policies use, which decision wins, and the per-secret summary."""

from __future__ import annotations

import pytest

from tooling.access import (ANY_IAM_PRINCIPAL, Principal, SecretAccess, access_summary, can, condition_holds,
                            evaluate, request_context)

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def iam(*statements):
    return {"Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize("action, pattern, matches", [
    ("secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue", True),
    ("secretsmanager:GetSecretValue", "SecretsManager:getsecretvalue", True),   # actions ignore case
    ("secretsmanager:GetSecretValue", "secretsmanager:Get*", True),
    ("secretsmanager:GetSecretValue", "secretsmanager:Get?ecretValue", True),
    ("secretsmanager:GetSecretValue", "secretsmanager:Get?", False),
    ("secretsmanager:GetSecretValue", "secretsmanager:GetSecret", False),
    ("secretsmanager:GetSecretValue", "secretsmanager:Get.ecretValue", False),  # "." is not a wildcard
    ("kms:Decrypt", "*", True),
])
def test_action_wildcards_and_case(action, pattern, matches):
    assert evaluate(Principal(ROLE, [iam(allow(pattern))]), action, SECRET).allowed is matches


def test_resources_are_case_sensitive_and_take_wildcards():
    assert evaluate(Principal(ROLE, [iam(allow("secretsmanager:*", SECRET))]), "secretsmanager:GetSecretValue",
                    SECRET).allowed
    assert evaluate(Principal(ROLE, [iam(allow("secretsmanager:*", SECRET[:-6] + "*"))]),
                    "secretsmanager:GetSecretValue", SECRET).allowed
    assert not evaluate(Principal(ROLE, [iam(allow("secretsmanager:*", SECRET.upper()))]),
                        "secretsmanager:GetSecretValue", SECRET).allowed


def test_not_action_and_not_resource():
    everything_but_reads = iam({"Effect": "Allow", "NotAction": ["secretsmanager:Get*"], "Resource": "*"})
    assert not evaluate(Principal(ROLE, [everything_but_reads]), "secretsmanager:GetSecretValue", SECRET).allowed
    assert evaluate(Principal(ROLE, [everything_but_reads]), "secretsmanager:DeleteSecret", SECRET).allowed
    # NotAction ignores case like Action does.
    lower = iam({"Effect": "Allow", "NotAction": ["SECRETSMANAGER:get*"], "Resource": "*"})
    assert not evaluate(Principal(ROLE, [lower]), "secretsmanager:GetSecretValue", SECRET).allowed
    elsewhere = iam({"Effect": "Allow", "Action": "*", "NotResource": SECRET})
    assert not evaluate(Principal(ROLE, [elsewhere]), "secretsmanager:GetSecretValue", SECRET).allowed
    assert evaluate(Principal(ROLE, [elsewhere]), "secretsmanager:GetSecretValue", SECRET + "x").allowed


def test_a_statement_without_effect_counts_as_nothing_granted():
    assert not evaluate(Principal(ROLE, [iam({"Action": "*", "Resource": "*"})]), "kms:Decrypt", SECRET).allowed


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::999999999999:root", "*"]}])
def test_everyone_in_a_resource_policy_grants_directly(principal):
    policy = iam({"Effect": "Allow", "Principal": principal, "Action": "secretsmanager:GetSecretValue",
                  "Resource": "*"})
    assert evaluate(Principal(ROLE), "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
    denied = iam({"Effect": "Deny", "Principal": principal, "Action": "secretsmanager:*", "Resource": "*"})
    assert evaluate(Principal(ROLE, [iam(allow("*"))]), "secretsmanager:GetSecretValue", SECRET,
                    resource_policy=denied).reason == "explicit deny"


def test_a_service_principal_or_another_role_is_not_the_caller():
    for principal in ({"Service": "lambda.amazonaws.com"}, {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, "nobody"):
        policy = iam({"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*"})
        assert not evaluate(Principal(ROLE), "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
        assert not evaluate(Principal(ROLE), "kms:Decrypt", KEY, resource_policy=policy, key_policy=True).allowed


def test_a_deny_in_the_identity_policy_beats_a_resource_grant():
    policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "*", "Resource": "*"})
    denying = Principal(ROLE, [iam({"Effect": "Deny", "Action": "kms:*", "Resource": "*"})])
    assert not evaluate(denying, "kms:Decrypt", KEY, resource_policy=policy, key_policy=True).allowed
    assert evaluate(denying, "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed


def test_decision_reasons_say_which_side_decided():
    named = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "*", "Resource": "*"})
    account = iam({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "*", "Resource": "*"})
    reader = Principal(ROLE, [iam(allow("*"))])
    assert evaluate(Principal(ROLE), "kms:Decrypt", KEY, resource_policy=named, key_policy=True).reason == \
        "key policy names the principal"
    assert evaluate(reader, "kms:Decrypt", KEY, resource_policy=account, key_policy=True).reason == \
        "key policy delegates to IAM, and IAM allows"
    assert evaluate(Principal(ROLE), "kms:Decrypt", KEY, resource_policy=account, key_policy=True).reason == \
        "IAM does not allow"
    assert evaluate(reader, "kms:Decrypt", KEY, resource_policy=iam(), key_policy=True).reason == \
        "key policy does not allow"
    assert evaluate(Principal(ROLE), "secretsmanager:GetSecretValue", SECRET, resource_policy=named).reason == \
        "resource policy names the principal"
    assert evaluate(reader, "secretsmanager:GetSecretValue", SECRET).reason == "identity policy allows"
    assert evaluate(Principal(ROLE), "secretsmanager:GetSecretValue", SECRET).reason == "no policy allows"


@pytest.mark.parametrize("condition, context, holds", [
    ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Web"}}, {"aws:PrincipalTag/team": "wEB"}, True),
    ({"StringEquals": {"aws:PrincipalTag/team": "Web"}}, {"aws:PrincipalTag/team": "web"}, False),
    ({"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "Web"}}, {"aws:PrincipalTag/team": "web"}, False),
    ({"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
     {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}, True),
    ({"StringNotLike": {"kms:ViaService": "secretsmanager.*"}}, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, True),
    ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/*"}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/x"}, True),
    ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/ci-*"}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/ci-x"},
     False),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {}, False),
    ({"BoolIfExists": {"aws:SecureTransport": "true"}}, {}, True),
    ({"Null": {"aws:PrincipalTag/team": "false"}}, {"aws:PrincipalTag/team": "x"}, True),
    ({"Null": {"aws:PrincipalTag/team": "false"}}, {}, False),
    ({"Null": {"aws:PrincipalTag/team": "true"}}, {"aws:PrincipalTag/team": "x"}, False),
    ({"StringEquals": {"a": "1"}, "StringNotEquals": {"b": "2"}}, {"a": "1", "b": "2"}, False),
    ({"StringEquals": {"a": "1"}, "StringNotEquals": {"b": "2"}}, {"a": "1", "b": "3"}, True),
    ({"StringEquals": {"a": ["1", "2"]}}, {"a": ["3", "2"]}, True),
    # A missing key satisfies a negated operator; the operator's other keys still count.
    ({"StringNotEquals": {"a": "1", "b": "2"}}, {"b": "2"}, False),
    ({"StringEqualsIfExists": {"a": "1", "b": "2"}}, {"b": "3"}, False),
    (None, {}, True),
])
def test_more_condition_operators(condition, context, holds):
    assert condition_holds(condition, context) is holds


def test_an_operator_the_evaluator_does_not_know_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="NumericLessThan"):
        condition_holds({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:MultiFactorAuthAge": "1"})


def test_the_request_carries_the_principal_and_its_tags():
    context = request_context(Principal(ROLE, tags={"team": "web"}), {"kms:ViaService": "x"})
    # A role's request is not an AWS service's: the Denies of issue 16 skip service principals by this key.
    assert context == {"aws:PrincipalArn": ROLE, "aws:PrincipalAccount": ACCOUNT, "aws:PrincipalTag/team": "web",
                       "aws:PrincipalIsAWSService": "false", "kms:ViaService": "x"}


def test_abilities_need_their_own_actions():
    secret_policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:PutSecretValue",
                         "Resource": "*"})
    key_policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:GenerateDataKey",
                      "Resource": "*", "Condition": {"StringEquals": {
                          "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}})
    access = SecretAccess(SECRET, secret_policy, KEY, key_policy, "us-east-1")
    me = Principal(ROLE)
    assert can(me, "write", access).allowed
    assert can(me, "write", access).reason == "resource policy names the principal; key policy names the principal"
    assert not can(me, "read", access).allowed
    assert not can(me, "administer", access).allowed and not can(me, "change-policy", access).allowed
    admin = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:DeleteSecret",
                 "Resource": "*"})
    assert can(me, "administer", SecretAccess(SECRET, admin, KEY, None, "us-east-1")).allowed
    policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:PutResourcePolicy",
                  "Resource": "*"})
    assert can(me, "change-policy", SecretAccess(SECRET, policy, KEY, None, "us-east-1")).allowed
    # An AWS-managed key (no key ARN known): the secret policy decides alone.
    reader = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:GetSecretValue",
                  "Resource": "*"})
    assert can(me, "read", SecretAccess(SECRET, reader, None, None, "us-east-1")).allowed


def test_the_summary_names_who_reads_writes_and_administers():
    secret_policy = iam(
        {"Effect": "Allow", "Principal": {"AWS": [ROLE, ROOT]}, "Action": ["secretsmanager:DeleteSecret"],
         "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "web"},
                       "ArnNotEquals": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/rotation"]}}})
    key_policy = iam(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": ["kms:Decrypt"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": ["kms:GenerateDataKey"], "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/x"}, "Action": ["kms:Decrypt"], "Resource": "*"})
    summary = access_summary(SecretAccess(SECRET, secret_policy, KEY, key_policy, "us-east-1"))
    assert summary == {"read": [ANY_IAM_PRINCIPAL], "write": [ROLE],
                       "administer": [ROLE, "account root (IAM, break-glass)"],
                       "readRequiresTags": {"team": "web"}, "tagExempt": [f"arn:aws:iam::{ACCOUNT}:role/rotation"],
                       "readableByAnyIamPrincipal": False}
    managed = access_summary(SecretAccess(SECRET, None, None, None, "us-east-1"))
    assert managed["read"] == managed["write"] == [ANY_IAM_PRINCIPAL] and managed["readableByAnyIamPrincipal"]


def test_every_route_of_an_ability_counts_with_its_own_key_action():
    """Write has two routes (PutSecretValue, and UpdateSecret with a SecretString), each needing
    kms:GenerateDataKey through Secrets Manager; change-policy has two (put, delete)."""
    key_policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:GenerateDataKey",
                      "Resource": "*", "Condition": {"StringEquals": {
                          "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}})
    for action, ability in (("secretsmanager:PutSecretValue", "write"), ("secretsmanager:UpdateSecret", "write"),
                            ("secretsmanager:PutResourcePolicy", "change-policy"),
                            ("secretsmanager:DeleteResourcePolicy", "change-policy")):
        me = Principal(ROLE, [iam(allow(action, SECRET))])
        assert can(me, ability, SecretAccess(SECRET, None, KEY, key_policy, "us-east-1")).allowed, action
        others = {"write": "change-policy", "change-policy": "write"}[ability]
        assert not can(me, others, SecretAccess(SECRET, None, KEY, key_policy, "us-east-1")).allowed, action
    # Without the key's data-key grant no write route holds.
    decrypt_only = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"})
    me = Principal(ROLE, [iam(allow(["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"], SECRET))])
    assert not can(me, "write", SecretAccess(SECRET, None, KEY, decrypt_only, "us-east-1")).allowed


@pytest.mark.parametrize("named", [ACCOUNT, ROOT])
def test_a_key_policy_naming_the_account_delegates_to_iam_in_either_form(named):
    """`"AWS": "123456789012"` and `"AWS": "arn:aws:iam::123456789012:root"` mean the same: the key
    trusts IAM policies of that account; neither names a caller directly."""
    key_policy = iam({"Effect": "Allow", "Principal": {"AWS": named}, "Action": "kms:*", "Resource": "*"})
    with_iam = Principal(ROLE, [iam(allow("kms:Decrypt", KEY))])
    without_iam = Principal(ROLE)
    assert evaluate(with_iam, "kms:Decrypt", KEY, resource_policy=key_policy, key_policy=True).reason == \
        "key policy delegates to IAM, and IAM allows"
    assert not evaluate(without_iam, "kms:Decrypt", KEY, resource_policy=key_policy, key_policy=True).allowed
    stranger = Principal("arn:aws:iam::111111111111:role/app", [iam(allow("kms:Decrypt", KEY))])
    assert not evaluate(stranger, "kms:Decrypt", KEY, resource_policy=key_policy, key_policy=True).allowed


def test_the_re_key_route_to_plaintext_honours_resource_tag_conditions():
    """can_read_after_re_key asks each step with the secret's tags: an IAM grant that needs
    aws:ResourceTag/team=billing holds on a billing secret and on no other."""
    from tooling.access import can_read_after_re_key

    tagged = {"StringEquals": {"aws:ResourceTag/team": "billing"}}
    me = Principal(ROLE, [iam(allow(["secretsmanager:UpdateSecret", "secretsmanager:RotateSecret"], SECRET),
                              allow("secretsmanager:GetSecretValue", SECRET, Condition=tagged))])
    billing = SecretAccess(SECRET, None, KEY, None, "us-east-1", tags={"team": "billing"})
    other = SecretAccess(SECRET, None, KEY, None, "us-east-1", tags={"team": "search"})
    assert can_read_after_re_key(me, billing).allowed
    assert not can_read_after_re_key(me, other).allowed
    # The secret's own policy takes part too: a Deny there stops the last step.
    deny = iam({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert not can_read_after_re_key(me, SecretAccess(SECRET, deny, KEY, None, "us-east-1",
                                                      tags={"team": "billing"})).allowed


def test_rewriting_the_key_policy_is_a_change_policy_route_and_nothing_else():
    key_policy = iam({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:PutKeyPolicy", "Resource": "*"})
    access = SecretAccess(SECRET, None, KEY, key_policy, "us-east-1")
    me = Principal(ROLE)
    assert can(me, "change-policy", access).reason == "kms:PutKeyPolicy: key policy names the principal"
    for ability in ("read", "write", "re-key", "rotate", "administer"):
        assert not can(me, ability, access).allowed, ability


def test_policies_built_in_python_may_hold_tuples():
    """Documents made by code (not parsed from JSON) may carry tuples where JSON has arrays."""
    me = Principal(ROLE, [iam({"Effect": "Allow", "Action": ("kms:Encrypt", "secretsmanager:GetSecretValue"),
                               "Resource": (KEY, SECRET)})])
    assert evaluate(me, "secretsmanager:GetSecretValue", SECRET).allowed
    assert not evaluate(me, "secretsmanager:PutSecretValue", SECRET).allowed


def test_the_summary_names_everyone_when_a_policy_grants_to_star():
    key_policy = iam({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
    summary = access_summary(SecretAccess(SECRET, None, KEY, key_policy, "us-east-1"))
    assert summary["read"] == ["*"] and summary["write"] == []


def test_the_re_key_route_needs_each_of_its_three_steps():
    from tooling.access import can_read_after_re_key

    steps = {"secretsmanager:UpdateSecret", "secretsmanager:RotateSecret", "secretsmanager:GetSecretValue"}
    secret = SecretAccess(SECRET, None, KEY, None, "us-east-1")
    assert can_read_after_re_key(Principal(ROLE, [iam(allow(sorted(steps), SECRET))]), secret).allowed
    for missing in sorted(steps):
        me = Principal(ROLE, [iam(allow(sorted(steps - {missing}), SECRET))])
        assert not can_read_after_re_key(me, secret).allowed, missing
