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
