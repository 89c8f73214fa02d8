"""The pure parts of `--against`: alias URNs, the ForceNew table, and the diff of two plans."""

from __future__ import annotations

from dataclasses import dataclass, field

from tooling import forcenew
from tooling.diff import DATA_LOSS, diff_plans
from tooling.urns import alias_urns

STACK = "urn:pulumi:prod::app-secrets::pulumi:pulumi:Stack::app-secrets-prod"


@dataclass
class Reg:
    urn: str
    type: str
    name: str
    parent: str
    aliases: list = field(default_factory=list)


def test_children_inherit_the_component_alias_with_their_name_prefix_renamed():
    # Engine URNs: the root stack's type is not in the chain, every other ancestor's is.
    component = Reg("urn:pulumi:prod::app-secrets::app-secrets:secrets:Secret::web-api",
                    "app-secrets:secrets:Secret", "web-api", STACK,
                    [{"spec": {"name": "api", "type": "app-secrets:secrets:UserManagedSecret"}}])
    role = Reg("urn:pulumi:prod::app-secrets::app-secrets:secrets:Secret$aws:iam/role:Role::web-api-rotation",
               "aws:iam/role:Role", "web-api-rotation", component.urn)
    found = alias_urns([component, role])
    assert found[component.urn] == [
        "urn:pulumi:prod::app-secrets::app-secrets:secrets:UserManagedSecret::api"]
    assert found[role.urn] == [
        "urn:pulumi:prod::app-secrets::app-secrets:secrets:UserManagedSecret$aws:iam/role:Role::api-rotation"]


def test_a_grandchild_alias_keeps_the_whole_parent_type_chain():
    login = Reg("urn:pulumi:prod::app-secrets::app-secrets:databases:RdsPostgresAdminLogin::db",
                "app-secrets:databases:RdsPostgresAdminLogin", "db", STACK, [{"spec": {"name": "old"}}])
    secret = Reg("urn:pulumi:prod::app-secrets::app-secrets:databases:RdsPostgresAdminLogin"
                 "$app-secrets:secrets:Secret::db-secret", "app-secrets:secrets:Secret", "db-secret", login.urn)
    found = alias_urns([login, secret])
    assert found[secret.urn] == ["urn:pulumi:prod::app-secrets::app-secrets:databases:RdsPostgresAdminLogin"
                                 "$app-secrets:secrets:Secret::old-secret"]


def test_force_new_table_covers_every_aws_type_the_program_creates():
    from tooling.offline import run_program

    created = {r.type for r in run_program("production").registrations if r.custom}
    cloud = {t for t in created if not t.startswith("pulumi-python:")}
    assert cloud <= set(forcenew.FORCE_NEW), cloud - set(forcenew.FORCE_NEW)
    assert forcenew.replaces("aws:secretsmanager/secret:Secret", {"name", "kmsKeyId", "description"}) == ["name"]
    assert forcenew.replaces("aws:kms/alias:Alias", {"targetKeyId"}) == []


def _secret(name: str, physical: str, **inputs) -> dict:
    return {"urn": f"urn:pulumi:prod::app-secrets::app-secrets:databases:RdsPostgresAdminLogin$"
                   f"aws:secretsmanager/secret:Secret::{name}",
            "type": "aws:secretsmanager/secret:Secret", "name": name, "component": False,
            "physicalName": physical, "protect": True, "aliases": [],
            "inputs": {"name": physical, "recoveryWindowInDays": 7,
                       "kmsKeyId": f"(computed: arn of key {name})", **inputs}}


def _doc(resources, secrets=()) -> dict:
    return {"resources": list(resources), "secrets": list(secrets)}


def test_a_new_secret_name_for_a_database_login_says_the_rotated_password_is_lost():
    login = [{"name": "db", "secretName": "rds-postgres-prod", "kind": "rds-postgres-admin-login",
              "environmentVariables": ["DATABASE_URL"], "external": False}]
    old = _doc([_secret("db", "rds-postgres-prod")], login)
    new = _doc([_secret("db", "rds-postgres-prod-v2")], login)
    (change,) = diff_plans(old, new)
    assert change.action == "replace" and change.risk == DATA_LOSS and change.protected
    assert change.notes[0] == ("replace secret rds-postgres-prod-v2: its current value and hand edits are lost; "
                               "it can be restored for 7 days (aws secretsmanager restore-secret)")
    assert any("rotated database password is lost" in n for n in change.notes)


def test_only_logical_name_labels_follow_a_move():
    moved = _secret("db-new", "rds-postgres-prod")
    moved["aliases"] = [_secret("db", "x")["urn"]]
    # The key label follows the move; the physical secret name stays: nothing changed.
    assert diff_plans(_doc([_secret("db", "rds-postgres-prod")]), _doc([moved]))[0].changed == []
    moved["inputs"]["kmsKeyId"] = "(computed: arn of key other)"
    assert diff_plans(_doc([_secret("db", "rds-postgres-prod")]), _doc([moved]))[0].changed == ["kmsKeyId"]
