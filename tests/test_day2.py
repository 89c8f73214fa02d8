"""Day 2: new variables merged into the live secret (for real, against moto over HTTP), the KMS
key guard, protect and aliases on the registrations, their config, placeholder warnings and
`status`."""

from __future__ import annotations

import json

import boto3
import pytest

from app_secrets.key_merge import (KmsKeyGuardProvider, MergeError, SecretKeysProvider, UNKNOWN,
                                   key_change_problem, merge_keys, plan_merge)
from stack_program import config as cfg
from stack_program.evolution import COMPONENT_TYPES, secret_alias_specs
from stack_program.schema import ConfigError
from tests.helpers import SIG_KEY, SIG_SECRET, leaks
from tooling.cli import main
from tooling.offline import run_program
from tooling.placeholders import placeholder_paths

MERGE = "pulumi-python:dynamic/app-secrets:SecretKeys"
GUARD = "pulumi-python:dynamic/app-secrets:KmsKeyGuard"


@pytest.fixture
def sm(moto_endpoint, monkeypatch):
    # The provider builds its own client: boto3 reads the endpoint from this variable.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)


def _current(sm, name):
    return json.loads(sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"])


def _stages(sm, name):
    return sm.describe_secret(SecretId=name)["VersionIdsToStages"]


def _initial(sm, name, value):
    """A secret as the Secret component leaves it: the initial version, pinned by our label."""
    arn = sm.create_secret(Name=name)["ARN"]
    version = sm.put_secret_value(SecretId=arn, SecretString=json.dumps(value),
                                  VersionStages=["AWSCURRENT", "APP_SECRETS_INITIAL"])["VersionId"]
    return arn, version


def test_plan_merge_adds_only_missing_keys():
    merged, added, extra = plan_merge({"A": "hand", "OLD": "x"}, {"A": "initial", "B": ""})
    assert merged == {"A": "hand", "OLD": "x", "B": ""} and added == ["B"] and extra == ["OLD"]


def test_new_variable_is_merged_after_a_hand_edit_and_nothing_else_changes(sm):
    arn, initial = _initial(sm, "web", {"API_TOKEN": ""})
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"API_TOKEN": "pasted-by-hand", "EXTRA": "kept"}))
    result = merge_keys(sm, arn, {"API_TOKEN": "", "WEBHOOK": ""})
    assert result == {"present_keys": ["API_TOKEN", "WEBHOOK"], "added_keys": ["WEBHOOK"], "extra_keys": ["EXTRA"]}
    assert _current(sm, arn) == {"API_TOKEN": "pasted-by-hand", "EXTRA": "kept", "WEBHOOK": ""}
    stages = _stages(sm, arn)
    assert len(stages) == 3  # initial, hand edit, merge
    # The initial version is untouched. (moto drops custom labels from superseded versions, which
    # AWS does not do, so the version is read by id here.)
    assert json.loads(sm.get_secret_value(SecretId=arn, VersionId=initial)["SecretString"]) == {"API_TOKEN": ""}
    # Nothing missing any more: a second run writes nothing.
    assert merge_keys(sm, arn, {"API_TOKEN": "", "WEBHOOK": ""})["added_keys"] == []
    assert len(_stages(sm, arn)) == 3


def test_removed_variables_stay_in_the_secret(sm):
    arn, _ = _initial(sm, "web", {"A": "1", "B": "2"})
    result = merge_keys(sm, arn, {"A": "other"})
    assert result["extra_keys"] == ["B"] and result["added_keys"] == []
    assert _current(sm, arn) == {"A": "1", "B": "2"}


def test_a_value_that_is_not_a_json_object_is_refused_without_showing_it(sm):
    arn = sm.create_secret(Name="raw", SecretString="not-json-hunter2")["ARN"]
    with pytest.raises(MergeError) as error:
        merge_keys(sm, arn, {"A": "x"})
    assert "not a JSON object" in str(error.value) and "hunter2" not in str(error.value)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "not-json-hunter2"


