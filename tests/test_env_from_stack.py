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
        {var: json.dumps(v) for var, v in expected.items()}
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
