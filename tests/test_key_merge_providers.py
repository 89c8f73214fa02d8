"""The two dynamic providers decide when the engine calls them again: what their diff, check and
create answer (pure calls on the providers; the merge against moto is in test_day2.py)."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from app_secrets.key_merge import (UNKNOWN, KmsKeyGuardProvider, MergeError, SecretKeysProvider, key_change_problem,
                                   merge_keys)

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:web-AbCdEf"
OTHER_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:web2-AbCdEf"
KEY = "arn:aws:kms:us-east-1:000000000000:key/old"
NEW_KEY = "arn:aws:kms:us-east-1:000000000000:key/new"


def test_secret_keys_diff_follows_the_key_names_and_the_secret():
    provider = SecretKeysProvider()
    olds = {"secret_id": ARN, "key_names": ["A", "B"], "region": "us-east-1"}
    assert provider.diff("id", olds, {**olds, "key_names": ["B", "A"]}).changes is False
    assert provider.diff("id", olds, {**olds, "key_names": ["A"]}).changes is True
    assert provider.diff("id", olds, {**olds, "key_names": []}).changes is True
    assert provider.diff("id", {**olds, "key_names": None}, {**olds, "key_names": ["A"]}).changes is True
    # The same keys on another secret (the Secret was replaced): merge into the new one.
    moved = provider.diff("id", olds, {**olds, "secret_id": OTHER_ARN})
    assert moved.changes is True
    assert moved.replaces == [] and moved.delete_before_replace is False


def test_the_key_guard_reports_a_changed_key_and_nothing_else():
    guard = KmsKeyGuardProvider()
    props = {"secret_name": "web", "kms_key_id": KEY}
    assert guard.diff("id", props, dict(props)).changes is False
    assert guard.diff("id", props, {**props, "kms_key_id": NEW_KEY}).changes is True
    assert guard.diff("id", props, {**props, "kms_key_id": UNKNOWN}).changes is True
    created = guard.create(props)
    assert created.id == "web|kms-key" and created.outs == props
    assert guard.update("web|kms-key", props, {**props, "secret_name": "web"}).outs == props
    assert guard.check(props, dict(props)).failures == []
    assert guard.check(None, props).failures == []
    assert [f.property for f in guard.check(props, {**props, "kms_key_id": NEW_KEY}).failures] == ["kms_key_id"]


def test_the_key_change_message_names_both_keys_or_a_key_not_created_yet():
    message = key_change_problem("web", KEY, NEW_KEY)
    assert message.startswith("secret web: its KMS key would change from " + KEY + " to " + NEW_KEY)
    assert f"from {KEY} to a key not created yet" in key_change_problem("web", KEY, UNKNOWN)
    assert f"from {KEY} to a key not created yet" in key_change_problem("web", KEY, None)
    assert key_change_problem("web", "", NEW_KEY) is None


@pytest.fixture
def sm(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)


def test_a_retried_merge_writes_one_version(sm):
    """The version token is derived from the base version and the added keys: a retry after a lost
    answer writes nothing new, and the new version's JSON holds the old keys plus the new ones."""
    arn = sm.create_secret(Name="web", SecretString=json.dumps({"A": "hand"}))["ARN"]
    base = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    first = merge_keys(sm, arn, {"A": "", "B": "new"})
    assert first == {"present_keys": ["A", "B"], "added_keys": ["B"], "extra_keys": []}
    after = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert len(after) == len(base) + 1
    # Replay the same request against the same base version: same token, so no second version.
    (new_version,) = set(after) - set(base)
    (base_version,) = set(base)
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=base_version,
                                   RemoveFromVersionId=new_version)
    merge_keys(sm, arn, {"A": "", "B": "new"})
    assert set(sm.describe_secret(SecretId=arn)["VersionIdsToStages"]) == set(after)
    assert json.loads(sm.get_secret_value(SecretId=arn, VersionId=new_version)["SecretString"]) == \
        {"A": "hand", "B": "new"}


def test_a_secret_without_a_current_value_is_refused_by_name(sm):
    arn = sm.create_secret(Name="empty")["ARN"]
    with pytest.raises(MergeError, match=f"secret {arn} has no current value"):
        merge_keys(sm, arn, {"A": ""})
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps(["not", "an", "object"]))
    with pytest.raises(MergeError, match=r"not a JSON object.*\(keys A, B\)"):
        merge_keys(sm, arn, {"B": "", "A": ""})


def test_the_program_registers_the_merge_with_secret_values_and_sorted_key_names():
    from tests.helpers import SIG_KEY, SIG_SECRET
    from tooling.offline import run_program

    run = run_program("dev")
    merges = run.by_type("pulumi-python:dynamic/app-secrets:SecretKeys")
    guards = run.by_type("pulumi-python:dynamic/app-secrets:KmsKeyGuard")
    assert merges and guards
    for reg in merges:
        assert "values" in reg.additional_secret_outputs
        assert reg.raw_inputs["values"].get(SIG_KEY) == SIG_SECRET
        assert reg.inputs["key_names"] == sorted(reg.inputs["key_names"]) and reg.inputs["key_names"]
        assert reg.inputs["secret_id"].startswith("arn:aws:secretsmanager:") and reg.inputs["region"]
    for reg in guards:
        assert reg.inputs["secret_name"] and reg.inputs["kms_key_id"]


