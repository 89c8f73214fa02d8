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


def act_as_session_user(conn) -> None:
    """Undo a per-role default `SET ROLE` (the shared owner role): role changes are made as the login
    itself, which may always change its own password and settings."""
    import psycopg

    try:
        conn.execute("SET ROLE NONE")
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def _attributes(conn, role: str) -> Optional[tuple[bool, bool, bool]]:
    row = conn.execute("SELECT rolcreaterole, rolcreatedb, rolinherit FROM pg_catalog.pg_roles WHERE rolname = %s",
                       (role,)).fetchone()
    return None if row is None else (bool(row[0]), bool(row[1]), bool(row[2]))


def _memberships(conn, role: str) -> list[tuple[str, bool]]:
    """The roles `role` is directly a member of (each once; with ADMIN if any grant has it)."""
    return [(name, bool(admin)) for name, admin in conn.execute(
        "SELECT r.rolname, bool_or(m.admin_option) FROM pg_catalog.pg_auth_members m"
        " JOIN pg_catalog.pg_roles r ON r.oid = m.roleid"
        " JOIN pg_catalog.pg_roles u ON u.oid = m.member"
        " WHERE u.rolname = %s GROUP BY r.rolname ORDER BY r.rolname", (role,)).fetchall()]


def _uses(conn, member: str, role: str, admin: bool = False) -> bool:
    """`member` holds `role`'s privileges (and, on 16+, may SET ROLE to it; with `admin`, may grant it)."""
    checks = ["pg_catalog.pg_has_role(%(m)s, %(r)s, 'USAGE')"]
    if conn.info.server_version >= 160000:
        checks.append("pg_catalog.pg_has_role(%(m)s, %(r)s, 'SET')")
    if admin:
        checks.append("pg_catalog.pg_has_role(%(m)s, %(r)s, 'USAGE WITH ADMIN OPTION')")
    return bool(conn.execute(f"SELECT {' AND '.join(checks)}", {"m": member, "r": role}).fetchone()[0])


def _default_role(conn, role: str) -> Optional[str]:
    row = conn.execute(
        "SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
        " WHERE r.rolname = %s AND s.setdatabase = 0", (role,)).fetchone()
    for item in (row[0] if row and row[0] else []):
        if item.startswith("role="):
            return item[len("role="):]
    return None


def _attempt(conn, statement) -> bool:
    """Run `statement` in a savepoint: True if it ran, False if the server refused it for lack of a
    privilege (SQLSTATE 42501), other errors propagate."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute(statement)
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def _options(attrs: tuple[bool, bool, bool], login: bool):
    from psycopg import sql

    createrole, createdb, inherit = attrs
    return sql.SQL(" ").join([sql.SQL("LOGIN" if login else "NOLOGIN"),
                              sql.SQL("CREATEROLE" if createrole else "NOCREATEROLE"),
                              sql.SQL("CREATEDB" if createdb else "NOCREATEDB"),
                              sql.SQL("INHERIT" if inherit else "NOINHERIT")])


def ensure_shared_owner(conn, primary: str, alternate: str, owner: str, *, alternate_password: Optional[str],
                        act_as_owner: bool) -> dict[str, Any]:
    """As the primary (logged in as itself): set up the alternating pair so that it works without any
    role holding ADMIN OPTION on itself (PostgreSQL 16+), and migrate an alternate made the old way.

    - `owner`, a NOLOGIN group role the primary creates (and so administers), with the primary's
      CREATEROLE / CREATEDB / INHERIT attributes and the role memberships the primary can grant;
    - the primary and the alternate are members of it; the alternate is created (with
      `alternate_password`) when missing, with the same attributes and memberships;
    - with `act_as_owner`, sessions of both users start with SET ROLE `owner`, so whatever either
      creates is owned by the group and usable by both; the first time, what the primary owns in this
      database (the database itself included) is reassigned to the group (REASSIGN OWNED).
    With an existing alternate and `alternate_password`, its password is changed too.

    One transaction, caller's: wrap in conn.transaction(). Grants the server refuses for lack of an
    ADMIN option are skipped and reported: {"skipped_memberships": [...], "alternate_settings": bool,
    "created_owner": bool, "created_alternate": bool, "reassigned": bool}."""
    import psycopg
    from psycopg import sql

    report: dict[str, Any] = {"skipped_memberships": [], "alternate_settings": True, "created_owner": False,
                              "created_alternate": False, "reassigned": False}
    try:
        attrs = _attributes(conn, primary)
        if attrs is None:
            raise ChangeRejected(None, "the primary user's role was not found in pg_roles")
        if _attributes(conn, owner) is None:
            conn.execute(sql.SQL("CREATE ROLE {} WITH {}").format(sql.Identifier(owner), _options(attrs, False)))
            report["created_owner"] = True
        if conn.info.server_version >= 160000:
            # The creator already holds ADMIN on it (granted by the bootstrap superuser, which cannot be
            # granted back), but neither INHERIT nor SET.
            if not _uses(conn, primary, owner):
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(primary)))
        elif not _uses(conn, primary, owner, admin=True):
            conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(owner),
                                                                           sql.Identifier(primary)))
        grants = [(role, admin) for role, admin in _memberships(conn, primary) if role not in (owner, alternate)]
        alternate_attrs = _attributes(conn, alternate)
        if alternate_attrs is None:
            if alternate_password is None:
                raise ChangeRejected(None, "the alternate user does not exist")
            conn.execute(sql.SQL("CREATE ROLE {} WITH {} PASSWORD {}").format(
                sql.Identifier(alternate), _options(attrs, True),
                sql.Literal(_verifier(conn, alternate, alternate_password))))
            report["created_alternate"] = True
        for member in (owner, alternate):
            for role, admin in grants:
                if _uses(conn, member, role, admin=admin):
                    continue
                statement = sql.SQL("GRANT {} TO {}{}").format(sql.Identifier(role), sql.Identifier(member),
                                                               sql.SQL(" WITH ADMIN OPTION" if admin else ""))
                if not _attempt(conn, statement) and role not in report["skipped_memberships"]:
                    report["skipped_memberships"].append(role)
        if not _uses(conn, alternate, owner):
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(alternate)))
        if alternate_password is not None and not report["created_alternate"]:
            # Needs CREATEROLE (and, on 16+, ADMIN on the alternate: the primary has it if it created it).
            conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(alternate), sql.Literal(_verifier(conn, alternate, alternate_password))))
        if act_as_owner:
            if _default_role(conn, alternate) != owner:
                report["alternate_settings"] = _attempt(conn, sql.SQL("ALTER ROLE {} SET role TO {}").format(
                    sql.Identifier(alternate), sql.Literal(owner)))
            if _default_role(conn, primary) != owner:
                conn.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(primary),
                                                                            sql.Literal(owner)))
            if report["created_owner"]:
                conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(primary),
                                                                          sql.Identifier(owner)))
                report["reassigned"] = True
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None
    return report


def adopt_shared_owner(conn, user: str, owner: str) -> bool:
    """As `user` itself: start its sessions as `owner` when it is a member and does not yet (its own
    settings need no privilege). True if it changed anything."""
    import psycopg
    from psycopg import sql

    try:
        if _attributes(conn, owner) is None or not _uses(conn, user, owner) or _default_role(conn, user) == owner:
            return False
        conn.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(user), sql.Literal(owner)))
        return True
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
