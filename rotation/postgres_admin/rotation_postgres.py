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


class RoleFacts:
    """What the pair setup needs to know about a few roles, read in one query: attributes, per-role
    default settings, and direct memberships with their options (ADMIN, INHERIT, SET; merged over
    grantors). Up to 15 a membership always allows INHERIT (as the member's attribute says) and SET."""

    def __init__(self, conn, names: list[str]):
        self.modern = conn.info.server_version >= 160000
        options = "m.inherit_option, 'set', m.set_option" if self.modern else "true, 'set', true"
        roles, members = conn.execute(
            "SELECT (SELECT coalesce(json_agg(json_build_object("
            "  'name', r.rolname, 'attrs', json_build_array(r.rolcreaterole, r.rolcreatedb, r.rolinherit),"
            "  'config', (SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s"
            "             WHERE s.setrole = r.oid AND s.setdatabase = 0))), '[]')"
            "  FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%(names)s)),"
            " (SELECT coalesce(json_agg(json_build_object("
            f"  'member', u.rolname, 'role', g.rolname, 'admin', m.admin_option, 'inherit', {options})), '[]')"
            "  FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles u ON u.oid = m.member"
            "  JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE u.rolname = ANY(%(names)s))",
            {"names": names}).fetchone()
        self.attrs: dict[str, tuple[bool, bool, bool]] = {r["name"]: tuple(r["attrs"]) for r in roles}
        self.defaults: dict[str, Optional[str]] = {}
        for r in roles:
            config = r["config"] or []
            self.defaults[r["name"]] = next((c[len("role="):] for c in config if c.startswith("role=")), None)
        self.members: dict[str, dict[str, tuple[bool, bool, bool]]] = {}
        for m in members:
            held = self.members.setdefault(m["member"], {}).get(m["role"], (False, False, False))
            self.members[m["member"]][m["role"]] = (held[0] or bool(m["admin"]), held[1] or bool(m["inherit"]),
                                                    held[2] or bool(m["set"]))

    def memberships(self, member: str) -> list[tuple[str, tuple[bool, bool, bool]]]:
        """(role, (admin, inherit, set)) of each role `member` is directly a member of."""
        return sorted(self.members.get(member, {}).items())

    def holds(self, member: str, role: str, wanted: tuple[bool, bool, bool]) -> bool:
        """`member` holds `role` with at least the options `wanted` has."""
        held = self.members.get(member, {}).get(role)
        return held is not None and all(h or not w for h, w in zip(held, wanted))

    def uses(self, member: str, role: str, admin: bool = False) -> bool:
        return self.holds(member, role, (admin, True, True))

    def grant(self, role: str, member: str, options: tuple[bool, bool, bool]):
        """GRANT `role` TO `member` with the same options (16+: ADMIN/INHERIT/SET each; up to 15 only
        ADMIN exists, the rest follows the member's INHERIT attribute)."""
        from psycopg import sql

        admin, inherit, set_ = options
        if self.modern:
            suffix = sql.SQL(" WITH ADMIN {}, INHERIT {}, SET {}").format(
                *(sql.SQL("TRUE" if flag else "FALSE") for flag in options))
        else:
            suffix = sql.SQL(" WITH ADMIN OPTION" if admin else "")
        return sql.SQL("GRANT {} TO {}{}").format(sql.Identifier(role), sql.Identifier(member), suffix)


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


def _start_as(user: str, owner: str):
    """The statement that makes every new session of `user` start as `owner` (SET ROLE)."""
    from psycopg import sql

    return sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(user), sql.Literal(owner))


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
        facts = RoleFacts(conn, [primary, alternate, owner])
        attrs = facts.attrs.get(primary)
        if attrs is None:
            raise ChangeRejected(None, "the primary user's role was not found in pg_roles")
        if owner not in facts.attrs:
            conn.execute(sql.SQL("CREATE ROLE {} WITH {}").format(sql.Identifier(owner), _options(attrs, False)))
            report["created_owner"] = True
        if facts.modern:
            # The creator already holds ADMIN on it (granted by the bootstrap superuser, which cannot be
            # granted back), but neither INHERIT nor SET.
            if not facts.uses(primary, owner):
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(primary)))
        elif not facts.uses(primary, owner, admin=True):
            conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(owner),
                                                                           sql.Identifier(primary)))
        # The primary's memberships, copied with their options: on 16+ that includes ADMIN-only grants
        # on the roles it created, which must not become INHERIT/SET memberships of the copies.
        grants = [(role, options) for role, options in facts.memberships(primary) if role not in (owner, alternate)]
        if alternate not in facts.attrs:
            if alternate_password is None:
                raise ChangeRejected(None, "the alternate user does not exist")
            conn.execute(sql.SQL("CREATE ROLE {} WITH {} PASSWORD {}").format(
                sql.Identifier(alternate), _options(attrs, True),
                sql.Literal(_verifier(conn, alternate, alternate_password))))
            report["created_alternate"] = True
        for member in (owner, alternate):
            for role, options in grants:
                if facts.holds(member, role, options):
                    continue
                if not _attempt(conn, facts.grant(role, member, options)) and role not in report["skipped_memberships"]:
                    report["skipped_memberships"].append(role)
        if not facts.uses(alternate, owner):
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(alternate)))
        if alternate_password is not None and not report["created_alternate"]:
            # Needs CREATEROLE (and, on 16+, ADMIN on the alternate: the primary has it if it created it).
            conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(alternate), sql.Literal(_verifier(conn, alternate, alternate_password))))
        if act_as_owner:
            if facts.defaults.get(alternate) != owner:
                report["alternate_settings"] = _attempt(conn, _start_as(alternate, owner))
            if facts.defaults.get(primary) != owner:
                conn.execute(_start_as(primary, owner))
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

    try:
        facts = RoleFacts(conn, [user, owner])
        if owner not in facts.attrs or not facts.uses(user, owner) or facts.defaults.get(user) == owner:
            return False
        conn.execute(_start_as(user, owner))
        return True
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def grant_statement(template: str, user: str):
    """A GRANT template from the deployer's config with every `%s` replaced by `user` quoted as an
    identifier (psycopg.sql composition, no string formatting). The rest of the template is trusted
    SQL, as thoughtbot's `grants`."""
    from psycopg import sql

    parts = template.split("%s")
    if len(parts) < 2:
        raise ValueError("a grant template must contain %s where the user name goes")
    pieces: list = [sql.SQL(parts[0])]
    for part in parts[1:]:
        pieces += [sql.Identifier(user), sql.SQL(part)]
    return sql.Composed(pieces)


def ensure_login(conn, user: str, password: str, grants: list[str], also_grant: list[str]) -> bool:
    """As the master user: create `user` (LOGIN, no attributes) with `password`, or change its password,
    then run every grant template for it and for the existing roles in `also_grant` (the other user of
    the pair, so a grant added to the config reaches both). One transaction. True if it created the role."""
    import psycopg
    from psycopg import sql

    try:
        with conn.transaction():
            existing = {row[0] for row in conn.execute(
                "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)", ([user, *also_grant],))}
            verifier = sql.Literal(_verifier(conn, user, password))
            created = user not in existing
            if created:
                conn.execute(sql.SQL("CREATE ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
                                     "PASSWORD {}").format(sql.Identifier(user), verifier))
            else:
                conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(user), verifier))
            for member in [user, *(other for other in also_grant if other in existing and other != user)]:
                for template in grants:
                    conn.execute(grant_statement(template, member))
        return created
    except psycopg.Error as exc:
        raise ChangeRejected(getattr(exc, "sqlstate", None), _message(exc)) from None


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
