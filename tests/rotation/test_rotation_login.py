"""Application logins (thoughtbot's rds-postgres-login, AWS's multi-user shape) on every PostgreSQL of
the matrix: the admin login (RDS-like master, a secret of its own) creates each user of the pair and
runs the grant templates for both; the login's secret carries `masterarn`.

Each test checks real logins over verified TLS and real privileges (has_table_privilege, INSERT
refused with SQLSTATE 42501)."""

from __future__ import annotations

import itertools
import json

import psycopg
import pytest
from psycopg import sql

from app_secrets import grants as grant_templates

_n = itertools.count(1)


@pytest.fixture
def master(db, sm_client):
    """The admin login's secret (what RdsPostgresAdminLogin stores) and a schema with a table it owns."""
    name = f"rds-postgres-master-{next(_n)}"
    sm_client.create_secret(Name=name, SecretString=json.dumps(db.login_secret()))
    with db.connect(db.admin, db.password) as conn:
        conn.execute("CREATE SCHEMA reports")
        conn.execute("CREATE TABLE reports.sales (id serial PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO reports.sales (amount) VALUES (42)")
    return sm_client.describe_secret(SecretId=name)["ARN"]


@pytest.fixture
def app_users(db):
    """Names for the login's pair, dropped afterwards (roles are cluster-wide)."""
    names = [f"{db.admin}_app", f"{db.admin}_app_alt"]
    yield names
    with db.superuser() as conn:  # in the app's database, where the grants are
        for name in names + [f'{db.admin} "odd"; user', f'{db.admin} "odd"; user_alt']:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def login_env(handler_env, master_arn, users, grants, **extra):
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    handler_env.setenv("PRIMARY_USERNAME", users[0])
    handler_env.setenv("ALTERNATE_USERNAME", users[1])
    handler_env.setenv("MASTER_SECRET_ARN", master_arn)
    handler_env.setenv("GRANTS", json.dumps(grants))
    for key, value in extra.items():
        handler_env.setenv(key, value)


def login_secret(db, master_arn, user, **extra):
    # The initial value: the user does not exist yet; the first rotation creates the other one.
    value = {"engine": "postgres", "host": db.pg.host, "port": db.pg.port, "dbname": db.dbname,
             "username": user, "password": "not-a-login-until-rotated", "masterarn": master_arn}
    value.update(extra)
    return value


def privileges(db, user):
    with db.superuser() as conn:
        return conn.execute("SELECT has_schema_privilege(%(u)s, 'reports', 'USAGE'),"
                            " has_table_privilege(%(u)s, 'reports.sales', 'SELECT'),"
                            " has_table_privilege(%(u)s, 'reports.sales', 'INSERT')", {"u": user}).fetchone()


def read_sales(db, user, password):
    with db.connect(user, password) as conn:
        return conn.execute("SELECT amount FROM reports.sales").fetchall()


