"""setSecret against an AWSPENDING value the function did not write: whoever may put a pending
version (secretsmanager:PutSecretValue with AWSPENDING) must not make the rotation function change
another role's password, or point the rotation at another server or database. Each case puts the
hostile value where createSecret would have, runs setSecret, and then checks the database with real
logins: nothing changed. On the PostgreSQL matrix like every rotation test (conftest.py)."""

from __future__ import annotations

import json

import pytest
from psycopg import sql

import rotation_secret as rs
import servers

SECRET_VALUE = "s3cr3t-hostile-pending-value"


@pytest.fixture
def victim(db):
    """Another login the master user created (so on 16+ it holds ADMIN OPTION on it, and could
    change its password): what a hostile AWSPENDING would aim at."""
    name, password = f"{db.admin}_victim", "victim-" + SECRET_VALUE
    with db.connect(db.admin, db.password) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    try:
        yield name, password
    finally:
        with db.superuser() as su:
            su.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def put_pending(side, sm_client, token: str, value: dict) -> None:
    """What anyone allowed to write the secret could do between RotateSecret and setSecret."""
    sm_client.put_secret_value(SecretId=side.secret_id, ClientRequestToken=token, SecretString=json.dumps(value),
                               VersionStages=["AWSPENDING"])


def roles_like(db, prefix: str) -> set[str]:
    with db.superuser() as su:
        return {row[0] for row in su.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,))}


def refuse_set_secret(side, token: str, request) -> None:
    request.node.extra_sensitive = [SECRET_VALUE]
    with pytest.raises(ValueError, match="AWSPENDING") as refused:
        side.step("setSecret", token)
    assert SECRET_VALUE not in str(refused.value)


def test_single_user_refuses_a_pending_username_of_another_role(db, make_secret, sm_client, victim, request):
    side = make_secret(db.login_secret())
    token = side.begin()
    name, password = victim
    put_pending(side, sm_client, token, db.login_secret(username=name, password="new-" + SECRET_VALUE))
    refuse_set_secret(side, token, request)
    assert db.can_login(name, password) and not db.can_login(name, "new-" + SECRET_VALUE)
    assert db.can_login(db.admin, db.password)


@pytest.mark.parametrize("field, value", [("host", "localhost"), ("port", None), ("dbname", "postgres")])
@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_a_pending_pointing_elsewhere_is_refused_before_any_change(db, make_secret, sm_client, handler_env, request,
                                                                  strategy, field, value):
    """Another host (here another name of the same server), port or database: the rotation would
    move the application there at finishSecret, so setSecret changes nothing."""
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret())
    token = side.begin()
    user = db.admin if strategy == "single-user" else db.admin + "_alt"
    hostile = db.login_secret(username=user, password="new-" + SECRET_VALUE,
                              **{field: value if value is not None else servers.closed_port()})
    put_pending(side, sm_client, token, hostile)
    refuse_set_secret(side, token, request)
    assert db.can_login(db.admin, db.password)
    assert not db.can_login(db.admin, "new-" + SECRET_VALUE)
    assert roles_like(db, db.admin) == {db.admin}  # no alternate or owner role was made
    assert side.value() == db.login_secret()


def test_alternating_refuses_a_pending_username_outside_the_pair(db, make_secret, sm_client, handler_env, victim,
                                                                 request):
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    side = make_secret(db.login_secret())
    token = side.begin()
    name, password = victim
    put_pending(side, sm_client, token, db.login_secret(username=name, password="new-" + SECRET_VALUE))
    refuse_set_secret(side, token, request)
    assert db.can_login(name, password) and not db.can_login(name, "new-" + SECRET_VALUE)
    assert roles_like(db, db.admin) == {db.admin, name}


def test_alternating_refuses_a_pending_that_keeps_the_current_user(db, make_secret, sm_client, handler_env, request):
    """From the primary the strategy moves to the alternate; a pending naming the primary again
    would change the live user's password under the running application."""
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    side = make_secret(db.login_secret())
    token = side.begin()
    put_pending(side, sm_client, token, db.login_secret(password="new-" + SECRET_VALUE))
    refuse_set_secret(side, token, request)
    assert db.can_login(db.admin, db.password) and not db.can_login(db.admin, "new-" + SECRET_VALUE)
    assert roles_like(db, db.admin) == {db.admin}


