"""`env` / `exec`: a stack's secrets as environment variables, for local runs and one-off tasks.

    python -m components env  [SOURCES] [AWS OPTIONS] [--reveal] [--output FILE]
    python -m components exec [SOURCES] [AWS OPTIONS] -- COMMAND [ARGS...]
    (also `python -m components.envcmd env|exec ...`)

Sources (combine freely; every variable must come from exactly one place):
  --secret NAME[=KEY1,KEY2]  a secret name or ARN; with `=KEYS`, only those JSON keys; without,
                             every top-level key of the JSON object that is an environment
                             variable name (^[A-Z_][A-Z0-9_]*$); other keys are skipped with a
                             note on stderr (names only). Secret names may contain `=`: the text
                             after the last `=` is read as keys only if it is a comma list of
                             words, e.g. `a=b=USER,PASSWORD`.
  --raw VAR=NAME             the whole value of secret NAME (not JSON) as variable VAR.
  --plan-json FILE           the document of `python -m components plan --json` (`-` = stdin):
                             each entry of "secrets" gives `secretName` and its
                             `environmentVariables` (empty list: every key, as above). A
                             top-level "region" string in it, if present, is used unless
                             --region is given.
  --stack NAME               the same document, computed now by `tooling.plan.plan_stack`.
  --app NAME                 with --stack/--plan-json: only the secrets of this app (a read
                             policy of the stack). Without it, a stack whose apps give the same
                             variable (each app its own SECRET_KEY_BASE) is refused, naming them.

Versions: --stage LABEL (default AWSCURRENT, e.g. AWSPREVIOUS) or --version-id ID. The stage is
always sent explicitly (the emulator and AWS then agree on what "current" means).

AWS: --region, --profile, --role-arn (assumed through STS, session name `app-secrets-env`),
--endpoint-url (Secrets Manager only). Otherwise boto3's standard configuration applies,
including AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_STS for
--role-arn).

Values:
  * SecretString holding a JSON object: keys are extracted. Strings are used as they are;
    numbers and booleans as JSON text (`5432`, `true`); null as an empty string; nested
    objects/arrays as compact JSON.
  * SecretString that is not a JSON object: an error when keys are wanted - load it whole with
    `--raw VAR=NAME` instead.
  * SecretBinary: the bytes must be UTF-8 text; after that it is handled exactly like a
    SecretString (JSON keys, or whole with --raw). Non-UTF-8 binaries are refused: environment
    variables and dotenv files hold text. Store such data base64-encoded and use the next option.
  * --decode-base64 VAR: after extraction, VAR's value is base64-decoded (must give UTF-8 text).
  * A value containing a NUL character cannot live in an environment variable: error.

Output of `env` (`--format`):
  dotenv (default)  one `KEY='value'` per line, quoted for POSIX shells so that
                    `set -a; . ./.env; set +a` loads the exact values: inside single quotes nothing
                    expands (`$HOME`, `${X}`, backticks, backslashes stay as they are), newlines are
                    kept, and a single quote is written `'\''` (close, escaped quote, reopen).
                    Only a POSIX shell reads every value back exactly. python-dotenv (1.2, tested)
                    expands `${VAR}` even inside single quotes unless called with
                    `interpolate=False`, and cannot parse a value holding a single quote (`'\''`):
                    `env` names such variables on stderr. Use `--format json` for other loaders.
  shell             the same lines with `export ` in front, for `eval "$(... env --format shell)"`.
  json              one JSON object {"KEY": "value"}.
Values are masked (`KEY=********`) unless --reveal. A variable whose value is empty (a
user-managed placeholder nobody has filled in yet) is never masked: it shows as empty, and a note
on stderr names it, so a masked listing does not hide that a value is missing. `--output FILE`
writes the same text to FILE instead, created
with mode 0600 (written to a temporary file and renamed into place); it follows --reveal too, so
values land on disk only when asked for - without --reveal the file holds the masked listing and
a note on stderr says so. The rule is the same everywhere: no value is shown or stored unless you
say --reveal.

Region: --region, else the stack's `aws:region` (with --stack) or a plan document's "region",
else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region.

`exec` runs COMMAND with the variables added to the current environment (they override
variables of the same name). Whoever can write a secret must not steer the command: a key that
changes how programs start - PATH, LD_*, DYLD_*, PYTHON*, NODE_OPTIONS, BASH_ENV, ENV - is set
only when named explicitly (`--secret NAME=PATH`, `--raw PATH=NAME`, or the stack's
`environmentVariables`); otherwise it is left out with a note on stderr (the name only). `env`
leaves them out the same way (a dotenv file is loaded into a shell too) and exits with its exit code (128+N when killed by signal N; 127
when the command is not found, 126 when it cannot be run). It prints no values. While the
command runs, Ctrl-C goes to the command only and SIGTERM is passed on to it.

Errors: one line on stderr starting with `error:`, never a traceback and never a value.
Exit code 2 for bad usage or bad input (flags, plan file, keys that are not variable names,
a variable coming from two places, an unknown profile, no region or one AWS does not have); 1 for failures while running
(secret or key or stage not found, access denied, a value that is not JSON, network, STS).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence

ENV_VAR_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SECRET_ID_PATTERN = re.compile(r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$")
KEY_LIST_PATTERN = re.compile(r"^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$")
SESSION_NAME = "app-secrets-env"
MASK = "********"
from .exit_codes import EXIT_FAILED, EXIT_OK
from .exit_codes import EXIT_INVALID as EXIT_USAGE


class CommandError(Exception):
    """A problem reported as one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def usage(message: str) -> CommandError:
    return CommandError(message, EXIT_USAGE)


