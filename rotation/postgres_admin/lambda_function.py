"""Secrets Manager rotation function for a PostgreSQL login (RDS master user or any CREATEROLE login).

The secret is JSON: {"engine", "host", "port", "username", "password", "dbname"} (+ optional
"sslmode"/"ssl"); every rotation also writes DATABASE_URL (postgres://user:pass@host:port/dbname,
user/password/dbname percent-encoded). Entry point: lambda_function.lambda_handler.

Environment (all optional):
  SECRETS_MANAGER_ENDPOINT   Secrets Manager endpoint URL (default: the SDK's regional endpoint)
  ROTATION_STRATEGY          single-user (default) | alternating-users
  PRIMARY_USERNAME           alternating-users: the primary user (default: the secret's username,
                             minus a trailing "_alt" when ALTERNATE_USERNAME is unset)
  ALTERNATE_USERNAME         alternating-users: the alternate user (default: <primary>_alt)
  OWNER_ROLE                 alternating-users: the shared owner group role (default
                             <primary>_owner), created and administered by the primary
  ALTERNATE_SET_ROLE         alternating-users: sessions of both users start with SET ROLE
                             <OWNER_ROLE>, so both users own the same objects (default true)
  DB_SSLMODE                 verify-full (default) | verify-ca | require; a floor: the secret's
                             "sslmode" / "ssl" keys may only strengthen it
  DB_SSLROOTCERT             CA bundle path (default: rds-ca-bundle.pem shipped beside this file,
                             AWS's RDS root CAs; a relative path is relative to this folder)
  DB_CONNECT_TIMEOUT         seconds (default 5)
  MASTER_SECRET_ARN          multi-user logins: the only master secret the function may use; a
                             secret whose "masterarn" differs is refused
  GRANTS                     multi-user logins: JSON list of GRANT templates, "%s" = the user (quoted
                             as an identifier), run by the master for both users of the pair
  URL_KEY                    the key the connection URL is written to (default DATABASE_URL;
                             REPLICA_DATABASE_URL for a replica login)
  PASSWORD_LENGTH            default 32
  EXCLUDE_CHARACTERS         default :/@"'\\  (set to "" to exclude nothing; values are percent-
                             encoded in DATABASE_URL either way)
  EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE, INCLUDE_SPACE
                             booleans, default false
  REQUIRE_EACH_INCLUDED_TYPE boolean, default true
  LOG_LEVEL                  default INFO

Steps follow the AWS protocol; each is idempotent for a given ClientRequestToken, and Secrets
Manager may re-run the whole sequence after a failure. No secret value is ever logged or put into
an exception message.

  createSecret  copy AWSCURRENT, new password (GetRandomPassword), next username for the strategy,
                recompute DATABASE_URL, put it as AWSPENDING (no-op if that version has a value).
  setSecret     multi-user (the secret has "masterarn", AWS's multi-user shape): the master user
                (that secret's AWSCURRENT, on its own host) creates the pending user or changes its
                password and runs the GRANT templates for both users; the master password only
                ever goes to the master secret's host.
                single-user: log in as AWSCURRENT (else: is AWSPENDING already set? else
                AWSPREVIOUS) and ALTER ROLE the same user. alternating-users: AWSPENDING already
                logs in? else the primary sets up the pair (shared owner group role, the alternate
                with the primary's attributes and memberships; see rotation_postgres.
                ensure_shared_owner) and changes the pending user's password: the primary as
                AWSCURRENT changes the alternate's; towards the primary, the primary logs in with
                AWSPREVIOUS and changes its own (since PostgreSQL 16 the alternate holds no ADMIN
                option on the primary, and no role holds it on itself). Each falls back to the
                other login when refused. Passwords are sent hashed (SCRAM verifier computed
                client-side), so server logs never see them.
  testSecret    log in as AWSPENDING and SELECT 1.
  finishSecret  move AWSCURRENT to the token's version.

Every step starts with the protocol's guard (describe_secret: rotation enabled, token known, token
AWSPENDING or already AWSCURRENT). To keep that round trip off the critical path, it runs on a worker
thread while the step prepares what is read-only: createSecret checks whether the token's version
already has a value, testSecret logs in as AWSPENDING, single-user setSecret logs in as the version
that was AWSCURRENT at the previous step. Nothing is written to Secrets Manager or the database
before the guard has passed, and a preparation is used only if the guard's answer confirms it
(same AWSCURRENT version); otherwise the step does the work itself. Only events that name the
secret by ARN (as Secrets Manager's do) are prepared for. The cost: a step the guard then stops
may already have logged in, and if AWSCURRENT moved between two steps, setSecret's prepared login
with the superseded password fails once (an authentication failure in the database log).
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from typing import Any, Optional

import rotation_postgres as pg
from rotation_secret import (
    check_identifier,
    connection_params,
    database_url,
    ignored_downgrade,
    parse_login,
    redact,
    sensitive_values,
)

logger = logging.getLogger("rotation.postgres_admin")
_level = (os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
logger.setLevel(_level if _level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO")

STRATEGIES = ("single-user", "alternating-users")
DEFAULT_EXCLUDE_CHARACTERS = ":/@\"'\\"
CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
HERE = os.path.dirname(os.path.abspath(__file__))
# AWS's RDS root CAs (scripts/rds-ca-bundle): Lambda's base images lack the newer ones.
DEFAULT_CA_BUNDLE = os.path.join(HERE, "rds-ca-bundle.pem")
# Modes that never send a password without TLS; verify-full also checks the host name.
FUNCTION_SSL_MODES = ("verify-full", "verify-ca", "require")

_clients: dict[tuple[Optional[str], Optional[str]], Any] = {}

# A secret version's value never changes once written, so a warm execution environment keeps the
# few it has read or written (by secret ARN and version id) and later steps skip re-reading them.
# Stages are always resolved from the step's own describe_secret call, never from this cache.
_VERSION_CACHE: "OrderedDict[tuple[str, str], str]" = OrderedDict()
_VERSION_CACHE_SIZE = 8
# The version that held AWSCURRENT at the last describe_secret of each secret (by ARN), in this
# environment. Only a guess of what to prepare while a step's own describe_secret is in flight;
# the step checks it against that call before using anything prepared from it.
_LAST_CURRENT: dict[str, Optional[str]] = {}


def _cached(arn: str, version_id: Optional[str]) -> Optional[str]:
    if version_id is None:
        return None
    value = _VERSION_CACHE.get((arn, version_id))
    if value is not None:
        _VERSION_CACHE.move_to_end((arn, version_id))
    return value


def _remember(arn: str, version_id: str, secret_string: str) -> None:
    _VERSION_CACHE[(arn, version_id)] = secret_string
    _VERSION_CACHE.move_to_end((arn, version_id))
    while len(_VERSION_CACHE) > _VERSION_CACHE_SIZE:
        _VERSION_CACHE.popitem(last=False)


# --------------------------------------------------------------------------- entry point

def lambda_handler(event: dict, context: Any = None) -> None:
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]
    settings = Settings.from_env()
    client = secrets_client()

    # The guard call runs while this step prepares what only needs reading (see Rotation.prepare);
    # nothing is written before the guard has passed.
    guard = _in_background(client.describe_secret, SecretId=arn)
    rotation = Rotation(client, arn, token, settings)
    prepared = Prepared()
    try:
        # Secrets Manager names the secret by its full ARN, which no other secret can ever have, so
        # values cached under it are safe to use before the guard answers. A name (a manual
        # invocation) could belong to a re-created secret by now: then nothing is prepared.
        if arn.startswith("arn:"):
            prepared = rotation.prepare(step)
        metadata = guard.result()
        cache_key = metadata.get("ARN") or arn
        versions = metadata.get("VersionIdsToStages") or {}
        _LAST_CURRENT[cache_key] = next((vid for vid, stages in versions.items() if CURRENT in stages), None)
        # As AWS's own templates: only an explicit RotationEnabled=false stops the step. The key is
        # absent while rotation is being configured (e.g. the testSecret-only invocation of
        # RotateSecret with RotateImmediately=false).
        if metadata.get("RotationEnabled") is False:
            logger.error("Secret %s is not enabled for rotation", arn)
            raise ValueError(f"Secret {arn} is not enabled for rotation")
        if token not in versions:
            logger.error("Secret version %s has no stage for rotation of secret %s", token, arn)
            raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}")
        if CURRENT in versions[token]:
            logger.info("%s: version %s is already AWSCURRENT for secret %s; nothing to do", step, token, arn)
            return
        if PENDING not in versions[token]:
            logger.error("Secret version %s is not AWSPENDING for rotation of secret %s", token, arn)
            raise ValueError(f"Secret version {token} is not set as AWSPENDING for rotation of secret {arn}")

        rotation.start(versions, cache_key, prepared)
        if step == "createSecret":
            rotation.create_secret()
        elif step == "setSecret":
            rotation.set_secret()
        elif step == "testSecret":
            rotation.test_secret()
        elif step == "finishSecret":
            rotation.finish_secret(versions)
        else:
            logger.error("Invalid step parameter %s for secret %s", step, arn)
            raise ValueError(f"Invalid step parameter {step!r} for secret {arn}")
    finally:
        prepared.discard()  # a prepared connection the step did not use (no-op once taken)


_executor = None


def _in_background(fn, **kwargs):
    """Run fn(**kwargs) on the environment's one worker thread; returns a Future. The call runs in
    a copy of the caller's context, so context-bound tracing (X-Ray segments) still sees it."""
    global _executor
    import contextvars

    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor  # only once the first step runs

        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rotation-guard")
    return _executor.submit(contextvars.copy_context().run, fn, **kwargs)


