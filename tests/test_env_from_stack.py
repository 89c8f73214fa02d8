"""`env --stack`: the offline plan names the secrets and keys, boto3 reads them from the emulator."""

from __future__ import annotations

import json

import boto3

from tooling.cli import main
from tooling.plan import plan_stack


def test_env_for_the_dev_stack_reads_every_planned_variable(moto_endpoint, capsys):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    plan = plan_stack("dev")
    expected = {}
    for secret in plan["secrets"]:
        value = {var: f"{secret['name']}:{var}" for var in secret["environmentVariables"]}
        value["lowercase_key_not_exported"] = "x"
        client.create_secret(Name=secret["secretName"], SecretString=json.dumps(value))
        expected.update({var: v for var, v in value.items() if var.isupper()})
    code = main(["env", "--stack", "dev", "--endpoint-url", moto_endpoint, "--region", "us-east-1", "--reveal"])
    out = capsys.readouterr().out
    assert code == 0
    assert dict(line.split("=", 1) for line in out.splitlines() if line) == \
        {var: f"'{v}'" for var, v in expected.items()}
    assert set(expected) == {"SECRET_KEY_BASE", "PRISMIC_ACCESS_TOKEN", "PRISMIC_WEBHOOK_SECRET",
                             "SMTP_PASSWORD", "SMTP_USERNAME", "DATABASE_URL"}


def test_env_for_the_dev_stack_masks_by_default(moto_endpoint, capsys):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    for secret in plan_stack("dev")["secrets"]:
        client.create_secret(Name=secret["secretName"],
                             SecretString=json.dumps({v: "top-secret-value" for v in secret["environmentVariables"]}))
    code = main(["env", "--stack", "dev", "--endpoint-url", moto_endpoint, "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert code == 0 and "top-secret-value" not in out and "SECRET_KEY_BASE=" in out


def test_env_uses_the_stacks_own_region_before_aws_region(moto_endpoint, capsys, monkeypatch):
    """dev's aws:region is us-east-1; AWS_REGION / AWS_DEFAULT_REGION point elsewhere and must lose."""
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    for secret in plan_stack("dev")["secrets"]:
        client.create_secret(Name=secret["secretName"],
                             SecretString=json.dumps({v: "" for v in secret["environmentVariables"]}))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    code = main(["env", "--stack", "dev", "--endpoint-url", moto_endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    # Every value is an unfilled placeholder: shown empty, not masked, and named on stderr.
    assert "SECRET_KEY_BASE=''" in out and "********" not in out
    assert "note: empty (not filled in yet): " in err and "PRISMIC_ACCESS_TOKEN" in err


def test_env_region_falls_back_to_aws_region_then_aws_default_region(moto_endpoint, capsys, monkeypatch):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="eu-west-1")
    client.create_secret(Name="eu-only", SecretString=json.dumps({"TOKEN": "x"}))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert main(["env", "--secret", "eu-only", "--endpoint-url", moto_endpoint]) == 0
    monkeypatch.delenv("AWS_REGION")
    assert main(["env", "--secret", "eu-only", "--endpoint-url", moto_endpoint]) == 1
    assert "not found in region ap-south-1" in capsys.readouterr().err
