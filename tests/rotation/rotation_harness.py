"""Test-side helpers shared by the rotation tests and bench/rotation.py: an RDS-like database in the
throwaway cluster, and Secrets Manager's part of a rotation (no pytest here)."""

from __future__ import annotations

import itertools
import json
import secrets
from typing import Any, Optional

import servers

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
_names = itertools.count(1)


class Database:
    """An RDS-like database: `admin` is LOGIN CREATEROLE CREATEDB, a member of rds_superuser WITH ADMIN
    OPTION (not a superuser; RDS's documented master user), and owns `dbname`."""

    def __init__(self, pg: servers.PgCluster, admin: str, password: str, dbname: str):
        self.pg = pg
        self.admin = admin
        self.password = password
        self.dbname = dbname

    def superuser(self, dbname: Optional[str] = None):
        return self.pg.superuser_conn(dbname or self.dbname)

    def can_login(self, user: str, password: str) -> bool:
        return self.pg.can_login(user, password, self.dbname)

    def connect(self, user: str, password: str):
        import psycopg

        return psycopg.connect(**self.pg.tcp_params(user, password, self.dbname), autocommit=True)

    def login_secret(self, **overrides: Any) -> dict[str, Any]:
        from urllib.parse import quote

        value = {"engine": "postgres", "host": self.pg.host, "port": self.pg.port, "username": self.admin,
                 "password": self.password, "dbname": self.dbname}
        value.update(overrides)
        value["DATABASE_URL"] = (f"postgres://{quote(value['username'], safe='')}:"
                                 f"{quote(value['password'], safe='')}@{value['host']}:{value['port']}/"
                                 f"{value['dbname']}")
        return value


def make_database(pg: servers.PgCluster, admin: Optional[str] = None) -> Database:
    from psycopg import sql

    n = next(_names)
    admin = admin or f"admin{n}"
    dbname = f"app{n}"
    password = "initial-" + secrets.token_urlsafe(12)
    with pg.superuser_conn() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
            sql.Identifier(admin), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT rds_superuser TO {} WITH ADMIN OPTION").format(sql.Identifier(admin)))
        # FILE_COPY (15+) skips the WAL-logged copy of the template: faster with fsync off.
        strategy = sql.SQL(" STRATEGY FILE_COPY" if pg.major >= 15 else "")
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}{}").format(
            sql.Identifier(dbname), sql.Identifier(admin), strategy))
    return Database(pg, admin, password, dbname)


def drop_database(db: Database) -> None:
    from psycopg import sql

    with db.pg.superuser_conn() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.dbname)))
        wanted = [db.admin + "_alt", db.admin + "_owner", db.admin]  # members before the roles they were granted
        present = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (wanted,))}
        for role in [name for name in wanted if name in present]:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))



class SecretsManagerSide:
    """Plays Secrets Manager's part of a rotation against moto: RotateSecret's placeholder version,
    one handler invocation per step, and the AWSPENDING clean-up after finishSecret."""

    def __init__(self, handler, client, secret_id: str, emulator=servers):
        self.handler = handler
        self.client = client
        self.secret_id = secret_id
        self.emulator = emulator  # where RotateSecret's bookkeeping runs: this process, or a MotoProcess
        # Secrets Manager names the secret by its full ARN in every rotation event.
        self.arn = client.describe_secret(SecretId=secret_id)["ARN"]

    def begin(self, token: Optional[str] = None) -> str:
        return self.emulator.begin_rotation(self.secret_id, token)

    def step(self, step: str, token: str) -> None:
        self.handler.lambda_handler({"Step": step, "SecretId": self.arn, "ClientRequestToken": token}, None)

    def run(self, token: str, steps=STEPS) -> None:
        for step in steps:
            self.step(step, token)

    def end(self, token: str) -> None:
        servers.end_rotation(self.client, self.secret_id, token)

    def rotate(self) -> str:
        token = self.begin()
        self.run(token)
        self.end(token)
        return token

    def value(self, stage: str = "AWSCURRENT", version_id: Optional[str] = None) -> dict[str, Any]:
        kwargs = {"SecretId": self.secret_id, "VersionStage": stage}
        if version_id:
            kwargs["VersionId"] = version_id
        return json.loads(self.client.get_secret_value(**kwargs)["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        return self.client.describe_secret(SecretId=self.secret_id)["VersionIdsToStages"]
