"""Application logins (issue 20) through the stack program under the mock runtime: the login's
secret (AWS's multi-user shape), its rotation function, and who can read the admin secret, by
evaluating identity, secret and key policies together (tooling.access)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import plain
from tooling.access import Principal, can, secret_accesses
from tooling.offline import AwsMocks, FAKE_ACCOUNT_ID, run_program

APP_READER = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/example-web"
OPS_READER = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/example-ops"   # the stack's named readers
LOGINS = {"example-web": {"database": "example-db", "username": "web",
                          "grants": [{"readOnly": ["public"]}, {"raw": "GRANT pg_read_all_stats TO %s"}],
                          "readPrincipals": [APP_READER]},
          "example-reports": {"database": "example-db", "username": "reports", "replica": True,
                              "replicaIdentifier": "example-dev-replica", "readPrincipals": [APP_READER]}}
ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["secretsmanager:*"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def run():
    return run_program("dev", config_override={"logins": LOGINS, "readPrincipals": [OPS_READER]},
                       mocks=AwsMocks(region="us-east-1", account_id=FAKE_ACCOUNT_ID))


def role_policies(run, role_name):
    return [json.loads(r.inputs["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
            if r.inputs["role"] == role_name]


def test_the_login_secret_has_the_multi_user_shape(run):
    admin_arn = run.outputs["secrets"]["example-db"]["arn"]
    version = run.find("aws:secretsmanager/secretVersion:SecretVersion", "example-web")
    value = json.loads(plain(version.inputs["secretString"]))
    assert (value["username"], value["masterarn"], value["engine"]) == ("web", admin_arn, "postgres")
    assert value["DATABASE_URL"].startswith("postgres://web:")
    assert run.outputs["secrets"]["example-web"]["environmentVariables"] == ["DATABASE_URL"]
    replica = json.loads(plain(run.find("aws:secretsmanager/secretVersion:SecretVersion",
                                        "example-reports").inputs["secretString"]))
    assert "REPLICA_DATABASE_URL" in replica and "DATABASE_URL" not in replica
    assert "example-dev-replica" in replica["host"]
    assert run.outputs["secrets"]["example-reports"]["name"] == "rds-postgres-example-dev-replica-reports"


def test_the_function_knows_its_master_grants_and_url_key(run):
    admin_arn = run.outputs["secrets"]["example-db"]["arn"]
    variables = run.find("aws:lambda/function:Function", "example-web").inputs["environment"]["variables"]
    assert variables["MASTER_SECRET_ARN"] == admin_arn
    assert (variables["ROTATION_STRATEGY"], variables["PRIMARY_USERNAME"], variables["ALTERNATE_USERNAME"]) == \
        ("alternating-users", "web", "web_alt")
    grants = json.loads(variables["GRANTS"])
    assert grants[0] == 'GRANT USAGE ON SCHEMA "public" TO %s' and grants[-1] == "GRANT pg_read_all_stats TO %s"
    assert variables["URL_KEY"] == "DATABASE_URL" and variables["DB_SSLMODE"] == "verify-full"
    assert run.find("aws:lambda/function:Function", "example-reports").inputs["environment"]["variables"][
        "URL_KEY"] == "REPLICA_DATABASE_URL"


def test_the_rotation_role_reads_the_admin_secret_and_nothing_more(run):
    admin = run.outputs["secrets"]["example-db"]
    role_name = run.outputs["secrets"]["example-web"]["rotationRoleName"]
    (master_policy,) = [p for p in role_policies(run, role_name) if p["Statement"][0]["Sid"] == "ReadMasterSecret"]
    assert master_policy["Statement"] == [
        {"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": admin["arn"]},
        {"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": admin["kmsKeyArn"],
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]
    accesses = secret_accesses(run)
    # Its requests come from its own function (Lambda sets lambda:SourceFunctionArn); the role's Deny
    # (issue 16) refuses the same credentials anywhere else.
    (function,) = [f for f in run.by_type("aws:lambda/function:Function")
                   if f.inputs["role"] == run.outputs["secrets"]["example-web"]["rotationRoleArn"]]
    own_function = f"arn:aws:lambda:us-east-1:{FAKE_ACCOUNT_ID}:function:{function.inputs['name']}"
    rotation = Principal(run.outputs["secrets"]["example-web"]["rotationRoleArn"], role_policies(run, role_name),
                         context={"lambda:SourceFunctionArn": own_function})
    assert can(rotation, "read", accesses["example-db"]).allowed
    elsewhere = Principal(rotation.arn, rotation.identity_policies,
                          context={"lambda:SourceFunctionArn": own_function + "-not"})
    assert not can(elsewhere, "read", accesses["example-db"]).allowed
    assert not can(rotation, "write", accesses["example-db"]).allowed
    assert not can(rotation, "read", accesses["example-rails"]).allowed
    # The other login's rotation role reads the admin secret too, but not this login's secret.
    other = run.outputs["secrets"]["example-reports"]
    assert not can(Principal(other["rotationRoleArn"], role_policies(run, other["rotationRoleName"])), "read",
                   accesses["example-web"]).allowed


def test_the_apps_readers_cannot_read_the_admin_secret(run):
    accesses = secret_accesses(run)
    login_policy = json.loads(run.outputs["secrets"]["example-web"]["policyJson"])
    app = Principal(APP_READER, [login_policy])
    assert can(app, "read", accesses["example-web"]).allowed
    assert not can(app, "read", accesses["example-db"]).allowed
    # Even with an identity policy on every secret and key, the admin key names no such reader; nor
    # may an unnamed broad principal (an account administrator) decrypt it.
    for principal in (Principal(APP_READER, [ALL]), Principal(f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/Admin", [ALL])):
        assert not can(principal, "read", accesses["example-db"]).allowed, principal.arn
    assert can(Principal(APP_READER, [ALL]), "read", accesses["example-web"]).allowed
    assert can(Principal(OPS_READER, [ALL]), "read", accesses["example-db"]).allowed


# --------------------------------------------------------------------------- Aurora clusters, RDS-managed passwords

from stack_program.program import InvalidConfig  # noqa: E402

AURORA = {"example-db": {"clusterIdentifier": "example-aurora", "username": "example_admin",
                         "initialPassword": "aurora-initial-pass"}}


def test_an_aurora_cluster_gives_writer_and_reader_urls_and_its_identifier():
    run = run_program("dev", config_override={"databases": AURORA, "logins": {
        "example-web": {"database": "example-db", "username": "web"},
        "example-reports": {"database": "example-db", "username": "reports", "replica": True}}},
        mocks=AwsMocks(region="us-east-1", account_id=FAKE_ACCOUNT_ID))
    assert [a for t, a in run.mocks.calls if t == "aws:rds/getCluster:getCluster"][0] == \
        {"clusterIdentifier": "example-aurora"}
    admin = json.loads(plain(run.find("aws:secretsmanager/secretVersion:SecretVersion", "example-db")
                             .inputs["secretString"]))
    assert admin["engine"] == "aurora-postgresql" and admin["dbClusterIdentifier"] == "example-aurora"
    assert admin["host"].startswith("example-aurora.cluster-c") and admin["readerHost"].startswith("example-aurora.cluster-ro-")
    assert admin["READER_DATABASE_URL"].endswith(f"@{admin['readerHost']}:5432/app")
    assert run.outputs["secrets"]["example-db"]["name"] == "rds-postgres-example-aurora"
    assert run.outputs["secrets"]["example-db"]["environmentVariables"] == ["DATABASE_URL", "READER_DATABASE_URL"]
    web = json.loads(plain(run.find("aws:secretsmanager/secretVersion:SecretVersion", "example-web").inputs["secretString"]))
    reports = json.loads(plain(run.find("aws:secretsmanager/secretVersion:SecretVersion", "example-reports")
                               .inputs["secretString"]))
    assert (web["host"], web["dbClusterIdentifier"]) == (admin["host"], "example-aurora")
    assert reports["host"] == admin["readerHost"] and "REPLICA_DATABASE_URL" in reports


@pytest.mark.parametrize("databases, path", [
    ({"example-db": {"identifier": "example-dev", "username": "example_admin", "initialPassword": "initial-pass"}},
     "databases.example-db.identifier"),
    (AURORA, "databases.example-db.clusterIdentifier"),
])
def test_an_rds_managed_master_password_is_refused_before_anything_is_registered(databases, path):
    mocks = AwsMocks(region="us-east-1", account_id=FAKE_ACCOUNT_ID)
    mocks.managed_master_passwords.add(databases["example-db"].get("identifier") or "example-aurora")
    with pytest.raises(InvalidConfig) as caught:
        run_program("dev", config_override={"databases": databases}, mocks=mocks)
    message = str(caught.value)
    assert path in message and "RDS already manages and rotates the master password" in message
    assert "rds!" in message and "--no-manage-master-user-password" in message
    assert mocks.created == []  # nothing registered


def test_a_login_on_a_vpc_database_plans_with_narrow_egress():
    """staging's database runs in a VPC: the login's rotation function gets its own group whose
    database port goes only to the database's group (issue 16's narrow egress). This run used to
    raise inside the login, while the admin's readers waited for the login role's ARN, and hang."""
    for stack in ("staging", "production"):
        run = run_program(stack, config_override={"logins": {"web-login": {"database": "example-db",
                                                                           "username": "web"}}})
        group = run.find("aws:ec2/securityGroup:SecurityGroup", "web-login-rotation")
        database, https = group.inputs["egress"]
        assert database["securityGroups"] and "cidrBlocks" not in database, stack
        assert https["fromPort"] == 443
        assert run.outputs["secrets"]["web-login"]["rotationRoleArn"]