def test_the_provider_talks_to_the_secrets_region():
    from app_secrets.key_merge import _client

    assert _client("eu-west-1").meta.region_name == "eu-west-1"
    assert _client("ap-southeast-2").meta.region_name == "ap-southeast-2"


def test_the_merged_value_is_written_with_sorted_keys_like_the_initial_one(sm):
    """The program writes the initial value as json.dumps(sort_keys=True); the merge keeps that form,
    so a retried merge over the same base sends the very same text."""
    arn = sm.create_secret(Name="sorted", SecretString=json.dumps({"Z": "hand"}))["ARN"]
    merge_keys(sm, arn, {"Z": "", "B": "new"})
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"B": "new", "Z": "hand"}'


@pytest.mark.parametrize("config, endpoint, attempts", [
    ({}, "https://secretsmanager.us-east-1.amazonaws.com", None),
    ({"aws:useFipsEndpoint": "true"}, "https://secretsmanager-fips.us-east-1.amazonaws.com", None),
    ({"aws:useFipsEndpoint": "false"}, "https://secretsmanager.us-east-1.amazonaws.com", None),
    ({"aws:useDualstackEndpoint": "true"}, "https://secretsmanager.us-east-1.api.aws", None),
    ({"aws:useDualstackEndpoint": "false"}, "https://secretsmanager.us-east-1.amazonaws.com", None),
    ({"aws:maxRetries": "5"}, "https://secretsmanager.us-east-1.amazonaws.com", 6),
    ({"aws:endpoints": '[{"secretsmanager": "http://127.0.0.1:1"}]'}, "http://127.0.0.1:1", None),
])
def test_the_merge_reaches_the_endpoint_the_stack_config_chooses(config, endpoint, attempts, monkeypatch):
    """Where the stack's aws provider would send the request (FIPS, dual-stack, a custom endpoint),
    the merge sends it too, with the provider's retry count (maxRetries retries after the first try)."""
    from app_secrets.key_merge import _client, aws_identity

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_USE_FIPS_ENDPOINT",
                 "AWS_USE_DUALSTACK_ENDPOINT", "AWS_MAX_ATTEMPTS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)   # no developer's max_attempts or use_fips_endpoint
    client = _client(None, aws_identity({"aws:region": "us-east-1", **config}))
    assert client.meta.endpoint_url == endpoint
    assert client.meta.config.retries.get("total_max_attempts") == attempts


def test_the_merge_client_is_in_the_stack_s_region_unless_the_secret_says_otherwise(monkeypatch):
    from app_secrets.key_merge import _client

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    assert _client(None, {"region": "eu-west-1"}).meta.region_name == "eu-west-1"
    assert _client("ap-south-1", {"region": "eu-west-1"}).meta.region_name == "ap-south-1"   # a replica's region


# pulumi-aws provider settings that change neither the credentials nor where requests go
# (tags, validation shortcuts, S3 addressing, user agent, client-side rate limits).
WITHOUT_EFFECT = {"aws:defaultTags": '{"tags": {"team": "x"}}', "aws:ignoreTags": '{"keys": ["a"]}',
                  "aws:skipCredentialsValidation": "true", "aws:skipMetadataApiCheck": "true",
                  "aws:skipRegionValidation": "true", "aws:skipRequestingAccountId": "true",
                  "aws:s3UsePathStyle": "true", "aws:s3UsEast1RegionalEndpoint": "regional",
                  "aws:tagPolicyCompliance": "warning", "aws:userAgents": '["ci/1"]', "aws:retryMode": "standard",
                  "aws:tokenBucketRateLimiterCapacity": "100", "aws:version": "7.0.0"}
HONOURED = {"aws:profile": "ci", "aws:accessKey": "AKIA", "aws:secretKey": "s", "aws:token": "t",
            "aws:stsRegion": "us-west-2", "aws:customCaBundle": "/ca.pem", "aws:sharedConfigFiles": '["/c"]',
            "aws:sharedCredentialsFiles": '["/k"]', "aws:allowedAccountIds": '["111111111111"]',
            "aws:forbiddenAccountIds": '["222222222222"]', "aws:maxRetries": "3", "aws:useFipsEndpoint": "true",
            "aws:useDualstackEndpoint": "true", "aws:endpoints": '[{"sts": "http://sts"}]',
            "aws:assumeRoles": '[{"roleArn": "arn:aws:iam::111111111111:role/deploy"}]'}


