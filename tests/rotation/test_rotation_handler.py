"""The rotation handler against a real PostgreSQL cluster (TLS; every major 14-18 with the version
matrix, see conftest.py) and moto's Secrets Manager.

Secrets Manager's part is played by the test: RotateSecret's AWSPENDING placeholder, the four steps
in order, and the removal of AWSPENDING from the finished version. Every assertion about the
database is a real login over TCP with TLS."""

from __future__ import annotations

import contextlib
import json
import string
import threading
from urllib.parse import unquote, urlsplit

import pytest

import servers
from rotation_harness import STEPS, drop_database, make_database


def stage_of(stages: dict, token: str) -> list[str]:
    return sorted(stages.get(token, []))


# --------------------------------------------------------------------------- single-user

def test_single_user_rotation_changes_the_password(db, make_secret):
    side = make_secret(db.login_secret())
    first = side.value()

    token = side.rotate()

    current = side.value()
    assert current["username"] == db.admin
    assert current["password"] != first["password"]
    assert len(current["password"]) == 32
    assert db.can_login(db.admin, current["password"])
    assert not db.can_login(db.admin, first["password"])
    stages = side.stages()
    assert stage_of(stages, token) == ["AWSCURRENT"]
    assert [v for v, s in stages.items() if "AWSPREVIOUS" in s] != [token]
    # The other keys are carried over; DATABASE_URL follows the new password.
    assert {k: v for k, v in current.items() if k not in ("password", "DATABASE_URL")} == \
        {k: v for k, v in first.items() if k not in ("password", "DATABASE_URL")}
    assert current["DATABASE_URL"] == db.login_secret(password=current["password"])["DATABASE_URL"]

    # A second rotation works from the new state; the AWSPREVIOUS password is dead.
    side.rotate()
    latest = side.value()
    assert db.can_login(db.admin, latest["password"])
    assert not db.can_login(db.admin, current["password"])
    assert side.value("AWSPREVIOUS")["password"] == current["password"]


def test_single_user_connection_is_tls_and_password_is_stored_hashed(db, make_secret, handler):
    import rotation_postgres
    import rotation_secret

    side = make_secret(db.login_secret())
    side.rotate()
    login = side.value()
    params = rotation_secret.connection_params(login, sslmode="require", sslrootcert=None, connect_timeout=5)
    conn = rotation_postgres.connect(params)
    try:
        assert rotation_postgres.ssl_in_use(conn)
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    finally:
        conn.close()
    with db.superuser() as su:
        (stored,) = su.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (db.admin,)).fetchone()
    assert stored.startswith("SCRAM-SHA-256$") and login["password"] not in stored


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_server_statement_log_never_sees_a_new_password(db, make_secret, handler_env, pg, strategy):
    """With log_statement=all for the acting user, the server log shows the ALTER/CREATE ROLE with a
    SCRAM verifier, never the password itself."""
    from psycopg import sql

    handler_env.setenv("ROTATION_STRATEGY", strategy)
    with db.superuser() as su:
        su.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(sql.Identifier(db.admin)))
    side = make_secret(db.login_secret())
    offset = pg.logfile.stat().st_size
    side.rotate()
    new = side.value()
    with open(pg.logfile, "rb") as stream:
        stream.seek(offset)
        log = stream.read().decode("utf-8", "replace")
    assert "SCRAM-SHA-256$" in log and "ROLE" in log
    assert new["password"] not in log


# --------------------------------------------------------------------------- alternating-users

def _can_create_table(db, user, password, table):
    with db.connect(user, password) as conn:
        conn.execute(f"CREATE TABLE {table} (id int)")
        conn.execute(f"INSERT INTO {table} VALUES (1)")
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1


def _role_facts(db, role):
    with db.superuser() as su:
        return su.execute(
            "SELECT rolcreaterole, rolcreatedb, rolsuper, pg_has_role(%s, 'rds_superuser', 'MEMBER')"
            " FROM pg_roles WHERE rolname = %s", (role, role)).fetchone()


def _owner_of(db, user, password, table):
    with db.connect(user, password) as conn:
        return conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", (table,)).fetchone()[0]


def _no_role_administers_itself_or_the_primary(db, alt):
    """The RDS master holds no ADMIN option on itself on 16+, and nothing may depend on the alternate
    holding one on the primary."""
    with db.superuser() as su:
        return su.execute(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
            " JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s AND m.admin_option",
            (db.admin, alt)).fetchone()[0] == 0


