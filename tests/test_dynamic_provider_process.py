"""The dynamic providers (SecretKeys, KmsKeyGuard) as the engine runs them: serialized by the SDK
in the program, started as a separate process by the launcher's command in the program's
directory and environment, driven over the provider gRPC protocol against moto's server.

gRPC calls exercised: GetPluginInfo, Configure, Check (with and without old inputs, with
unknowns), Diff, Create (preview and real), Update (and the same Update retried), Read, Delete.
Consumers tried: this Python project (works); a Python consumer's own virtualenv without
`app_secrets` and a TypeScript consumer's directory without a virtualenv (both fail: why the
component package must not register these resources, see test_package_process.py).
"""

from __future__ import annotations

import base64
import json
import pickletools
import re
import subprocess
import sys
from pathlib import Path

import boto3
import grpc
import pytest
from google.protobuf import struct_pb2

from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from stack_program.project import PROJECT_DIR, read_yaml
from tests.helpers import plain
from tests.plugin_process import PluginProcess, config_json_for, dynamic_provider_launch, run_async, runtime_options

PROJECT = read_yaml(PROJECT_DIR / "Pulumi.yaml")
KEYS_TYPE = "pulumi-python:dynamic/app-secrets:SecretKeys"
GUARD_TYPE = "pulumi-python:dynamic/app-secrets:KmsKeyGuard"
UNKNOWN = rpc.UNKNOWN

# Import paths the state of every stack ever deployed holds (dill pickles a provider by reference):
# these must stay importable forever. A class that moves keeps an alias at its old path.
STATE_IMPORT_PATHS = {
    KEYS_TYPE: ("app_secrets.key_merge", "SecretKeysProvider"),
    GUARD_TYPE: ("app_secrets.key_merge", "KmsKeyGuardProvider"),
}


@pytest.fixture(scope="module")
def serialized() -> dict[str, str]:
    """`__provider` of each dynamic resource, as the SDK serialized it in the dev program."""
    from tooling.offline import run_program

    run = run_program("dev")
    found = {}
    for reg in run.registrations:
        if reg.type in (KEYS_TYPE, GUARD_TYPE):
            found.setdefault(reg.type, plain(reg.raw_inputs["__provider"]))
    assert set(found) == {KEYS_TYPE, GUARD_TYPE}
    return found


def _globals(pickled: bytes) -> list[tuple[str, str]]:
    """(module, name) of every class a pickle refers to by import path."""
    strings, found = [], []
    for opcode, arg, _ in pickletools.genops(pickled):
        if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif opcode.name == "STACK_GLOBAL":
            found.append((strings[-2], strings[-1]))
        elif opcode.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            found.append((module, name))
    return found


def test_providers_serialize_to_a_small_reference_to_their_import_path(serialized):
    for type_, text in serialized.items():
        pickled = base64.b64decode(text)
        assert len(pickled) < 100, (type_, len(pickled))   # a reference, not the code
        assert _globals(pickled) == [STATE_IMPORT_PATHS[type_]]


def test_every_import_path_in_state_stays_importable():
    """Fails when a provider class moves or is renamed without an alias at the old path."""
    import importlib

    for type_, (module, name) in STATE_IMPORT_PATHS.items():
        cls = getattr(importlib.import_module(module), name, None)
        assert cls is not None, f"{module}.{name} ({type_}) is in deployed state; keep an alias there"
        assert hasattr(cls, "create") and hasattr(cls, "diff")


# ---------------------------------------------------------------------------------------------
# The provider process


def _struct(props: dict) -> struct_pb2.Struct:
    return run_async(rpc.serialize_properties(props, {}))


def _props(message) -> dict:
    return rpc.deserialize_properties(message, True)


