"""The rotation function's settings (its environment, as the component sets it) and the user pair of
the alternating strategy: pure parts of the handler, no database or Secrets Manager needed."""

from __future__ import annotations

import pytest

import lambda_function as lf

ENV = ("ROTATION_STRATEGY", "PRIMARY_USERNAME", "ALTERNATE_USERNAME", "OWNER_ROLE", "ALTERNATE_SET_ROLE",
       "DB_SSLMODE", "DB_SSLROOTCERT", "DB_CONNECT_TIMEOUT", "PASSWORD_LENGTH", "EXCLUDE_CHARACTERS",
       "EXCLUDE_NUMBERS", "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE", "EXCLUDE_LOWERCASE", "INCLUDE_SPACE",
       "REQUIRE_EACH_INCLUDED_TYPE")


@pytest.fixture
def env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(env):
    settings = lf.Settings.from_env()
    assert (settings.strategy, settings.primary, settings.alternate, settings.owner_role) == \
        ("single-user", None, None, None)
    # Verified TLS against the RDS CA bundle shipped beside the handler (issue 20).
    assert (settings.sslmode, settings.sslrootcert, settings.connect_timeout, settings.alternate_set_role) == \
        ("verify-full", lf.DEFAULT_CA_BUNDLE, 5, True)
    assert settings.password_args == {
        "PasswordLength": 32, "ExcludeNumbers": False, "ExcludePunctuation": False, "ExcludeUppercase": False,
        "ExcludeLowercase": False, "IncludeSpace": False, "RequireEachIncludedType": True,
        "ExcludeCharacters": ":/@\"'\\"}


