"""The published JSON Schema of stack files: in sync with the program's config schema, valid
JSON Schema, referenced by every example stack file, accepting them, and rejecting the mistakes an
editor should underline."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tooling import stack_schema

STACKS = Path(__file__).resolve().parent.parent / "stacks"
SCHEMA_PATH = STACKS / stack_schema.SCHEMA_FILE
STACK_FILES = sorted(STACKS.glob("Pulumi.*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_generated_from_the_config_schema():
    assert SCHEMA_PATH.read_text() == stack_schema.render(), "stale: run `make schema`"


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_example_stack_files_reference_the_schema_and_pass_it(path, validator):
    assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema=./{stack_schema.SCHEMA_FILE}"
    assert [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))] == []


DEV = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())


def _edit(change):
    doc = copy.deepcopy(DEV)
    change(doc["config"])
    return doc


MISTAKES = {
    "namespace typo": lambda c: c.update({"app-secret:secrets": c.pop("app-secrets:secrets")}),
    "unknown secret field": lambda c: c["app-secrets:secrets"]["example-smtp"].update({"lenght": 3}),
    "unknown secret type": lambda c: c["app-secrets:secrets"]["example-smtp"].update({"type": "secrte"}),
    "field of another type": lambda c: c["app-secrets:secrets"]["example-smtp"].update(
        {"environmentVariables": ["A"]}),
    "lower-case variable": lambda c: c["app-secrets:secrets"]["example-rails"].update(
        {"environmentVariables": ["secret_key_base"]}),
    "string for a number": lambda c: c["app-secrets:secrets"]["example-rails"]["randomSettings"][
        "SECRET_KEY_BASE"].update({"length": "128"}),
    "secure value where plain text is expected": lambda c: c["app-secrets:secrets"]["example-smtp"].update(
        {"description": {"secure": "v1:abc"}}),
    "database without identifier": lambda c: c["app-secrets:databases"]["example-db"].pop("identifier"),
    "list for a map": lambda c: c.update({"app-secrets:tags": ["environment"]}),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_schema_rejects_common_mistakes(mistake, validator):
    assert list(validator.iter_errors(_edit(MISTAKES[mistake])))


def test_secure_values_are_accepted_where_secrets_belong(validator):
    doc = _edit(lambda c: c["app-secrets:secrets"]["example-smtp"]["initialValue"].update(
        {"SMTP_HOST": "smtp.example.com"}))
    assert list(validator.iter_errors(doc)) == []


def test_issue_20_keys_in_the_editor_schema(validator):
    """An Aurora cluster instead of an instance (not both missing), logins, rotation alerts."""
    def aurora(c):
        db = c["app-secrets:databases"]["example-db"]
        db["clusterIdentifier"] = db.pop("identifier")
        c["app-secrets:logins"] = {"web": {"database": "example-db", "username": "web",
                                           "grants": [{"readOnly": ["public"]}, {"raw": "GRANT pg_monitor TO %s"}]}}
        c["app-secrets:rotationAlerts"] = {"alertTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"}
    assert [e.message for e in validator.iter_errors(_edit(aurora))] == []
    assert list(validator.iter_errors(_edit(lambda c: c["app-secrets:rotationAlerts"].update({"alertTopicArn": "x"})
                                            if "app-secrets:rotationAlerts" in c else
                                            c.update({"app-secrets:rotationAlerts": {"alertTopicArn": "x"}}))))