class Provider:
    def __init__(self, program_dir: Path, options: dict, base_env: dict | None = None, config_json: str = "{}"):
        argv, env = dynamic_provider_launch(program_dir, options, str(PROJECT["name"]), config_json, base_env)
        self.plugin = PluginProcess(argv, env, program_dir)
        self.channel = grpc.insecure_channel(self.plugin.target) if self.plugin.port else None
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel) if self.channel else None

    def close(self) -> str:
        if self.channel:
            self.channel.close()
        return self.plugin.stop()

    def configure(self, stack_config: dict) -> provider_pb2.ConfigureResponse:
        # What the engine sends a dynamic provider: the whole stack config, namespaced keys,
        # values as strings (objects as JSON) (pkg/resource/deploy/target.go:51-70).
        args = {k: v if isinstance(v, str) else json.dumps(v) for k, v in stack_config.items()}
        return self.stub.Configure(provider_pb2.ConfigureRequest(
            args=_struct(args), acceptSecrets=True, acceptResources=True), timeout=60)


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch):
    """The engine's environment as a developer's shell gives it: credentials and endpoints."""
    return {"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint, "AWS_ENDPOINT_URL_STS": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}


def _env(extra: dict) -> dict:
    import os
    return {**os.environ, **extra}


@pytest.fixture
def provider(aws_env):
    started = Provider(PROJECT_DIR, runtime_options(PROJECT), _env(aws_env),
                       config_json_for("pulumi-python", {"aws:region": "us-east-1"}))
    assert started.plugin.port, started.plugin.output
    yield started
    started.close()


def _keys_inputs(serialized, secret_arn, keys: dict) -> dict:
    return {"secret_id": secret_arn, "key_names": sorted(keys), "values": keys, "region": "us-east-1",
            "present_keys": None, "added_keys": None, "extra_keys": None, "__provider": serialized[KEYS_TYPE]}


def test_secret_keys_lifecycle_over_grpc(provider, serialized, moto_endpoint):
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = sm.create_secret(Name="web", SecretString=json.dumps({"A": "hand-edited"}))["ARN"]
    urn = "urn:pulumi:dev::app-secrets::app-secrets:secrets:RandomSecret$" + KEYS_TYPE + "::web"

    assert provider.stub.GetPluginInfo(__import__("google.protobuf.empty_pb2", fromlist=["Empty"]).Empty()).version
    configured = provider.configure({"aws:region": "us-east-1", "app-secrets:secrets": {"web": {}}})
    assert configured.acceptSecrets is False   # the engine unwraps secrets for it and re-marks them

    # Preview of a new secret: its ARN is not known yet.
    preview_news = _keys_inputs(serialized, UNKNOWN, {"A": "initial", "B": "initial-b"})
    check = provider.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_struct({}), news=_struct(preview_news)))
    assert list(check.failures) == []
    assert check.inputs.fields["secret_id"].string_value == UNKNOWN

    news = _keys_inputs(serialized, arn, {"A": "initial", "B": "initial-b"})
    created = provider.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=_struct(news)))
    outs = _props(created.properties)
    assert created.id == f"{arn}|keys"
    assert (outs["present_keys"], outs["added_keys"], outs["extra_keys"]) == (["A", "B"], ["B"], [])
    assert "values" not in outs or outs.get("values") is None   # no value is ever an output
    live = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    assert live == {"A": "hand-edited", "B": "initial-b"}       # the hand edit survives

    same = provider.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, olds=created.properties,
                                                       news=_struct(news)))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    more = _keys_inputs(serialized, arn, {"A": "initial", "B": "initial-b", "C": "initial-c"})
    diff = provider.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, olds=created.properties,
                                                       news=_struct(more)))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    assert diff.deleteBeforeReplace is False

    versions_before = len(sm.list_secret_version_ids(SecretId=arn)["Versions"])
    request = provider_pb2.UpdateRequest(id=created.id, urn=urn, olds=created.properties, news=_struct(more))
    updated = _props(provider.stub.Update(request).properties)
    assert updated["added_keys"] == ["C"] and updated["present_keys"] == ["A", "B", "C"]
    retried = _props(provider.stub.Update(request).properties)   # the engine retries after a lost answer
    assert retried["added_keys"] == [] and retried["present_keys"] == ["A", "B", "C"]
    assert len(sm.list_secret_version_ids(SecretId=arn)["Versions"]) == versions_before + 1

    read = provider.stub.Read(provider_pb2.ReadRequest(id=created.id, urn=urn, properties=_struct(
        {**more, **{k: updated[k] for k in ("present_keys", "added_keys", "extra_keys")}})))
    assert read.id == created.id and _props(read.properties)["present_keys"] == ["A", "B", "C"]

    provider.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn, properties=_struct(more)))
    live = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    assert live == {"A": "hand-edited", "B": "initial-b", "C": "initial-c"}   # delete leaves the secret alone
    stderr = provider.close()
    assert "initial-b" not in stderr and "hand-edited" not in stderr   # no value in the provider's log