def test_first_rotation_creates_the_alternate_with_read_only_grants(db, master, app_users, make_secret, handler_env):
    login_env(handler_env, master, app_users, grant_templates.compile_grants([{"readOnly": ["reports"]}]))
    side = make_secret(login_secret(db, master, app_users[0]))
    side.rotate()
    value = side.value()
    assert value["username"] == app_users[1] and value["masterarn"] == master
    assert read_sales(db, app_users[1], value["password"]) == [(42,)]
    assert privileges(db, app_users[1]) == (True, True, False)
    with db.connect(app_users[1], value["password"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO reports.sales (amount) VALUES (1)")
    with db.superuser() as conn:  # an application user, no role attributes
        assert conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
                            (app_users[1],)).fetchone() == (False, False, False)
    assert db.can_login(db.admin, db.password)  # the master's own password is untouched


def test_repeated_rotations_alternate_and_keep_grants(db, master, app_users, make_secret, handler_env):
    login_env(handler_env, master, app_users, grant_templates.compile_grants([{"readWrite": ["reports"]}]))
    side = make_secret(login_secret(db, master, app_users[0]))
    seen = []
    for _ in range(5):
        side.rotate()
        current, previous = side.value(), side.value("AWSPREVIOUS")
        seen.append(current["username"])
        assert read_sales(db, current["username"], current["password"])[0] == (42,)
        if previous["username"] != current["username"] and previous["password"] != "not-a-login-until-rotated":
            # The other user of the pair still logs in with its last password (apps mid-deploy keep working).
            assert read_sales(db, previous["username"], previous["password"])[0] == (42,)
    assert seen == [app_users[1], app_users[0], app_users[1], app_users[0], app_users[1]]
    assert privileges(db, app_users[0]) == privileges(db, app_users[1]) == (True, True, True)
    with db.connect(seen[-1], side.value()["password"]) as conn:
        conn.execute("INSERT INTO reports.sales (amount) VALUES (7)")  # read-write for real


def test_a_grant_added_later_reaches_both_users(db, master, app_users, make_secret, handler_env):
    login_env(handler_env, master, app_users, [])
    side = make_secret(login_secret(db, master, app_users[0]))
    side.rotate()
    side.rotate()
    assert privileges(db, app_users[0])[1] is False and privileges(db, app_users[1])[1] is False
    login_env(handler_env, master, app_users, grant_templates.compile_grants([{"readOnly": ["reports"]}]))
    side.rotate()
    assert privileges(db, app_users[0])[:2] == privileges(db, app_users[1])[:2] == (True, True)


def test_the_user_name_is_quoted_as_an_identifier(db, master, app_users, make_secret, handler_env):
    odd = [f'{db.admin} "odd"; user', f'{db.admin} "odd"; user_alt']
    login_env(handler_env, master, odd, ["GRANT USAGE ON SCHEMA reports TO %s",
                                         "GRANT SELECT ON reports.sales TO %s"])
    side = make_secret(login_secret(db, master, odd[0]))
    side.rotate()
    side.rotate()
    for user in odd:
        assert privileges(db, user) == (True, True, False)
    assert read_sales(db, odd[0], side.value()["password"]) == [(42,)]


def test_a_replica_login_writes_its_own_variable(db, master, app_users, make_secret, handler_env):
    login_env(handler_env, master, app_users, [], URL_KEY="REPLICA_DATABASE_URL")
    side = make_secret(login_secret(db, master, app_users[0]))
    side.rotate()
    value = side.value()
    assert "DATABASE_URL" not in value
    assert value["REPLICA_DATABASE_URL"].startswith(f"postgres://{app_users[1]}:")
    assert db.can_login(app_users[1], value["password"])


def test_a_masterarn_other_than_the_deployed_one_is_refused(db, master, app_users, make_secret, handler_env,
                                                            sm_client):
    sm_client.create_secret(Name=f"other-master-{next(_n)}", SecretString=json.dumps(db.login_secret()))
    other = sm_client.list_secrets()["SecretList"][-1]["ARN"]
    login_env(handler_env, master, app_users, [])
    side = make_secret(login_secret(db, other, app_users[0]))
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(ValueError, match="not the master secret this function was deployed with"):
        side.step("setSecret", token)
    with db.superuser() as conn:  # nothing was created
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (app_users,)).fetchone() == (0,)


def test_a_login_named_like_the_master_is_refused(db, master, make_secret, handler_env):
    login_env(handler_env, master, [f"{db.admin}_x", db.admin], [])
    side = make_secret(login_secret(db, master, f"{db.admin}_x"))
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(ValueError, match="is the master user itself"):
        side.step("setSecret", token)
    assert db.can_login(db.admin, db.password)


def test_an_aurora_secret_keeps_its_reader_url_in_step(db, make_secret):
    """The admin secret of an Aurora cluster (engine aurora-postgresql, dbClusterIdentifier, readerHost):
    each rotation rewrites READER_DATABASE_URL for the reader endpoint with the new password."""
    side = make_secret(db.login_secret(engine="aurora-postgresql", dbClusterIdentifier="app-cluster",
                                       readerHost=db.pg.host, READER_DATABASE_URL="postgres://stale"))
    side.rotate()
    value = side.value()
    assert value["dbClusterIdentifier"] == "app-cluster"
    assert value["READER_DATABASE_URL"] == value["DATABASE_URL"]  # same host here: the test's one server
    assert db.can_login(db.admin, value["password"])