def test_alternating_users_swap_and_keep_privileges(db, make_secret, handler_env):
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    handler_env.setenv("PRIMARY_USERNAME", db.admin)
    handler_env.setenv("ALTERNATE_USERNAME", db.admin + "_alt")
    side = make_secret(db.login_secret())
    alt = db.admin + "_alt"
    owner = db.admin + "_owner"
    # Something the master owned before alternating users began.
    assert _can_create_table(db, db.admin, db.password, "made_before")

    side.rotate()
    first = side.value()
    assert first["username"] == alt
    assert db.can_login(alt, first["password"])
    assert db.can_login(db.admin, db.password)  # the primary is untouched by this rotation
    assert _role_facts(db, alt) == (True, True, False, True)
    assert _role_facts(db, owner) == (True, True, False, True)
    assert _no_role_administers_itself_or_the_primary(db, alt)
    assert _can_create_table(db, alt, first["password"], "made_by_alt")
    with db.connect(alt, first["password"]) as conn:
        assert conn.execute("SELECT current_user, session_user").fetchone() == (owner, alt)
        # What the master owned is the shared owner's now: the alternate may use and change it.
        conn.execute("INSERT INTO made_before VALUES (2)")
        conn.execute("ALTER TABLE made_before ADD COLUMN note text")
    assert _owner_of(db, alt, first["password"], "made_before") == owner

    side.rotate()
    second = side.value()
    assert second["username"] == db.admin
    assert db.can_login(db.admin, second["password"])
    assert not db.can_login(db.admin, db.password)
    assert db.can_login(alt, first["password"])  # AWSPREVIOUS keeps working until the next rotation
    assert _role_facts(db, db.admin) == (True, True, False, True)
    assert _can_create_table(db, db.admin, second["password"], "made_by_primary")
    with db.connect(db.admin, second["password"]) as conn:
        # Both users' sessions act as the shared owner role, so what either created is usable by both.
        assert conn.execute("SELECT count(*) FROM made_by_alt").fetchone() == (1,)
        conn.execute("ALTER TABLE made_by_alt ADD COLUMN note text")
        assert conn.execute("SELECT current_user, session_user").fetchone() == (owner, db.admin)
    assert _owner_of(db, db.admin, second["password"], "made_by_alt") == owner
    with db.connect(alt, first["password"]) as conn:
        conn.execute("INSERT INTO made_by_primary VALUES (2)")
        conn.execute("DROP TABLE made_by_primary")

    side.rotate()
    third = side.value()
    assert third["username"] == alt
    assert db.can_login(alt, third["password"])
    assert not db.can_login(alt, first["password"])
    assert db.can_login(db.admin, second["password"])
    assert _role_facts(db, alt) == (True, True, False, True)
    assert _no_role_administers_itself_or_the_primary(db, alt)

    side.rotate()
    fourth = side.value()
    assert fourth["username"] == db.admin and db.can_login(db.admin, fourth["password"])
    assert not db.can_login(db.admin, second["password"])


def _memberships(db, member):
    with db.superuser() as su:
        extra = ", bool_or(m.inherit_option), bool_or(m.set_option)" if db.pg.major >= 16 else ""
        return {row[0]: tuple(row[1:]) for row in su.execute(
            f"SELECT r.rolname, bool_or(m.admin_option){extra} FROM pg_auth_members m"
            " JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member"
            " WHERE u.rolname = %s GROUP BY r.rolname", (member,))}


def test_the_alternate_and_the_owner_role_get_the_primarys_memberships_with_the_same_options(
        db, make_secret, handler_env, caplog):
    """On 16+ a CREATEROLE user holds ADMIN (without INHERIT or SET) on each role it created: copies of
    its memberships keep exactly those options, so nobody gains the privileges of those roles. A
    membership the primary may not grant (16+: no ADMIN option on it) is skipped with a warning."""
    from psycopg import sql

    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    created, joined = db.admin + "_app", db.admin + "_reader"
    with db.connect(db.admin, db.password) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(created)))
    with db.superuser() as su:
        su.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(joined)))
        su.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(joined), sql.Identifier(db.admin)))
    try:
        side = make_secret(db.login_secret())
        side.rotate()
        primary = _memberships(db, db.admin)
        for copy in (db.admin + "_alt", db.admin + "_owner"):
            held = _memberships(db, copy)
            for role in ("rds_superuser", created, joined):
                if role == joined and db.pg.major >= 16:
                    assert role not in held, (copy, role)
                elif role in primary:
                    assert held.get(role) == primary[role], (copy, role)
                else:
                    assert role not in held, (copy, role)
        assert primary["rds_superuser"][0] is True
        if db.pg.major >= 16:
            assert primary[created] == (True, False, False)  # ADMIN only: what CREATE ROLE gave the master
        else:
            assert created not in primary
        current = side.value()
        with db.connect(current["username"], current["password"]) as conn:
            assert conn.execute("SELECT pg_has_role(%s, 'USAGE')", (created,)).fetchone() == (False,)
        skipped = f"the primary cannot grant {joined} (no ADMIN option)"
        assert (skipped in caplog.text) == (db.pg.major >= 16)
        assert ("the primary cannot grant" in caplog.text) == (db.pg.major >= 16)   # no warning about nothing
    finally:
        with db.superuser() as su:
            for role in (created, joined):
                su.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_alternating_default_names_and_plain_alternate(db, make_secret, handler_env):
    """Without PRIMARY/ALTERNATE_USERNAME the pair is <username> / <username>_alt; with
    ALTERNATE_SET_ROLE=false both users act as themselves (thoughtbot's behaviour): nothing is
    reassigned and no session changes its role."""
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    handler_env.setenv("ALTERNATE_SET_ROLE", "false")
    side = make_secret(db.login_secret())

    side.rotate()
    assert side.value()["username"] == db.admin + "_alt"
    side.rotate()
    assert side.value()["username"] == db.admin
    side.rotate()
    alt = side.value()
    assert alt["username"] == db.admin + "_alt"
    with db.connect(alt["username"], alt["password"]) as conn:
        assert conn.execute("SELECT current_user, session_user").fetchone() == (alt["username"],) * 2
        assert conn.execute("SELECT pg_has_role(%s, 'USAGE')", (db.admin + "_owner",)).fetchone() == (True,)
    assert _role_facts(db, alt["username"]) == (True, True, False, True)
    with db.superuser() as su:
        assert su.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                          (db.dbname,)).fetchone() == (db.admin,)
        assert su.execute("SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
                          " WHERE r.rolname LIKE %s", (db.admin + "%",)).fetchone() == (0,)