# ---------------------------------------------------------------------------------------------
# What to fetch


@dataclass
class Request:
    """One secret to read: `keys` None = every env-var key; `raw_var` = whole value as that var."""

    secret_id: str
    keys: Optional[list[str]] = None
    raw_var: Optional[str] = None
    origin: str = ""  # where it was asked for, for messages


def _check_secret_id(secret_id: str, origin: str) -> str:
    if not SECRET_ID_PATTERN.match(secret_id or ""):
        raise usage(f"{origin}: {secret_id!r} is not a Secrets Manager secret name or ARN")
    return secret_id


def _check_var(var: str, origin: str) -> str:
    if not isinstance(var, str) or not ENV_VAR_PATTERN.match(var):
        raise usage(f"{origin}: {var!r} is not an environment variable name (^[A-Z_][A-Z0-9_]*$)")
    return var


def parse_secret_arg(text: str) -> Request:
    """`NAME` or `NAME=KEY1,KEY2` (split at the last `=` when what follows is a key list)."""
    origin = f"--secret {text}"
    name, sep, tail = text.rpartition("=")
    if sep and name and KEY_LIST_PATTERN.match(tail):
        keys = [_check_var(k, origin) for k in tail.split(",")]
        if len(set(keys)) != len(keys):
            raise usage(f"{origin}: a key is listed twice")
        return Request(_check_secret_id(name, origin), keys=keys, origin=origin)
    if text.endswith("="):
        raise usage(f"{origin}: no keys after '='")
    return Request(_check_secret_id(text, origin), origin=origin)


def parse_raw_arg(text: str) -> Request:
    origin = f"--raw {text}"
    var, sep, name = text.partition("=")
    if not sep:
        raise usage(f"{origin}: expected VAR=SECRET")
    return Request(_check_secret_id(name, origin), raw_var=_check_var(var, origin), origin=origin)