def secrets_client():
    """One client per endpoint and region for the life of the execution environment."""
    endpoint = os.environ.get("SECRETS_MANAGER_ENDPOINT") or None
    key = (endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    client = _clients.get(key)
    if client is None:
        import boto3  # ~0.2 s: keep it out of the cold import

        client = _clients[key] = boto3.client("secretsmanager", endpoint_url=endpoint)
    return client


# --------------------------------------------------------------------------- settings

def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name} must be true or false")


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer") from None
    if not low <= value <= high:
        raise ValueError(f"environment variable {name} must be between {low} and {high}")
    return value


def _env_json_list(name: str) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"environment variable {name} must be a JSON list of strings")
    return value


class Settings:
    def __init__(self, *, strategy: str, primary: Optional[str], alternate: Optional[str],
                 alternate_set_role: bool, sslmode: str, sslrootcert: Optional[str], connect_timeout: int,
                 password_args: dict[str, Any], owner_role: Optional[str] = None,
                 master_arn: Optional[str] = None, grants: Optional[list[str]] = None,
                 url_key: str = "DATABASE_URL"):
        self.strategy = strategy
        self.primary = primary
        self.alternate = alternate
        self.owner_role = owner_role
        self.alternate_set_role = alternate_set_role
        self.sslmode = sslmode
        self.sslrootcert = sslrootcert
        self.connect_timeout = connect_timeout
        self.password_args = password_args
        self.master_arn = master_arn
        self.grants = list(grants or [])
        self.url_key = url_key

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        strategy = (env.get("ROTATION_STRATEGY") or "single-user").strip()
        if strategy not in STRATEGIES:
            raise ValueError(f"ROTATION_STRATEGY must be one of {', '.join(STRATEGIES)}")
        sslmode = (env.get("DB_SSLMODE") or "verify-full").strip()
        if sslmode not in FUNCTION_SSL_MODES:
            raise ValueError(f"DB_SSLMODE must be one of {', '.join(FUNCTION_SSL_MODES)}")
        sslrootcert = os.path.join(HERE, env.get("DB_SSLROOTCERT") or DEFAULT_CA_BUNDLE)
        if sslmode != "require" and not os.path.isfile(sslrootcert):
            raise ValueError(f"DB_SSLROOTCERT: no CA bundle file at {sslrootcert}")
        exclude = env.get("EXCLUDE_CHARACTERS")
        password_args: dict[str, Any] = {
            "PasswordLength": _env_int("PASSWORD_LENGTH", 32, 8, 4096),
            "ExcludeNumbers": _env_bool("EXCLUDE_NUMBERS", False),
            "ExcludePunctuation": _env_bool("EXCLUDE_PUNCTUATION", False),
            "ExcludeUppercase": _env_bool("EXCLUDE_UPPERCASE", False),
            "ExcludeLowercase": _env_bool("EXCLUDE_LOWERCASE", False),
            "IncludeSpace": _env_bool("INCLUDE_SPACE", False),
            "RequireEachIncludedType": _env_bool("REQUIRE_EACH_INCLUDED_TYPE", True),
        }
        exclude = DEFAULT_EXCLUDE_CHARACTERS if exclude is None else exclude
        if exclude:
            password_args["ExcludeCharacters"] = exclude
        grants = _env_json_list("GRANTS")
        for number, template in enumerate(grants, 1):
            if "%s" not in template:
                raise ValueError(f"GRANTS[{number}] must contain %s where the user name goes")
        url_key = (env.get("URL_KEY") or "DATABASE_URL").strip()
        if not url_key.isidentifier() or not url_key.endswith("DATABASE_URL") or url_key.upper() != url_key:
            raise ValueError("URL_KEY must be an upper-case key ending in DATABASE_URL")
        return cls(
            master_arn=(env.get("MASTER_SECRET_ARN") or "").strip() or None,
            grants=grants,
            url_key=url_key,
            strategy=strategy,
            primary=(env.get("PRIMARY_USERNAME") or "").strip() or None,
            alternate=(env.get("ALTERNATE_USERNAME") or "").strip() or None,
            owner_role=(env.get("OWNER_ROLE") or "").strip() or None,
            alternate_set_role=_env_bool("ALTERNATE_SET_ROLE", True),
            sslmode=sslmode,
            sslrootcert=sslrootcert,
            connect_timeout=_env_int("DB_CONNECT_TIMEOUT", 5, 1, 300),
            password_args=password_args,
        )

    def user_pair(self, current_username: str) -> tuple[str, str]:
        """(primary, alternate) for the alternating-users strategy."""
        primary, alternate = self.primary, self.alternate
        if primary is None:
            if alternate is None and current_username.endswith("_alt") and len(current_username) > 4:
                primary = current_username[:-4]
            elif alternate is not None and current_username == alternate:
                raise ValueError("PRIMARY_USERNAME must be set when the secret holds ALTERNATE_USERNAME")
            else:
                primary = current_username
        if alternate is None:
            alternate = f"{primary}_alt"
        check_identifier(primary, "PRIMARY_USERNAME")
        check_identifier(alternate, "ALTERNATE_USERNAME")
        if primary == alternate:
            raise ValueError("PRIMARY_USERNAME and ALTERNATE_USERNAME must differ")
        if current_username not in (primary, alternate):
            raise ValueError("the secret's username is neither PRIMARY_USERNAME nor ALTERNATE_USERNAME")
        return primary, alternate

    def owner_for(self, primary: str) -> str:
        owner = self.owner_role or f"{primary}_owner"
        check_identifier(owner, "OWNER_ROLE")
        return owner

    def next_username(self, current_username: str) -> str:
        if self.strategy == "single-user":
            return current_username
        primary, alternate = self.user_pair(current_username)
        return alternate if current_username == primary else primary


