"""Issue 18's scenario: a second app ("billing") beside "example" in staging and production.
Both apps have a SECRET_KEY_BASE and SMTP keys; readers come only from read policies. Each stack
plans and validates, `env --app` gives each app its own variables, and the access matrix (identity,
secret and key policies evaluated together, tooling/access.py) gives each role exactly its app."""

from __future__ import annotations

import json
import shutil
import sys

import boto3
import pytest
import yaml

from tooling.access import Principal, can, replica_accesses, secret_accesses
from tooling.cli import main
from tooling.offline import FAKE_ACCOUNT_ID, PROJECT_DIR, run_program

ACCOUNT = FAKE_ACCOUNT_ID   # the plan's account: role ARNs from roleNames live in it
APPS = {"example": ["example-rails", "example-smtp"], "billing": ["billing-rails", "billing-smtp"]}


def stack_file(stack: str, *, stack_readers: list[str] | None = None, billing_extra: dict | None = None) -> str:
    secrets = {}
    for app in APPS:
        secrets[f"{app}-rails"] = {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"],
                                   **({"replicaRegions": [{"region": "us-west-2"}]} if stack == "production" else {})}
        secrets[f"{app}-smtp"] = {"type": "user-managed", "environmentVariables": ["SMTP_USERNAME", "SMTP_PASSWORD"]}
    secrets["billing-smtp"].update(billing_extra or {})
    config = {
        "aws:region": "us-east-1",
        "app-secrets:deployerPrincipals": [f"arn:aws:iam::{ACCOUNT}:role/deployer"],
        "app-secrets:secrets": secrets,
        "app-secrets:readPolicies": {app: {"secrets": keys, "roleNames": [f"{app}-{stack}-app"]}
                                     for app, keys in APPS.items()},
    }
    if stack_readers:
        config["app-secrets:readPrincipals"] = stack_readers
    return yaml.safe_dump({"config": config}, sort_keys=False)


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    for stack in ("staging", "production"):
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(stack_file(stack))
    import tooling.offline
    monkeypatch.setattr(tooling.offline, "PROJECT_DIR", tmp_path)   # what `env --stack` plans from
    return tmp_path