def test_kms_key_guard_over_grpc(provider, serialized):
    urn = "urn:pulumi:dev::app-secrets::app-secrets:secrets:RandomSecret$" + GUARD_TYPE + "::web"
    provider.configure({"aws:region": "us-east-1"})
    old = {"secret_name": "web", "kms_key_id": "arn:aws:kms:us-east-1:1:key/old", "__provider": serialized[GUARD_TYPE]}
    created = provider.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=_struct(old)))
    assert created.id == "web|kms-key"
    moved = {**old, "kms_key_id": "arn:aws:kms:us-east-1:1:key/new"}
    refused = provider.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_struct(old), news=_struct(moved)))
    assert [f.property for f in refused.failures] == ["kms_key_id"]
    assert "key/old to arn:aws:kms:us-east-1:1:key/new" in refused.failures[0].reason
    preview = provider.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_struct(old),
                                                            news=_struct({**old, "kms_key_id": UNKNOWN})))
    assert "a key not created yet" in preview.failures[0].reason
    # `pulumi up --replace <guard urn>` / `state taint`: Check gets no old inputs
    # (pkg/resource/deploy/step_generator.go, isTargetedReplace), so the README's way out works.
    replaced = provider.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_struct({}), news=_struct(moved)))
    assert list(replaced.failures) == []
    diff = provider.stub.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, olds=created.properties,
                                                       news=_struct(moved)))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    provider.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn, properties=created.properties))


# ---------------------------------------------------------------------------------------------
# Consumers in other directories: why the component package cannot use these resources


def test_a_python_consumer_without_app_secrets_cannot_run_them(tmp_path, serialized, aws_env):
    """A consumer's own virtualenv has pulumi but not this library (pulumi/pulumi#5455)."""
    import pulumi

    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    # pulumi and its dependencies (the site-packages pulumi was imported from), but none of this
    # project's .pth files (its editable install): a path line in a .pth runs no .pth of that folder.
    (site / "shared.pth").write_text(str(Path(pulumi.__file__).resolve().parent.parent) + "\n")
    consumer = Provider(tmp_path, {"toolchain": "uv", "virtualenv": ".venv"}, _env(aws_env))
    try:
        assert consumer.plugin.port, consumer.plugin.output
        consumer.configure({"aws:region": "us-east-1"})
        news = _keys_inputs(serialized, "arn:aws:secretsmanager:us-east-1:1:secret:web", {"A": "x"})
        with pytest.raises(grpc.RpcError) as failed:
            consumer.stub.Create(provider_pb2.CreateRequest(urn="urn:pulumi:s::consumer::" + KEYS_TYPE + "::web",
                                                            properties=_struct(news)))
        assert "No module named 'app_secrets'" in failed.value.details()
    finally:
        consumer.close()


def test_a_typescript_consumer_has_no_python_environment_for_them(tmp_path, aws_env):
    """A Node.js program's directory: no virtualenv option, so the launcher runs `python3`."""
    import os
    import shutil

    plain_python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if plain_python is None:
        pytest.skip("no system python3 to stand for a machine without this project's environment")
    probe = subprocess.run([plain_python, "-c", "import pulumi"], capture_output=True, text=True)
    if probe.returncode == 0:
        pytest.skip("the system python3 has pulumi installed; it cannot stand for a TypeScript consumer's machine")
    (tmp_path / "package.json").write_text('{"name": "consumer"}')
    consumer = Provider(tmp_path, {}, {**_env(aws_env), "PULUMI_PYTHON_CMD": plain_python,
                                       "PATH": os.environ.get("PATH", "")})
    try:
        assert consumer.plugin.port is None
        assert "No module named 'pulumi'" in consumer.plugin.output
    finally:
        consumer.close()