# --------------------------------------------------------------------------- the four steps

class Rotation:
    step = "rotation"  # the step being run, for log lines
    _warned_ssl = False

    def __init__(self, client, arn: str, token: str, settings: Settings, versions: Optional[dict] = None,
                 cache_key: Optional[str] = None):
        self.client = client
        self.arn = arn
        self.cache_key = cache_key or arn  # the full ARN: a name can be reused by a new secret
        self.token = token
        self.settings = settings
        self.versions = versions or {}  # VersionIdsToStages of this step's describe_secret
        self._seen: list[dict] = []  # every login read, for redaction
        self.prepared = Prepared()

    # ---- preparation, while the guard call is in flight

    def prepare(self, step: str) -> "Prepared":
        """Read-only work for `step` that does not depend on the guard: nothing is written to
        Secrets Manager or to the database here (a login is the most it does). Any failure just
        means nothing was prepared; the step then does the work itself after the guard, and fails
        there if it must. A failed login is reported only if the step goes on to use it."""
        prepared = Prepared()
        try:
            if step == "createSecret":
                prepared.pending_exists = self.get_optional_login(PENDING, self.token) is not None
            elif step == "testSecret":
                prepared.try_login(self, self.get_login(PENDING, self.token), "AWSPENDING")
            elif step == "setSecret" and self.settings.strategy == "single-user":
                # Most likely AWSCURRENT is still the version the previous step saw.
                guess = _LAST_CURRENT.get(self.cache_key)
                current_value = _cached(self.cache_key, guess)
                if current_value is not None:
                    current = parse_login(current_value, f"secret {self.arn} version {CURRENT}")
                    self._seen.append(current)
                    prepared.current_version = guess
                    prepared.try_login(self, current, "AWSCURRENT")
        except Exception as exc:  # noqa: BLE001 - see the docstring; the type only, never a value
            logger.debug("%s: nothing prepared for secret %s (%s)", step, self.arn, type(exc).__name__)
            prepared.discard()
            return Prepared()
        return prepared

    def start(self, versions: dict, cache_key: str, prepared: "Prepared") -> None:
        """Adopt the guard's view of the secret; keep what was prepared only if it still holds."""
        self.versions = versions
        if cache_key != self.cache_key or (
                prepared.current_version is not None and prepared.current_version != self._version_with(CURRENT)):
            prepared.discard()
            prepared = Prepared()
        self.cache_key = cache_key
        self.prepared = prepared

    def prepared_login(self):
        """(True, connection or None) when a login was prepared for this step, else (False, None)."""
        if not self.prepared.logged_in:
            return False, None
        conn = self.prepared.take_connection()
        if conn is None:
            logger.info("%s: cannot log in with %s of secret %s: %s", self.step, self.prepared.label, self.arn,
                        self.redact(self.prepared.reason or "unknown error"))
        return True, conn

    # ---- Secrets Manager helpers

    def _version_with(self, stage: str) -> Optional[str]:
        return next((vid for vid, stages in self.versions.items() if stage in stages), None)

    def get_login(self, stage: str, version_id: Optional[str] = None) -> dict:
        version_id = version_id or self._version_with(stage)
        secret_string = _cached(self.cache_key, version_id)
        if secret_string is None:
            kwargs = {"SecretId": self.arn, "VersionStage": stage}
            if version_id:
                kwargs["VersionId"] = version_id
            response = self.client.get_secret_value(**kwargs)
            secret_string = response.get("SecretString")
            if isinstance(secret_string, str) and response.get("VersionId"):
                _remember(self.cache_key, response["VersionId"], secret_string)
        login = parse_login(secret_string, f"secret {self.arn} version {stage}")
        self._seen.append(login)
        return login

    def get_optional_login(self, stage: str, version_id: Optional[str] = None) -> Optional[dict]:
        try:
            return self.get_login(stage, version_id)
        except Exception as exc:  # botocore ClientError without importing botocore
            if _error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def redact(self, text: str) -> str:
        return redact(text, sensitive_values(self._seen))

    def params(self, login: dict) -> dict:
        weaker = ignored_downgrade(login, self.settings.sslmode)
        if weaker is not None and not self._warned_ssl:
            self._warned_ssl = True
            logger.warning("%s: secret %s asks for TLS mode %s; ignored, the function keeps %s (a secret may "
                           "strengthen the function's TLS mode, never weaken it)", self.step, self.arn, weaker,
                           self.settings.sslmode)
        return connection_params(login, sslmode=self.settings.sslmode, sslrootcert=self.settings.sslrootcert,
                                 connect_timeout=self.settings.connect_timeout)

    def login(self, login: dict, label: str):
        conn, reason = pg.try_connect(self.params(login))
        if conn is None:
            logger.info("%s: cannot log in with %s of secret %s: %s", self.step, label, self.arn,
                        self.redact(reason or "unknown error"))
        return conn

    # ---- createSecret

    def create_secret(self) -> None:
        self.step = "createSecret"
        current = self.get_login(CURRENT)
        pending_exists = self.prepared.pending_exists
        if pending_exists is None:
            pending_exists = self.get_optional_login(PENDING, self.token) is not None
        if pending_exists:
            logger.info("createSecret: version %s of secret %s already has a value", self.token, self.arn)
            return
        pending = dict(current)  # every other key is carried over as it is
        pending["username"] = self.settings.next_username(current["username"])
        password = self.client.get_random_password(**self.settings.password_args)["RandomPassword"]
        pending["password"] = password
        pending[self.settings.url_key] = database_url(pending)
        if "readerHost" in pending:  # an Aurora cluster: the reader endpoint's URL follows the password
            pending["READER_DATABASE_URL"] = database_url({**pending, "host": pending["readerHost"]})
        self._seen.append(pending)
        secret_string = json.dumps(pending)
        self.client.put_secret_value(SecretId=self.arn, ClientRequestToken=self.token,
                                     SecretString=secret_string, VersionStages=[PENDING])
        _remember(self.cache_key, self.token, secret_string)
        logger.info("createSecret: put version %s of secret %s (AWSPENDING, %s)", self.token, self.arn,
                    self.settings.strategy)

    # ---- setSecret

    def set_secret(self) -> None:
        self.step = "setSecret"
        current = self.get_login(CURRENT)
        pending = self.get_login(PENDING, self.token)
        expected = self.settings.next_username(current["username"])
        if pending["username"] != expected:
            raise ValueError(f"setSecret: the AWSPENDING username of secret {self.arn} is not the one the "
                             f"{self.settings.strategy} strategy expects after AWSCURRENT")
        for key in ("host", "port", "dbname"):
            if current.get(key) != pending.get(key):
                raise ValueError(f"setSecret: AWSPENDING and AWSCURRENT of secret {self.arn} differ in '{key}'")

        if "masterarn" in current or self.settings.master_arn:
            self._set_as_master(current, pending)
            return
        if self.settings.strategy != "single-user":
            self._set_alternating(current, pending)
            return

        # Single-user from here (the other strategies returned above). AWS's templates ask "does
        # AWSPENDING already log in?" first; here AWSCURRENT comes first, because the user has one
        # password: if AWSCURRENT logs in, AWSPENDING cannot, so asking first would cost a failed
        # login on every rotation. The outcome is the same either way.
        prepared, conn = self.prepared_login()
        if not prepared:
            conn = self.login(current, "AWSCURRENT")
        acting = current
        if conn is None:
            conn = self.login(pending, "AWSPENDING")
            if conn is not None:
                conn.close()
                logger.info("setSecret: AWSPENDING of secret %s already logs in; nothing to change", self.arn)
                return
        if conn is None:
            # A retry after a half-finished rotation: the user may still hold the AWSPREVIOUS password.
            previous = self.usable_previous(current, pending)
            if previous is not None:
                conn, acting = self.login(previous, "AWSPREVIOUS"), previous
        if conn is None:
            logger.error("setSecret: cannot log in to the database of secret %s with AWSCURRENT "
                         "(or AWSPREVIOUS); nothing was changed", self.arn)
            raise ValueError(f"setSecret: unable to log in to the database with the AWSCURRENT or AWSPREVIOUS "
                             f"credentials of secret {self.arn}")
        try:
            self._apply(conn, acting, pending)
        except pg.ChangeRejected as exc:
            raise self._rejected(exc, "password change") from None
        finally:
            conn.close()

    def usable_previous(self, current: dict, pending: dict) -> Optional[dict]:
        """AWSPREVIOUS, when it is the pending user's last login on the same host, port and database
        (whoever may put a version can label one AWSPREVIOUS too: one pointing elsewhere is not used)."""
        previous = self.get_optional_login(PREVIOUS)
        if previous is not None and previous["username"] == pending["username"] and all(
                previous.get(key) == current.get(key) for key in ("host", "port", "dbname")):
            return previous
        return None

    def _rejected(self, exc: "pg.ChangeRejected", change: str) -> RuntimeError:
        """Log the database's refusal (redacted) and make the step's error."""
        reason = self.redact(exc.reason)
        logger.error("setSecret: the database rejected the change for secret %s (SQLSTATE %s): %s",
                     self.arn, exc.sqlstate or "?", reason)
        return RuntimeError(f"setSecret: the database rejected the {change} for secret {self.arn} "
                            f"(SQLSTATE {exc.sqlstate or '?'}): {reason}")

    def _apply(self, conn, acting: dict, pending: dict) -> None:
        pg.act_as_session_user(conn)
        pg.set_password(conn, pending["username"], pending["password"])
        logger.info("setSecret: changed the password of the current user for secret %s", self.arn)

    def _set_as_master(self, current: dict, pending: dict) -> None:
        """AWS's multi-user rotation: the master user (the secret at `masterarn`) creates or updates the
        pending user and runs the grant templates; the login itself never alters a role."""
        master_arn = current.get("masterarn")
        if not master_arn:
            raise ValueError(f"setSecret: secret {self.arn} has no 'masterarn', but the function was deployed "
                             "for a multi-user login (MASTER_SECRET_ARN)")
        if pending.get("masterarn") != master_arn:
            raise ValueError(f"setSecret: AWSPENDING and AWSCURRENT of secret {self.arn} differ in 'masterarn'")
        if self.settings.master_arn and master_arn != self.settings.master_arn:
            raise ValueError(f"setSecret: the 'masterarn' of secret {self.arn} is not the master secret this "
                             "function was deployed with (MASTER_SECRET_ARN)")
        conn = self.login(pending, "AWSPENDING")
        if conn is not None:
            conn.close()
            logger.info("setSecret: AWSPENDING of secret %s already logs in; nothing to change", self.arn)
            return
        response = self.client.get_secret_value(SecretId=master_arn, VersionStage=CURRENT)
        master = parse_login(response.get("SecretString"), f"master secret of {self.arn}")
        self._seen.append(master)
        if master["username"] in (current["username"], pending["username"]):
            raise ValueError(f"setSecret: the user of secret {self.arn} is the master user itself; a login needs "
                             "its own user names")
        # The master password goes to the master secret's own host, never to one this secret names.
        conn = self.login({**master, "dbname": pending.get("dbname", master.get("dbname"))}, "the master secret")
        if conn is None:
            raise ValueError(f"setSecret: unable to log in to the database with the master secret of {self.arn}")
        other = current["username"] if current["username"] != pending["username"] else None
        try:
            created = pg.ensure_login(conn, pending["username"], pending["password"], self.settings.grants,
                                      [other] if other else [])
        except pg.ChangeRejected as exc:
            raise self._rejected(exc, "login change") from None
        finally:
            conn.close()
        logger.info("setSecret: the master user %s the pending user and applied %d grant(s) for secret %s",
                    "created" if created else "changed the password of", len(self.settings.grants), self.arn)

    def _set_alternating(self, current: dict, pending: dict) -> None:
        conn = self.login(pending, "AWSPENDING")
        if conn is not None:
            conn.close()
            logger.info("setSecret: AWSPENDING of secret %s already logs in; nothing to change", self.arn)
            return
        primary, alternate = self.settings.user_pair(current["username"])

        # Who changes the pending user's password: towards the alternate, the primary (AWSCURRENT),
        # which created and so administers it; towards the primary, the primary itself (AWSPREVIOUS,
        # its last password, still valid), as the alternate holds no ADMIN option on it on 16+.
        candidates = [(lambda: current, CURRENT),
                      (lambda: self.usable_previous(current, pending), PREVIOUS)]   # read only when needed
        if pending["username"] == primary:
            candidates.reverse()
        rejected: Optional[pg.ChangeRejected] = None
        tried = []
        for read, label in candidates:
            acting = read()
            if acting is None:
                continue
            tried.append(label)
            conn = self.login(acting, label)
            if conn is None:
                continue
            try:
                self._apply_alternating(conn, acting["username"], primary, alternate, pending)
                return
            except pg.ChangeRejected as exc:
                rejected = exc
                logger.info("setSecret: the database refused the change as %s of secret %s (SQLSTATE %s)",
                            label, self.arn, exc.sqlstate or "?")
                if exc.sqlstate != "42501":
                    break  # only a missing privilege is worth trying with the other login
            finally:
                conn.close()
        if rejected is not None:
            raise self._rejected(rejected, "password change") from None
        logger.error("setSecret: cannot log in to the database of secret %s with %s; nothing was changed",
                     self.arn, " or ".join(tried))
        raise ValueError(f"setSecret: unable to log in to the database with the {' or '.join(tried)} "
                         f"credentials of secret {self.arn}")

    def _apply_alternating(self, conn, acting_user: str, primary: str, alternate: str, pending: dict) -> None:
        user, password = pending["username"], pending["password"]
        owner = self.settings.owner_for(primary)
        pg.act_as_session_user(conn)
        if acting_user != primary:
            # The alternate, as itself: its own password (on <=15 also the primary's, by CREATEROLE).
            with conn.transaction():
                pg.set_password(conn, user, password)
                if self.settings.alternate_set_role and pg.adopt_shared_owner(conn, acting_user, owner):
                    logger.info("setSecret: sessions of the alternate user now act as the shared owner role "
                                "for secret %s", self.arn)
            logger.info("setSecret: changed the password of the %s user as the alternate for secret %s",
                        "pending" if user != acting_user else "alternate", self.arn)
            return
        with conn.transaction():
            report = pg.ensure_shared_owner(conn, primary, alternate, owner,
                                            alternate_password=password if user == alternate else None,
                                            act_as_owner=self.settings.alternate_set_role)
            if user == primary:
                pg.set_password(conn, primary, password)
        if report["skipped_memberships"]:
            logger.warning("setSecret: the primary cannot grant %s (no ADMIN option): the alternate and %s lack "
                           "these memberships for secret %s", ", ".join(report["skipped_memberships"]), owner,
                           self.arn)
        if not report["alternate_settings"]:
            logger.warning("setSecret: the primary cannot change the alternate's settings (no ADMIN option on it); "
                           "the alternate adopts the shared owner role at its own next password change "
                           "for secret %s", self.arn)
        if report["created_owner"]:
            logger.info("setSecret: created the shared owner role %s%s for secret %s", owner,
                        " and reassigned what the primary owned in the database to it" if report["reassigned"]
                        else "", self.arn)
        if report["created_alternate"]:
            logger.info("setSecret: created the alternate user for secret %s", self.arn)
        else:
            logger.info("setSecret: changed the password of the %s user for secret %s",
                        "alternate" if user == alternate else "primary", self.arn)

    # ---- testSecret

    def test_secret(self) -> None:
        self.step = "testSecret"
        prepared, conn = self.prepared_login()
        if not prepared:
            pending = self.get_optional_login(PENDING, self.token)
            if pending is None:
                # RotateSecret with RotateImmediately=false tests the configuration by invoking only
                # testSecret, on an AWSPENDING version that need not have a value: then prove that the
                # function reaches Secrets Manager and the database and that AWSCURRENT logs in.
                logger.info("testSecret: version %s of secret %s has no value (a configuration test); "
                            "testing AWSCURRENT", self.token, self.arn)
                self._test_login(self.login(self.get_login(CURRENT), "AWSCURRENT"), CURRENT)
                return
            conn = self.login(pending, "AWSPENDING")
        self._test_login(conn, PENDING)

    def _test_login(self, conn, label: str) -> None:
        if conn is None:
            raise ValueError(f"testSecret: unable to log in to the database with {label} of secret {self.arn}")
        try:
            pg.ping(conn)
        except pg.ChangeRejected as exc:
            raise RuntimeError(f"testSecret: a query as the {label} user failed for secret {self.arn}: "
                               f"{self.redact(exc.reason)}") from None
        finally:
            conn.close()
        logger.info("testSecret: %s of secret %s logs in", label, self.arn)

    # ---- finishSecret

    def finish_secret(self, versions: dict) -> None:
        self.step = "finishSecret"
        current_version = next((vid for vid, stages in versions.items() if CURRENT in stages), None)
        if current_version == self.token:
            return
        kwargs = {"SecretId": self.arn, "VersionStage": CURRENT, "MoveToVersionId": self.token}
        if current_version is not None:
            kwargs["RemoveFromVersionId"] = current_version
        self.client.update_secret_version_stage(**kwargs)
        logger.info("finishSecret: moved AWSCURRENT of secret %s to version %s", self.arn, self.token)


class Prepared:
    """What a step prepared while its guard call was in flight (all optional)."""

    def __init__(self) -> None:
        self.pending_exists: Optional[bool] = None  # createSecret: does the token's version have a value?
        self.connection = None                      # setSecret (single-user) / testSecret: an open login
        self.current_version: Optional[str] = None  # setSecret: the AWSCURRENT version it logged in with
        self.logged_in = False                      # a login was tried (so a failed one is not repeated)
        self.label = ""                             # which version it logged in with
        self.reason: Optional[str] = None           # why that login failed (not yet redacted)

    def try_login(self, rotation: "Rotation", login: dict, label: str) -> None:
        self.label = label
        self.connection, self.reason = pg.try_connect(rotation.params(login))
        self.logged_in = True

    def take_connection(self):
        conn, self.connection = self.connection, None
        return conn

    def discard(self) -> None:
        conn = self.take_connection()
        if conn is not None:
            conn.close()


def _error_code(exc: BaseException) -> Optional[str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None