def role(app: str, stack: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{app}-{stack}-app"


def test_both_stacks_plan_and_validate(project, capsys):
    assert main(["validate", "--project-dir", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("production: ok") and "staging: ok" in out
    assert "warning" not in out
    assert main(["plan", "--stack", "production", "--json", "--project-dir", str(project)]) == 0
    doc = json.loads(capsys.readouterr().out)
    apps = {app["name"]: app for app in doc["apps"]}
    assert apps["billing"]["secrets"] == ["billing-rails", "billing-smtp"]
    assert apps["billing"]["environmentVariables"] == ["SECRET_KEY_BASE", "SMTP_PASSWORD", "SMTP_USERNAME"]
    assert apps["billing"]["roleCanRead"] == {"billing-production-app": ["billing-rails", "billing-smtp"]}
    assert apps["example"]["roleCanRead"] == {"example-production-app": ["example-rails", "example-smtp"]}
    # Readers: the app's own role, the deployer; never the other app's role.
    assert "arn:aws:iam::<account>:role/billing-production-app" in apps["billing"]["readers"]
    assert not any("example-production-app" in r for r in apps["billing"]["readers"])
    # Cost: 2 secrets + 1 replica, 2 keys + 1 replica key per app.
    assert apps["billing"]["cost"]["items"]["secret"] == {"count": 3, "monthlyUsd": 1.2}
    assert apps["billing"]["cost"]["items"]["kms-key"] == {"count": 3, "monthlyUsd": 3.0}
    assert apps["billing"]["cost"]["monthlyUsd"] == 4.2 and doc["cost"]["monthlyUsd"] == 8.4
    assert doc["cost"]["prices"]["asOf"] and doc["cost"]["prices"]["prices"]["secret"]["source"].startswith(
        "https://aws.amazon.com/secrets-manager/pricing")


def read_policies_by_role(run) -> dict[str, list]:
    """Identity policies per role, from what the program registers (not from the plan's view)."""
    documents = {f"arn:aws:iam::{ACCOUNT}:policy/{r.inputs['name']}": json.loads(r.inputs["policy"])
                 for r in run.by_type("aws:iam/policy:Policy")}
    found: dict[str, list] = {}
    for attachment in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        found.setdefault(attachment.inputs["role"], []).append(documents[attachment.inputs["policyArn"]])
    return found


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_access_matrix_gives_each_role_exactly_its_app(project, stack):
    run = run_program(stack, project_dir=project)
    identity = read_policies_by_role(run)
    accesses = secret_accesses(run)
    replicas = replica_accesses(run)
    assert set(accesses) == {k for keys in APPS.values() for k in keys}
    for app in APPS:
        principal = Principal(role(app, stack), identity[f"{app}-{stack}-app"])
        readable = sorted(key for key, access in accesses.items() if can(principal, "read", access).allowed)
        assert readable == sorted(APPS[app]), (app, readable)
        # Its replicas too, and nothing of the other app's.
        for (key, region), access in replicas.items():
            assert can(principal, "read", access).allowed is (key in APPS[app]), (app, key, region)
        # The grant alone (no IAM policy) reads the app's secrets: the key and secret policies name it.
        bare = Principal(role(app, stack))
        assert all(can(bare, "read", accesses[key]).allowed for key in APPS[app])
        assert not any(can(bare, "read", accesses[key]).allowed for other in APPS if other != app
                       for key in APPS[other])


def test_env_app_gives_each_app_its_own_variables(project, moto_endpoint, capsys):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    for app, keys in APPS.items():
        client.create_secret(Name=f"{app}-rails", SecretString=json.dumps({"SECRET_KEY_BASE": f"{app}-skb"}))
        client.create_secret(Name=f"{app}-smtp", SecretString=json.dumps({"SMTP_USERNAME": f"{app}-user",
                                                                          "SMTP_PASSWORD": f"{app}-pw"}))
    for app in APPS:
        code = main(["env", "--stack", "staging", "--app", app, "--endpoint-url", moto_endpoint, "--reveal"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert dict(line.split("=", 1) for line in out.splitlines()) == {
            "SECRET_KEY_BASE": f"'{app}-skb'", "SMTP_USERNAME": f"'{app}-user'", "SMTP_PASSWORD": f"'{app}-pw'"}
    # exec: the command sees its app's values only.
    code = main(["exec", "--stack", "staging", "--app", "billing", "--endpoint-url", moto_endpoint, "--",
                 sys.executable, "-c", "import os, sys; sys.exit(os.environ['SMTP_PASSWORD'] != 'billing-pw')"])
    assert code == 0
    # Without --app, which SECRET_KEY_BASE? One line naming the apps, exit 2.
    code = main(["env", "--stack", "staging", "--endpoint-url", moto_endpoint])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == ("error: --stack staging: SECRET_KEY_BASE, SMTP_PASSWORD, SMTP_USERNAME given by more "
                           "than one secret, in apps billing, example; pick one with --app NAME")
    assert main(["env", "--stack", "staging", "--app", "payroll"]) == 2
    assert "--app payroll: not an app of --stack staging; its apps (readPolicies): example, billing" in \
        capsys.readouterr().err


def test_consumer_outputs_per_app(project):
    run = run_program("staging", project_dir=project)
    apps = run.outputs["consumers"]["apps"]
    secrets = run.outputs["secrets"]
    billing = apps["billing"]
    assert [e["name"] for e in billing["ecsSecrets"]] == ["SECRET_KEY_BASE", "SMTP_PASSWORD", "SMTP_USERNAME"]
    assert billing["ecsSecrets"][0]["valueFrom"] == f"{secrets['billing-rails']['arn']}:SECRET_KEY_BASE::"
    external = yaml.safe_load(billing["externalSecret"])
    assert external["metadata"]["name"] == "billing"
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in external["spec"]["data"]} == {
        ("SECRET_KEY_BASE", "billing-rails"), ("SMTP_PASSWORD", "billing-smtp"), ("SMTP_USERNAME", "billing-smtp")}
    spc = yaml.safe_load(billing["secretProviderClass"])
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    assert [o["objectName"] for o in objects] == [secrets["billing-rails"]["arn"], secrets["billing-smtp"]["arn"]]
    dsops = yaml.safe_load(billing["dsopsConfig"])
    assert dsops["version"] == 0 and set(dsops["envs"]) == {"billing"}
    assert dsops["envs"]["billing"]["SMTP_PASSWORD"]["from"] == {"store": "store://aws-sm/billing-smtp"}


def test_stack_wide_readers_reading_another_apps_secrets_are_warned(project, capsys):
    (project / "stacks" / "Pulumi.production.yaml").write_text(
        stack_file("production", stack_readers=[role("example", "production")]))
    assert main(["validate", "--stack", "production", "--project-dir", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("production: ok")
    assert ("warning: stacks/Pulumi.production.yaml: readPolicies.example: its role example-production-app can "
            "also read app billing's secrets.billing-rails, secrets.billing-smtp (resource policy names the "
            "principal; key policy names the principal); name readers per app with readPolicies") in out


def test_the_warning_holds_when_the_stack_file_writes_its_real_account(project, capsys):
    """Production's file names its readers in account 123456789012; the roles of read policies come
    from the running account. Evaluated in the stack's account they are the same role, as in AWS."""
    text = stack_file("production", stack_readers=["arn:aws:iam::123456789012:role/example-production-app"])
    (project / "stacks" / "Pulumi.production.yaml").write_text(text.replace(ACCOUNT, "123456789012"))
    assert main(["validate", "--stack", "production", "--project-dir", str(project)]) == 0
    out = capsys.readouterr().out
    assert "readPolicies.example: its role example-production-app can also read app billing's " \
           "secrets.billing-rails, secrets.billing-smtp" in out
    assert "readPolicies.billing" not in out


def test_a_role_that_cannot_read_its_own_secret_is_refused_with_the_reason(project, capsys):
    (project / "stacks" / "Pulumi.staging.yaml").write_text(
        stack_file("staging", billing_extra={"trustTags": {"team": "billing"}}))
    assert main(["validate", "--stack", "staging", "--project-dir", str(project)]) == 2
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "staging: invalid",
        "  stacks/Pulumi.staging.yaml: readPolicies.billing.roleNames: role billing-staging-app cannot read "
        "secrets.billing-smtp: its secret policy denies reading without the principal tag team=billing "
        "(trustTags); tag the role team=billing in IAM and declare it in roleTags"]
    # Declared (the role carries the tag): accepted.
    text = stack_file("staging", billing_extra={"trustTags": {"team": "billing"}})
    config = yaml.safe_load(text)
    config["config"]["app-secrets:readPolicies"]["billing"]["roleTags"] = {"team": "billing"}
    (project / "stacks" / "Pulumi.staging.yaml").write_text(yaml.safe_dump(config))
    assert main(["validate", "--stack", "staging", "--project-dir", str(project)]) == 0


def test_an_app_with_two_database_logins_plans(project, capsys):
    """Config lets one app read two logins (each gives DATABASE_URL; they are told apart by secret):
    the program must not then fail building the app's combined consumer files. The shared variable
    is left out of them, named, and the per-secret files still carry it."""
    db = {"username": "admin_user", "rotation": {"enabled": False},
          "initialPassword": {"secure": "v1:REPLACE-ME-with-pulumi-config-set-secret"}}
    config = {"config": {
        "aws:region": "us-east-1",
        "app-secrets:deployerPrincipals": ["arn:aws:iam::123456789012:role/ci"],
        "app-secrets:secrets": {"billing-rails": {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"]}},
        "app-secrets:databases": {"main-db": {**db, "identifier": "main"}, "reports-db": {**db, "identifier": "reports"}},
        "app-secrets:readPolicies": {"billing": {"secrets": ["billing-rails", "main-db", "reports-db"],
                                                 "roleNames": ["billing-app"]}}}}
    (project / "stacks" / "Pulumi.two.yaml").write_text(yaml.safe_dump(config))
    assert main(["plan", "--stack", "two", "--json", "--project-dir", str(project)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    run = run_program("two", project_dir=project)
    billing = run.outputs["consumers"]["apps"]["billing"]
    assert billing["leftOut"] == {"DATABASE_URL": ["rds-postgres-main", "rds-postgres-reports"]}
    assert [e["name"] for e in billing["ecsSecrets"]] == ["SECRET_KEY_BASE"]
    assert set(yaml.safe_load(billing["dsopsConfig"])["envs"]["billing"]) == {"SECRET_KEY_BASE"}
    for key in ("main-db", "reports-db"):   # each login's own files still give its DATABASE_URL
        assert [e["name"] for e in run.outputs["consumers"]["secrets"][key]["ecsSecrets"]] == ["DATABASE_URL"]


def test_a_role_with_a_path_is_named_by_its_real_arn(project):
    """Roles live under paths (`/service-role/`); attaching the IAM policy takes the bare name,
    but a key or secret policy naming `role/<name>` for such a role names no principal, and KMS
    refuses the key policy at `pulumi up`. The program asks IAM for each role's ARN."""
    from tooling.offline import AwsMocks

    class PathRoles(AwsMocks):
        def call(self, args):
            if args.token == "aws:iam/getRole:getRole":
                name = dict(args.args)["name"]
                return {"name": name, "id": name, "arn": f"arn:aws:iam::{self.account}:role/service-role/{name}",
                        "path": "/service-role/"}
            return super().call(args)

    run = run_program("staging", project_dir=project, mocks=PathRoles())
    accesses = secret_accesses(run)
    wanted = f"arn:aws:iam::{ACCOUNT}:role/service-role/billing-staging-app"
    for key in APPS["billing"]:
        for document in (accesses[key].policy, accesses[key].key_policy):
            principals = json.dumps(document)
            assert wanted in principals and ":role/billing-staging-app" not in principals, key