def requests_from_plan(doc: Any, source: str) -> list[Request]:
    """Requests for every secret of a plan document (`plan --json` / `plan_stack`)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("secrets"), list):
        raise usage(f"{source}: not a plan document (expected an object with a \"secrets\" list)")
    requests = []
    for i, entry in enumerate(doc["secrets"]):
        if not isinstance(entry, dict):
            raise usage(f"{source}: secrets[{i}] is not an object")
        label = entry.get("name") or f"secrets[{i}]"
        origin = f"{source}: secret {label}"
        name = entry.get("secretName")
        if not isinstance(name, str) or not name:
            raise usage(f"{origin} has no secretName")
        _check_secret_id(name, origin)
        variables = entry.get("environmentVariables") or []
        if not isinstance(variables, list):
            raise usage(f"{origin}: environmentVariables is not a list")
        keys = [_check_var(v, origin) for v in variables]
        requests.append(Request(name, keys=keys or None, origin=origin))
    return requests


def app_secrets_of(doc: Any, app: Optional[str], source: str) -> Any:
    """The plan document narrowed to one app's secrets (`--app`), or, without an app, the whole
    document unless two apps give the same variable (which of them would `env` take?)."""
    apps = doc.get("apps") if isinstance(doc, dict) else None
    if apps is None:
        apps = []
    if not isinstance(apps, list):
        raise usage(f"{source}: apps is not a list")
    for i, entry in enumerate(apps):
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("secrets", []), list)):
            raise usage(f"{source}: apps[{i}] is not an object with a name and a list of secrets")
    names = [a["name"] for a in apps]
    if app is not None:
        chosen = next((a for a in apps if isinstance(a, dict) and a.get("name") == app), None)
        if chosen is None:
            raise usage(f"--app {app}: not an app of {source}; its apps (readPolicies): {', '.join(names) or '(none)'}")
        keep = set(chosen.get("secrets") or ())
        return {**doc, "secrets": [s for s in doc["secrets"] if isinstance(s, dict) and s.get("name") in keep]}
    givers: dict[str, set] = {}
    for entry in doc.get("secrets") or () if isinstance(doc, dict) else ():
        if isinstance(entry, dict):
            for var in entry.get("environmentVariables") or ():
                givers.setdefault(var, set()).add(entry.get("name"))
    overlapping = sorted(var for var, keys in givers.items() if len(keys) > 1)
    if overlapping and names:
        involved = sorted({a["name"] for a in apps for var in overlapping
                           if set(a.get("secrets") or ()) & givers[var]})
        listed = {key for a in apps for key in a.get("secrets") or ()}
        unlisted = sorted({key for var in overlapping for key in givers[var] if key not in listed}, key=str)
        elsewhere = f" and in no app ({', '.join(map(str, unlisted))}: read those with --secret NAME)" if unlisted else ""
        raise usage(f"{source}: {', '.join(overlapping)} given by more than one secret, in apps "
                    f"{', '.join(involved)}{elsewhere}; pick one with --app NAME")
    return doc


def load_plan_file(path: str) -> Any:
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as error:
        raise usage(f"--plan-json {source}: {error.strerror or error}")
    try:
        return json.loads(text)
    except ValueError:
        raise usage(f"--plan-json {source}: not valid JSON")


def plan_from_stack(stack: str) -> Any:
    """The plan document of a stack, with the stack's own `aws:region` as "region"."""
    try:
        import importlib
        importlib.import_module(f"{__package__}.plan")  # fail here, with advice, if the plan tooling is missing
        from .stack_plan import plan_or_errors
        from .offline import PROJECT_DIR, load_project, load_stack
    except Exception as error:  # noqa: BLE001 - ImportError or whatever the module raises on import
        raise CommandError(f"--stack needs tooling.plan, which could not be imported "
                           f"({str(error).splitlines()[0] if str(error) else 'no detail'}); "
                           "use --plan-json or --secret instead")
    doc, failure = plan_or_errors(stack, None, PROJECT_DIR)
    if failure:
        code, lines = failure
        text = "; ".join(lines)
        raise CommandError(text if text.startswith("--stack") else f"--stack {stack}: {text}", code)
    if isinstance(doc.get("region"), str):
        return doc
    region = load_stack(stack, load_project(PROJECT_DIR)).values.get("aws:region")
    return {**doc, "region": region} if isinstance(region, str) else doc


# ---------------------------------------------------------------------------------------------
# AWS


def check_region(region: str, origin: str) -> None:
    """A region botocore's partition data knows; a typo would otherwise become an endpoint that
    does not exist (a network error, exit 1) instead of bad input."""
    import boto3

    session = boto3.Session(region_name="us-east-1", profile_name=None)
    known = {r for partition in session.get_available_partitions()
             for r in session.get_available_regions("secretsmanager", partition)}
    if known and region not in known:
        raise usage(f"{origin} {region!r}: not an AWS region where Secrets Manager runs (e.g. us-east-1)")


def add_aws_options(parser: argparse.ArgumentParser, endpoint: str = "Secrets Manager",
                    stack_region: bool = True) -> None:
    """The AWS options every AWS-facing command takes (env, exec, status, rotate, rotation).
    `stack_region`: the command takes --stack, whose aws:region is the default region."""
    aws = parser.add_argument_group("AWS")
    aws.add_argument("--region", help=("default: the stack's aws:region (with --stack), then " if stack_region
                                       else "default: ") + "AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region")
    aws.add_argument("--profile")
    aws.add_argument("--role-arn", help=f"assume this role first (session name {SESSION_NAME})")
    aws.add_argument("--endpoint-url", help=f"{endpoint} endpoint (e.g. a local emulator)")