def test_every_variable_reaches_the_settings(env, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")   # the handler checks the file is there
    values = {"ROTATION_STRATEGY": " alternating-users ", "PRIMARY_USERNAME": " app ", "ALTERNATE_USERNAME": "app2",
              "OWNER_ROLE": "app_group", "ALTERNATE_SET_ROLE": "off", "DB_SSLMODE": "verify-full",
              "DB_SSLROOTCERT": str(ca), "DB_CONNECT_TIMEOUT": "300", "PASSWORD_LENGTH": "4096",
              "EXCLUDE_CHARACTERS": "xyz", "EXCLUDE_NUMBERS": "TRUE", "EXCLUDE_PUNCTUATION": "yes",
              "EXCLUDE_UPPERCASE": "1", "EXCLUDE_LOWERCASE": " On ", "INCLUDE_SPACE": "true",
              "REQUIRE_EACH_INCLUDED_TYPE": "no"}
    for name, value in values.items():
        env.setenv(name, value)
    settings = lf.Settings.from_env()
    assert (settings.strategy, settings.primary, settings.alternate, settings.owner_role) == \
        ("alternating-users", "app", "app2", "app_group")
    assert (settings.sslmode, settings.sslrootcert, settings.connect_timeout, settings.alternate_set_role) == \
        ("verify-full", str(ca), 300, False)
    assert settings.password_args == {
        "PasswordLength": 4096, "ExcludeNumbers": True, "ExcludePunctuation": True, "ExcludeUppercase": True,
        "ExcludeLowercase": True, "IncludeSpace": True, "RequireEachIncludedType": False, "ExcludeCharacters": "xyz"}


def test_an_empty_exclude_list_excludes_nothing_and_blank_values_mean_default(env):
    env.setenv("EXCLUDE_CHARACTERS", "")
    env.setenv("PASSWORD_LENGTH", " ")
    env.setenv("EXCLUDE_NUMBERS", "")
    settings = lf.Settings.from_env()
    assert "ExcludeCharacters" not in settings.password_args
    assert settings.password_args["PasswordLength"] == 32 and settings.password_args["ExcludeNumbers"] is False


@pytest.mark.parametrize("name, value, message", [
    ("ROTATION_STRATEGY", "triple-users", "ROTATION_STRATEGY must be one of single-user, alternating-users"),
    ("DB_SSLMODE", "sometimes", "DB_SSLMODE must be one of verify-full, verify-ca, require"),
    ("DB_SSLMODE", "disable", "DB_SSLMODE must be one of verify-full, verify-ca, require"),   # no clear-text mode
    ("PASSWORD_LENGTH", "7", "environment variable PASSWORD_LENGTH must be between 8 and 4096"),
    ("PASSWORD_LENGTH", "4097", "environment variable PASSWORD_LENGTH must be between 8 and 4096"),
    ("PASSWORD_LENGTH", "3x", "environment variable PASSWORD_LENGTH must be an integer"),
    ("DB_CONNECT_TIMEOUT", "0", "environment variable DB_CONNECT_TIMEOUT must be between 1 and 300"),
    ("DB_CONNECT_TIMEOUT", "301", "environment variable DB_CONNECT_TIMEOUT must be between 1 and 300"),
    ("EXCLUDE_NUMBERS", "maybe", "environment variable EXCLUDE_NUMBERS must be true or false"),
    ("ALTERNATE_SET_ROLE", "2", "environment variable ALTERNATE_SET_ROLE must be true or false"),
    ("GRANTS", '["GRANT SELECT ON t TO %s", "GRANT USAGE ON SCHEMA s"]',
     "GRANTS[2] must contain %s where the user name goes"),   # numbered from 1, as people count
])
def test_bad_settings_are_named(env, name, value, message):
    env.setenv(name, value)
    with pytest.raises(ValueError) as error:
        lf.Settings.from_env()
    assert str(error.value) == message


@pytest.mark.parametrize("name, low, high", [("PASSWORD_LENGTH", 8, 4096), ("DB_CONNECT_TIMEOUT", 1, 300)])
def test_integer_settings_take_their_bounds(env, name, low, high):
    key = {"PASSWORD_LENGTH": lambda s: s.password_args["PasswordLength"],
           "DB_CONNECT_TIMEOUT": lambda s: s.connect_timeout}[name]
    for value in (low, high):
        env.setenv(name, str(value))
        assert key(lf.Settings.from_env()) == value


def settings(**kw):
    base = dict(strategy="alternating-users", primary=None, alternate=None, alternate_set_role=True,
                sslmode="require", sslrootcert=None, connect_timeout=5, password_args={})
    base.update(kw)
    return lf.Settings(**base)


@pytest.mark.parametrize("kw, current, pair", [
    ({}, "app", ("app", "app_alt")),
    ({}, "app_alt", ("app", "app_alt")),
    ({}, "_alt", ("_alt", "_alt_alt")),              # too short to be an alternate itself
    ({}, "a_alt", ("a", "a_alt")),                   # the shortest that is one
    ({"primary": "app"}, "app_alt", ("app", "app_alt")),
    ({"primary": "app", "alternate": "app2"}, "app2", ("app", "app2")),
    ({"alternate": "other"}, "app", ("app", "other")),
])
def test_the_user_pair(kw, current, pair):
    assert settings(**kw).user_pair(current) == pair
    s = settings(**kw)
    assert s.next_username(current) == (pair[1] if current == pair[0] else pair[0])


@pytest.mark.parametrize("kw, current, message", [
    ({"alternate": "app2"}, "app2", "PRIMARY_USERNAME must be set when the secret holds ALTERNATE_USERNAME"),
    ({"primary": "app", "alternate": "app"}, "app", "PRIMARY_USERNAME and ALTERNATE_USERNAME must differ"),
    ({"primary": "app"}, "someone", "the secret's username is neither PRIMARY_USERNAME nor ALTERNATE_USERNAME"),
    ({"primary": "a" * 64}, "a" * 64, "PRIMARY_USERNAME must be 1 to 63 bytes long without NUL characters"),
    ({}, "a" * 60, "ALTERNATE_USERNAME must be 1 to 63 bytes long without NUL characters"),
])
def test_user_pair_mistakes(kw, current, message):
    with pytest.raises(ValueError) as error:
        settings(**kw).user_pair(current)
    assert str(error.value) == message


def test_single_user_keeps_the_username_and_owner_names():
    assert settings(strategy="single-user").next_username("anyone") == "anyone"
    assert settings().owner_for("app") == "app_owner"
    assert settings(owner_role="shared").owner_for("app") == "shared"
    assert lf.check_identifier("a" * 63, "X") == "a" * 63
    with pytest.raises(ValueError, match="OWNER_ROLE must be 1 to 63 bytes"):
        settings().owner_for("a" * 58)
    with pytest.raises(ValueError, match="X must be 1 to 63 bytes"):
        lf.check_identifier("é" * 32, "X")   # 64 bytes in UTF-8


@pytest.mark.parametrize("value, level", [(None, "INFO"), (" debug ", "DEBUG"), ("WARNING", "WARNING"),
                                          ("error", "ERROR"), ("critical", "CRITICAL"), ("verbose", "INFO")])
def test_log_level_is_read_once_at_import(value, level):
    """LOG_LEVEL is read when Lambda imports the handler (a fresh interpreter here); anything else
    than a logging level falls back to INFO."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    if value is not None:
        env["LOG_LEVEL"] = value
    handler_dir = Path(lf.__file__).resolve().parent
    out = subprocess.run([sys.executable, "-c", "import logging, lambda_function as lf; "
                          "print(logging.getLevelName(lf.logger.level))"], cwd=handler_dir, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == level


def test_a_warm_environment_keeps_the_last_eight_version_values_only():
    """The cache of version values (they never change) is bounded: a container that rotates many
    secrets keeps the eight most recently used, the oldest leave first."""
    saved = dict(lf._VERSION_CACHE)
    lf._VERSION_CACHE.clear()
    try:
        for n in range(9):
            lf._remember("arn", f"v{n}", f"value-{n}")
        assert lf._cached("arn", "v0") is None
        assert [lf._cached("arn", f"v{n}") for n in range(1, 9)] == [f"value-{n}" for n in range(1, 9)]
        lf._cached("arn", "v1")   # used again: now the newest
        lf._remember("arn", "v9", "value-9")
        assert lf._cached("arn", "v1") == "value-1" and lf._cached("arn", "v2") is None
    finally:
        lf._VERSION_CACHE.clear()
        lf._VERSION_CACHE.update(saved)