def test_an_alternate_made_by_the_old_code_is_migrated(db, make_secret, handler_env, sm_client, pg):
    """Before the shared owner role, the primary created `<user>_alt` as a member of itself whose
    sessions SET ROLE to the primary (possible up to PostgreSQL 15; a cluster upgraded to 16+ keeps
    it, granted by a role the primary cannot act for). The next rotations move the pair to the shared
    owner role; what the primary owned, including what the old alternate created, stays usable."""
    from psycopg import sql

    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    alt, owner = db.admin + "_alt", db.admin + "_owner"
    alt_password = "old-alt-" + db.password
    with db.superuser() as su:
        su.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB INHERIT PASSWORD {}").format(
            sql.Identifier(alt), sql.Literal(alt_password)))
        su.execute(sql.SQL("GRANT rds_superuser TO {}").format(sql.Identifier(alt)))
        su.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(db.admin), sql.Identifier(alt)))
        su.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(alt), sql.Literal(db.admin)))
    assert _can_create_table(db, alt, alt_password, "made_by_old_alt")
    assert _owner_of(db, alt, alt_password, "made_by_old_alt") == db.admin
    # The secret as the old code left it after one rotation: AWSCURRENT the alternate, AWSPREVIOUS the primary.
    side = make_secret(db.login_secret())
    sm_client.put_secret_value(SecretId=side.secret_id, SecretString=json.dumps(
        db.login_secret(username=alt, password=alt_password)))
    assert side.value()["username"] == alt and side.value("AWSPREVIOUS")["username"] == db.admin

    side.rotate()  # towards the primary: it logs in with AWSPREVIOUS and sets the pair up
    primary = side.value()
    assert primary["username"] == db.admin and db.can_login(db.admin, primary["password"])
    assert db.can_login(alt, alt_password)
    with db.connect(db.admin, primary["password"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (owner,)
        assert conn.execute("SELECT count(*) FROM made_by_old_alt").fetchone() == (1,)
    assert _owner_of(db, db.admin, primary["password"], "made_by_old_alt") == owner

    side.rotate()  # towards the alternate (on 16+ by itself, with AWSPREVIOUS: the primary cannot alter it)
    second = side.value()
    assert second["username"] == alt and db.can_login(alt, second["password"])
    assert not db.can_login(alt, alt_password)
    with db.connect(alt, second["password"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (owner,)
        conn.execute("ALTER TABLE made_by_old_alt ADD COLUMN note text")
    assert _role_facts(db, owner) == (True, True, False, True)

    side.rotate()
    third = side.value()
    assert third["username"] == db.admin and db.can_login(db.admin, third["password"])
    assert not db.can_login(db.admin, primary["password"])


def test_alternating_from_the_alternate_without_a_usable_previous_fails_clearly(db, make_secret, handler_env,
                                                                                 sm_client, pg):
    """Towards the primary, when AWSPREVIOUS no longer logs in, the alternate tries itself: enough up to
    PostgreSQL 15 (CREATEROLE), refused on 16+ (no ADMIN option on the primary) with the server's
    reason, and nothing is moved."""
    from psycopg import sql

    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    side = make_secret(db.login_secret())
    side.rotate()
    alt = side.value()
    with db.superuser() as su:  # the primary's password changed by hand: AWSPREVIOUS is dead
        su.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(db.admin),
                                                                sql.Literal("by-hand-" + db.password)))
    token = side.begin()
    side.step("createSecret", token)
    if pg.major >= 16:
        with pytest.raises(RuntimeError, match="SQLSTATE 42501"):
            side.step("setSecret", token)
        assert side.value()["username"] == alt["username"]
        assert db.can_login(alt["username"], alt["password"])
    else:
        side.run(token)
        side.end(token)
        assert side.value()["username"] == db.admin
        assert db.can_login(db.admin, side.value()["password"])


# --------------------------------------------------------------------------- idempotence and retries

@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_each_step_repeated_is_a_noop(db, make_secret, handler_env, strategy):
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret())
    token = side.begin()

    side.step("createSecret", token)
    pending = side.value("AWSPENDING", token)
    side.step("createSecret", token)
    assert side.value("AWSPENDING", token) == pending

    side.step("setSecret", token)
    assert db.can_login(pending["username"], pending["password"])
    with db.superuser() as su:
        before = su.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                            (pending["username"],)).fetchone()
    side.step("setSecret", token)
    with db.superuser() as su:
        after = su.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                           (pending["username"],)).fetchone()
    assert before == after  # not even re-hashed

    side.step("testSecret", token)
    side.step("testSecret", token)
    side.step("finishSecret", token)
    stages = side.stages()
    side.step("finishSecret", token)
    assert side.stages() == stages
    side.end(token)

    # The whole sequence again with the finished token: every step sees AWSCURRENT and returns.
    stages = side.stages()
    side.run(token)
    assert side.stages() == stages
    assert side.value() == pending
    assert db.can_login(pending["username"], pending["password"])


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
@pytest.mark.parametrize("done", [1, 2, 3], ids=["create", "create+set", "create+set+test"])
def test_interrupted_rotation_completes_when_retried(db, make_secret, handler_env, strategy, done):
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret())
    token = side.begin()
    side.run(token, STEPS[:done])
    pending = side.value("AWSPENDING", token)

    side.run(token)  # Secrets Manager retries the whole sequence with the same token
    side.end(token)

    current = side.value()
    assert current == pending
    assert stage_of(side.stages(), token) == ["AWSCURRENT"]
    assert db.can_login(current["username"], current["password"])
    if strategy == "single-user":
        assert not db.can_login(db.admin, db.password)
    else:
        assert db.can_login(db.admin, db.password)
    side.rotate()  # and the next rotation is not blocked
    assert db.can_login(side.value()["username"], side.value()["password"])


