"""`adopt` end to end against moto's Secrets Manager, KMS and IAM (one server, over HTTP).

Resources are made the way thoughtbot's modules make them (terraform-aws-secrets `secret`,
`random-secret`, `user-managed-secret`; terraform-aws-databases `rds-postgres/admin-login`: names,
key and secret policy statements, alias, rotation role and policy from the module sources), plus
a secret made by hand in the console (no key of its own, no policy). Then:
- `adopt --write` fills the stack file, which `validate` accepts;
- the plan registers every existing secret, key, alias and policy with its import ID and
  `protect`, writes no SecretVersion, and adds only the program's own pieces;
- `plan --against` the plan before adoption finds no data loss and lists the imports;
- every dynamic resource's create runs against moto: each value stays byte-identical;
- deleting the import IDs afterwards leaves the plan unchanged;
- bad input is one line with exit 2.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import boto3
import pytest
import yaml

from tooling.cli import main
from tooling.diff import diff_plans, has_data_loss
from tooling.offline import PROJECT_DIR, AwsMocks, run_program
from tooling.plan import plan_document

ACCOUNT = "123456789012"
MARK = "s3cr3t"   # in every value: must never appear in an output
REGION = "us-east-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-app"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
CRYPTO = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
IMPORTED_TYPES = {"aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretPolicy:SecretPolicy",
                  "aws:kms/key:Key", "aws:kms/alias:Alias"}
ADDED_TYPES = {"pulumi-python:dynamic/app-secrets:SecretKeys", "pulumi-python:dynamic/app-secrets:KmsKeyGuard",
               "random:index/randomPassword:RandomPassword"}


@pytest.fixture(autouse=True)
def quiet_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    # The dynamic providers find the emulator the way users point them anywhere: boto3's variable.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    make = lambda service: boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)  # noqa: E731
    return {"sm": make("secretsmanager"), "kms": make("kms"), "iam": make("iam"), "endpoint": moto_endpoint}


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(
        "# Production: adopted from Terraform.\n"
        "config:\n"
        "  aws:region: us-east-1\n"
        f"  app-secrets:deployerPrincipals: ['arn:aws:iam::{ACCOUNT}:role/deployer']\n"
        "  app-secrets:secrets:\n"
        "    # made by this project\n"
        "    fresh:\n"
        "      type: user-managed\n"
        "      environmentVariables: [FRESH_TOKEN]\n")
    (tmp_path / "stacks" / "Pulumi.other.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": REGION,
        "app-secrets:secrets": {"billing": {"type": "user-managed", "name": "owned-elsewhere",
                                            "environmentVariables": ["BILLING_KEY"]}}}}))
    return tmp_path


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def thoughtbot_secret(aws, name: str, value: dict, *, rotation_role: bool, tags: dict, trust_tags: dict = None,
                      description: str = None) -> dict:
    """What terraform-aws-secrets//secret creates (secret/main.tf): a key described by the name with
    rotation on, alias/<name>, the secret under that key, its policy, the initial version, and (when
    create_rotation_role) the <name>-rotation role with the <name>-rotation managed policy."""
    iam, kms, sm = aws["iam"], aws["kms"], aws["sm"]
    role_arn = None
    if rotation_role:
        role_arn = iam.create_role(RoleName=f"{name}-rotation", AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}),
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Role"]["Arn"]
    key_statements = [{"Sid": "AllowAdmin", "Effect": "Allow", "NotAction": CRYPTO, "Resource": "*",
                       "Principal": {"AWS": ADMIN_ROLE}}]
    if role_arn:
        key_statements.append({"Sid": "AllowRotation", "Effect": "Allow", "Action": CRYPTO, "Resource": "*",
                               "Principal": {"AWS": role_arn}})
    key_statements.append({"Sid": "AllowRead", "Effect": "Allow", "Action": CRYPTO, "Resource": "*",
                           "Principal": {"AWS": APP_ROLE},
                           "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}})
    key = kms.create_key(Description=name, Policy=_doc(*key_statements),
                         Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=key["Arn"])
    created = sm.create_secret(Name=name, KmsKeyId=key["Arn"], SecretString=json.dumps(value),
                               Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                               **({"Description": description} if description else {}))
    read = {"Sid": "AllowRead", "Effect": "Allow", "Resource": "*", "Principal": {"AWS": APP_ROLE},
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]}
    if trust_tags:
        read["Condition"] = {"StringEquals": {f"aws:PrincipalTag/{k}": v for k, v in trust_tags.items()}}
    statements = [{"Sid": "AllowAdmin", "Effect": "Allow", "Resource": "*", "Principal": {"AWS": ADMIN_ROLE},
                   "NotAction": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]}]
    if role_arn:
        statements.append({"Sid": "AllowRotation", "Effect": "Allow", "Resource": "*", "Principal": {"AWS": role_arn},
                           "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                      "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]})
        policy = iam.create_policy(PolicyName=f"{name}-rotation", PolicyDocument=_doc(
            {"Sid": "ManageSecret", "Effect": "Allow", "Resource": created["ARN"],
             "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]}))
        iam.attach_role_policy(RoleName=f"{name}-rotation", PolicyArn=policy["Policy"]["Arn"])
    statements.append(read)
    sm.put_resource_policy(SecretId=created["ARN"], ResourcePolicy=_doc(*statements))
    return {"arn": created["ARN"], "key_id": key["KeyId"], "key_arn": key["Arn"]}


@pytest.fixture
def landscape(aws):
    """The existing secrets, as thoughtbot's modules and a person at the console left them."""
    sm = aws["sm"]
    made = {
        # secret: a known initial value, rotation role and policy on (the module's defaults).
        "api-credentials": thoughtbot_secret(aws, "api-credentials", {"API_KEY": "k-s3cr3t", "API_TOKEN": "t-s3cr3t"},
                                             rotation_role=True, tags={"team": "web"}, trust_tags={"team": "web"},
                                             description="API credentials"),
        # random-secret: generated values, rotation role off.
        "rails-secret": thoughtbot_secret(aws, "rails-secret", {"SECRET_KEY_BASE": "s3cr3t" * 6},
                                          rotation_role=False, tags={"team": "web"}),
        # user-managed-secret: every variable "" at first; one since filled in by hand.
        "prismic": thoughtbot_secret(aws, "prismic", {"PRISMIC_TOKEN": "", "PRISMIC_SECRET": ""},
                                     rotation_role=False, tags={}),
        # rds-postgres/admin-login: the secret module under the name rds-postgres-<identifier>.
        "rds-postgres-orders": thoughtbot_secret(aws, "rds-postgres-orders", {
            "dbname": "orders", "engine": "postgres", "host": "orders.example", "password": "pw-s3cr3t", "port": "5432",
            "username": "orders_admin"}, rotation_role=True, tags={"service": "orders"},
            description="Postgres password for: rds-postgres-orders"),
    }
    sm.put_secret_value(SecretId="prismic", SecretString=json.dumps({"PRISMIC_TOKEN": "filled-by-hand-s3cr3t",
                                                                     "PRISMIC_SECRET": ""}))
    # By hand: the AWS-managed key, no resource policy.
    made["console/stripe"] = {"arn": sm.create_secret(Name="console/stripe", AddReplicaRegions=[{"Region": "us-west-2"}],
                                                      SecretString=json.dumps({"STRIPE_KEY": "sk_live_s3cr3t"}))["ARN"]}
    sm.create_secret(Name="plain-text", SecretString="not json at all s3cr3t")
    sm.create_secret(Name="owned-elsewhere", SecretString=json.dumps({"BILLING_KEY": "b"}))
    return made