# ---------------------------------------------------------------------------------------------
# The stack's AWS identity (aws:assumeRoles, aws:profile, shared files, aws:endpoints)

OTHER_ACCOUNT_ROLE = "arn:aws:iam::111111111111:role/deployer"


def _assumed(moto_endpoint: str) -> dict:
    sts = boto3.client("sts", endpoint_url=moto_endpoint, region_name="us-east-1")
    return sts.assume_role(RoleArn=OTHER_ACCOUNT_ROLE, RoleSessionName="test")["Credentials"]


def _secret_in_other_account(moto_endpoint: str) -> tuple[str, object]:
    """A secret that exists only in account 111111111111 (moto's STS credentials act there)."""
    creds = _assumed(moto_endpoint)
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
    arn = sm.create_secret(Name="cross", SecretString=json.dumps({"A": "a"}))["ARN"]
    assert ":111111111111:" in arn
    default = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    with pytest.raises(default.exceptions.ResourceNotFoundException):
        default.get_secret_value(SecretId=arn)
    return arn, sm


def _create(provider: Provider, serialized, arn: str, keys: dict):
    urn = "urn:pulumi:production::app-secrets::app-secrets:secrets:Secret$" + KEYS_TYPE + "::cross"
    return provider.stub.Create(provider_pb2.CreateRequest(
        urn=urn, properties=_struct(_keys_inputs(serialized, arn, keys))), timeout=60)


@pytest.fixture
def bare_provider(aws_env):
    """The provider process with base credentials but no endpoint variables: only the stack
    config (aws:endpoints) can point it at the emulator."""
    env = {k: v for k, v in _env(aws_env).items() if not k.startswith("AWS_ENDPOINT_URL")}
    started = Provider(PROJECT_DIR, runtime_options(PROJECT), env)
    assert started.plugin.port, started.plugin.output
    yield started
    started.close()


def test_the_merge_writes_through_aws_assume_roles(bare_provider, serialized, moto_endpoint):
    arn, sm = _secret_in_other_account(moto_endpoint)
    endpoints = [{"secretsmanager": moto_endpoint, "sts": moto_endpoint}]
    bare_provider.configure({"aws:region": "us-east-1", "aws:endpoints": endpoints})
    with pytest.raises(grpc.RpcError) as elsewhere:   # the base credentials' account has no such secret
        _create(bare_provider, serialized, arn, {"A": "x", "B": "b"})
    assert "is not found with the stack's AWS credentials" in elsewhere.value.details()

    stack = Provider(PROJECT_DIR, runtime_options(PROJECT),
                     {k: v for k, v in _env({}).items() if not k.startswith("AWS_ENDPOINT_URL")})
    try:
        stack.configure({"aws:region": "us-east-1", "aws:endpoints": endpoints,
                         "aws:assumeRoles": [{"roleArn": OTHER_ACCOUNT_ROLE, "sessionName": "ci", "duration": "15m"}]})
        outs = _props(_create(stack, serialized, arn, {"A": "x", "B": "b"}).properties)
        assert outs["added_keys"] == ["B"]
        assert json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]) == {
            "A": "a", "B": "b"}
    finally:
        stack.close()


def test_the_merge_writes_through_a_named_profile_in_a_shared_credentials_file(
        bare_provider, serialized, moto_endpoint, tmp_path):
    arn, sm = _secret_in_other_account(moto_endpoint)
    creds = _assumed(moto_endpoint)
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[deployer]\naws_access_key_id = {creds['AccessKeyId']}\n"
                           f"aws_secret_access_key = {creds['SecretAccessKey']}\n"
                           f"aws_session_token = {creds['SessionToken']}\n")
    bare_provider.configure({"aws:region": "us-east-1", "aws:profile": "deployer",
                             "aws:sharedCredentialsFiles": [str(credentials)],
                             "aws:endpoints": [{"secretsmanager": moto_endpoint}]})
    outs = _props(_create(bare_provider, serialized, arn, {"A": "x", "C": "c"}).properties)
    assert outs["added_keys"] == ["C"]
    assert json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])["C"] == "c"