def test_abandoned_pending_is_replaced_by_a_new_rotation(db, make_secret):
    """createSecret ran, then the rotation was abandoned (AWS later removes the label); a new token
    starts from AWSCURRENT, not from the abandoned value."""
    side = make_secret(db.login_secret())
    stale = side.begin()
    side.step("createSecret", stale)
    side.client.update_secret_version_stage(SecretId=side.secret_id, VersionStage="AWSPENDING",
                                            RemoveFromVersionId=stale)
    token = side.rotate()
    assert token != stale
    assert db.can_login(db.admin, side.value()["password"])


# --------------------------------------------------------------------------- faults: nobody locked out

def test_database_down_fails_the_rotation_and_keeps_current(db, make_secret, pg):
    side = make_secret(db.login_secret())
    token = side.begin()
    side.step("createSecret", token)
    pg.stop()
    try:
        with pytest.raises(ValueError, match="unable to log in"):
            side.step("setSecret", token)
    finally:
        pg.start()
    assert stage_of(side.stages(), token) == ["AWSPENDING"]
    assert db.can_login(db.admin, db.password)  # nothing changed

    side.run(token)  # the retry after the outage
    side.end(token)
    assert db.can_login(db.admin, side.value()["password"])


def test_database_down_between_set_and_test_recovers_on_retry(db, make_secret, pg):
    side = make_secret(db.login_secret())
    token = side.begin()
    side.run(token, STEPS[:2])
    pg.stop()
    try:
        with pytest.raises(ValueError, match="unable to log in"):
            side.step("testSecret", token)
    finally:
        pg.start()
    side.run(token)
    side.end(token)
    assert db.can_login(db.admin, side.value()["password"])


def test_unreachable_host_fails_set_secret(db, make_secret):
    side = make_secret(db.login_secret(port=servers.closed_port()))
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(ValueError, match="unable to log in"):
        side.step("setSecret", token)
    assert stage_of(side.stages(), token) == ["AWSPENDING"]
    assert db.can_login(db.admin, db.password)