def resolve_region(explicit: Optional[str], stack_region: Optional[str] = None,
                   stack_origin: str = "the stack's aws:region") -> Optional[str]:
    """The region of every AWS-facing command: --region, then the stack's `aws:region`, then
    AWS_REGION, then AWS_DEFAULT_REGION (boto3 itself reads only the last); checked against the
    partition data, naming where a wrong one came from. None: the profile's region, if any."""
    region, origin = next(((value, name) for name, value in (
        ("--region", explicit), (stack_origin, stack_region),
        ("AWS_REGION", os.environ.get("AWS_REGION")), ("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")))
        if value), (None, ""))
    if region is not None:
        check_region(region, origin)
    return region


def make_client(region: Optional[str], profile: Optional[str], role_arn: Optional[str],
                endpoint_url: Optional[str]):
    session = make_session(region, profile, role_arn)
    from botocore.exceptions import NoRegionError
    try:
        return session.client("secretsmanager", endpoint_url=endpoint_url or None)
    except NoRegionError:
        raise usage("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")


def make_session(region: Optional[str], profile: Optional[str], role_arn: Optional[str]):
    """A boto3 session for the profile, region and (assumed) role; used by env/exec and rotation."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise usage(f"AWS profile {profile!r} not found")
    if role_arn:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            creds = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except ClientError as error:
            code, message = error_parts(error)
            raise CommandError(f"cannot assume role {role_arn}: {code}: {message}")
        except BotoCoreError as error:
            raise CommandError(f"cannot assume role {role_arn}: {error}")
        session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"],
                                region_name=session.region_name)
    return session


def _describe_stages(client, secret_id: str) -> Optional[list[str]]:
    """Stage labels of a secret, [] if it does not exist, None if we may not look."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        described = client.describe_secret(SecretId=secret_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        return None
    except BotoCoreError:
        return None
    return sorted({s for stages in (described.get("VersionIdsToStages") or {}).values() for s in stages})


def error_parts(error) -> tuple[str, str]:
    """(code, one-line message) of a botocore ClientError.

    An error body botocore could not parse (e.g. an XML `ErrorResponse` from a proxy or an
    emulator answering a JSON-protocol call) leaves the HTTP status as the code and the raw body
    as the message; the code and message are then read out of the body.
    """
    err = error.response.get("Error", {}) if hasattr(error, "response") else {}
    code, message = str(err.get("Code") or "Error"), str(err.get("Message") or "")
    if code.isdigit() and "<Code>" in message:
        found_code = re.search(r"<Code>([^<]*)</Code>", message)
        found_message = re.search(r"<Message>([^<]*)</Message>", message)
        code = found_code.group(1) if found_code else code
        message = found_message.group(1) if found_message else ""
    message = " ".join(message.split())
    return code, message[:300] + ("..." if len(message) > 300 else "")


def fetch(client, secret_id: str, stage: Optional[str], version_id: Optional[str]) -> dict:
    """The get_secret_value response, or CommandError with a one-line reason (no values)."""
    from botocore.exceptions import BotoCoreError, ClientError

    kwargs: dict[str, str] = {"SecretId": secret_id}
    if version_id:
        kwargs["VersionId"] = version_id
    else:
        kwargs["VersionStage"] = stage or "AWSCURRENT"
    region = client.meta.region_name
    try:
        return client.get_secret_value(**kwargs)
    except ClientError as error:
        code, message = error_parts(error)
        if code == "ResourceNotFoundException":
            stages = _describe_stages(client, secret_id)
            wanted = f"version id '{version_id}'" if version_id else f"stage '{kwargs['VersionStage']}'"
            if stages == []:
                raise CommandError(f"secret '{secret_id}' not found in region {region}")
            if stages is None:
                raise CommandError(f"secret '{secret_id}' or its {wanted} not found in region {region}")
            raise CommandError(f"secret '{secret_id}' has no version with {wanted}; "
                               f"its stages: {', '.join(stages) or '(none)'}")
        if code in ("AccessDeniedException", "AccessDenied"):
            raise CommandError(f"access denied reading secret '{secret_id}' in region {region}: {message}")
        if code == "DecryptionFailure":
            raise CommandError(f"secret '{secret_id}': KMS could not decrypt it (check kms:Decrypt on its key): {message}")
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
                    "InvalidSignatureException"):
            raise CommandError(f"AWS rejected the credentials ({code}): {message}")
        raise CommandError(f"secret '{secret_id}': {code}: {message}")
    except BotoCoreError as error:  # no credentials, endpoint unreachable, ...
        raise CommandError(f"secret '{secret_id}': {error}")


