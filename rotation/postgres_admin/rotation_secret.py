"""The PostgreSQL login secret: parsing, validation, DATABASE_URL and redaction.

Standard library only, so that importing the handler stays cheap. Nothing in this module logs, and
no exception raised here carries a secret value in its message.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import quote

ENGINES = frozenset({"postgres", "aurora-postgresql"})
REQUIRED_KEYS = ("engine", "host", "username", "password")
DEFAULT_PORT = 5432
DEFAULT_DBNAME = "postgres"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a truncated user name never logs in.
MAX_IDENTIFIER_BYTES = 63


class SecretFormatError(ValueError):
    """The secret is not a PostgreSQL login this handler can rotate (message names no values)."""


def parse_login(secret_string: Optional[str], where: str) -> dict[str, Any]:
    """Parse and validate a SecretString; `where` names the version for error messages."""
    if not isinstance(secret_string, str):
        raise SecretFormatError(f"{where}: the secret has no SecretString (binary secrets are not supported)")
    try:
        login = json.loads(secret_string)
    except ValueError:
        # The decoder's message is positional only, but leave it out anyway.
        raise SecretFormatError(f"{where}: SecretString is not valid JSON") from None
    if not isinstance(login, dict):
        raise SecretFormatError(f"{where}: SecretString must be a JSON object, got {type(login).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in login]
    if missing:
        raise SecretFormatError(f"{where}: missing key(s) {', '.join(missing)} in the secret JSON")
    if login["engine"] not in ENGINES:
        raise SecretFormatError(
            f"{where}: key 'engine' must be one of {', '.join(sorted(ENGINES))}; this handler rotates "
            "PostgreSQL logins only")
    for key in ("host", "username", "password"):
        if not isinstance(login[key], str) or not login[key]:
            raise SecretFormatError(f"{where}: key '{key}' must be a non-empty string")
    if "\x00" in login["password"] or "\x00" in login["username"]:
        raise SecretFormatError(f"{where}: keys 'username' and 'password' must not contain NUL characters")
    port = login.get("port", DEFAULT_PORT)
    try:
        port_number = int(port)
    except (TypeError, ValueError):
        raise SecretFormatError(f"{where}: key 'port' must be an integer") from None
    if isinstance(port, bool) or not 0 < port_number < 65536:
        raise SecretFormatError(f"{where}: key 'port' must be an integer between 1 and 65535")
    dbname = login.get("dbname", DEFAULT_DBNAME)
    if not isinstance(dbname, str) or not dbname:
        raise SecretFormatError(f"{where}: key 'dbname' must be a non-empty string")
    if "sslmode" in login and login["sslmode"] not in SSL_MODES:
        raise SecretFormatError(f"{where}: key 'sslmode' must be one of {', '.join(SSL_MODES)}")
    if "ssl" in login and not isinstance(login["ssl"], (bool, str)):
        raise SecretFormatError(f"{where}: key 'ssl' must be a boolean")
    if "readerHost" in login and (not isinstance(login["readerHost"], str) or not login["readerHost"]):
        raise SecretFormatError(f"{where}: key 'readerHost' must be a non-empty string")
    if "masterarn" in login and (not isinstance(login["masterarn"], str) or not login["masterarn"].startswith("arn:")):
        raise SecretFormatError(f"{where}: key 'masterarn' must be the ARN of the master user's secret")
    return login


def port_of(login: Mapping[str, Any]) -> int:
    return int(login.get("port", DEFAULT_PORT))


def dbname_of(login: Mapping[str, Any]) -> str:
    return login.get("dbname", DEFAULT_DBNAME)


def check_identifier(name: str, what: str) -> str:
    if not name or len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES or "\x00" in name:
        raise ValueError(f"{what} must be 1 to {MAX_IDENTIFIER_BYTES} bytes long without NUL characters")
    return name


def database_url(login: Mapping[str, Any]) -> str:
    """`postgres://user:pass@host:port/dbname` with user, password and dbname percent-encoded."""
    host = login["host"]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return "postgres://{user}:{password}@{host}:{port}/{dbname}".format(
        user=quote(login["username"], safe=""),
        password=quote(login["password"], safe=""),
        host=host,
        port=port_of(login),
        dbname=quote(dbname_of(login), safe=""),
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# libpq's modes from weakest to strongest. The function's own mode (set by whoever deploys it) is a
# floor: a secret's `sslmode` / `ssl` keys may ask for more, never for less, because anyone who can
# write the secret could otherwise make the function send the admin password to an unverified server.
SSL_STRENGTH = {mode: rank for rank, mode in enumerate(SSL_MODES)}


def requested_sslmode(login: Mapping[str, Any]) -> Optional[str]:
    """What the secret's own keys ask for: `sslmode`, else `ssl` (AWS's templates: false = no TLS,
    true = TLS), else nothing."""
    if "sslmode" in login:
        return login["sslmode"]
    if "ssl" in login:
        return "require" if _truthy(login["ssl"]) else "disable"
    return None


def effective_sslmode(login: Mapping[str, Any], default: str) -> str:
    """The stronger of the function's mode and the one the secret asks for."""
    requested = requested_sslmode(login)
    if requested is None or SSL_STRENGTH[requested] <= SSL_STRENGTH[default]:
        return default
    return requested


def ignored_downgrade(login: Mapping[str, Any], default: str) -> Optional[str]:
    """The weaker mode the secret asks for and does not get (for a warning), or None. `ssl: true` asks
    for TLS, which every mode the function accepts gives: not a downgrade."""
    requested = requested_sslmode(login)
    if "sslmode" not in login and requested == "require":
        return None
    return requested if requested is not None and SSL_STRENGTH[requested] < SSL_STRENGTH[default] else None


def connection_params(login: Mapping[str, Any], *, sslmode: str, sslrootcert: Optional[str],
                      connect_timeout: int) -> dict[str, Any]:
    """Keyword arguments for psycopg.connect (every libpq default that matters is pinned)."""
    mode = effective_sslmode(login, sslmode)
    params: dict[str, Any] = {
        "host": login["host"],
        "port": port_of(login),
        "user": login["username"],
        "password": login["password"],
        "dbname": dbname_of(login),
        "sslmode": mode,
        "connect_timeout": connect_timeout,
        "application_name": "secrets-manager-rotation",
        # No Kerberos probing: these are password logins.
        "gssencmode": "disable",
    }
    if mode in ("verify-ca", "verify-full"):
        if not sslrootcert:
            raise ValueError(f"sslmode {mode} needs DB_SSLROOTCERT (a CA bundle path)")
        params["sslrootcert"] = sslrootcert
    return params


def sensitive_values(logins: Iterable[Optional[Mapping[str, Any]]]) -> list[str]:
    """Strings that must never reach a log line or an exception message, longest first."""
    values: set[str] = set()
    for login in logins:
        if not login:
            continue
        for key, value in login.items():
            if (key == "password" or str(key).endswith("DATABASE_URL")) and isinstance(value, str) and value:
                values.add(value)
        password = login.get("password")
        if isinstance(password, str) and password:
            values.add(quote(password, safe=""))
    return sorted(values, key=len, reverse=True)


def redact(text: str, values: Iterable[str]) -> str:
    for value in values:
        text = text.replace(value, "***")
    return text