def test_rejected_password_change_keeps_current(db, make_secret):
    from psycopg import sql

    side = make_secret(db.login_secret())
    with db.superuser() as su:
        # ALTER ROLE is refused in a read-only transaction.
        su.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(sql.Identifier(db.admin)))
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(RuntimeError, match="rejected") as excinfo:
        side.step("setSecret", token)
    assert side.value("AWSPENDING", token)["password"] not in str(excinfo.value)
    assert db.can_login(db.admin, db.password)
    assert stage_of(side.stages(), token) == ["AWSPENDING"]
    with pytest.raises(ValueError):
        side.step("testSecret", token)  # Secrets Manager would stop here too

    with db.superuser() as su:
        su.execute(sql.SQL("ALTER ROLE {} RESET default_transaction_read_only").format(sql.Identifier(db.admin)))
    side.run(token)
    side.end(token)
    assert db.can_login(db.admin, side.value()["password"])
    assert not db.can_login(db.admin, db.password)


def test_alternate_creation_rejected_is_all_or_nothing(db, make_secret, handler_env):
    from psycopg import sql

    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    side = make_secret(db.login_secret())
    with db.superuser() as su:
        su.execute(sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(db.admin)))
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(RuntimeError, match="rejected"):
        side.step("setSecret", token)
    with db.superuser() as su:
        assert su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.admin + "_alt",)).fetchone() is None
        su.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(db.admin)))
    assert db.can_login(db.admin, db.password)
    side.run(token)
    side.end(token)
    current = side.value()
    assert current["username"] == db.admin + "_alt" and db.can_login(current["username"], current["password"])


def test_current_password_changed_out_of_band_recovers_with_previous(db, make_secret, pg):
    """single-user setSecret falls back to AWSPREVIOUS when AWSCURRENT no longer logs in (the DB
    still holds the previous password)."""
    from psycopg import sql

    side = make_secret(db.login_secret())
    side.rotate()
    previous_password = side.value()["password"]
    side.rotate()
    # Put the database back on the AWSPREVIOUS password, as a restore from backup would.
    with db.superuser() as su:
        su.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(db.admin),
                                                                sql.Literal(previous_password)))
    assert not db.can_login(db.admin, side.value()["password"])
    side.rotate()
    assert db.can_login(db.admin, side.value()["password"])


# --------------------------------------------------------------------------- TLS

# test_rotation_tls.py: verify-full by default, unknown CA, wrong host name, no downgrade, the MITM.


# --------------------------------------------------------------------------- awkward characters

URL_SIGNIFICANT = "@:/?#%&+=;[]'\"\\"


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_url_significant_characters_round_trip_through_database_url(pg, make_secret, handler_env, strategy):
    db = make_database(pg, admin="App User@x:y")
    try:
        handler_env.setenv("ROTATION_STRATEGY", strategy)
        handler_env.setenv("EXCLUDE_NUMBERS", "true")
        handler_env.setenv("EXCLUDE_UPPERCASE", "true")
        handler_env.setenv("EXCLUDE_LOWERCASE", "true")
        handler_env.setenv("INCLUDE_SPACE", "true")
        handler_env.setenv("EXCLUDE_CHARACTERS", "".join(c for c in string.punctuation if c not in URL_SIGNIFICANT))
        side = make_secret(db.login_secret())
        for _ in range(2):
            side.rotate()
            current = side.value()
            assert set(current["password"]) <= set(URL_SIGNIFICANT + " ")
            assert len(set(current["password"])) >= 5
            url = urlsplit(current["DATABASE_URL"])
            assert url.scheme == "postgres"
            assert (url.hostname, url.port, url.path) == (pg.host, pg.port, "/" + db.dbname)
            user, password = unquote(url.username), unquote(url.password)
            assert (user, password) == (current["username"], current["password"])
            assert db.can_login(user, password)
    finally:
        drop_database(db)


# --------------------------------------------------------------------------- bad secrets and guards

SECRET_VALUE = "Sup3r-Secret-Value-42"


@pytest.mark.parametrize("value, message", [
    ("this is " + SECRET_VALUE, "not valid JSON"),
    (json.dumps(["postgres", SECRET_VALUE]), "JSON object"),
    (json.dumps({"engine": "mysql", "host": "h", "username": "u", "password": SECRET_VALUE}), "engine"),
    (json.dumps({"engine": "postgres", "host": "h", "password": SECRET_VALUE}), "username"),
    (json.dumps({"engine": "postgres", "host": "h", "username": "u", "password": SECRET_VALUE, "port": "x"}),
     "port"),
], ids=["not-json", "not-object", "mysql", "missing-username", "bad-port"])
def test_not_a_postgres_login_is_a_clear_error(make_secret, request, value, message):
    request.node.extra_sensitive = [SECRET_VALUE]
    side = make_secret(value)
    token = side.begin()
    with pytest.raises(ValueError, match=message) as excinfo:
        side.step("createSecret", token)
    assert SECRET_VALUE not in str(excinfo.value)
    assert "secret" in str(excinfo.value)