def test_the_provider_merges_on_create_and_on_a_key_change_only(sm):
    arn, _ = _initial(sm, "svc", {"TOKEN": "t"})
    provider = SecretKeysProvider()
    props = {"secret_id": arn, "key_names": ["TOKEN"], "values": {"TOKEN": "t"}, "region": "us-east-1"}
    created = provider.create(props)
    assert created.outs["present_keys"] == ["TOKEN"] and created.outs["added_keys"] == []
    assert "values" not in created.outs  # values never become outputs
    same = provider.diff(created.id, created.outs, {**props, "values": {"TOKEN": "changed-in-config"}})
    assert same.changes is False  # a changed value of an existing key is never written back
    news = {**props, "key_names": ["SECRET", "TOKEN"], "values": {"TOKEN": "changed", "SECRET": "generated"}}
    assert provider.diff(created.id, created.outs, news).changes is True
    updated = provider.update(created.id, created.outs, news)
    assert updated.outs["added_keys"] == ["SECRET"]
    assert _current(sm, arn) == {"TOKEN": "t", "SECRET": "generated"}


def test_key_guard_refuses_a_key_change_with_a_migration_message():
    old = "arn:aws:kms:us-east-1:000000000000:key/old"
    assert key_change_problem("web", None, old) is None  # first deployment
    assert key_change_problem("web", old, old) is None
    for new in ("arn:aws:kms:us-east-1:000000000000:key/new", UNKNOWN):
        problem = key_change_problem("web", old, new)
        assert "secret web: its KMS key would change" in problem and "Revert the edit" in problem
    check = KmsKeyGuardProvider().check({"secret_name": "web", "kms_key_id": old},
                                        {"secret_name": "web", "kms_key_id": UNKNOWN})
    assert [f.property for f in check.failures] == ["kms_key_id"]
    assert KmsKeyGuardProvider().check({}, {"secret_name": "web", "kms_key_id": old}).failures == []


# ---------------------------------------------------------------------------------------------
# Registrations


def _by(run, type_):
    return {r.name: r for r in run.by_type(type_)}


def test_long_lived_stacks_protect_secrets_values_and_keys():
    run = run_program("production")
    protected = {(r.type, r.name) for r in run.registrations if r.protect}
    for name in ("example-rails", "example-prismic", "example-smtp", "example-db"):
        for type_ in ("aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion",
                      "aws:kms/key:Key"):
            assert (type_, name) in protected
    # Policies, roles and functions can be re-created freely.
    assert not any(t.startswith(("aws:iam/", "aws:lambda/")) for t, _ in protected)


def test_review_stacks_protect_nothing_unless_asked():
    assert not [r for r in run_program("pr-9", template="pr").registrations if r.protect]
    run = run_program("pr-9", template="pr", config_override={"protect": True})
    assert _by(run, "aws:secretsmanager/secret:Secret")["example-rails"].protect
    run = run_program("dev", config_override={"protect": False})
    assert not [r for r in run.registrations if r.protect]


def test_aliases_and_type_changes_are_aliases_on_the_component():
    secrets = {"web-api": {"type": "user-managed", "environmentVariables": ["TOKEN"], "aliases": ["api", "old-api"]}}
    run = run_program("dev", config_override={"secrets": secrets, "databases": {}, "readPolicies": {}})
    component = _by(run, COMPONENT_TYPES["user-managed"])["web-api"]
    specs = {(a["spec"]["name"], a["spec"]["type"]) for a in component.aliases}
    assert specs == {(s["name"], s["type"]) for s in secret_alias_specs("web-api", "user-managed", ["api", "old-api"])}
    assert ("api", COMPONENT_TYPES["user-managed"]) in specs and ("web-api", COMPONENT_TYPES["random"]) in specs
    # Children carry no aliases of their own: the engine derives theirs from the component's.
    assert not _by(run, "aws:secretsmanager/secret:Secret")["web-api"].aliases


def test_database_aliases():
    run = run_program("dev", config_override={"databases": {"main-db": {
        "identifier": "example-dev", "username": "example_admin", "initialPassword": "x" * 12,
        "aliases": ["example-db"], "rotation": {"enabled": False}}}, "readPolicies": {}},)
    login = _by(run, "app-secrets:databases:RdsPostgresAdminLogin")["main-db"]
    assert [a["spec"]["name"] for a in login.aliases] == ["example-db"]


def test_the_merge_and_the_guard_are_registered_around_the_secret():
    run = run_program("dev")
    secret = _by(run, "aws:secretsmanager/secret:Secret")["example-prismic"]
    guard = _by(run, GUARD)["example-prismic"]
    merge = _by(run, MERGE)["example-prismic"]
    version = _by(run, "aws:secretsmanager/secretVersion:SecretVersion")["example-prismic"]
    assert guard.urn in secret.dependencies and version.urn in merge.dependencies
    assert merge.inputs["key_names"] == ["PRISMIC_ACCESS_TOKEN", "PRISMIC_WEBHOOK_SECRET"]
    assert merge.raw_inputs["values"][SIG_KEY] == SIG_SECRET  # values travel as a secret
    assert guard.inputs["kms_key_id"] == secret.inputs["kmsKeyId"]
    assert leaks(run) == []


