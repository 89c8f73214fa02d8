"""Pure checks of a stack as a whole: regions, namespaces, secure values, schedule expressions."""

from __future__ import annotations

import json
import os

import pytest

from stack_program import stack_checks
from stack_program.config import SECRET_VALUE_PATHS, TOP_LEVEL


def test_regions_are_the_sdk_partition_data_and_match_botocore():
    """The list the program uses (pulumi-aws's generated Region enum) is the same as botocore's
    endpoint data: every partition's regions, not a pattern."""
    import botocore

    endpoints = json.load(open(os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")))
    botocore_regions = {r for partition in endpoints["partitions"] for r in partition["regions"]}
    assert stack_checks.aws_regions() == botocore_regions
    assert {"us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1"} <= stack_checks.aws_regions()
    for fine in ("us-east-1", "ap-southeast-4", "us-gov-east-1"):
        assert stack_checks.region_problem(fine) is None
    for wrong in ("us-east-9", "us-east1", "eu-west-1a", "mars-north-1", " us-east-1"):
        assert "is not an AWS region" in stack_checks.region_problem(wrong)


@pytest.mark.parametrize("expression", [
    "rate(4 hours)", "rate(23 hours)", "rate(1 day)", "rate(10 days)", "rate(1000 days)",
    "cron(0 8/8 * * ? *)", "cron(0 2/10 * * ? *)", "cron(0 8 1/7 * ? *)", "cron(0 0 ? * SUN#1 *)",
    "cron(0 16 L * ? *)", "cron(0 10 ? * MON-FRI *)", "cron(0 4 1,15 * ? *)", "cron(0 0 ? * 6L *)",
    "cron(0 0 ? JAN,APR,JUL,OCT 2 *)", "cron(0 23 15W * ? *)", "cron(0 0-6/2 ? * * *)",
])
def test_schedules_secrets_manager_accepts(expression):
    assert stack_checks.schedule_problem(expression) is None


@pytest.mark.parametrize("expression, fragment", [
    ("rate(3 hours)", "at most every 4 hours"), ("rate(24 hours)", "rate(23 hours)"),
    ("rate(1 week)", "expected rate(N hours) or rate(N days)"), ("rate(-1 days)", "expected rate(N hours)"),
    ("cron(0 10 * * ? * *)", "expected 6 fields"), ("cron(30 10 * * ? *)", "minutes must be 0"),
    ("cron(0 10 ? * ? *)", "exactly one of"), ("cron(0 10 32 * ? *)", "day-of-month '32'"),
    ("cron(0 10 ? * 8 *)", "day-of-week '8'"), ("cron(0 10 ? * MON#6 *)", "DAY#N"),
    ("cron(0 10 1 0 ? *)", "month '0'"), ("cron(0 1-2-3 * * ? *)", "hours '1-2-3'"),
    ("cron(0 10 1 * ? 2030)", "year must be *"), ("CRON(0 10 1 * ? *)", "expected rate(N hours|days) or cron("),
])
def test_schedules_refused_with_the_field(expression, fragment):
    assert fragment in stack_checks.schedule_problem(expression)


def test_namespaces_read_by_nobody_are_flagged_and_providers_are_not():
    keys = ["app-secrets:secrets", "aws:region", "aws:profile", "pulumi:tags", "random:x",
            "app-secret:secrets", "ws:region", "unrelated:thing"]
    problems = {p.path: p.message for p in stack_checks.namespace_problems(keys, "app-secrets", TOP_LEVEL)}
    assert set(problems) == {"app-secret:secrets", "ws:region", "unrelated:thing"}
    assert "did you mean 'app-secrets:secrets'" in problems["app-secret:secrets"]
    assert "did you mean namespace 'aws'" in problems["ws:region"]
    assert "reads only app-secrets:*" in problems["unrelated:thing"]


def test_secure_values_only_where_a_secret_is_expected_and_never_empty():
    config = {
        "aws:region": "us-east-1",
        "aws:secretKey": {"secure": "v1:x"},             # a provider's own secret: fine
        "app-secrets:secrets": {"a": {"type": "secret", "description": {"secure": "v1:x"},
                                      "initialValue": {"K": {"secure": "v1:x"}, "E": {"secure": ""}}}},
        "app-secrets:databases": {"d": {"initialPassword": {"secure": "v1:x"}, "username": {"secure": "v1:x"}}},
        "app-secrets:tags": {"secure": "v1:x"},
        "other:key": {"secure": None},
    }
    problems = {p.path: p.message for p in stack_checks.secure_value_problems(config, "app-secrets", SECRET_VALUE_PATHS)}
    assert set(problems) == {"secrets.a.description", "secrets.a.initialValue.E", "databases.d.username",
                             "tags", "other:key"}
    assert "expected plain text" in problems["databases.d.username"]
    assert "empty" in problems["secrets.a.initialValue.E"] and "empty" in problems["other:key"]


def test_stack_files_are_read_as_yaml_1_2_like_the_pulumi_cli(tmp_path):
    from stack_program.project import StackFileError, read_yaml

    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("a: no\nb: on\nc: true\nd: False\ne: 2024-01-01\nf: ~\n")
    assert read_yaml(path) == {"a": "no", "b": "on", "c": True, "d": False, "e": "2024-01-01", "f": None}
    path.write_text("config:\n  m:\n    k: 1\n    k: 2\n")
    with pytest.raises(StackFileError, match=r"line 4: config\.m\.k: duplicate key"):
        read_yaml(path)
