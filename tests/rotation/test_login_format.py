"""rotation_secret at its edges: which secrets the handler accepts as a PostgreSQL login, what it
connects with, and what it redacts (pure)."""

from __future__ import annotations

import json

import pytest

import rotation_secret as rs

LOGIN = {"engine": "postgres", "host": "db.example", "port": 5432, "username": "app", "password": "pw-1234567",
         "dbname": "app"}


def parse(**changes):
    login = {**LOGIN, **changes}
    return rs.parse_login(json.dumps({k: v for k, v in login.items() if v is not ...}), "secret s version V")


@pytest.mark.parametrize("changes", [
    {"port": 1}, {"port": 65535}, {"port": "5432"}, {"port": ...}, {"dbname": ...}, {"ssl": True}, {"ssl": "false"},
    {"sslmode": "disable"}, {"engine": "aurora-postgresql"},
])
def test_accepted_logins(changes):
    login = parse(**changes)
    assert rs.port_of(login) in (1, 65535, 5432)
    assert rs.dbname_of(login) in ("app", "postgres")


@pytest.mark.parametrize("changes, message", [
    ({"port": 0}, "key 'port' must be an integer between 1 and 65535"),
    ({"port": 65536}, "key 'port' must be an integer between 1 and 65535"),
    ({"port": True}, "key 'port' must be an integer between 1 and 65535"),
    ({"port": None}, "key 'port' must be an integer"),
    ({"port": "x"}, "key 'port' must be an integer"),
    ({"dbname": ""}, "key 'dbname' must be a non-empty string"),
    ({"dbname": 5}, "key 'dbname' must be a non-empty string"),
    ({"host": ""}, "key 'host' must be a non-empty string"),
    ({"username": 7}, "key 'username' must be a non-empty string"),
    ({"password": ""}, "key 'password' must be a non-empty string"),
    ({"engine": "mysql"}, "key 'engine' must be one of aurora-postgresql, postgres; this handler rotates PostgreSQL logins only"),
    ({"ssl": 1}, "key 'ssl' must be a boolean"),
    ({"sslmode": "always"}, "key 'sslmode' must be one of disable, allow, prefer, require, verify-ca, verify-full"),
    ({"engine": ...}, "missing key(s) engine in the secret JSON"),
    ({"readerHost": ""}, "key 'readerHost' must be a non-empty string"),
    ({"readerHost": 5}, "key 'readerHost' must be a non-empty string"),
    ({"masterarn": 5}, "key 'masterarn' must be the ARN of the master user's secret"),
    ({"masterarn": "admin-secret"}, "key 'masterarn' must be the ARN of the master user's secret"),
])
def test_refused_logins_name_the_key_and_the_version(changes, message):
    with pytest.raises(rs.SecretFormatError) as error:
        parse(**changes)
    assert str(error.value) == f"secret s version V: {message}"


def test_not_an_object_or_not_json():
    with pytest.raises(rs.SecretFormatError, match="^w: SecretString must be a JSON object, got list$"):
        rs.parse_login("[1]", "w")
    with pytest.raises(rs.SecretFormatError, match="^w: SecretString is not valid JSON$"):
        rs.parse_login("{", "w")


@pytest.mark.parametrize("ssl, default, expected", [
    # A secret asking for less TLS than the function does not get it (issue 20: no downgrade).
    ("false", "require", "require"), ("0", "verify-full", "verify-full"), ("no", "require", "require"),
    ("yes", "require", "require"), ("on", "disable", "require"), ("1", "verify-ca", "verify-ca"),
    (True, "allow", "require"), (" TRUE ", "prefer", "require"),
])
def test_the_ssl_key(ssl, default, expected):
    assert rs.effective_sslmode({**LOGIN, "ssl": ssl}, default) == expected
    # The refused downgrade is reported (the handler logs it as a warning), never applied; a true
    # `ssl` (AWS's templates: any of 1/true/yes/on) asks for TLS, which no mode here lacks.
    if str(ssl).strip().lower() in ("false", "0", "no"):
        assert rs.ignored_downgrade({**LOGIN, "ssl": ssl}, default) == "disable"
    else:
        assert rs.requested_sslmode({**LOGIN, "ssl": ssl}) == "require"
        assert rs.ignored_downgrade({**LOGIN, "ssl": ssl}, default) is None


def test_connection_parameters_pin_what_matters():
    params = rs.connection_params({**LOGIN, "port": "6543"}, sslmode="require", sslrootcert="/ignored",
                                  connect_timeout=7)
    assert params == {"host": "db.example", "port": 6543, "user": "app", "password": "pw-1234567", "dbname": "app",
                      "sslmode": "require", "connect_timeout": 7, "application_name": "secrets-manager-rotation",
                      "gssencmode": "disable"}
    ca = rs.connection_params(LOGIN, sslmode="verify-ca", sslrootcert="/ca.pem", connect_timeout=5)
    assert ca["sslrootcert"] == "/ca.pem" and ca["sslmode"] == "verify-ca"


def test_sensitive_values_longest_first_and_skip_empty():
    logins = [None, {}, {"password": "a/b c", "DATABASE_URL": "postgres://u:a%2Fb%20c@h:1/d"}, {"password": ""},
              {"password": 5}]
    values = rs.sensitive_values(logins)
    assert values == sorted({"a/b c", "a%2Fb%20c", "postgres://u:a%2Fb%20c@h:1/d"}, key=len, reverse=True)
    assert rs.redact("x postgres://u:a%2Fb%20c@h:1/d y a/b c", values) == "x *** y ***"


def test_identifiers_are_checked_in_bytes():
    assert rs.check_identifier("a" * 63, "USER") == "a" * 63
    for bad in ("", "a" * 64, "a\x00b"):
        with pytest.raises(ValueError, match="^USER must be 1 to 63 bytes long without NUL characters$"):
            rs.check_identifier(bad, "USER")


def test_database_url_encodes_slashes_in_user_password_and_dbname():
    url = rs.database_url({"host": "h", "username": "u/1", "password": "p/2", "dbname": "d/3"})
    assert url == "postgres://u%2F1:p%2F2@h:5432/d%2F3"


def test_database_url_uses_the_defaults_and_brackets_ipv6_once():
    assert rs.database_url({"host": "[::1]", "username": "u", "password": "p"}) == "postgres://u:p@[::1]:5432/postgres"
    assert rs.database_url({"host": "h", "username": "u", "password": "p", "port": "6543", "dbname": "d b"}) == \
        "postgres://u:p@h:6543/d%20b"
