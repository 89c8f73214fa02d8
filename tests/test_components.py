"""Each component under Pulumi's mock runtime: children, options, inputs, outputs."""

from __future__ import annotations

import json

import pulumi
import pytest

from app_secrets.secret_settings import RandomSettings, ReplicaRegion
from app_secrets.kms import CustomerManagedKey, CustomerManagedKeyArgs
from tooling.offline import run_inline
from app_secrets.read_policy import ReadSecretPolicy, ReadSecretPolicyArgs
from app_secrets.secret import (INITIAL_VERSION_STAGE, RandomSecret, RandomSecretArgs, Secret, SecretArgs,
                               UserManagedSecret, UserManagedSecretArgs)
from tests.helpers import leaks, plain

ROOT_ARN = "arn:aws:iam::000000000000:root"
DEPLOYER_ARN = "arn:aws:iam::000000000000:role/plan-deployer"   # behind the mock credentials
SENSITIVE = "hunter2-sensitive-value"


def secret_program(**overrides):
    def program():
        args = dict(name="app/smtp", initial_value={"SMTP_PASSWORD": pulumi.Output.secret(SENSITIVE),
                                                     "SMTP_USER": "mailer"})
        args.update(overrides)
        secret = Secret("smtp", SecretArgs(**args))
        pulumi.export("policyJson", secret.policy_json)
        pulumi.export("environmentVariables", secret.environment_variables)
        pulumi.export("rotationRoleArn", secret.rotation_role_arn)
    return program


def children_of(run, component_type, name):
    parent = run.find(component_type, name)
    return [r for r in run.registrations if r.parent == parent.urn]


def test_secret_registers_key_alias_secret_policy_and_version_under_the_component():
    run = run_inline(secret_program(), sensitive={SENSITIVE})
    types = sorted(r.type for r in children_of(run, Secret.TYPE, "smtp"))
    assert types == ["aws:kms/alias:Alias", "aws:kms/key:Key", "aws:secretsmanager/secret:Secret",
                     "aws:secretsmanager/secretPolicy:SecretPolicy",
                     "aws:secretsmanager/secretVersion:SecretVersion",
                     "pulumi-python:dynamic/app-secrets:KmsKeyGuard",
                     "pulumi-python:dynamic/app-secrets:SecretKeys"]
    key = run.find("aws:kms/key:Key", "smtp")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["description"] == "app/smtp"
    # Slashes are fine in secret names but not in KMS aliases.
    assert run.find("aws:kms/alias:Alias", "smtp").inputs["name"] == "alias/app/smtp"
    secret = run.find("aws:secretsmanager/secret:Secret", "smtp")
    assert secret.inputs["kmsKeyId"].startswith("arn:aws:kms:") and secret.inputs["recoveryWindowInDays"] == 30
    policy = run.find("aws:secretsmanager/secretPolicy:SecretPolicy", "smtp")
    assert policy.inputs["blockPublicPolicy"] is True


def test_initial_version_is_pinned_and_never_overwritten():
    run = run_inline(secret_program(), sensitive={SENSITIVE})
    version = run.find("aws:secretsmanager/secretVersion:SecretVersion", "smtp")
    assert version.inputs["versionStages"] == ["AWSCURRENT", INITIAL_VERSION_STAGE]
    assert set(version.ignore_changes) == {"secretString", "versionStages"}
    # The value is sent as a Pulumi secret and holds the JSON object.
    assert version.raw_inputs["secretString"]["value"]
    assert json.loads(plain(version.inputs["secretString"])) == {"SMTP_PASSWORD": SENSITIVE, "SMTP_USER": "mailer"}
    assert leaks(run) == []


def test_outputs_policy_json_and_environment_variables():
    run = run_inline(secret_program(), sensitive={SENSITIVE})
    doc = json.loads(run.outputs["policyJson"])
    secret_arn = next(v for v, label in run.mocks.computed.items() if label == "arn of secret app/smtp")
    read, decrypt = doc["Statement"]
    assert read["Resource"] == secret_arn and read["Sid"] == "Readappsmtp"
    assert read["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"].startswith("arn:aws:kms:")
    assert run.outputs["environmentVariables"] == ["SMTP_PASSWORD", "SMTP_USER"]
    assert run.outputs["rotationRoleArn"] is None