# ---------------------------------------------------------------------------------------------
# Values


def _text(response: dict, secret_id: str) -> str:
    if response.get("SecretString") is not None:
        return response["SecretString"]
    binary = response.get("SecretBinary")
    if binary is None:
        raise CommandError(f"secret '{secret_id}' has no value in this version")
    try:
        return bytes(binary).decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"secret '{secret_id}' is binary and not UTF-8 text; environment variables hold "
                           "text (store it base64-encoded and use --decode-base64)")


def _as_env_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def values_of(request: Request, response: dict, notes: list[str]) -> dict[str, str]:
    """{VAR: value} for one request; CommandError naming keys, never values."""
    secret_id = request.secret_id
    text = _text(response, secret_id)
    if request.raw_var:
        return {request.raw_var: text}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CommandError(f"secret '{secret_id}' is not a JSON object, so it has no keys to extract; "
                           f"load it whole with --raw VAR={secret_id}")
    if request.keys is None:
        skipped = sorted(k for k in data if not ENV_VAR_PATTERN.match(k))
        if skipped:
            notes.append(f"note: secret '{secret_id}': skipped keys that are not environment variable "
                         f"names: {', '.join(skipped)}")
        return {k: _as_env_string(data[k]) for k in sorted(data) if ENV_VAR_PATTERN.match(k)}
    missing = [k for k in request.keys if k not in data]
    if missing:
        noun = "key" if len(missing) == 1 else "keys"
        raise CommandError(f"secret '{secret_id}' has no {noun} {', '.join(repr(k) for k in missing)}; "
                           f"it has: {', '.join(sorted(data)) or '(no keys)'}")
    return {k: _as_env_string(data[k]) for k in request.keys}


def decode_base64(var: str, value: str, origin: str) -> str:
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise CommandError(f"--decode-base64 {var}: the value from {origin} is not base64 of UTF-8 text")


def collect(requests: list[Request], client, *, stage: Optional[str], version_id: Optional[str],
            base64_vars: Sequence[str], notes: list[str]) -> dict[str, str]:
    """Fetch every secret once and build {VAR: value}; duplicates and leftovers are errors."""
    # Duplicates known before any call: explicit keys and raw vars.
    owner: dict[str, Request] = {}
    for request in requests:
        for var in ([request.raw_var] if request.raw_var else request.keys or []):
            if var in owner:
                raise usage(f"variable {var} comes from two places: {owner[var].origin} and {request.origin}")
            owner[var] = request
    responses: dict[str, dict] = {}
    env: dict[str, str] = {}
    source: dict[str, Request] = {}
    for request in requests:
        if request.secret_id not in responses:
            responses[request.secret_id] = fetch(client, request.secret_id, stage, version_id)
        for var, value in values_of(request, responses[request.secret_id], notes).items():
            if var in env:
                raise usage(f"variable {var} comes from two places: {source[var].origin} and {request.origin}")
            env[var] = value
            source[var] = request
    for var in base64_vars:
        if var not in env:
            raise usage(f"--decode-base64 {var}: no such variable among the secrets read")
        env[var] = decode_base64(var, env[var], source[var].origin)
    for var, value in env.items():
        if "\0" in value:
            raise CommandError(f"variable {var} (from {source[var].origin}) contains a NUL character, "
                               "which an environment variable cannot hold")
    return env


# ---------------------------------------------------------------------------------------------
# Output


FORMATS = ("dotenv", "shell", "json")

# Variables that change what a command runs or loads (dynamic linker, interpreters, shells).
STARTUP_VARIABLES = re.compile(r"^(PATH|LD_.*|DYLD_.*|PYTHON.*|NODE_OPTIONS|BASH_ENV|ENV)$")


