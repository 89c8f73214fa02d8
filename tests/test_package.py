"""The multi-language component package: the schema Pulumi's analyzer infers from
app_secrets.package (a snapshot, with a description on every component, input, output and type),
and each component constructed through the component provider under the mock runtime, as the
engine would for a TypeScript, Go or YAML program."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pulumi
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.provider.experimental.component import ComponentProvider

from app_secrets import package
from tooling.offline import run_inline

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).parent / "snapshots" / "package-schema.json"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def provider() -> ComponentProvider:
    return ComponentProvider(package.COMPONENTS, package.PACKAGE_NAME, version=VERSION)


def schema() -> dict:
    return json.loads(provider().schema)


def test_schema_matches_the_snapshot():
    """Regenerate with UPDATE_SNAPSHOTS=1 after an intended change, and review the diff."""
    current = json.dumps(schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text()


def test_schema_names_every_component_with_the_package_version():
    doc = schema()
    assert doc["name"] == "app-secrets" and doc["version"] == VERSION == package.package_version()
    assert sorted(doc["resources"]) == sorted(f"app-secrets:index:{c.__name__}" for c in package.COMPONENTS)
    assert all(resource["isComponent"] for resource in doc["resources"].values())


def _undocumented(doc: dict) -> list[str]:
    missing = []
    for token, resource in doc["resources"].items():
        if not resource.get("description"):
            missing.append(token)
        for kind in ("inputProperties", "properties"):
            missing += [f"{token}.{kind}.{name}" for name, prop in resource.get(kind, {}).items()
                        if not prop.get("description")]
    for token, typ in doc["types"].items():
        missing += [f"{token}.{name}" for name, prop in typ.get("properties", {}).items() if not prop.get("description")]
    return missing


def test_every_component_input_output_and_type_property_is_described():
    doc = schema()
    assert _undocumented(doc) == []
    # The check sees a missing description (so the assertion above can fail).
    doc["resources"]["app-secrets:index:Secret"]["inputProperties"]["name"].pop("description")
    assert _undocumented(doc) == ["app-secrets:index:Secret.inputProperties.name"]


def test_required_inputs_are_the_ones_the_components_cannot_default():
    resources = schema()["resources"]
    assert sorted(resources["app-secrets:index:Secret"]["requiredInputs"]) == ["initialValue", "name"]
    assert sorted(resources["app-secrets:index:RandomSecret"]["requiredInputs"]) == ["environmentVariables", "name"]
    assert sorted(resources["app-secrets:index:RdsPostgresAdminLogin"]["requiredInputs"]) == [
        "identifier", "initialPassword", "username"]


CONSTRUCT_CASES = {
    "Secret": ({"name": "app/web", "initialValue": {"API_KEY": "not-a-real-key"},
                "access": {"readPrincipals": ["arn:aws:iam::000000000000:role/web"]},
                "storage": {"replicaRegions": [{"region": "eu-west-1"}]}},
               "app-secrets:secrets:Secret", "aws:secretsmanager/secret:Secret"),
    "RandomSecret": ({"name": "app/rails", "environmentVariables": ["SECRET_KEY_BASE"],
                      "randomSettings": {"SECRET_KEY_BASE": {"length": 64}}},
                     "app-secrets:secrets:RandomSecret", "random:index/randomPassword:RandomPassword"),
    "UserManagedSecret": ({"name": "app/tokens", "environmentVariables": ["GITHUB_TOKEN"]},
                          "app-secrets:secrets:UserManagedSecret", "aws:secretsmanager/secretVersion:SecretVersion"),
    "ReadSecretPolicy": ({"policyName": "read-app", "secretNames": ["app/web"], "roleNames": ["web"]},
                         "app-secrets:secrets:ReadSecretPolicy", "aws:iam/policy:Policy"),
    "CustomerManagedKey": ({"name": "app-key"}, "app-secrets:kms:CustomerManagedKey", "aws:kms/key:Key"),
    "RdsPostgresAdminLogin": ({"identifier": "app-db", "username": "postgres", "initialPassword": "initial-pass-123",
                               "rotationEnabled": False},
                              "app-secrets:databases:RdsPostgresAdminLogin", "aws:secretsmanager/secret:Secret"),
}


def as_the_engine_sends(inputs: dict) -> dict:
    """Inputs as a component provider receives them: a protobuf Struct, deserialized by the SDK
    (every number becomes a float on the way)."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return rpc.deserialize_properties(struct)


