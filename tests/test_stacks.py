"""The whole program for every stack file in stacks/, under the mock runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from parliament import analyze_policy_string

from tooling.offline import AwsMocks, PROJECT_DIR, run_program
from stack_program.program import InvalidConfig
from tests.helpers import leaks, plain, policy_documents

STACK_FILES = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
STACKS = [p.name[len("Pulumi."):-len(".yaml")] for p in STACK_FILES]
OUR_TYPES_PREFIX = "app-secrets:"


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request):
    return run_program(request.param)


def stack_file(stack: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_the_example_stacks_use_every_secret_kind():
    kinds = set()
    for stack in STACKS:
        config = stack_file(stack)
        kinds |= {s["type"] for s in config.get("app-secrets:secrets", {}).values()}
        if config.get("app-secrets:databases"):
            kinds.add("database")
        if any(s.get("existingSecretName") for s in config.get("app-secrets:secrets", {}).values()):
            kinds.add("existing")
    assert kinds == {"secret", "random", "user-managed", "database", "existing"}
    assert {"dev", "staging", "production", "pr"} <= set(STACKS)


def test_every_configured_secret_is_exported(stack_run):
    config = stack_file(stack_run.stack)
    expected = set(config.get("app-secrets:secrets", {})) | set(config.get("app-secrets:databases", {}))
    assert set(stack_run.outputs["secrets"]) == expected
    for key, described in stack_run.outputs["secrets"].items():
        assert described["environmentVariables"], key
        assert described["arn"].startswith("arn:aws:secretsmanager:")


def test_every_resource_is_parented_to_one_of_our_components(stack_run):
    components = {r.urn for r in stack_run.registrations if r.type.startswith(OUR_TYPES_PREFIX)}
    for reg in stack_run.registrations:
        if reg.type.startswith(OUR_TYPES_PREFIX):
            assert not reg.custom
        else:
            assert reg.parent in components, f"{reg.type} {reg.name} has parent {reg.parent}"


def test_no_secret_value_appears_outside_a_pulumi_secret(stack_run):
    if not stack_run.sensitive_values:
        pytest.skip(f"stack {stack_run.stack} has no secure config and no generated value")
    assert leaks(stack_run) == []


def test_secret_values_reach_the_secret_versions(stack_run):
    """The leak test above must have something to find: the values are really in the versions."""
    versions = stack_run.by_type("aws:secretsmanager/secretVersion:SecretVersion")
    stored = " ".join(plain(v.inputs["secretString"]) for v in versions)
    for value in stack_run.sensitive_values:
        assert value in stored


def test_every_secret_version_keeps_its_initial_label(stack_run):
    for version in stack_run.by_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert version.inputs["versionStages"] == ["AWSCURRENT", "APP_SECRETS_INITIAL"]
        assert set(version.ignore_changes) == {"secretString", "versionStages"}
        assert version.raw_inputs["secretString"]["4dabf18193072939515e22adb298388d"]


def _findings(document: dict) -> list[tuple[str, object]]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return [(f.issue, f.detail) for f in policy.findings]


def test_every_policy_document_passes_the_iam_linter(stack_run):
    documents = policy_documents(stack_run)
    assert documents
    for kind, where, document in documents:
        findings = _findings(document)
        if kind == "identity":
            # parliament's data lists lambda:SourceFunctionArn under Lambda's own actions only; Lambda
            # documents it on every request made with a function's credentials (identity policies).
            # That one gap aside, zero findings.
            gap = [f for f in findings if f[0] == "UNKNOWN_CONDITION_FOR_ACTION"
                   and str(f[1]).startswith("Unknown condition lambda:SourceFunctionArn for action ")]
            assert [f for f in findings if f not in gap] == [], where
            if gap:
                denies = [st for st in document["Statement"] if st.get("Condition", {}).get("ArnNotEquals", {})
                          .get("lambda:SourceFunctionArn")]
                assert all(st["Effect"] == "Deny" for st in denies), where
        elif kind == "resource":
            # In a key or secret policy "Resource": "*" means the resource itself. parliament reads
            # the operator Denies' PutKeyPolicy/PutResourcePolicy as "permissions management"
            # without looking at the Effect: the Allows alone must not have it.
            allows = {**document, "Statement": [s for s in document["Statement"] if s["Effect"] == "Allow"]}
            denies = {**document, "Statement": [s for s in document["Statement"] if s["Effect"] == "Deny"]}
            assert {issue for issue, _ in _findings(allows)} <= {"RESOURCE_STAR"}, (where, findings)
            if denies["Statement"]:
                assert {issue for issue, _ in _findings(denies)} <= {"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"}, \
                    (where, findings)
        else:
            # A trust policy has no Resource at all, which parliament reports as malformed.
            assert findings == [("MALFORMED", "Statement contains neither Resource nor NotResource")], where


def test_policies_grant_only_named_actions(stack_run):
    for _, where, document in policy_documents(stack_run):
        for statement in document["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            assert not any(a in ("*", "secretsmanager:*", "kms:*", "iam:*") for a in actions), where


def test_invalid_config_registers_nothing():
    mocks = AwsMocks()
    with pytest.raises(InvalidConfig) as caught:
        run_program("dev", mocks=mocks, config_override={
            "secrets": {"bad": {"type": "random", "environmentVariables": ["not.valid"]}}})
    problems = [str(p) for p in caught.value.problems]
    assert problems[0] == ("secrets.bad.environmentVariables[0]: 'not.valid' is not an upper-case environment "
                           "variable name matching ^[A-Z_][A-Z0-9_]*$")
    # The stack's read policy still names the secrets the override removed: reported too.
    assert "readPolicies.example-app.secrets[0]: 'example-rails' is not a key of `secrets` or `databases`" in problems
    assert mocks.created == []


def test_unknown_top_level_key_is_reported_by_the_program():
    with pytest.raises(InvalidConfig) as caught:
        run_program("dev", config_override={"secrte": {}})
    assert [str(p) for p in caught.value.problems] == [
        "app-secrets:secrte: unknown config key (did you mean 'app-secrets:secrets'?)"]


def test_plaintext_password_is_rejected_by_the_program_without_a_stack_file():
    """Config that does not come from a stack file (nothing says which values were secure):
    the program falls back to what the engine tells, whether the top-level key is secret."""
    from tooling.offline import execute, load_project, load_stack
    config = stack_file("dev")
    databases = json.loads(json.dumps(config["app-secrets:databases"]))
    databases["example-db"]["initialPassword"] = "plaintext-password"
    project = load_project()
    stack = load_stack("dev", project)
    stack.values["app-secrets:databases"] = databases
    stack.secret_keys.discard("app-secrets:databases")
    stack.path = Path("<not a file>")
    stack.stack = "ghost"  # no stacks/Pulumi.ghost.yaml either
    mocks = AwsMocks()
    with pytest.raises(InvalidConfig) as caught:
        execute(project.name, stack, mocks=mocks)
    assert str(caught.value.problems[0]).startswith(
        "databases.example-db.initialPassword: expected a secret value, got plaintext")
    assert mocks.created == []


def test_consumer_outputs_map_every_key_to_its_secret(stack_run):
    consumers = stack_run.outputs["consumers"]
    secrets = stack_run.outputs["secrets"]
    assert set(consumers["secrets"]) == set(secrets)
    manifests = list(yaml.safe_load_all(consumers["kubernetesManifests"]))
    by_kind_name = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    assert ("SecretStore", "aws-secrets-manager") in by_kind_name
    dsops = yaml.safe_load(consumers["dsopsConfig"])
    assert dsops["secretStores"]["aws-sm"] == {"type": "aws.secretsmanager", "region": "us-east-1"}
    for key, described in secrets.items():
        arn, name, variables = described["arn"], described["name"], described["environmentVariables"]
        mine = consumers["secrets"][key]
        assert mine["ecsSecrets"] == [{"name": v, "valueFrom": f"{arn}:{v}::"} for v in sorted(variables)]
        external = yaml.safe_load(mine["externalSecret"])
        assert external == by_kind_name[("ExternalSecret", key)]
        assert [(d["secretKey"], d["remoteRef"]) for d in external["spec"]["data"]] == \
            [(v, {"key": name, "property": v}) for v in sorted(variables)]
        spc = yaml.safe_load(mine["secretProviderClass"])
        assert spc["spec"]["provider"] == "aws"
        objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
        assert objects == [{"objectName": arn, "objectType": "secretsmanager",
                            "jmesPath": [{"path": v, "objectAlias": v} for v in sorted(variables)]}]
        assert dsops["envs"][key] == {v: {"from": {"store": f"store://aws-sm/{name}"}, "transform": f"json_extract:.{v}"}
                                      for v in variables}


def test_a_second_build_changes_nothing_on_the_function_or_layer(tmp_path, monkeypatch):
    """Two runs, each building the archives from scratch into its own folder (as two `pulumi up`s
    on two machines would): identical code hashes, so no diff on the function or the layer."""
    seen = []
    for name in ("first", "second"):
        monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(tmp_path / name))
        run = run_program("dev")
        function = run.find("aws:lambda/function:Function", "example-db")
        layer = run.find("aws:lambda/layerVersion:LayerVersion", "example-db-deps")
        assert Path(function.inputs["code"].path).is_relative_to(tmp_path / name)
        seen.append((function.inputs["sourceCodeHash"], layer.inputs["sourceCodeHash"],
                     Path(function.inputs["code"].path).read_bytes(), Path(layer.inputs["code"].path).read_bytes()))
    assert seen[0] == seen[1]
    assert len(seen[0][0]) == 44 and seen[0][0] != seen[0][1]


def test_archive_build_failure_is_one_message_and_registers_nothing(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(blocker / "build"))
    mocks = AwsMocks()
    import pulumi
    with pytest.raises(pulumi.RunError) as caught:
        run_program("dev", mocks=mocks)
    message = str(caught.value)
    assert message.startswith(f"databases: could not build the rotation function's archives in {blocker / 'build'}: ")
    assert "\n" not in message.split("(the layer")[0]
    assert mocks.created == []
