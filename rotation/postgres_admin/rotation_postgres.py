"""PostgreSQL side of the rotation: log in, change a password, create the alternate user.

psycopg is imported lazily (it takes ~0.2 s), so importing the handler stays cheap. Every statement
is composed with psycopg.sql; passwords are hashed client-side (PQencryptPasswordConn, as psql's
\\password does) so the plaintext never reaches the server, its logs or pg_stat_statements.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional


class LoginFailed(Exception):
    """A login attempt failed; `reason` is the driver's message (may name host and user)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ChangeRejected(Exception):
    """The database refused a role change; `sqlstate` and `reason` come from the server."""

    def __init__(self, sqlstate: Optional[str], reason: str):
        super().__init__(reason)
        self.sqlstate = sqlstate
        self.reason = reason


def connect(params: Mapping[str, Any]):
    """An autocommit connection, or LoginFailed."""
    import psycopg

    try:
        return psycopg.connect(autocommit=True, **params)
    except psycopg.Error as exc:
        raise LoginFailed(_message(exc)) from None


def try_connect(params: Mapping[str, Any]):
    """(connection, None) on success, (None, reason) on failure."""
    try:
        return connect(params), None
    except LoginFailed as exc:
        return None, exc.reason


def ping(conn) -> None:
    """Run a trivial query as the logged-in user."""
    import psycopg

    try:
        row = conn.execute("SELECT 1").fetchone()
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None
    if not row or row[0] != 1:
        raise ChangeRejected(None, "SELECT 1 returned an unexpected result")


def ssl_in_use(conn) -> bool:
    row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    return bool(row and row[0])


def role_exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def _verifier(conn, username: str, password: str) -> str:
    # The algorithm follows the server's password_encryption (scram-sha-256 on PG14+/RDS defaults).
    return conn.pgconn.encrypt_password(password.encode("utf-8"), username.encode("utf-8")).decode("ascii")


def set_password(conn, username: str, password: str) -> None:
    """ALTER ROLE <username> WITH PASSWORD <hashed password>."""
    import psycopg
    from psycopg import sql

    try:
        statement = sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
            sql.Identifier(username), sql.Literal(_verifier(conn, username, password)))
        conn.execute(statement)
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def create_login_like(conn, source: str, new: str, password: str, *, act_as_source: bool) -> None:
    """Create role `new` as a login with `source`'s memberships and its CREATEROLE/CREATEDB/INHERIT
    attributes (attributes are not inherited through membership), plus membership in `source`
    itself so it reaches what `source` owns. With `act_as_source`, sessions of `new` start with
    SET ROLE `source`, so objects it creates are owned by `source` and stay usable by both users.
    All or nothing: one transaction."""
    import psycopg
    from psycopg import sql

    try:
        with conn.transaction():
            attrs = conn.execute(
                "SELECT rolcreaterole, rolcreatedb, rolinherit FROM pg_catalog.pg_roles WHERE rolname = %s",
                (source,)).fetchone()
            if attrs is None:
                raise ChangeRejected(None, "the current user's role was not found in pg_roles")
            createrole, createdb, inherit = attrs
            memberships = conn.execute(
                "SELECT r.rolname, m.admin_option FROM pg_catalog.pg_auth_members m"
                " JOIN pg_catalog.pg_roles r ON r.oid = m.roleid"
                " JOIN pg_catalog.pg_roles u ON u.oid = m.member"
                " WHERE u.rolname = %s ORDER BY r.rolname",
                (source,)).fetchall()
            options = [sql.SQL("LOGIN"),
                       sql.SQL("CREATEROLE" if createrole else "NOCREATEROLE"),
                       sql.SQL("CREATEDB" if createdb else "NOCREATEDB"),
                       sql.SQL("INHERIT" if inherit else "NOINHERIT")]
            conn.execute(sql.SQL("CREATE ROLE {} WITH {} PASSWORD {}").format(
                sql.Identifier(new), sql.SQL(" ").join(options),
                sql.Literal(_verifier(conn, new, password))))
            for role, admin_option in memberships:
                conn.execute(sql.SQL("GRANT {} TO {}{}").format(
                    sql.Identifier(role), sql.Identifier(new),
                    sql.SQL(" WITH ADMIN OPTION" if admin_option else "")))
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(source), sql.Identifier(new)))
            if act_as_source:
                conn.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(
                    sql.Identifier(new), sql.Literal(source)))
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