def test_principals_default_to_the_account_root():
    run = run_inline(secret_program(), sensitive={SENSITIVE})
    policy = json.loads(run.find("aws:secretsmanager/secretPolicy:SecretPolicy", "smtp").inputs["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {s["Sid"]: s["Principal"]["AWS"] for s in allows} == {"AllowAdmin": ROOT_ARN, "AllowRead": ROOT_ARN}


def test_principals_trust_tags_and_extra_policies():
    extra = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}}]})
    run = run_inline(secret_program(
        admin_principals=["arn:aws:iam::000000000000:role/admin"],
        read_principals=["arn:aws:iam::000000000000:role/app"],
        readwrite_principals=["arn:aws:iam::000000000000:role/ops"],
        trust_tags={"team": "payments"},
        secret_policies=[extra],
    ), sensitive={SENSITIVE})
    policy = json.loads(run.find("aws:secretsmanager/secretPolicy:SecretPolicy", "smtp").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"AllowAdmin", "AllowReadWrite", "AllowRead", "DenyReadWithoutTagteam", "DenyOutsideOrg",
                           # issue 16: operators the config does not name change nothing
                           "DenyWriteUnlessNamed", "DenyStageMovesUnlessNamed", "DenyUpdateExceptDeployer",
                           "DenyPolicyAndReplicationExceptDeployer", "DenyAdminChangesUnlessNamed",
                           "DenyWriteWithoutTagteam"}
    exempt = lambda sid: by_sid[sid]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]  # noqa: E731
    ops, admin = "arn:aws:iam::000000000000:role/ops", "arn:aws:iam::000000000000:role/admin"
    assert exempt("DenyWriteUnlessNamed") == sorted([ROOT_ARN, DEPLOYER_ARN, ops])
    assert exempt("DenyUpdateExceptDeployer") == sorted([ROOT_ARN, DEPLOYER_ARN])
    assert exempt("DenyPolicyAndReplicationExceptDeployer") == sorted([ROOT_ARN, DEPLOYER_ARN])
    assert exempt("DenyAdminChangesUnlessNamed") == sorted([ROOT_ARN, DEPLOYER_ARN, admin])
    assert by_sid["DenyWriteWithoutTagteam"]["Condition"]["StringNotEquals"] == {"aws:PrincipalTag/team": "payments"}
    assert by_sid["AllowRead"]["Condition"] == {"StringEquals": {"aws:PrincipalTag/team": "payments"}}
    # The tag is enforced by a Deny (IAM cannot bypass it), except for the deployer (refresh).
    assert by_sid["DenyReadWithoutTagteam"] == {
        "Sid": "DenyReadWithoutTagteam", "Effect": "Deny", "Principal": "*",
        "Action": ["secretsmanager:GetSecretValue"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "payments"},
                      "ArnNotEquals": {"aws:PrincipalArn": DEPLOYER_ARN}}}
    # Named admins: an explicit list, with no reading, writing, stage moves or policy changes.
    admin_actions = by_sid["AllowAdmin"]["Action"]
    for forbidden in ("GetSecretValue", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage",
                      "PutResourcePolicy", "DeleteResourcePolicy", "RotateSecret", "ReplicateSecretToRegions"):
        assert f"secretsmanager:{forbidden}" not in admin_actions
    assert "NotAction" not in by_sid["AllowAdmin"]
    key_policy = json.loads(run.find("aws:kms/key:Key", "smtp").inputs["policy"])
    key_sids = {s["Sid"]: s for s in key_policy["Statement"]}
    via = {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert key_sids["AllowRead"] == {"Sid": "AllowRead", "Effect": "Allow",
                                     "Principal": {"AWS": "arn:aws:iam::000000000000:role/app"},
                                     "Action": ["kms:Decrypt"], "Resource": "*", "Condition": via}
    # The account root stays an administrator (KMS's lock-out check, and break-glass), with no crypto
    # and no grants: naming the root for Decrypt would hand the decision to any IAM policy.
    assert key_sids["AllowAccountAdministration"]["Principal"]["AWS"] == ROOT_ARN
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant"} <= set(
        key_sids["AllowAccountAdministration"]["NotAction"])
    decrypters = {p for s in key_policy["Statement"] if s["Effect"] == "Allow" and "kms:Decrypt" in s.get("Action", [])
                  for p in ([s["Principal"]["AWS"]] if isinstance(s["Principal"]["AWS"], str) else s["Principal"]["AWS"])}
    assert decrypters == {"arn:aws:iam::000000000000:role/app", "arn:aws:iam::000000000000:role/ops", DEPLOYER_ARN}
    assert all(s["Condition"] == via for s in key_policy["Statement"] if "kms:Decrypt" in s.get("Action", []))
    assert key_sids["AllowAdmin"]["Principal"]["AWS"] == "arn:aws:iam::000000000000:role/admin"
    assert "kms:PutKeyPolicy" not in key_sids["AllowAdmin"]["Action"]
    assert "kms:CreateGrant" not in key_sids["AllowAdmin"]["Action"]
    assert by_sid["AllowReadWrite"]["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                                  "secretsmanager:PutSecretValue"]


def test_rotation_role_and_policy_are_scoped_to_this_secret_and_key():
    run = run_inline(secret_program(create_rotation_role=True), sensitive={SENSITIVE})
    role = run.find("aws:iam/role:Role", "smtp-rotation")
    assert role.inputs["name"] == "app-smtp-rotation"
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policy = json.loads(run.find("aws:iam/rolePolicy:RolePolicy", "smtp-rotation").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    secret_arn = run.find("aws:secretsmanager/secret:Secret", "smtp")
    assert by_sid["RotateSecret"]["Resource"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/smtp-")
    assert by_sid["GenerateRandomPassword"] == {"Sid": "GenerateRandomPassword", "Effect": "Allow",
                                                "Action": ["secretsmanager:GetRandomPassword"], "Resource": "*"}
    assert by_sid["UseSecretKey"]["Resource"].startswith("arn:aws:kms:")
    key_policy = json.loads(run.find("aws:kms/key:Key", "smtp").inputs["policy"])
    rotation = next(s for s in key_policy["Statement"] if s["Sid"] == "AllowRotation")
    assert rotation["Principal"]["AWS"] == "arn:aws:iam::000000000000:role/app-smtp-rotation"
    assert run.outputs["rotationRoleArn"] == "arn:aws:iam::000000000000:role/app-smtp-rotation"
    assert secret_arn.parent.endswith("::smtp")


def test_replicas_and_recovery_window():
    def program():
        secret = Secret("smtp", SecretArgs(name="app/smtp", initial_value={"K": "v"}, recovery_window_in_days=0,
                                           replica_regions=[ReplicaRegion("eu-west-1", "alias/x"),
                                                            ReplicaRegion("us-west-2")]))
        pulumi.export("policy", secret.policy_json)
    run = run_inline(program)
    secret = run.find("aws:secretsmanager/secret:Secret", "smtp")
    own_key = run.find("aws:kms/key:Key", "smtp-us-west-2")
    assert own_key.inputs["region"] == "us-west-2"
    assert run.find("aws:kms/alias:Alias", "smtp-us-west-2").inputs["region"] == "us-west-2"
    # alias/x is looked up in its own region: policies need the key's ARN.
    given = run.find("aws:secretsmanager/secret:Secret", "smtp").inputs["replicas"][0]["kmsKeyId"]
    assert given.startswith("arn:aws:kms:eu-west-1:000000000000:key/")
    replica_key = next(v for v, label in run.mocks.computed.items() if label == "arn of key smtp-us-west-2")
    assert replica_key.startswith("arn:aws:kms:us-west-2:")
    assert secret.inputs["replicas"] == [{"region": "eu-west-1", "kmsKeyId": given},
                                         {"region": "us-west-2", "kmsKeyId": replica_key}]
    assert ("aws:kms/getKey:getKey", {"keyId": "alias/x", "region": "eu-west-1"}) in run.mocks.calls
    # The replica key has the primary's shape: readers decrypt through Secrets Manager in the
    # replica's region; the deployer (who replicates) also encrypts, through either region.
    replica_policy = {st["Sid"]: st for st in json.loads(own_key.inputs["policy"])["Statement"]}
    assert replica_policy["AllowRead"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}
    assert replica_policy["AllowDeployerUse"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]
    assert replica_policy["AllowDeployerUse"]["Condition"] == {"StringEquals": {"kms:ViaService": [
        "secretsmanager.us-east-1.amazonaws.com", "secretsmanager.us-west-2.amazonaws.com"]}}
    primary_policy = {st["Sid"]: st for st in json.loads(run.find("aws:kms/key:Key", "smtp").inputs["policy"])["Statement"]}
    assert "kms:Encrypt" not in primary_policy["AllowDeployerUse"]["Action"]
    assert secret.inputs["recoveryWindowInDays"] == 0
    # Readers fail over to the replicas: policyJson covers every replica ARN and key, in its region.
    read = json.loads(run.outputs["policy"])["Statement"]
    primary = next(v for v, label in run.mocks.computed.items() if label == "arn of secret app/smtp")
    assert set(read[0]["Resource"]) == {primary, primary.replace("us-east-1", "eu-west-1"),
                                        primary.replace("us-east-1", "us-west-2")}
    assert replica_key in read[1]["Resource"]
    assert given in read[1]["Resource"] and len(read[1]["Resource"]) == 3
    assert read[1]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "secretsmanager.eu-west-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com",
        "secretsmanager.us-west-2.amazonaws.com"]


def test_random_secret_generates_one_secret_value_per_variable():
    def program():
        s = RandomSecret("rails", RandomSecretArgs(
            name="rails", environment_variables=["SECRET_KEY_BASE", "OTHER"],
            random_settings={"SECRET_KEY_BASE": RandomSettings(length=128, special=True, override_special="-_")}))
        pulumi.export("env", s.environment_variables)
    run = run_inline(program)
    passwords = {r.name: r for r in run.by_type("random:index/randomPassword:RandomPassword")}
    assert set(passwords) == {"rails-secret_key_base", "rails-other"}
    base = passwords["rails-secret_key_base"]
    assert (base.inputs["length"], base.inputs["special"], base.inputs["overrideSpecial"]) == (128, True, "-_")
    assert passwords["rails-other"].inputs["length"] == 32 and passwords["rails-other"].inputs["special"] is False
    assert "result" in base.additional_secret_outputs
    component = run.find(RandomSecret.TYPE, "rails")
    assert all(p.parent == component.urn for p in passwords.values())
    version = run.find("aws:secretsmanager/secretVersion:SecretVersion", "rails")
    value = json.loads(plain(version.inputs["secretString"]))
    assert set(value) == {"SECRET_KEY_BASE", "OTHER"} and value["SECRET_KEY_BASE"] in run.mocks.generated_secrets
    assert leaks(run) == []
    assert run.by_type("aws:iam/role:Role") == []
    assert run.outputs["env"] == ["OTHER", "SECRET_KEY_BASE"]


def test_user_managed_secret_starts_empty():
    run = run_inline(lambda: UserManagedSecret("prismic", UserManagedSecretArgs(
        name="prismic", environment_variables=["PRISMIC_TOKEN", "PRISMIC_WEBHOOK"])))
    version = run.find("aws:secretsmanager/secretVersion:SecretVersion", "prismic")
    assert json.loads(plain(version.inputs["secretString"])) == {"PRISMIC_TOKEN": "", "PRISMIC_WEBHOOK": ""}
    assert set(version.ignore_changes) == {"secretString", "versionStages"}
    assert run.find(UserManagedSecret.TYPE, "prismic").custom is False


def test_grant_read_attaches_the_consumer_policy_to_a_role():
    def program():
        import pulumi_aws as aws
        role = aws.iam.Role("app", name="app", assume_role_policy="{}")
        secret = Secret("smtp", SecretArgs(name="smtp", initial_value={"A": pulumi.Output.secret(SENSITIVE)}))
        secret.grant_read(role)
        secret.grant_read("other-role")
    run = run_inline(program, sensitive={SENSITIVE})
    grants = {g.name: g for g in run.by_type("aws:iam/rolePolicy:RolePolicy")}
    assert {name: g.inputs["role"] for name, g in grants.items()} == {"smtp-read-1": "app", "smtp-read-2": "other-role"}
    doc = json.loads(grants["smtp-read-1"].inputs["policy"])
    assert [s["Sid"] for s in doc["Statement"]] == ["Readsmtp", "Decryptsmtp"]
    component = run.find(Secret.TYPE, "smtp")
    assert all(g.parent == component.urn for g in grants.values())


def test_customer_managed_key_component():
    def program():
        key = CustomerManagedKey("shared", CustomerManagedKeyArgs(
            name="team-key", policy_statements=[{"Sid": "AllowApp", "Effect": "Allow",
                                                  "Principal": {"AWS": "arn:aws:iam::000000000000:role/app"},
                                                  "Action": "kms:Decrypt", "Resource": "*"}]))
        pulumi.export("decrypt", key.decrypt_policy_json)
    run = run_inline(program)
    key = run.find("aws:kms/key:Key", "shared")
    assert key.inputs["enableKeyRotation"] is True
    statements = json.loads(key.inputs["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["AllowAccountAdministration", "AllowApp"]
    assert statements[0]["Principal"]["AWS"] == ROOT_ARN and "kms:Decrypt" in statements[0]["NotAction"]
    assert run.find("aws:kms/alias:Alias", "shared").inputs["name"] == "alias/team-key"
    decrypt = json.loads(run.outputs["decrypt"])
    assert decrypt["Statement"][0]["Action"] == ["kms:Decrypt"]
    key_arn = next(v for v, label in run.mocks.computed.items() if label == "arn of key shared")
    assert decrypt["Statement"][0]["Resource"] == key_arn


def test_read_secret_policy_looks_secrets_up_by_name_and_attaches_to_roles():
    def program():
        policy = ReadSecretPolicy("readers", ReadSecretPolicyArgs(
            policy_name="read-app", secret_names=["app-a", "app-b"], role_names=["web", "worker"]))
        pulumi.export("doc", policy.policy_json)
    run = run_inline(program)
    # Invokes resolve concurrently, so their order is not part of the behaviour.
    looked_up = [a["name"] for t, a in run.mocks.calls if t == "aws:secretsmanager/getSecret:getSecret"]
    assert sorted(looked_up) == ["app-a", "app-b"]
    doc = json.loads(run.outputs["doc"])
    read, decrypt = doc["Statement"]
    assert len(read["Resource"]) == 2 and all(":secret:app-" in arn for arn in read["Resource"])
    assert len(decrypt["Resource"]) == 2
    attachments = run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert sorted(a.inputs["role"] for a in attachments) == ["web", "worker"]
    assert run.find("aws:iam/policy:Policy", "readers").inputs["name"] == "read-app"


def test_protect_set_on_the_component_reaches_the_key_secret_and_value():
    """Children inherit `protect` from a component's resource options unless they say otherwise:
    the component must not say `protect=False` (a package user has only the resource option)."""
    def program():
        RandomSecret("rails", RandomSecretArgs(name="rails", environment_variables=["SECRET_KEY_BASE"]),
                     opts=pulumi.ResourceOptions(protect=True))

    run = run_inline(program)
    for type_ in ("aws:kms/key:Key", "aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"):
        assert run.find(type_, "rails").protect is True, type_


def test_replica_keys_are_protected_with_their_secret():
    run = run_inline(secret_program(protect=True, replica_regions=[ReplicaRegion(region="eu-west-1")]),
                     sensitive={SENSITIVE})
    assert run.find("aws:kms/key:Key", "smtp-eu-west-1").protect is True
    assert run.find("aws:kms/key:Key", "smtp").protect is True
