"""The access evaluator on AWS's documented examples, before the access matrix trusts it."""

from __future__ import annotations

import pytest

from tooling.access import Principal, SecretAccess, can, condition_holds, evaluate

ACCOUNT = "123456789012"
CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"

# IAM User Guide, "Policy evaluation for requests within a single account", example
# identity-based and resource-based policy evaluation (Carlos and his buckets).
CARLOS_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowS3ListRead", "Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints",
                "s3:ListAllMyBuckets"], "Resource": "arn:aws:s3:::*"},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}]}
CARLOS_BUCKET_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowCarlos", "Effect": "Allow", "Principal": {"AWS": CARLOS}, "Action": "s3:*",
     "Resource": "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*"}]}


def carlos(policies=(CARLOS_POLICY,)):
    # S3 ARNs carry no account: the evaluator then treats the request as within Carlos's account.
    return Principal(CARLOS, identity_policies=list(policies))


def test_aws_example_explicit_deny_wins_over_allows():
    # "Carlos's request to save a file to the amzn-s3-demo-bucket-carlossalazar-logs bucket is denied."
    decision = evaluate(carlos(), "s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file",
                        resource_policy=CARLOS_BUCKET_POLICY)
    assert decision.allowed is False and decision.reason == "explicit deny"


def test_aws_example_either_policy_allows_within_one_account():
    resource = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file"
    assert evaluate(carlos(), "s3:PutObject", resource, resource_policy=CARLOS_BUCKET_POLICY).allowed
    # The bucket policy alone is enough (same account), and so is the identity policy alone.
    assert evaluate(carlos(()), "s3:PutObject", resource, resource_policy=CARLOS_BUCKET_POLICY).allowed
    assert evaluate(carlos(), "s3:PutObject", resource).allowed
    # Neither: implicit deny.
    assert not evaluate(carlos(()), "s3:PutObject", resource).allowed
    assert evaluate(carlos(), "s3:ListAllMyBuckets", "arn:aws:s3:::anything").allowed


SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
# KMS Developer Guide, "Default key policy": the statement that "enables IAM policies".
ENABLE_IAM = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT},
              "Action": "kms:*", "Resource": "*"}
IAM_DECRYPT = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]}


def test_kms_key_policy_is_required_and_root_delegates_to_iam():
    role = Principal(f"arn:aws:iam::{ACCOUNT}:role/app", identity_policies=[IAM_DECRYPT])
    no_iam = Principal(f"arn:aws:iam::{ACCOUNT}:role/app")
    delegating = {"Statement": [ENABLE_IAM]}
    # Root in the key policy + an IAM policy: allowed. Root without IAM: denied.
    assert evaluate(role, "kms:Decrypt", KEY, resource_policy=delegating, key_policy=True).allowed
    assert not evaluate(no_iam, "kms:Decrypt", KEY, resource_policy=delegating, key_policy=True).allowed
    # IAM alone never grants a key ("Unless the key policy explicitly allows it, you cannot use
    # IAM policies to allow access to a KMS key").
    only_admin = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": ["kms:Decrypt"],
                                 "Resource": "*"}]}
    assert not evaluate(role, "kms:Decrypt", KEY, resource_policy=only_admin, key_policy=True).allowed
    # A key policy that names the role is enough on its own.
    direct = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": role.arn}, "Action": "kms:Decrypt",
                             "Resource": "*"}]}
    assert evaluate(no_iam, "kms:Decrypt", KEY, resource_policy=direct, key_policy=True).allowed


def test_cross_account_needs_both_sides():
    # IAM User Guide, "Cross-account policy evaluation logic".
    other = "210987654321"
    policy = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                             "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    allowed_by_iam = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}]}
    outsider = Principal(f"arn:aws:iam::{other}:role/reader", identity_policies=[allowed_by_iam])
    assert evaluate(outsider, "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
    assert not evaluate(Principal(outsider.arn), "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
    assert not evaluate(outsider, "secretsmanager:GetSecretValue", SECRET, resource_policy=None).allowed


@pytest.mark.parametrize("condition, context, holds", [
    # IAM User Guide, "Condition operators": several values of one key are ORed...
    ({"StringEquals": {"aws:PrincipalTag/team": ["a", "b"]}}, {"aws:PrincipalTag/team": "b"}, True),
    # ...keys of one operator are ANDed...
    ({"StringEquals": {"aws:PrincipalTag/team": "a", "aws:PrincipalTag/env": "p"}}, {"aws:PrincipalTag/team": "a"}, False),
    # ...a missing key makes a positive operator false and a negated one true.
    ({"StringEquals": {"aws:PrincipalTag/team": "a"}}, {}, False),
    ({"StringNotEquals": {"aws:PrincipalTag/team": "a"}}, {}, True),
    ({"StringNotEquals": {"aws:PrincipalTag/team": ["a", "b"]}}, {"aws:PrincipalTag/team": "b"}, False),
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "a"}}, {}, True),
    ({"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::1:role/x"]}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/x"}, False),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/ci-*"}}, {"aws:PrincipalArn": "arn:aws:iam::1:role/ci-deploy"}, True),
    ({"Null": {"aws:PrincipalTag/team": "true"}}, {}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
])
def test_condition_operators(condition, context, holds):
    assert condition_holds(condition, context) is holds


def test_reading_a_secret_needs_the_secret_and_the_key_through_secrets_manager():
    reader = Principal(f"arn:aws:iam::{ACCOUNT}:role/app", identity_policies=[{"Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": SECRET},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": KEY,
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]}])
    key_policy = {"Statement": [ENABLE_IAM]}
    secret = SecretAccess(SECRET, None, KEY, key_policy, "us-east-1")
    assert can(reader, "read", secret).allowed
    # The via-service condition: Secrets Manager in another region does not match.
    assert not can(reader, "read", SecretAccess(SECRET, None, KEY, key_policy, "eu-west-1")).allowed
    assert not can(reader, "write", secret).allowed