@pytest.mark.parametrize("key", sorted(WITHOUT_EFFECT))
def test_a_setting_without_effect_on_who_writes_is_accepted_and_ignored(key):
    from app_secrets.key_merge import aws_identity

    assert aws_identity({"aws:region": "us-east-1", key: WITHOUT_EFFECT[key]}) == {"region": "us-east-1"}


# What each of them becomes in the identity (JSON text parsed, one shared file, the endpoints the merge uses).
HONOURED_AS = {"aws:sharedConfigFiles": "/c", "aws:sharedCredentialsFiles": "/k",
               "aws:allowedAccountIds": ["111111111111"], "aws:forbiddenAccountIds": ["222222222222"],
               "aws:maxRetries": 3, "aws:useFipsEndpoint": True, "aws:useDualstackEndpoint": True,
               "aws:endpoints": {"sts": "http://sts"},
               "aws:assumeRoles": [{"roleArn": "arn:aws:iam::111111111111:role/deploy"}]}


@pytest.mark.parametrize("key", sorted(HONOURED))
def test_each_honoured_setting_reaches_the_identity(key):
    from app_secrets.key_merge import aws_identity

    identity = aws_identity({"aws:region": "us-east-1", key: HONOURED[key]})
    name = key.split(":", 1)[1]
    assert set(identity) == {"region", name}
    assert identity[name] == HONOURED_AS.get(key, HONOURED[key])


@pytest.mark.parametrize("setting, ids, refused", [
    ("aws:allowedAccountIds", '["123456789012"]', False), ("aws:allowedAccountIds", '["111111111111"]', True),
    ("aws:forbiddenAccountIds", '["123456789012"]', True), ("aws:forbiddenAccountIds", '["111111111111"]', False),
])
def test_the_merge_checks_the_account_as_the_aws_provider_does(moto_endpoint, setting, ids, refused):
    """aws:allowedAccountIds / aws:forbiddenAccountIds: the credentials' account (STS, moto's
    123456789012 here) is checked before anything is written, and named in the refusal."""
    from app_secrets.key_merge import aws_identity, aws_session

    identity = aws_identity({"aws:region": "us-east-1", "aws:accessKey": "testing", "aws:secretKey": "s3",
                             "aws:token": "t0", "aws:endpoints": json.dumps([{"sts": moto_endpoint}]), setting: ids})
    if refused:
        with pytest.raises(MergeError, match="^the stack's credentials act in account 123456789012, which "):
            aws_session(identity)
    else:
        session = aws_session(identity)   # the static keys of the stack config, in its region
        credentials = session.get_credentials()
        assert (credentials.access_key, credentials.secret_key, credentials.token) == ("testing", "s3", "t0")
        assert session.region_name == "us-east-1"


def test_an_assumed_role_s_whole_credentials_are_used(moto_endpoint):
    """Each aws:assumeRoles entry: the next session acts with all three parts STS returned."""
    from app_secrets.key_merge import aws_identity, aws_session

    identity = aws_identity({"aws:region": "us-east-1", "aws:accessKey": "testing", "aws:secretKey": "testing",
                             "aws:endpoints": json.dumps([{"sts": moto_endpoint}]),
                             "aws:assumeRoles": json.dumps([{"roleArn": "arn:aws:iam::111111111111:role/deploy"}])})
    credentials = aws_session(identity).get_credentials()
    assert credentials is not None and credentials.access_key != "testing"
    assert credentials.secret_key and credentials.secret_key != "testing" and credentials.token
    identity_after = boto3.client("sts", endpoint_url=moto_endpoint, region_name="us-east-1",
                                  aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                                  aws_session_token=credentials.token).get_caller_identity()
    assert identity_after["Arn"].startswith("arn:aws:sts::111111111111:assumed-role/deploy/")


def test_every_assume_role_field_of_the_aws_provider_reaches_sts(moto_endpoint):
    """All of pulumi-aws's assumeRoles fields are accepted and sent in the shape STS takes (botocore
    validates each request against the STS model before sending it); one map counts as a list of one."""
    from app_secrets.key_merge import aws_identity, aws_session

    role = {"roleArn": "arn:aws:iam::111111111111:role/deploy", "sessionName": "ci", "externalId": "x-1",
            "duration": "15m", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}),
            "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "sourceIdentity": "alice",
            "tags": {"team": "platform", "env": "ci"}, "transitiveTagKeys": ["team"]}
    for roles in ([role], role):
        identity = aws_identity({"aws:region": "us-east-1", "aws:accessKey": "testing", "aws:secretKey": "testing",
                                 "aws:endpoints": json.dumps([{"sts": moto_endpoint}]),
                                 "aws:assumeRoles": json.dumps(roles)})
        assert identity["assumeRoles"] == [role]
        session = aws_session(identity)
        caller = session.client("sts", endpoint_url=moto_endpoint).get_caller_identity()
        assert caller["Arn"] == "arn:aws:sts::111111111111:assumed-role/deploy/ci"