def every_version(sm) -> dict:
    """Every version of every secret: its value and its labels (what must never change)."""
    out = {}
    for page in sm.get_paginator("list_secrets").paginate():
        for item in page["SecretList"]:
            versions = sm.list_secret_version_ids(SecretId=item["ARN"])["Versions"]
            for version in versions:
                value = sm.get_secret_value(SecretId=item["ARN"], VersionId=version["VersionId"])
                out[(item["Name"], version["VersionId"])] = (value.get("SecretString"), sorted(version["VersionStages"]))
    return out


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def adopt(capsys, aws, project, *argv):
    return cli(capsys, "adopt", "--stack", "prod", "--project-dir", str(project), "--endpoint-url", aws["endpoint"],
               *argv)


def engine_props(reg) -> dict:
    """A registration's inputs as the engine hands them to a dynamic provider: secrets unwrapped."""
    from pulumi.runtime import rpc

    def plain(value):
        if isinstance(value, dict) and rpc._special_sig_key in value:
            return plain(value.get("value"))
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in reg.inputs.items() if k != "__provider"}


def plan(project, stack="prod"):
    return plan_document(run_program(stack, project_dir=project), project)


def test_adopt_thoughtbot_and_hand_made_secrets_imports_only_and_changes_no_value(capsys, aws, project, landscape):
    sm = aws["sm"]
    before_values = every_version(sm)
    before_plan = plan(project)
    stack_file = project / "stacks" / "Pulumi.prod.yaml"

    code, out, err = adopt(capsys, aws, project, "--secret", "api-credentials", "--secret", "prismic",
                           "--secret", "console/stripe", "--write")
    assert code == 0, err
    code, out2, err = adopt(capsys, aws, project, "--secret", "rails-secret", "--type", "random", "--write")
    assert code == 0, err
    # The stack file keeps its comments and gains the entries.
    text = stack_file.read_text()
    assert "# Production: adopted from Terraform." in text and "# made by this project" in text
    secrets = yaml.safe_load(text)["config"]["app-secrets:secrets"]
    assert set(secrets) == {"fresh", "api-credentials", "prismic", "console-stripe", "rails-secret"}
    api = secrets["api-credentials"]
    assert api["type"] == "user-managed" and api["name"] == "api-credentials"
    assert api["environmentVariables"] == ["API_KEY", "API_TOKEN"]
    assert api["description"] == "API credentials" and api["tags"] == {"team": "web"}
    assert api["readPrincipals"] == [APP_ROLE] and api["adminPrincipals"] == [ADMIN_ROLE]
    assert api["trustTags"] == {"team": "web"}
    assert api["adopted"]["import"] == {
        "secret": landscape["api-credentials"]["arn"], "secretPolicy": landscape["api-credentials"]["arn"],
        "kmsKey": landscape["api-credentials"]["key_id"], "kmsAlias": "alias/api-credentials"}
    assert secrets["console-stripe"]["adopted"] == {"awsManagedKey": True,
                                                    "import": {"secret": landscape["console/stripe"]["arn"]}}
    assert secrets["rails-secret"]["type"] == "random"
    # A replica keeps the key AWS reports for it (here the AWS-managed one): no key is made for it.
    assert secrets["console-stripe"]["replicaRegions"] == [{"region": "us-west-2", "kmsKeyId": "alias/aws/secretsmanager"}]
    # What the file cannot say is said in plain words: the rotation role of the `secret` module.
    assert "AllowRotation: rotation by arn:aws:iam::123456789012:role/api-credentials-rotation is left as it is" in out
    assert "console-stripe: encrypted with the AWS-managed key aws/secretsmanager" in out
    assert "console-stripe: has no resource policy; the stack adds its own" in out
    # Key names were learned; no value went anywhere.
    assert MARK not in out + out2 + err + text

    validated = cli(capsys, "validate", "--stack", "prod", "--project-dir", str(project))
    assert validated[0] == 0, validated

    after_plan = plan(project)
    adopted_names = {"api-credentials", "prismic", "console-stripe", "rails-secret"}
    adopted = [r for r in after_plan["resources"] if r["name"] in adopted_names and not r["component"]]
    for resource in adopted:
        if resource["type"] in IMPORTED_TYPES and resource.get("import"):
            assert resource["protect"], resource["urn"]
        else:  # not imported: only the program's own pieces (and the hand-made secret's new policy)
            assert resource["type"] in ADDED_TYPES or (
                resource["name"] == "console-stripe" and resource["type"].endswith("SecretPolicy")), resource["urn"]
        assert resource["type"] != "aws:secretsmanager/secretVersion:SecretVersion"
    imports = {(r["type"], r["name"]): r["import"] for r in adopted if r.get("import")}
    assert imports[("aws:secretsmanager/secret:Secret", "api-credentials")] == landscape["api-credentials"]["arn"]
    assert imports[("aws:kms/key:Key", "api-credentials")] == landscape["api-credentials"]["key_id"]
    assert imports[("aws:kms/alias:Alias", "api-credentials")] == "alias/api-credentials"
    assert imports[("aws:secretsmanager/secretPolicy:SecretPolicy", "prismic")] == landscape["prismic"]["arn"]
    assert ("aws:kms/key:Key", "console-stripe") not in imports
    assert not [r for r in adopted if r["type"] == "aws:kms/key:Key" and not r.get("import")]
    # The imported inputs are the live ones: the key policy and secret policy verbatim, the ARN's key.
    key = next(r for r in adopted if r["type"] == "aws:kms/key:Key" and r["name"] == "api-credentials")
    assert key["inputs"]["description"] == "api-credentials" and "deletionWindowInDays" not in key["inputs"]
    secret = next(r for r in adopted if r["type"] == "aws:secretsmanager/secret:Secret" and r["name"] == "api-credentials")
    assert secret["inputs"]["kmsKeyId"].endswith(landscape["api-credentials"]["key_id"])
    assert secret["inputs"]["tags"] == {"team": "web"} and secret["inputs"]["description"] == "API credentials"
    stripe = next(r for r in adopted if r["type"] == "aws:secretsmanager/secret:Secret" and r["name"] == "console-stripe")
    assert stripe["inputs"]["replicas"] == [{"kmsKeyId": "alias/aws/secretsmanager", "region": "us-west-2"}]
    assert "kmsKeyId" not in stripe["inputs"]

    # plan --against: no data loss, the imports listed, nothing of the existing stack touched.
    changes = diff_plans(before_plan, after_plan)
    assert not has_data_loss(changes)
    assert {c.action for c in changes} == {"import", "create"}
    assert {(c.type, c.name) for c in changes if c.action == "import"} == set(imports)
    assert all(c.type in ADDED_TYPES or c.type.endswith("SecretPolicy") for c in changes if c.action == "create")
    against = project / "before.json"
    against.write_text(json.dumps(before_plan))
    code, out, _ = cli(capsys, "plan", "--stack", "prod", "--project-dir", str(project), "--against", str(against),
                       "--fail-on", "data-loss")
    assert code == 0 and "= import  aws:kms/key:Key  api-credentials" in out and "nothing loses data" in out
    assert f"adopts the existing resource {landscape['api-credentials']['key_id']} as it is" in out

    # Every dynamic resource's create, against moto, with the inputs the program registered.
    from app_secrets.key_merge import KmsKeyGuardProvider, SecretKeysProvider

    run = run_program("prod", project_dir=project)
    for reg in run.registrations:
        if reg.name not in adopted_names:
            continue
        props = engine_props(reg)
        if reg.type.endswith("SecretKeys"):
            result = SecretKeysProvider().create(props)
            assert result.outs["added_keys"] == [] and result.outs["present_keys"] == props["key_names"]
        elif reg.type.endswith("KmsKeyGuard"):
            assert not KmsKeyGuardProvider().check({}, props).failures
            KmsKeyGuardProvider().create(props)
    assert every_version(sm) == before_values

    # Deleting the import IDs after the first `up` changes no registered input: the next run finds
    # the adopted resources in the state (their ids), not in the stack file.
    doc = yaml.safe_load(stack_file.read_text())
    for entry in doc["config"]["app-secrets:secrets"].values():
        (entry.get("adopted") or {}).pop("import", None)
    stack_file.write_text(yaml.safe_dump(doc))
    state = AwsMocks(region=REGION)
    state.existing = {(r["type"], r["name"]): r["import"] for r in after_plan["resources"] if r.get("import")}
    later = plan_document(run_program("prod", project_dir=project, mocks=state), project)
    assert not any(r.get("import") for r in later["resources"])
    assert diff_plans(after_plan, later) == []

    # Deleting a whole `adopted` block would write an initial version over the live value: flagged.
    doc = yaml.safe_load(stack_file.read_text())
    del doc["config"]["app-secrets:secrets"]["prismic"]["adopted"]
    stack_file.write_text(yaml.safe_dump(doc))
    again = AwsMocks(region=REGION)
    again.existing = dict(state.existing)
    changes = diff_plans(later, plan_document(run_program("prod", project_dir=project, mocks=again), project))
    version = next(c for c in changes if c.type == "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.action == "create" and version.risk == "data-loss" and version.name == "prismic"
    assert version.notes[0].startswith("writes an initial version into the existing secret")


def test_key_merge_of_an_adopted_secret_adds_only_the_missing_keys(capsys, aws, project, landscape):
    sm = aws["sm"]
    assert adopt(capsys, aws, project, "--secret", "prismic", "--write")[0] == 0
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    doc = yaml.safe_load(stack_file.read_text())
    doc["config"]["app-secrets:secrets"]["prismic"]["environmentVariables"].append("PRISMIC_WEBHOOK")
    stack_file.write_text(yaml.safe_dump(doc))
    from app_secrets.key_merge import SecretKeysProvider

    run = run_program("prod", project_dir=project)
    reg = next(r for r in run.registrations if r.type.endswith("SecretKeys") and r.name == "prismic")
    result = SecretKeysProvider().create(engine_props(reg))
    assert result.outs["added_keys"] == ["PRISMIC_WEBHOOK"]
    live = json.loads(sm.get_secret_value(SecretId="prismic", VersionStage="AWSCURRENT")["SecretString"])
    assert live == {"PRISMIC_TOKEN": "filled-by-hand-s3cr3t", "PRISMIC_SECRET": "", "PRISMIC_WEBHOOK": ""}


def test_adopt_by_prefix_and_tag_prints_without_writing(capsys, aws, project, landscape):
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    original = stack_file.read_text()
    code, out, _ = adopt(capsys, aws, project, "--prefix", "api-")
    assert code == 0 and "api-credentials:" in out and "rails-secret" not in out
    code, out, _ = adopt(capsys, aws, project, "--tag", "team=web")
    assert code == 0 and "api-credentials:" in out and "rails-secret:" in out and "prismic:" not in out
    assert stack_file.read_text() == original


@pytest.mark.parametrize("argv, message", [
    (["--secret", "nosuch"], "error: --secret nosuch: no such secret in us-east-1"),
    (["--secret", "plain-text"], "error: secret plain-text: its value is not a JSON object"),
    (["--secret", "owned-elsewhere"], "error: secret owned-elsewhere is already managed by Pulumi.other.yaml "
                                      "(stack other) secrets.billing"),
    (["--secret", "rds-postgres-orders"], "error: secret rds-postgres-orders: an RDS admin login without "
                                          "DATABASE_URL yet (its rotation function adds it)"),
    (["--prefix", "zzz"], "error: --prefix zzz: no secret matches"),
    (["--tag", "team"], "error: --tag 'team': expected KEY=VALUE"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, aws, project, landscape, argv, message):
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    original = stack_file.read_text()
    code, out, err = adopt(capsys, aws, project, *argv, "--write")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert "Traceback" not in err and MARK not in err
    assert stack_file.read_text() == original


def test_a_key_the_program_would_change_is_refused_with_the_fix(capsys, aws, project, landscape):
    aws["kms"].disable_key_rotation(KeyId=landscape["rails-secret"]["key_id"])
    code, out, err = adopt(capsys, aws, project, "--secret", "rails-secret")
    assert code == 2 and out == ""
    assert err == (f"error: secret rails-secret: its KMS key {landscape['rails-secret']['key_id']} has yearly rotation "
                   f"off, the stack turns it on; expected `aws kms enable-key-rotation --key-id "
                   f"{landscape['rails-secret']['key_id']}` first\n")


# ------------------------------------------------------------------------------------------------
# Pure parts, without AWS


def test_policy_reading_maps_thoughtbot_statements_and_names_the_rest():
    from tooling.adopt import read_secret_policy

    reading = read_secret_policy(_doc(
        {"Sid": "AllowAdmin", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Resource": "*",
         "NotAction": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]},
        {"Sid": "AllowReadWrite", "Effect": "Allow", "Principal": {"AWS": [ADMIN_ROLE]}, "Resource": "*",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]},
        {"Sid": "AllowRead", "Effect": "Allow", "Principal": {"AWS": APP_ROLE}, "Resource": "*",
         "Action": "secretsmanager:GetSecretValue"},
        {"Sid": "DenyOthers", "Effect": "Deny", "Principal": "*", "Resource": "*", "Action": "secretsmanager:*",
         "Condition": {"StringNotEquals": {"aws:PrincipalArn": APP_ROLE}}},
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Resource": "*",
         "Action": "secretsmanager:GetSecretValue"}))
    assert (reading.admin, reading.readwrite, reading.read) == ([ROOT], [ADMIN_ROLE], [APP_ROLE])
    assert reading.unexpressed == [
        'DenyOthers: Deny secretsmanager:* for "*" with a condition has no config equivalent',
        'Statement[4]: Allow secretsmanager:GetSecretValue for {"Service": "lambda.amazonaws.com"} has no config '
        "equivalent"]