def test_after_a_refusal_a_fresh_rotation_still_works(db, make_secret, sm_client, request):
    side = make_secret(db.login_secret())
    token = side.begin()
    put_pending(side, sm_client, token, db.login_secret(dbname="postgres", password="new-" + SECRET_VALUE))
    refuse_set_secret(side, token, request)
    # Secrets Manager would retry; an operator instead cancels and starts again.
    sm_client.update_secret_version_stage(SecretId=side.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    side.rotate()
    current = side.value()
    assert current["dbname"] == db.dbname and db.can_login(db.admin, current["password"])


@pytest.mark.parametrize("key", ["password", "username"])
def test_a_nul_character_in_a_login_is_refused_without_showing_it(key):
    login = {"engine": "postgres", "host": "h", "username": "u", "password": SECRET_VALUE}
    login[key] = login[key] + "\x00tail"
    with pytest.raises(rs.SecretFormatError, match="NUL") as refused:
        rs.parse_login(json.dumps(login), "secret x version AWSPENDING")
    assert SECRET_VALUE not in str(refused.value) and "secret x version AWSPENDING" in str(refused.value)


@pytest.mark.parametrize("field, value", [("host", "localhost"), ("dbname", "postgres")])
def test_a_previous_version_pointing_elsewhere_is_not_used_to_log_in(db, make_secret, sm_client, handler_env,
                                                                    request, field, value):
    """The single-user retry logs in with AWSPREVIOUS when AWSCURRENT no longer works. Whoever may
    put a version can label it AWSPREVIOUS too: one naming another host or database (here another
    name of the same server, and another database on it) is not used, so nothing changes. With
    sslMode `require` (no host name check) the host guard alone stands in the way."""
    handler_env.setenv("DB_SSLMODE", "require")
    side = make_secret(db.login_secret())
    out_of_band = "restored-" + SECRET_VALUE
    sm_client.put_secret_value(SecretId=side.secret_id, SecretString=json.dumps(
        db.login_secret(password=out_of_band, **{field: value})), VersionStages=["AWSPREVIOUS"])
    token = side.begin()
    side.step("createSecret", token)
    assert side.value("AWSPREVIOUS")[field] == value
    with db.superuser() as su:   # AWSCURRENT no longer logs in: the retry path
        su.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(db.admin), sql.Literal(out_of_band)))
    request.node.extra_sensitive = [SECRET_VALUE]
    with pytest.raises(ValueError, match="unable to log in to the database with the AWSCURRENT or AWSPREVIOUS"):
        side.step("setSecret", token)
    pending = side.value("AWSPENDING", token)["password"]
    assert db.can_login(db.admin, out_of_band) and not db.can_login(db.admin, pending)


@pytest.mark.parametrize("field, value", [("host", "localhost"), ("dbname", "postgres")])
def test_alternating_does_not_log_in_with_a_previous_version_pointing_elsewhere(
        db, make_secret, sm_client, handler_env, request, field, value):
    """Towards the alternate, when AWSCURRENT (the primary) no longer logs in, the alternate's own
    AWSPREVIOUS is the fallback: one relabelled to another host or database is not used."""
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    handler_env.setenv("DB_SSLMODE", "require")   # no host name check: the guard alone decides
    side = make_secret(db.login_secret())
    side.rotate()
    side.rotate()   # AWSCURRENT the primary again, AWSPREVIOUS the alternate (still valid)
    previous = side.value("AWSPREVIOUS")
    assert previous["username"] == db.admin + "_alt" and db.can_login(previous["username"], previous["password"])
    sm_client.put_secret_value(SecretId=side.secret_id, SecretString=json.dumps({**previous, field: value}),
                               VersionStages=["AWSPREVIOUS"])
    with db.superuser() as su:   # the primary's password changed by hand: AWSCURRENT is dead
        su.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(db.admin),
                                                                sql.Literal("by-hand-" + SECRET_VALUE)))
    token = side.begin()
    side.step("createSecret", token)
    request.node.extra_sensitive = [SECRET_VALUE]
    with pytest.raises(ValueError, match="unable to log in to the database with the AWSCURRENT credentials"):
        side.step("setSecret", token)
    assert db.can_login(previous["username"], previous["password"])