def test_a_setting_the_merge_cannot_honour_is_refused_at_preview(provider, serialized):
    provider.configure({"aws:region": "us-east-1",
                        "aws:assumeRoleWithWebIdentity": {"roleArn": OTHER_ACCOUNT_ROLE, "webIdentityToken": "t"}})
    news = _keys_inputs(serialized, UNKNOWN, {"A": "x"})
    check = provider.stub.Check(provider_pb2.CheckRequest(urn="urn:pulumi:s::app-secrets::" + KEYS_TYPE + "::w",
                                                          olds=_struct({}), news=_struct(news)))
    assert len(check.failures) == 1
    reason = check.failures[0].reason
    assert reason.startswith("stack config aws:assumeRoleWithWebIdentity cannot be honoured by the key merge")
    assert "\n" not in reason and "Error" not in reason


def test_aws_identity_reads_the_config_as_the_engine_sends_it():
    """Pure: values are strings, lists and maps JSON text (pkg/resource/deploy/target.go:58-66)."""
    from app_secrets.key_merge import MergeError, aws_identity, duration_seconds

    identity = aws_identity({
        "aws:region": "eu-west-1", "aws:profile": "ci", "aws:sharedConfigFiles": '["~/.aws/ci-config"]',
        "aws:assumeRoles": json.dumps([{"roleArn": OTHER_ACCOUNT_ROLE, "externalId": "x"}]),
        "aws:endpoints": json.dumps([{"sts": "http://sts", "s3": "http://s3"}]),
        "aws:allowedAccountIds": '["111111111111"]', "aws:maxRetries": "5", "aws:useFipsEndpoint": "true",
        "aws:defaultTags": '{"tags": {"a": "b"}}', "app-secrets:secrets": "{}"})
    assert identity == {"region": "eu-west-1", "profile": "ci", "sharedConfigFiles": "~/.aws/ci-config",
                        "assumeRoles": [{"roleArn": OTHER_ACCOUNT_ROLE, "externalId": "x"}],
                        "endpoints": {"sts": "http://sts"}, "allowedAccountIds": ["111111111111"],
                        "maxRetries": 5, "useFipsEndpoint": True}
    assert duration_seconds("1h30m") == 5400 and duration_seconds("1.5h") is None
    for config, expected in (
            ({"aws:httpsProxy": "http://proxy"}, "stack config aws:httpsProxy cannot be honoured"),
            ({"aws:sharedCredentialsFiles": '["a", "b"]'}, "aws:sharedCredentialsFiles: the key merge (boto3) reads one file"),
            ({"aws:assumeRoles": '[{"sessionName": "x"}]'}, "aws:assumeRoles[0]: expected a map with roleArn"),
            ({"aws:assumeRoles": json.dumps([{"roleArn": "r", "duration": "1d"}])}, "aws:assumeRoles[0].duration")):
        with pytest.raises(MergeError, match=re.escape(expected)):
            aws_identity(config)


def test_the_merge_assumes_the_role_of_a_profile_in_a_shared_config_file(
        bare_provider, serialized, moto_endpoint, tmp_path):
    """The usual CI set-up: a profile with `role_arn` + `source_profile` in a config file."""
    arn, sm = _secret_in_other_account(moto_endpoint)
    config = tmp_path / "config"
    config.write_text(f"[profile deployer]\nrole_arn = {OTHER_ACCOUNT_ROLE}\nsource_profile = base\n"
                      f"endpoint_url = {moto_endpoint}\n\n[profile base]\nendpoint_url = {moto_endpoint}\n")
    credentials = tmp_path / "credentials"
    credentials.write_text("[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    bare_provider.configure({"aws:region": "us-east-1", "aws:profile": "deployer",
                             "aws:sharedConfigFiles": [str(config)], "aws:sharedCredentialsFiles": [str(credentials)]})
    outs = _props(_create(bare_provider, serialized, arn, {"A": "x", "D": "d"}).properties)
    assert outs["added_keys"] == ["D"]
    assert json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])["D"] == "d"
