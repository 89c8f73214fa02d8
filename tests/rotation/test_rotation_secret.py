"""rotation_secret: the pure parts of the handler (secret format, DATABASE_URL, TLS settings)."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest

import rotation_secret as rs

LOGIN = {"engine": "postgres", "host": "db.example", "port": 5432, "username": "app", "password": "p@ss:/?#w rd%",
         "dbname": "app"}


def test_database_url_percent_encodes_user_password_and_dbname():
    url = rs.database_url({**LOGIN, "username": "a@b", "dbname": "my db"})
    assert url == "postgres://a%40b:p%40ss%3A%2F%3F%23w%20rd%25@db.example:5432/my%20db"
    parts = urlsplit(url)
    assert (unquote(parts.username), unquote(parts.password)) == ("a@b", LOGIN["password"])


def test_database_url_defaults_and_ipv6():
    login = {k: v for k, v in LOGIN.items() if k not in ("port", "dbname")}
    assert rs.database_url(login).endswith("@db.example:5432/postgres")
    assert "@[::1]:5432/" in rs.database_url({**LOGIN, "host": "::1"})


@pytest.mark.parametrize("extra, default, expected, ignored", [
    ({}, "verify-full", "verify-full", None),
    ({"sslmode": "verify-full"}, "require", "verify-full", None),   # a secret may strengthen
    ({"ssl": True}, "prefer", "require", None),
    ({"ssl": True}, "verify-full", "verify-full", None),
    ({"ssl": False}, "verify-full", "verify-full", "disable"),      # ... never weaken
    ({"ssl": "false"}, "require", "require", "disable"),
    ({"sslmode": "require"}, "verify-full", "verify-full", "require"),
    ({"sslmode": "verify-full"}, "verify-full", "verify-full", None),   # the same mode: nothing ignored
    ({"sslmode": "prefer"}, "allow", "prefer", None),
    ({"ssl": "true", "sslmode": "disable"}, "verify-ca", "verify-ca", "disable"),
])
def test_effective_sslmode_is_a_floor(extra, default, expected, ignored):
    assert rs.effective_sslmode({**LOGIN, **extra}, default) == expected
    assert rs.ignored_downgrade({**LOGIN, **extra}, default) == ignored


def test_verify_modes_need_a_ca_bundle():
    with pytest.raises(ValueError, match="DB_SSLROOTCERT"):
        rs.connection_params(LOGIN, sslmode="verify-ca", sslrootcert=None, connect_timeout=5)
    params = rs.connection_params(LOGIN, sslmode="verify-full", sslrootcert="/ca.pem", connect_timeout=5)
    assert params["sslrootcert"] == "/ca.pem" and params["sslmode"] == "verify-full"


def test_aurora_is_accepted_and_keys_are_checked():
    assert rs.parse_login(json.dumps({**LOGIN, "engine": "aurora-postgresql"}), "w")["engine"] == "aurora-postgresql"
    with pytest.raises(rs.SecretFormatError, match="missing key\\(s\\) host, password"):
        rs.parse_login(json.dumps({"engine": "postgres", "username": "u"}), "w")
    with pytest.raises(rs.SecretFormatError, match="sslmode"):
        rs.parse_login(json.dumps({**LOGIN, "sslmode": "sometimes"}), "w")
    with pytest.raises(rs.SecretFormatError, match="binary"):
        rs.parse_login(None, "w")


def test_redaction_covers_plain_and_encoded_passwords():
    values = rs.sensitive_values([{**LOGIN, "DATABASE_URL": rs.database_url(LOGIN)}])
    text = f"x {LOGIN['password']} y {rs.database_url(LOGIN)} z p%40ss%3A%2F%3F%23w%20rd%25"
    redacted = rs.redact(text, values)
    assert "p@ss" not in redacted and "p%40ss" not in redacted