def test_entry_keys_are_config_keys_and_unique():
    from tooling.adopt import entry_key

    taken = {"api"}
    assert [entry_key(n, taken) for n in ("API", "api", "prod/Stripe_Key", "///")] == \
        ["api-2", "api-3", "prod-stripe-key", "secret"]


def test_entries_go_under_the_secrets_map_or_a_new_one_and_nothing_else_moves():
    from tooling.adopt import insert_entries

    entry = {"x": {"type": "user-managed", "environmentVariables": ["A"]}}
    with_map = "# top\nconfig:\n  aws:region: us-east-1  # region\n  app-secrets:secrets:\n    old: {type: random, environmentVariables: [B]}\n  app-secrets:tags: {a: b}\n"
    new = insert_entries(with_map, entry)
    assert new.startswith("# top\nconfig:\n  aws:region: us-east-1  # region\n  app-secrets:secrets:\n    x:\n")
    assert yaml.safe_load(new)["config"]["app-secrets:secrets"] == {
        "old": {"type": "random", "environmentVariables": ["B"]}, **entry}
    without = "config:\n  aws:region: us-east-1\n"
    assert yaml.safe_load(insert_entries(without, entry))["config"]["app-secrets:secrets"] == entry
    # A flow-style map cannot take block entries: refused rather than guessed.
    assert insert_entries("config:\n  app-secrets:secrets: {old: {type: random}}\n", entry) is None