def test_exported_variables_are_those_the_live_secret_holds():
    run = run_program("dev")
    assert run.outputs["secrets"]["example-prismic"]["environmentVariables"] == \
        ["PRISMIC_ACCESS_TOKEN", "PRISMIC_WEBHOOK_SECRET"]
    ecs = run.outputs["consumers"]["secrets"]["example-prismic"]["ecsSecrets"]
    assert [e["name"] for e in ecs] == ["PRISMIC_ACCESS_TOKEN", "PRISMIC_WEBHOOK_SECRET"]


# ---------------------------------------------------------------------------------------------
# Config


def _parse(secrets, **top):
    if not top.get("reviewStack"):   # long-lived stacks name their deployer (issue 16)
        top.setdefault("deployerPrincipals", ["arn:aws:iam::123456789012:role/example-deployer"])
    return cfg.parse_config({"secrets": secrets, **top}, stack="dev", region="us-east-1")


def test_aliases_must_name_former_keys_once():
    with pytest.raises(ConfigError) as error:
        _parse({"a": {"type": "user-managed", "environmentVariables": ["X"], "aliases": ["b", "old"]},
                "b": {"type": "user-managed", "environmentVariables": ["Y"], "aliases": ["old"]}})
    problems = [str(p) for p in error.value.problems]
    assert "secrets.a.aliases[0]: 'b' is a current key; an alias names a former key" in problems
    assert "secrets.b.aliases[0]: 'old' is already an alias of secrets.a" in problems


def test_protect_defaults():
    assert _parse({}).protect is True
    assert _parse({}, reviewStack=True).protect is False
    assert _parse({}, protect=False).protect is False
    with pytest.raises(ConfigError):
        _parse({}, protect="yes")


# ---------------------------------------------------------------------------------------------
# Placeholders and status


def test_placeholder_secure_values_are_found_by_key_path():
    config = {"app-secrets:secrets": {"a": {"initialValue": {"K": {"secure": "v1:REPLACE-ME"},
                                                             "L": {"secure": "v1:AAAA:BBBB"}}}},
              "app-secrets:databases": {"db": {"initialPassword": {"secure": "v1:REPLACE-ME-too"}}}}
    assert placeholder_paths(config) == ["secrets.a.initialValue.K", "databases.db.initialPassword"]


def test_plan_and_validate_warn_about_placeholders(capsys):
    assert main(["validate", "--stack", "production"]) == 0
    out = capsys.readouterr().out
    assert "warning: stacks/Pulumi.production.yaml: databases.example-db.initialPassword: still a placeholder" in out


def test_status_reports_empty_user_managed_variables(sm, moto_endpoint, capsys):
    sm.create_secret(Name="example-prismic",
                     SecretString=json.dumps({"PRISMIC_ACCESS_TOKEN": "filled", "PRISMIC_WEBHOOK_SECRET": ""}))
    code = main(["status", "--stack", "dev", "--region", "us-east-1", "--endpoint-url", moto_endpoint,
                 "--fail-on", "empty"])
    out = capsys.readouterr().out
    assert code == 3
    assert "example-prismic (example-prismic): PRISMIC_WEBHOOK_SECRET empty" in out
    assert "filled" not in out and "1 user-managed variable(s) still to fill in" in out
    sm.put_secret_value(SecretId="example-prismic",
                        SecretString=json.dumps({"PRISMIC_ACCESS_TOKEN": "a", "PRISMIC_WEBHOOK_SECRET": "b"}))
    assert main(["status", "--stack", "dev", "--region", "us-east-1", "--endpoint-url", moto_endpoint,
                 "--fail-on", "empty"]) == 0
    assert "every user-managed variable is set" in capsys.readouterr().out