def construct(component: str, inputs: dict) -> tuple:
    results = {}

    def program():
        results["construct"] = provider().construct("it", f"app-secrets:index:{component}",
                                                    as_the_engine_sends(inputs), pulumi.ResourceOptions())

    return run_inline(program), results["construct"]


@pytest.mark.parametrize("component", sorted(CONSTRUCT_CASES))
def test_each_component_constructs_through_the_provider(component):
    inputs, library_type, child_type = CONSTRUCT_CASES[component]
    run, result = construct(component, inputs)
    outer = run.find(f"app-secrets:index:{component}", "it")
    inner = run.find(library_type, "it")
    assert inner.parent == outer.urn
    assert any(r.type == child_type for r in run.registrations)
    # The provider hands the engine every output the schema declares.
    declared = schema()["resources"][f"app-secrets:index:{component}"]["properties"]
    assert set(result.state) == set(declared)


def test_numbers_from_the_engine_reach_the_resources_as_whole_numbers(tmp_path, monkeypatch):
    # The mock monitor sends numbers as floats too, so the proof is where a number becomes text.
    monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(tmp_path))   # archives of the shipped handler
    run, _ = construct("RdsPostgresAdminLogin", {
        "identifier": "app-db", "username": "postgres", "initialPassword": "initial-pass-123",
        "passwordLength": 40, "rotationDays": 7, "storage": {"recoveryWindowInDays": 7}})
    function = run.by_type("aws:lambda/function:Function")[0]
    assert function.inputs["environment"]["variables"]["PASSWORD_LENGTH"] == "40"
    rotation = run.by_type("aws:secretsmanager/secretRotation:SecretRotation")[0]
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 7
    assert run.find("aws:secretsmanager/secret:Secret", "it").inputs["recoveryWindowInDays"] == 7
    run, _ = construct("RandomSecret", {"name": "n", "environmentVariables": ["A"],
                                        "randomSettings": {"A": {"length": 64, "special": True}}})
    password = run.by_type("random:index/randomPassword:RandomPassword")[0]
    assert password.inputs["length"] == 64 and password.inputs["special"] is True


def test_access_settings_reach_the_key_and_secret_policies():
    run, _ = construct("Secret", {"name": "app/web", "initialValue": {"API_KEY": "not-a-real-key"},
                                  "access": {"readPrincipals": ["arn:aws:iam::000000000000:role/web"],
                                             "deployerPrincipals": ["arn:aws:iam::000000000000:role/ci"],
                                             "trustTags": {"team": "web"}}})
    key_policy = run.find("aws:kms/key:Key", "it").inputs["policy"]
    secret_policy = run.find("aws:secretsmanager/secretPolicy:SecretPolicy", "it").inputs["policy"]
    assert "role/ci" in key_policy and "role/web" in key_policy
    assert "aws:PrincipalTag/team" in secret_policy


def test_network_inputs_accept_outputs_of_other_resources():
    """From TypeScript or Go the VPC usually comes from the same program: those inputs must not be plain."""
    props = schema()["resources"]["app-secrets:index:RdsPostgresAdminLogin"]["inputProperties"]
    for name in ("vpcId", "databaseSecurityGroupId"):
        assert not props[name].get("plain"), name
    # Each id may be an output; the list itself is plain (the component decides at construction
    # whether the function runs in a VPC, so it must know whether there are subnets).
    for name in ("subnetIds", "securityGroupIds"):
        assert not props[name]["items"].get("plain"), name


def test_login_in_a_vpc_gets_its_secrets_manager_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(tmp_path))
    vpc = "vpc-0123456789abcdef0"
    run, result = construct("RdsPostgresAdminLogin", {
        "identifier": "app-db", "username": "postgres", "initialPassword": "initial-pass-123",
        "vpcId": vpc, "subnetIds": ["subnet-0123456789abcdef0"], "databaseSecurityGroupId": "sg-0123456789abcdef0"})
    (endpoint,) = run.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcId"] == vpc and endpoint.inputs["privateDnsEnabled"] is True
    assert "secretsManagerEndpointId" in result.state