def named_variables(requests: Sequence["Request"]) -> set[str]:
    """Variables asked for by name (explicit keys, --raw, a plan's environmentVariables list)."""
    return {var for r in requests for var in ([r.raw_var] if r.raw_var else r.keys or [])}


def without_startup_variables(env: dict[str, str], named: set[str]) -> tuple[dict[str, str], list[str]]:
    """The variables minus startup ones nobody named; and the names left out."""
    dropped = sorted(k for k in env if STARTUP_VARIABLES.match(k) and k not in named)
    return {k: v for k, v in env.items() if k not in dropped}, dropped


def not_for_python_dotenv(env: dict[str, str]) -> list[str]:
    """Variables python-dotenv would read differently from a shell: `${` is interpolated even in
    single quotes, and a single quote cannot be parsed."""
    return sorted(k for k, v in env.items() if "'" in v or "${" in v)


def dotenv_quote(value: str) -> str:
    """POSIX shell single quotes: nothing inside expands; a quote is written '\\''."""
    return "'" + value.replace("'", "'\\''") + "'"


def render_dotenv(env: dict[str, str], reveal: bool, fmt: str = "dotenv") -> str:
    """The variables in one of FORMATS; masked unless `reveal`, except empty values."""
    shown = {k: v if reveal or v == "" else MASK for k, v in env.items()}
    if fmt == "json":
        return json.dumps(shown, indent=2, ensure_ascii=False) + "\n"
    prefix = "export " if fmt == "shell" else ""
    return "".join(f"{prefix}{k}={dotenv_quote(v) if reveal or v == '' else MASK}\n" for k, v in shown.items())