def test_guards(db, make_secret, handler_env, sm_client):
    not_enabled = make_secret(db.login_secret())
    sm_client.cancel_rotate_secret(SecretId=not_enabled.secret_id)
    assert sm_client.describe_secret(SecretId=not_enabled.secret_id)["RotationEnabled"] is False
    token = not_enabled.begin()
    with pytest.raises(ValueError, match="not enabled for rotation"):
        not_enabled.step("createSecret", token)

    side = make_secret(db.login_secret())
    with pytest.raises(ValueError, match="has no stage"):
        side.step("createSecret", "00000000-0000-0000-0000-000000000000")
    first = next(iter(side.stages()))
    token = side.rotate()
    # The old version is AWSPREVIOUS now, not AWSPENDING.
    with pytest.raises(ValueError, match="not set as AWSPENDING"):
        side.step("setSecret", first)
    side.step("testSecret", token)  # AWSCURRENT: nothing to do
    second = side.begin()
    with pytest.raises(ValueError, match="Invalid step"):
        side.step("rotateSecret", second)

    handler_env.setenv("ROTATION_STRATEGY", "triple-users")
    with pytest.raises(ValueError, match="ROTATION_STRATEGY"):
        side.step("createSecret", second)


def test_a_missing_rotation_enabled_is_not_a_disabled_rotation(db, make_secret, sm_client):
    """As AWS's templates (`"RotationEnabled" in metadata and not metadata["RotationEnabled"]`): only
    an explicit false stops a step. moto, like the service while rotation is being configured,
    omits the key until rotation was set up."""
    side = make_secret(db.login_secret(), rotation=False)
    assert "RotationEnabled" not in sm_client.describe_secret(SecretId=side.secret_id)
    side.rotate()
    current = side.value()
    assert db.can_login(db.admin, current["password"]) and not db.can_login(db.admin, db.password)


@pytest.mark.parametrize("copy_current", [True, False], ids=["pending-copies-current", "pending-without-value"])
@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_rotate_immediately_false_invokes_test_secret_only(db, make_secret, handler_env, caplog, strategy,
                                                          copy_current):
    """RotateSecret(RotateImmediately=false) creates an AWSPENDING version, invokes testSecret alone,
    and removes AWSPENDING again. The step passes (the configuration works) and changes nothing."""
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret(), rotation=False)  # the test runs while rotation is being set up
    before = side.stages()
    token = servers.begin_test_rotation(side.secret_id, copy_current=copy_current)
    side.step("testSecret", token)
    side.end(token)
    assert side.value() == db.login_secret()
    assert db.can_login(db.admin, db.password)
    stages = side.stages()
    assert {v: s for v, s in stages.items() if s} == before
    if not copy_current:
        assert "has no value (a configuration test)" in caplog.text
    with db.superuser() as su:
        assert su.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (db.admin + "\\_%",)).fetchone() == (0,)
    # A later real rotation starts from a clean state.
    side.rotate()
    assert db.can_login(side.value()["username"], side.value()["password"])


def test_rotate_immediately_false_with_an_unreachable_database_fails(db, make_secret):
    side = make_secret(db.login_secret(port=servers.closed_port()), rotation=False)
    token = servers.begin_test_rotation(side.secret_id, copy_current=False)
    with pytest.raises(ValueError, match="unable to log in .* AWSCURRENT"):
        side.step("testSecret", token)


def test_alternating_rejects_a_username_outside_the_pair(db, make_secret, handler_env):
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    handler_env.setenv("PRIMARY_USERNAME", "someone")
    side = make_secret(db.login_secret())
    token = side.begin()
    with pytest.raises(ValueError, match="neither PRIMARY_USERNAME nor ALTERNATE_USERNAME"):
        side.step("createSecret", token)


def test_password_settings_are_passed_to_get_random_password(db, make_secret, handler_env):
    handler_env.setenv("PASSWORD_LENGTH", "48")
    handler_env.setenv("EXCLUDE_PUNCTUATION", "true")
    side = make_secret(db.login_secret())
    side.rotate()
    password = side.value()["password"]
    assert len(password) == 48 and password.isalnum()
    assert db.can_login(db.admin, password)


def test_logs_say_what_happened_without_values(db, make_secret, caplog):
    side = make_secret(db.login_secret())
    side.rotate()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("rotation")]
    assert any(m.startswith("createSecret: put version") for m in messages)
    assert any("changed the password" in m for m in messages)
    assert any(m.startswith("testSecret:") for m in messages)
    assert any(m.startswith("finishSecret: moved AWSCURRENT") for m in messages)


# --------------------------------------------------------------------------- warm execution environment

