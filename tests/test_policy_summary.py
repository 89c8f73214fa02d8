"""policies.summarize: the plan's one line per policy statement (who, what, on which resource, under
which condition), so a reviewer reading `make plan` sees what a policy grants."""

from __future__ import annotations

from app_secrets import policies


def test_each_statement_is_one_line_naming_who_what_where_and_when():
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowRead", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Sid": "DenyOthers", "Effect": "Deny", "Principal": "*", "NotAction": ["kms:Decrypt", "kms:Encrypt"],
         "Resource": "*", "Condition": {"Bool": {"aws:PrincipalIsAWSService": "false"}}},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream"], "Resource": ["arn:logs:a", "arn:logs:b"]},
    ]}
    assert policies.summarize(doc) == [
        "AllowRead: arn:aws:iam::1:role/a, arn:aws:iam::1:role/b -> secretsmanager:GetSecretValue",
        'DenyOthers: * -> all but kms:Decrypt, kms:Encrypt if {"Bool": {"aws:PrincipalIsAWSService": "false"}}',
        "-: caller -> logs:CreateLogStream on arn:logs:a, arn:logs:b",
    ]


def test_a_policy_without_statements_has_no_lines():
    assert policies.summarize({"Version": "2012-10-17"}) == []


A = "123456789012"
ROOT = f"arn:aws:iam::{A}:root"
ROLE = lambda name: f"arn:aws:iam::{A}:role/{name}"  # noqa: E731
SECRET = f"arn:aws:secretsmanager:us-east-1:{A}:secret:app-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def every_document():
    """Each document the library builds, with every optional part switched on."""
    everyone = dict(admin_principals=[ROLE("admin")], deployer_principals=[ROLE("deployer")],
                    read_principals=[ROLE("reader")], readwrite_principals=[ROLE("writer")],
                    break_glass_principals=[ROLE("break-glass")])
    yield "key_policy", policies.key_policy(**everyone, account_root_arn=ROOT, rotation_role_arn=ROLE("rotation"),
                                            region="us-east-1", primary_region="us-west-2")
    yield "shared_key_policy", policies.shared_key_policy(**everyone, account_root_arn=ROOT, region="us-east-1")
    yield "secret_resource_policy", policies.secret_resource_policy(
        **everyone, account_root_arn=ROOT, rotation_role_arn=ROLE("rotation"), trust_tags={"team": "a", "env": "b"})
    yield "review_deploy_boundary", policies.review_deploy_boundary(f"arn:aws:iam::{A}:policy/b")
    yield "review_deploy_boundary with app roles", policies.review_deploy_boundary(
        f"arn:aws:iam::{A}:policy/b", [ROLE("app")])
    yield "read_policy", policies.read_policy([("app", SECRET, KEY)], region="us-east-1")
    yield "read_policy of two", policies.read_policy([("app", SECRET, KEY), ("db", SECRET + "2", KEY)],
                                                     region="us-east-1", replicas=[("us-west-2", SECRET, KEY)])
    yield "decrypt_policy", policies.decrypt_policy(KEY)
    yield "rotation_policy", policies.rotation_policy(secret_arn=SECRET, key_arn=KEY, region="us-east-1")
    yield "lambda_trust_policy", policies.lambda_trust_policy()
    yield "log_policy", policies.log_policy(f"arn:aws:logs:us-east-1:{A}:log-group:/aws/lambda/x")


def test_every_statement_has_its_own_sid():
    """IAM wants Sids unique within a policy; the plan's summary names statements by Sid, and an
    `extraPolicyDocuments` statement replaces the one with its Sid (merge_documents): a statement
    without a Sid could be neither shown by name nor overridden."""
    for name, doc in every_document():
        sids = [statement.get("Sid") for statement in doc["Statement"]]
        assert all(isinstance(sid, str) and sid.isalnum() for sid in sids), (name, sids)
        assert len(set(sids)) == len(sids), (name, sids)


def test_only_lambda_may_assume_a_rotation_role():
    """The trust policy: sts:AssumeRole for the Lambda service and nobody else (an extra document may
    add a statement, e.g. a condition on aws:SourceAccount, but never drops Lambda's)."""
    for doc in (policies.lambda_trust_policy(),
                policies.lambda_trust_policy([{"Statement": [{"Sid": "Other", "Effect": "Deny", "Principal": "*",
                                                              "Action": "sts:AssumeRole"}]}])):
        allows = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
        assert [(s["Principal"], s["Action"]) for s in allows] == [({"Service": "lambda.amazonaws.com"},
                                                                    "sts:AssumeRole")]