def test_a_secret_naming_its_key_by_id_is_refused_with_the_fix(capsys, aws, project):
    key = aws["kms"].create_key(Description="by-id")["KeyMetadata"]
    aws["kms"].enable_key_rotation(KeyId=key["KeyId"])
    aws["sm"].create_secret(Name="by-id", KmsKeyId=key["KeyId"], SecretString=json.dumps({"A": "s3cr3t"}))
    code, out, err = adopt(capsys, aws, project, "--secret", "by-id")
    assert code == 2 and out == "" and MARK not in err
    assert err == (f"error: secret by-id: names its KMS key as '{key['KeyId']}', the stack names it by ARN; expected "
                   f"`aws secretsmanager update-secret --secret-id by-id --kms-key-id {key['Arn']}` first (the same "
                   "key: no value changes)\n")


def test_adopt_an_rds_admin_login_into_databases(capsys, aws, project, landscape):
    """thoughtbot's rds-postgres/admin-login after its function rotated once (DATABASE_URL added)."""
    sm = aws["sm"]
    live = json.loads(sm.get_secret_value(SecretId="rds-postgres-orders")["SecretString"])
    sm.put_secret_value(SecretId="rds-postgres-orders", SecretString=json.dumps(
        {**live, "DATABASE_URL": "postgres://orders_admin:pw-s3cr3t@orders.example:5432/orders"}))
    before_values = every_version(sm)
    code, out, err = adopt(capsys, aws, project, "--secret", "rds-postgres-orders", "--write")
    assert code == 2 and err.startswith("error: secret rds-postgres-orders is an RDS admin login "
                                        "(rds-postgres/admin-login): expected --username")
    code, out, err = adopt(capsys, aws, project, "--secret", "rds-postgres-orders", "--username", "orders_admin",
                           "--write")
    assert code == 0, err
    assert "orders: rotation stays with the function that rotates it now" in out and MARK not in out + err
    doc = yaml.safe_load((project / "stacks" / "Pulumi.prod.yaml").read_text())
    login = doc["config"]["app-secrets:databases"]["rds-postgres-orders"]
    assert {k: login[k] for k in ("identifier", "username", "strategy", "rotation", "description", "tags")} == {
        "identifier": "orders", "username": "orders_admin", "strategy": "alternating-users",
        "rotation": {"enabled": False}, "description": "Postgres password for: rds-postgres-orders",
        "tags": {"service": "orders"}}
    assert "initialPassword" not in login
    assert login["adopted"]["import"]["kmsKey"] == landscape["rds-postgres-orders"]["key_id"]
    validated = cli(capsys, "validate", "--stack", "prod", "--project-dir", str(project))
    assert validated[0] == 0, validated

    run = run_program("prod", project_dir=project)
    mine = [r for r in run.registrations if r.urn.split("::")[-1] == "rds-postgres-orders" and r.custom]
    assert {r.type for r in mine if r.import_id} == IMPORTED_TYPES
    assert {r.type for r in mine if not r.import_id} == {"pulumi-python:dynamic/app-secrets:SecretKeys",
                                                         "pulumi-python:dynamic/app-secrets:KmsKeyGuard"}
    assert all(r.protect for r in mine if r.import_id)
    assert run.outputs["secrets"]["rds-postgres-orders"]["environmentVariables"] == ["DATABASE_URL"]
    from app_secrets.key_merge import SecretKeysProvider

    merge = next(r for r in mine if r.type.endswith("SecretKeys"))
    assert "password" not in merge.inputs["key_names"] and "DATABASE_URL" not in merge.inputs["key_names"]
    assert SecretKeysProvider().create(engine_props(merge)).outs["added_keys"] == []
    assert every_version(sm) == before_values


def test_adopt_says_a_kept_live_policy_carries_none_of_the_operator_denies(capsys, aws, project, landscape):
    """Issue 16 puts Deny statements in every built secret and key policy; an adopted entry keeps its
    live policies verbatim instead (issue 17), so it has none of them until adopted.secretPolicy and
    keyPolicy are deleted. adopt says so per secret; a secret with neither policy is not named."""
    code, out, err = adopt(capsys, aws, project, "--secret", "api-credentials", "--secret", "console/stripe")
    assert code == 0, err
    assert ("api-credentials: its live secret policy and key policy are kept verbatim (adopted.secretPolicy, "
            "adopted.keyPolicy), without this project's operator Denies; delete them from the entry to switch "
            "to the built policies") in out
    assert "console-stripe: its live" not in out