@pytest.mark.parametrize("strategy, expected", [
    ("single-user", [("setSecret", "AWSCURRENT"), ("testSecret", "AWSPENDING")]),
    ("alternating-users", [("testSecret", "AWSPENDING")]),   # its setSecret picks its login itself
])
def test_each_step_prepares_only_the_login_it_will_use(db, make_secret, handler, handler_env, monkeypatch,
                                                        strategy, expected):
    """While a step's guard call is in flight the function may log in ahead (Rotation.prepare): only
    for the steps that use that login, so no step opens a connection it throws away."""
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret())
    side.rotate()   # warm: the versions are cached, so every login that could be prepared is
    prepared, step_of = [], {}
    original_prepare, original_try = handler.Rotation.prepare, handler.Prepared.try_login

    def prepare(self, step):
        step_of[threading.get_ident()] = step
        return original_prepare(self, step)

    def try_login(self, rotation, login, label):
        prepared.append((step_of.get(threading.get_ident()), label))
        return original_try(self, rotation, login, label)

    monkeypatch.setattr(handler.Rotation, "prepare", prepare)
    monkeypatch.setattr(handler.Prepared, "try_login", try_login)
    side.rotate()
    assert prepared == expected
    assert db.can_login(side.value()["username"], side.value()["password"])


def test_a_version_the_function_did_not_write_is_read_once_per_rotation(db, make_secret, handler):
    """The first rotation of a value someone else wrote: every step needs AWSCURRENT, and the warm
    environment asks Secrets Manager for it once."""
    side = make_secret(db.login_secret())
    reads = []
    client = handler.secrets_client()
    hook = lambda params, **_: reads.append(params.get("VersionStage"))  # noqa: E731
    event = "before-parameter-build.secrets-manager.GetSecretValue"   # params as the caller gave them
    client.meta.events.register(event, hook)
    try:
        side.rotate()
    finally:
        client.meta.events.unregister(event, hook)
    assert reads.count("AWSCURRENT") == 1, reads
    assert db.can_login(db.admin, side.value()["password"])


def test_a_warm_environment_reads_no_version_twice(db, make_secret, handler):
    """Version values never change, so later steps reuse what earlier ones read or wrote: a second
    rotation needs 8 Secrets Manager calls (4 describe_secret guards, the AWSPENDING check,
    GetRandomPassword, PutSecretValue, UpdateSecretVersionStage) and still rotates for real."""
    side = make_secret(db.login_secret())
    side.rotate()
    calls = []
    client = handler.secrets_client()
    hook = lambda model, **_: calls.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.secrets-manager.*", hook)
    try:
        before = side.value()
        side.rotate()
    finally:
        client.meta.events.unregister("before-call.secrets-manager.*", hook)
    assert sorted(calls) == sorted(["DescribeSecret"] * 4 + ["GetSecretValue", "GetRandomPassword",
                                                             "PutSecretValue", "UpdateSecretVersionStage"])
    after = side.value()
    assert db.can_login(db.admin, after["password"]) and not db.can_login(db.admin, before["password"])


# --------------------------------------------------------------------------- the guard runs beside the preparation

class LoginSpy:
    """Records every login the handler makes (and keeps each connection referenced, so one that is
    never closed stays open instead of being closed by the garbage collector)."""

    def __init__(self, monkeypatch):
        import rotation_postgres

        self.logins: list[dict] = []
        self.started = threading.Event()
        original = rotation_postgres.try_connect

        def spy(params):
            self.started.set()
            conn, reason = original(params)
            self.logins.append({"user": params["user"], "password": params["password"], "conn": conn})
            return conn, reason

        monkeypatch.setattr(rotation_postgres, "try_connect", spy)

    def all_closed(self) -> bool:
        return all(login["conn"] is None or login["conn"].closed for login in self.logins)


@contextlib.contextmanager
def guard_held_until(event: threading.Event, client):
    """Hold each DescribeSecret request until `event` is set (at most 2 s); yields a list that gets
    True for each guard call that `event` preceded."""
    preceded: list[bool] = []

    def hold(**_):
        preceded.append(event.wait(2))

    client.meta.events.register("before-call.secrets-manager.DescribeSecret", hold)
    try:
        yield preceded
    finally:
        client.meta.events.unregister("before-call.secrets-manager.DescribeSecret", hold)


def test_each_step_prepares_while_its_guard_is_in_flight_and_uses_it_once(db, make_secret, handler, monkeypatch):
    side = make_secret(db.login_secret())
    side.rotate()  # a warm environment
    client = handler.secrets_client()
    token = side.begin()

    pending_check = threading.Event()
    mark = lambda **_: pending_check.set()  # noqa: E731
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", mark)
    try:
        with guard_held_until(pending_check, client) as preceded:
            side.step("createSecret", token)
    finally:
        client.meta.events.unregister("before-call.secrets-manager.GetSecretValue", mark)
    assert preceded == [True]  # the AWSPENDING check went out while the guard was held

    current = side.value()
    pending = side.value("AWSPENDING", token)
    for step, password in (("setSecret", current["password"]), ("testSecret", pending["password"])):
        spy = LoginSpy(monkeypatch)
        with guard_held_until(spy.started, client) as preceded:
            side.step(step, token)
        assert preceded == [True], step  # the login began while the guard was held
        assert [login["password"] for login in spy.logins] == [password], step  # one login, then used
        assert spy.all_closed(), step
    side.step("finishSecret", token)
    side.end(token)
    assert db.can_login(db.admin, side.value()["password"]) and not db.can_login(db.admin, current["password"])