def write_private(path: str, text: str) -> None:
    """Write `text` to `path` with mode 0600: a temp file in the same folder, renamed into place."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".env-", dir=folder)
    except OSError as error:
        raise CommandError(f"--output {path}: {error.strerror or error}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
        os.replace(tmp, path)
    except OSError as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CommandError(f"--output {path}: {error.strerror or error}")


def run_command(command: list[str], env: dict[str, str]) -> int:
    child_env = {**os.environ, **env}
    try:
        process = subprocess.Popen(command, env=child_env)
    except FileNotFoundError:
        print(f"error: command not found: {command[0]}", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"error: cannot run {command[0]}: permission denied", file=sys.stderr)
        return 126
    except OSError as error:
        print(f"error: cannot run {command[0]}: {error.strerror or type(error).__name__}", file=sys.stderr)
        return 126
    previous = {}
    try:
        # Ctrl-C reaches the whole foreground group: let the command decide; pass SIGTERM on.
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, lambda signum, _frame: process.send_signal(signum))
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        code = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


# ---------------------------------------------------------------------------------------------
# CLI


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise usage(f"{self.prog}: {message}")


def build_parser(command: str) -> argparse.ArgumentParser:
    doc_head = __doc__.split("\n\n")[0]
    parser = _Parser(prog=f"python -m components {command}", description=doc_head,
                     epilog="See the docstring of tooling/envcmd.py for value handling and exit codes.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_argument_group("sources")
    src.add_argument("--secret", action="append", default=[], metavar="NAME[=KEY,...]",
                     help="a secret name or ARN, optionally with the JSON keys to take (repeatable)")
    src.add_argument("--raw", action="append", default=[], metavar="VAR=NAME",
                     help="the whole (non-JSON) value of secret NAME as variable VAR (repeatable)")
    src.add_argument("--app", metavar="NAME", help="with --stack or --plan-json: only this app's secrets "
                     "(an app is a read policy of the stack)")
    plan = src.add_mutually_exclusive_group()
    plan.add_argument("--plan-json", metavar="FILE", help="a `plan --json` document ('-' = stdin)")
    plan.add_argument("--stack", metavar="NAME", help="plan this stack now and read its secrets")
    ver = parser.add_mutually_exclusive_group()
    ver.add_argument("--stage", metavar="LABEL", help="version stage to read (default AWSCURRENT)")
    ver.add_argument("--version-id", metavar="ID", help="version id to read")
    add_aws_options(parser)
    parser.add_argument("--decode-base64", action="append", default=[], metavar="VAR",
                        help="base64-decode this variable's value (repeatable)")
    if command == "env":
        parser.add_argument("--reveal", action="store_true", help="print/write real values (default: masked)")
        parser.add_argument("--output", metavar="FILE", help="write the dotenv text to FILE (mode 0600)")
        parser.add_argument("--format", choices=FORMATS, default="dotenv",
                            help="dotenv (KEY='value', safe for `set -a; . .env`), shell (export KEY=...), json")
    return parser


def _run(argv: list[str]) -> int:
    if not argv or argv[0] not in ("env", "exec"):
        raise usage("expected 'env' or 'exec' as the first argument")
    command, rest = argv[0], argv[1:]
    program: list[str] = []
    if command == "exec":
        if "--" not in rest:
            if any(a in ("-h", "--help") for a in rest):
                build_parser(command).print_help()
                return EXIT_OK
            raise usage("exec needs a command after '--', e.g. exec --secret NAME -- env")
        cut = rest.index("--")
        rest, program = rest[:cut], rest[cut + 1:]
        if not program:
            raise usage("exec needs a command after '--'")
    parser = build_parser(command)
    try:
        args = parser.parse_args(rest)
    except SystemExit as done:  # --help
        return int(done.code or 0)

    requests = [parse_secret_arg(s) for s in args.secret] + [parse_raw_arg(r) for r in args.raw]
    default_region = None
    if args.plan_json or args.stack:
        doc = load_plan_file(args.plan_json) if args.plan_json else plan_from_stack(args.stack)
        source = f"--plan-json {'stdin' if args.plan_json == '-' else args.plan_json}" if args.plan_json \
            else f"--stack {args.stack}"
        requests += requests_from_plan(app_secrets_of(doc, args.app, source), source)
        if isinstance(doc, dict) and isinstance(doc.get("region"), str):
            default_region = doc["region"]
    elif args.app:
        raise usage("--app NAME goes with --stack or --plan-json (it picks that app's secrets)")
    if not requests:
        raise usage("nothing to read: give --secret, --raw, --plan-json or --stack")
    for var in args.decode_base64:
        _check_var(var, f"--decode-base64 {var}")
    if args.stage is not None and not re.match(r"^[A-Za-z0-9_+=.@-]{1,256}$", args.stage):
        raise usage(f"--stage {args.stage!r} is not a version stage label")

    region = resolve_region(args.region, default_region, f"{source}: aws:region" if default_region else "")
    client = make_client(region, args.profile, args.role_arn, args.endpoint_url)
    notes: list[str] = []
    env = collect(requests, client, stage=args.stage, version_id=args.version_id,
                  base64_vars=args.decode_base64, notes=notes)
    env, dropped = without_startup_variables(env, named_variables(requests))
    if dropped:
        notes.append(f"note: left out {', '.join(dropped)}: variables that change how programs start are set "
                     "only when named explicitly (e.g. --secret NAME=PATH)")
    empty = [var for var, value in env.items() if value == ""]
    if empty:
        notes.append(f"note: empty (not filled in yet): {', '.join(empty)}")
    for note in notes:
        print(note, file=sys.stderr)

    if command == "exec":
        return run_command(program, env)
    text = render_dotenv(env, args.reveal, args.format)
    unreadable = not_for_python_dotenv(env) if args.format == "dotenv" and args.reveal else []
    if unreadable:
        print(f"note: {', '.join(unreadable)}: a POSIX shell reads these back exactly; python-dotenv does not "
              "(it expands ${...} unless interpolate=False and cannot parse a single quote); use --format json "
              "for it", file=sys.stderr)
    if args.output:
        write_private(args.output, text)
        shown = "real" if args.reveal else "masked"
        print(f"wrote {len(env)} variables ({shown} values) to {args.output}"
              + ("" if args.reveal else "; add --reveal to write the real values"), file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: `main(["env", ...])` / `main(["exec", ...])`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return reporting_errors(lambda: _run(argv))


def reporting_errors(command) -> int:
    """Run an AWS-facing command: its exit code, or one `error:` line and the code it means."""
    try:
        return command()
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - never a traceback, nor text that might hold a value
        print("error: unexpected failure (please report; the reason is not shown, it might hold a value)",
              file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # `--stack` runs the Pulumi mock runtime, whose leftover event loop prints noise at
    # interpreter exit; nothing else needs cleaning up, so leave at once.
    os._exit(exit_code)