def test_the_serialized_provider_merges_in_a_fresh_process(sm, moto_endpoint, tmp_path):
    """What `pulumi up` runs: the provider as the program serialized it (dill), loaded the way
    Pulumi's dynamic provider host does (pulumi/dynamic/__main__.py get_provider, which cannot be
    imported: importing it starts the host) in another interpreter, against the emulator over HTTP."""
    import os
    import subprocess
    import sys

    from app_secrets.secret import UserManagedSecret, UserManagedSecretArgs
    from tests.helpers import plain
    from tooling.offline import run_inline

    run = run_inline(lambda: UserManagedSecret("svc", UserManagedSecretArgs(name="svc", environment_variables=["A", "B"])))
    serialized = plain(_by(run, MERGE)["svc"].inputs["__provider"])
    arn, _ = _initial(sm, "svc", {"A": "by-hand"})
    script = (
        "import base64, json, sys, dill\n"
        "from pulumi.runtime._serialization import _deserialize\n"
        "props = json.load(sys.stdin)\n"
        "provider = _deserialize(lambda: dill.loads(base64.b64decode(props['__provider'])))\n"
        "result = provider.create(props)\n"
        "print(json.dumps(result.outs))\n")
    props = {"__provider": serialized, "secret_id": arn, "key_names": ["A", "B"], "values": {"A": "", "B": ""},
             "region": "us-east-1"}
    env = {**os.environ, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(props), capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    outs = json.loads(done.stdout)
    assert outs["added_keys"] == ["B"] and outs["present_keys"] == ["A", "B"]
    assert _current(sm, arn) == {"A": "by-hand", "B": ""}


def test_status_that_cannot_read_aws_is_a_failure_not_an_answer(capsys):
    code = main(["status", "--stack", "dev", "--endpoint-url", "http://127.0.0.1:1", "--fail-on", "empty"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "could not be read" in err and "Traceback" not in err


def test_status_and_rotation_commands_take_aws_region_and_refuse_unknown_regions(moto_endpoint, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")   # boto3 alone would not read it
    assert main(["rotation", "status", "--secret", "no-such-secret", "--endpoint-url", moto_endpoint]) == 1
    assert "not found" in capsys.readouterr().err
    monkeypatch.setenv("AWS_REGION", "us-east-9")
    assert main(["rotate", "--secret", "x", "--endpoint-url", moto_endpoint]) == 2
    assert "AWS_REGION 'us-east-9'" in capsys.readouterr().err
    assert main(["status", "--stack", "dev", "--region", "mars-1", "--endpoint-url", moto_endpoint]) == 2
    assert "--region 'mars-1'" in capsys.readouterr().err


def test_status_reports_drift_of_a_live_secret_s_key_and_resource_policy(sm, moto_endpoint, capsys):
    """Issue 16: `status --stack` compares the live secret with the program: its KMS key (found by
    the stack's alias) and its resource policy (per Sid: effect and actions)."""
    import boto3

    from tooling.access import secret_accesses
    from tooling.offline import run_program

    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    accesses = secret_accesses(run_program("dev"))
    keys = {}
    for name, value in (("example-rails", {"SECRET_KEY_BASE": "x"}),
                        ("example-prismic", {"PRISMIC_ACCESS_TOKEN": "a", "PRISMIC_WEBHOOK_SECRET": "b"})):
        keys[name] = kms.create_key(Description=name)["KeyMetadata"]["Arn"]   # as `pulumi up` leaves them
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=keys[name])
        sm.create_secret(Name=name, KmsKeyId=keys[name], SecretString=json.dumps(value))
        sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(accesses[name].policy))
    key, expected = keys["example-rails"], accesses["example-rails"].policy
    status = ["status", "--stack", "dev", "--region", "us-east-1", "--endpoint-url", moto_endpoint,
              "--fail-on", "drift"]
    assert main(status) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "example-rails (example-rails): drift" not in out and "example-smtp (example-smtp): not deployed yet" in out
    # Someone with secretsmanager:* moves it to another key and drops a Deny.
    other = kms.create_key(Description="attacker's")["KeyMetadata"]["Arn"]
    sm.update_secret(SecretId="example-rails", KmsKeyId=other)
    weakened = {**expected, "Statement": [s for s in expected["Statement"] if s["Sid"] != "DenyUpdateExceptDeployer"]}
    sm.put_resource_policy(SecretId="example-rails", ResourcePolicy=json.dumps(weakened))
    assert main(status) == 3
    out = capsys.readouterr().out
    assert (f"example-rails (example-rails): drift: KMS key is {other}, expected alias/example-rails ({key}); "
            "resource policy: statement DenyUpdateExceptDeployer missing") in out
    assert "1 secret(s) drifted from the program" in out
    # Without --fail-on drift it is reported, not failed on.
    assert main(status[:-2]) == 0