@pytest.mark.parametrize("failing_step", ["setSecret", "testSecret"])
def test_a_failing_guard_writes_nothing_and_closes_the_prepared_login(db, make_secret, sm_client, monkeypatch,
                                                                     failing_step):
    """The step logs in while its describe_secret is in flight; when the guard then says no
    (rotation cancelled), that login is closed and nothing is changed."""
    side = make_secret(db.login_secret())
    side.rotate()  # a warm environment: setSecret can prepare from what it saw
    current = side.value()
    token = side.begin()
    side.run(token, STEPS[:STEPS.index(failing_step)])
    pending = side.value("AWSPENDING", token)
    sm_client.cancel_rotate_secret(SecretId=side.secret_id)
    spy = LoginSpy(monkeypatch)

    with pytest.raises(ValueError, match="not enabled for rotation"):
        side.step(failing_step, token)

    assert len(spy.logins) == 1 and spy.logins[0]["conn"] is not None  # the prepared login
    assert spy.all_closed()
    assert stage_of(side.stages(), token) == ["AWSPENDING"]
    if failing_step == "setSecret":  # the password was not changed
        assert db.can_login(db.admin, current["password"]) and not db.can_login(db.admin, pending["password"])
    else:  # setSecret had changed it; the stopped testSecret changed nothing more
        assert db.can_login(db.admin, pending["password"])


@pytest.mark.parametrize("manual_password", [True, False], ids=["new-password", "same-password"])
def test_a_login_prepared_for_a_superseded_current_is_not_used(db, make_secret, sm_client, monkeypatch,
                                                               manual_password):
    """single-user setSecret prepares a login as the version that was AWSCURRENT at createSecret. If
    someone moves AWSCURRENT in between (a manual password change, or the same login re-saved as a new
    version), the guard's answer no longer matches: that login is closed unused, and the step logs in
    with the new AWSCURRENT instead."""
    from psycopg import sql

    side = make_secret(db.login_secret())
    side.rotate()
    token = side.begin()
    side.step("createSecret", token)
    before = side.value()
    password = "Manual-Change-0123456789" if manual_password else before["password"]
    if manual_password:
        with db.superuser() as su:
            su.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(db.admin), sql.Literal(password)))
    # Stored as a new version that then takes AWSCURRENT (two calls: moto's PutSecretValue can leave
    # AWSCURRENT on the old version as well, which AWS never does).
    old_current = next(v for v, s in side.stages().items() if "AWSCURRENT" in s)
    manual_version = sm_client.put_secret_value(
        SecretId=side.secret_id, VersionStages=["MANUAL"],
        SecretString=json.dumps({**db.login_secret(password=password), "note": "re-saved by hand"}))["VersionId"]
    sm_client.update_secret_version_stage(SecretId=side.secret_id, VersionStage="AWSCURRENT",
                                          MoveToVersionId=manual_version, RemoveFromVersionId=old_current)
    assert [v for v, s in side.stages().items() if "AWSCURRENT" in s] == [manual_version]
    spy = LoginSpy(monkeypatch)

    side.step("setSecret", token)

    # First the prepared login with the superseded version, then one with the confirmed AWSCURRENT.
    assert [login["password"] for login in spy.logins] == [before["password"], password]
    assert (spy.logins[0]["conn"] is None) == manual_password
    assert spy.all_closed()
    side.run(token, ["testSecret", "finishSecret"])
    side.end(token)
    rotated = side.value()
    assert side.stages()[token] == ["AWSCURRENT"]
    assert db.can_login(db.admin, rotated["password"]) and not db.can_login(db.admin, password)


def test_a_rotation_against_moto_in_its_own_process(db, handler, handler_env):
    """The benchmark's default set-up: the emulator as a separate process (a remote service), with
    RotateSecret's bookkeeping done inside it. The process is gone afterwards."""
    import boto3

    from rotation_harness import SecretsManagerSide

    emulator = servers.MotoProcess()
    try:
        handler_env.setenv("SECRETS_MANAGER_ENDPOINT", emulator.endpoint)
        client = boto3.client("secretsmanager", endpoint_url=emulator.endpoint, region_name="us-east-1")
        client.create_secret(Name="remote", SecretString=json.dumps(db.login_secret()))
        emulator.enable_rotation("remote")
        side = SecretsManagerSide(handler, client, "remote", emulator)
        token = side.rotate()
        assert side.stages()[token] == ["AWSCURRENT"]
        assert db.can_login(db.admin, side.value()["password"])
        assert not db.can_login(db.admin, db.password)
    finally:
        emulator.stop()
    assert not emulator._process.is_alive()
