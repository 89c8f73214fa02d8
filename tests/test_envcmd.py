"""components/envcmd.py end to end against moto's Secrets Manager server over HTTP.

Every secret value used here contains the marker `s3cr3t`, so a test can check that no value
reaches stdout (when masked) or stderr (ever).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
import subprocess
import sys
import types
import urllib.request
from pathlib import Path

import boto3
import pytest

from tooling import envcmd
from tooling.envcmd import main

ROOT = Path(__file__).resolve().parent.parent
MARK = "s3cr3t"
DB = {"DB_USER": f"app-{MARK}", "DB_PASSWORD": f'p"a\\ss {MARK}\nline2 $HOME ${{X}} = ü', "DB_PORT": 5432,
      "DB_SSL": True, "DB_NULL": None, "DB_OPTS": {"a": [1, MARK]}, "lower-case.key": MARK}


@pytest.fixture(autouse=True)
def quiet_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would land in capsys


@pytest.fixture
def sm(moto_endpoint):
    return boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def db(sm):
    return sm.create_secret(Name="app/db", SecretString=json.dumps(DB))["ARN"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def parse_dotenv(text: str) -> dict[str, str]:
    """Load our dotenv text the way the docs say users do: `set -a; . ./.env` in a real POSIX shell
    (no other variables set), then read back exactly the variables it defines."""
    import tempfile

    keys = re.findall(r"^(?:export )?([A-Z_][A-Z0-9_]*)=", text, re.M)
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
        handle.write(text)
    try:
        dump = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"
        done = subprocess.run(["sh", "-c", f'set -a; . "$0"; code=$1; shift; exec "{sys.executable}" -c "$code" "$@"',
                               handle.name, dump, *keys], capture_output=True, text=True, timeout=30,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"})
    finally:
        os.unlink(handle.name)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_error(err: str, *fragments: str) -> None:
    """One line on stderr, `error: ...`, no traceback, no value, containing each fragment."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err and MARK not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# ---------------------------------------------------------------------------------------------
# env output


def test_env_masks_values_by_default(capsys, moto_endpoint, db):
    code, out, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db")
    assert code == 0
    # An empty value is shown as empty (nothing to hide) and named on stderr, never masked.
    assert out.splitlines() == [f"{k}=********" if DB[k] is not None else f"{k}=''"
                                for k in sorted(k for k in DB if k.isupper())]
    assert "note: empty (not filled in yet): DB_NULL" in err
    assert MARK not in out + err
    # The skipped key is named (never its value).
    assert "skipped keys that are not environment variable names: lower-case.key" in err


def test_env_reveal_round_trips_every_value(capsys, moto_endpoint, db):
    code, out, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db", "--reveal")
    assert code == 0
    assert parse_dotenv(out) == {
        "DB_USER": DB["DB_USER"], "DB_PASSWORD": DB["DB_PASSWORD"], "DB_PORT": "5432", "DB_SSL": "true",
        "DB_NULL": "", "DB_OPTS": json.dumps(DB["DB_OPTS"], separators=(",", ":")),
    }
    assert len(out.splitlines()) == 7  # DB_PASSWORD's newline stays literal inside single quotes
    assert MARK not in err


def test_env_selected_keys_in_the_order_asked_and_by_arn(capsys, moto_endpoint, db):
    code, out, _ = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", f"{db}=DB_USER,DB_PORT", "--reveal")
    assert code == 0
    assert out == f"DB_USER='{DB['DB_USER']}'\nDB_PORT='5432'\n"


def test_env_endpoint_from_boto3_environment_variable(capsys, moto_endpoint, db, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    code, out, _ = run(capsys, "env", "--secret", "app/db=DB_USER", "--reveal")
    assert (code, out) == (0, f"DB_USER='{DB['DB_USER']}'\n")


def test_env_previous_stage_and_version_id(capsys, moto_endpoint, sm):
    first = sm.create_secret(Name="rotating", SecretString=json.dumps({"TOKEN": f"old-{MARK}"}))["VersionId"]
    sm.put_secret_value(SecretId="rotating", SecretString=json.dumps({"TOKEN": f"new-{MARK}"}))
    base = ["env", "--endpoint-url", moto_endpoint, "--secret", "rotating", "--reveal"]
    assert run(capsys, *base)[:2] == (0, f"TOKEN='new-{MARK}'\n")
    assert run(capsys, *base, "--stage", "AWSPREVIOUS")[:2] == (0, f"TOKEN='old-{MARK}'\n")
    assert run(capsys, *base, "--version-id", first)[:2] == (0, f"TOKEN='old-{MARK}'\n")


def test_env_binary_secrets_and_base64(capsys, moto_endpoint, sm):
    sm.create_secret(Name="bin-json", SecretBinary=json.dumps({"API_KEY": f"k-{MARK}"}).encode())
    sm.create_secret(Name="bin-text", SecretBinary=f"-----BEGIN KEY-----\n{MARK}\n".encode())
    sm.create_secret(Name="b64", SecretString=json.dumps({"CERT": base64.b64encode(f"pem {MARK}".encode()).decode()}))
    code, out, _ = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "bin-json", "--raw", "PEM=bin-text",
                       "--secret", "b64", "--decode-base64", "CERT", "--reveal")
    assert code == 0
    assert parse_dotenv(out) == {"API_KEY": f"k-{MARK}", "PEM": f"-----BEGIN KEY-----\n{MARK}\n", "CERT": f"pem {MARK}"}


def test_env_raw_string_secret(capsys, moto_endpoint, sm):
    sm.create_secret(Name="plain", SecretString=f"just-{MARK}")
    code, out, _ = run(capsys, "env", "--endpoint-url", moto_endpoint, "--raw", "PLAIN=plain", "--reveal")
    assert (code, out) == (0, f"PLAIN='just-{MARK}'\n")


def test_env_output_file_is_private_and_follows_reveal(capsys, moto_endpoint, db, tmp_path):
    target = tmp_path / ".env"
    target.write_text("OLD=1\n")
    target.chmod(0o644)
    code, out, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_USER",
                         "--output", str(target))
    assert (code, out) == (0, "")
    assert target.read_text() == "DB_USER=********\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "masked" in err and "--reveal" in err and MARK not in err
    code, out, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_USER",
                         "--output", str(target), "--reveal")
    assert (code, out) == (0, "")
    assert parse_dotenv(target.read_text()) == {"DB_USER": DB["DB_USER"]}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert MARK not in err
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left behind


# ---------------------------------------------------------------------------------------------
# Plan documents


def write_plan(tmp_path, secrets, **extra):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"stack": "dev", "secrets": secrets, **extra}))
    return str(path)


def test_env_from_plan_json(capsys, moto_endpoint, db, sm, tmp_path):
    sm.create_secret(Name="shared/api", SecretString=json.dumps({"API_KEY": f"a-{MARK}", "API_URL": "https://x"}))
    plan = write_plan(tmp_path, [
        {"name": "appDb", "secretName": "app/db", "environmentVariables": ["DB_USER", "DB_PORT"], "external": False},
        {"name": "api", "secretName": "shared/api", "environmentVariables": [], "external": True},
    ])
    code, out, _ = run(capsys, "env", "--endpoint-url", moto_endpoint, "--plan-json", plan, "--reveal")
    assert code == 0
    assert parse_dotenv(out) == {"DB_USER": DB["DB_USER"], "DB_PORT": "5432", "API_KEY": f"a-{MARK}",
                                 "API_URL": "https://x"}


def test_env_from_plan_on_stdin(capsys, moto_endpoint, db, monkeypatch):
    import io
    doc = {"stack": "dev", "secrets": [{"name": "db", "secretName": "app/db", "environmentVariables": ["DB_SSL"]}]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(doc)))
    assert run(capsys, "env", "--endpoint-url", moto_endpoint, "--plan-json", "-", "--reveal")[:2] == (0, "DB_SSL='true'\n")


@pytest.fixture
def fake_plan(monkeypatch):
    module = types.ModuleType("tooling.plan")
    monkeypatch.setitem(sys.modules, "tooling.plan", module)
    return module


def test_env_from_stack_uses_plan_stack_and_its_region(capsys, moto_endpoint, fake_plan):
    boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="eu-west-1").create_secret(
        Name="eu/db", SecretString=json.dumps({"EU_TOKEN": f"t-{MARK}"}))
    calls = []

    def plan_stack(stack, **_):
        calls.append(stack)
        return {"stack": stack, "region": "eu-west-1",
                "secrets": [{"name": "db", "secretName": "eu/db", "environmentVariables": ["EU_TOKEN"]}]}

    fake_plan.plan_stack = plan_stack
    code, out, _ = run(capsys, "env", "--endpoint-url", moto_endpoint, "--stack", "staging", "--reveal")
    assert (code, out, calls) == (0, f"EU_TOKEN='t-{MARK}'\n", ["staging"])


def test_stack_errors(capsys, fake_plan, monkeypatch):
    from stack_program.project import StackFileError

    def broken(stack, **_):
        raise StackFileError(f"stacks/Pulumi.{stack}.yaml: not found")

    fake_plan.plan_stack = broken
    code, _, err = run(capsys, "env", "--stack", "nope")
    assert code == 2
    assert_error(err, "--stack nope", "Pulumi.nope.yaml: not found")
    assert "StackFileError" not in err

    def crash(stack, **_):
        raise RuntimeError("mock runtime fell over")

    fake_plan.plan_stack = crash
    code, _, err = run(capsys, "env", "--stack", "dev")
    assert code == 1
    assert_error(err, "fell over")
    assert "RuntimeError" not in err

    monkeypatch.setitem(sys.modules, "tooling.plan", None)  # import fails
    code, _, err = run(capsys, "env", "--stack", "dev")
    assert code == 1
    assert_error(err, "--stack needs tooling.plan", "could not be imported", "--plan-json")


@pytest.mark.parametrize("content,fragment", [
    ("not json", "not valid JSON"),
    ('{"stack": "dev"}', "not a plan document"),
    ('{"secrets": [{"name": "db", "environmentVariables": ["A"]}]}', "secret db has no secretName"),
    ('{"secrets": [{"name": "db", "secretName": "app/db", "environmentVariables": ["db-host"]}]}',
     "'db-host' is not an environment variable name"),
    ('{"secrets": [{"name": "db", "secretName": "(computed: name)", "environmentVariables": []}]}',
     "is not a Secrets Manager secret name or ARN"),
    # issue 18's apps: a hand-edited "apps" list is bad input naming its entry, not an unexpected failure.
    ('{"secrets": [{"name": "a", "secretName": "a", "environmentVariables": ["X"]}, '
     '{"name": "b", "secretName": "b", "environmentVariables": ["X"]}], "apps": [{"secrets": ["a"]}]}',
     "apps[0] is not an object with a name and a list of secrets"),
    ('{"secrets": [], "apps": ["junk"]}', "apps[0] is not an object with a name and a list of secrets"),
    ('{"secrets": [], "apps": {"web": {}}}', "apps is not a list"),
])
def test_bad_plan_json(capsys, tmp_path, content, fragment):
    path = tmp_path / "plan.json"
    path.write_text(content)
    code, _, err = run(capsys, "env", "--plan-json", str(path))
    assert code == 2
    assert_error(err, fragment)


# ---------------------------------------------------------------------------------------------
# exec


PROBE = "import os,sys; sys.exit(0 if os.environ.get('DB_USER') == sys.argv[1] else 3)"


def test_exec_passes_values_and_the_exit_code(capfd, moto_endpoint, db):
    code = main(["exec", "--endpoint-url", moto_endpoint, "--secret", "app/db", "--",
                 sys.executable, "-c", PROBE, DB["DB_USER"]])
    assert code == 0
    code = main(["exec", "--endpoint-url", moto_endpoint, "--secret", "app/db", "--",
                 sys.executable, "-c", PROBE, "something else"])
    assert code == 3
    code = main(["exec", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_PASSWORD", "--",
                 sys.executable, "-c", "import os,sys; sys.exit(7 if os.environ['DB_PASSWORD'] == sys.argv[1] else 1)",
                 DB["DB_PASSWORD"]])
    assert code == 7  # newlines, quotes and $ reach the command unchanged
    out, err = capfd.readouterr()
    assert MARK not in out + err


def test_exec_in_a_real_subprocess(moto_endpoint, db):
    base = [sys.executable, "-m", "tooling.envcmd", "exec", "--endpoint-url", moto_endpoint,
            "--secret", "app/db=DB_USER", "--", sys.executable, "-c", PROBE]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run(base + [DB["DB_USER"]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run(base + ["nope"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 3
    assert MARK not in ok.stdout + ok.stderr + wrong.stdout + wrong.stderr
    missing = subprocess.run([sys.executable, "-m", "tooling.envcmd", "env", "--endpoint-url", moto_endpoint,
                              "--secret", "nope"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert_error(missing.stderr, "secret 'nope' not found in region us-east-1")


def test_exec_command_not_found(capsys, moto_endpoint, db):
    code, _, err = run(capsys, "exec", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_USER", "--",
                       "no-such-command-app-secrets")
    assert code == 127
    assert_error(err, "command not found: no-such-command-app-secrets")


# ---------------------------------------------------------------------------------------------
# Errors while running (exit 1)


def test_missing_secret(capsys, moto_endpoint):
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/missing")
    assert code == 1
    assert_error(err, "secret 'app/missing' not found in region us-east-1")


def test_missing_key_names_keys_only(capsys, moto_endpoint, db):
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_USER,DB_HOST")
    assert code == 1
    assert_error(err, "secret 'app/db' has no key 'DB_HOST'; it has: DB_NULL, DB_OPTS, DB_PASSWORD, DB_PORT, "
                      "DB_SSL, DB_USER, lower-case.key")


def test_missing_stage(capsys, moto_endpoint, db):
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db", "--stage", "AWSPREVIOUS")
    assert code == 1
    assert_error(err, "secret 'app/db' has no version with stage 'AWSPREVIOUS'; its stages: AWSCURRENT")


@pytest.mark.parametrize("kwargs", [{"SecretString": f"plain {MARK}"}, {"SecretString": json.dumps([MARK])},
                                    {"SecretBinary": f"plain {MARK}".encode()}])
def test_not_json(capsys, moto_endpoint, sm, kwargs):
    sm.create_secret(Name="plain", **kwargs)
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "plain=TOKEN")
    assert code == 1
    assert_error(err, "secret 'plain' is not a JSON object", "--raw VAR=plain")


def test_binary_not_utf8(capsys, moto_endpoint, sm):
    sm.create_secret(Name="blob", SecretBinary=b"\xff\xfe" + MARK.encode())
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--raw", "BLOB=blob")
    assert code == 1
    assert_error(err, "secret 'blob' is binary and not UTF-8 text")


def test_bad_base64(capsys, moto_endpoint, db):
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db",
                       "--decode-base64", "DB_PASSWORD")
    assert code == 1
    assert_error(err, "--decode-base64 DB_PASSWORD", "not base64")


def test_secret_scheduled_for_deletion(capsys, moto_endpoint, db, sm):
    sm.delete_secret(SecretId="app/db")
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db")
    assert code == 1
    assert_error(err, "secret 'app/db': InvalidRequestException")


def test_unreachable_endpoint(capsys, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, _, err = run(capsys, "env", "--endpoint-url", "http://127.0.0.1:9", "--secret", "app/db")
    assert code == 1
    assert_error(err, "secret 'app/db': Could not connect to the endpoint URL")


@pytest.fixture
def iam_enforced(moto_endpoint, monkeypatch):
    """Switch the running moto server to IAM enforcement (its /moto-api/reset-auth), then back.

    Yields a function creating a user with an inline policy and returning its access key; the
    caller points AWS_ACCESS_KEY_ID/SECRET at it. All setup calls happen before enforcement.
    """
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    state = {"previous": None}

    def user(name, statements):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def enforce(access_key):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key[0])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", access_key[1])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        state["previous"] = _reset_auth(moto_endpoint, "0")

    yield types.SimpleNamespace(iam=iam, user=user, enforce=enforce)
    if state["previous"] is not None:
        _reset_auth(moto_endpoint, state["previous"])


def _reset_auth(endpoint: str, count: str) -> str:
    """Set the server's INITIAL_NO_AUTH_ACTION_COUNT; return the previous one."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})  # form data would be eaten
    return json.loads(urllib.request.urlopen(request).read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]


def test_access_denied_from_iam_enforcement(capsys, moto_endpoint, db, iam_enforced):
    key = iam_enforced.user("nobody", [{"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}])
    iam_enforced.enforce(key)
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db")
    assert code == 1
    assert_error(err, "access denied reading secret 'app/db' in region us-east-1", "secretsmanager:GetSecretValue")


def test_role_arn_is_assumed_through_sts(capsys, moto_endpoint, db, iam_enforced, monkeypatch):
    iam = iam_enforced.iam

    def role(name, trusted_user):
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::123456789012:user/{trusted_user}"}}]}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
        return arn

    reader, other = role("reader", "dev"), role("other", "someone-else")
    key = iam_enforced.user("dev", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [reader, other]}])
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    iam_enforced.enforce(key)
    base = ["env", "--endpoint-url", moto_endpoint, "--secret", "app/db=DB_USER"]
    # The user alone may not read the secret; through the role it may.
    code, _, err = run(capsys, *base)
    assert code == 1
    assert_error(err, "access denied")
    code, out, err = run(capsys, *base, "--role-arn", reader, "--reveal")
    assert (code, out) == (0, f"DB_USER='{DB['DB_USER']}'\n"), err
    # A role whose trust policy does not name the user.
    code, _, err = run(capsys, *base, "--role-arn", other)
    assert code == 1
    assert_error(err, f"cannot assume role {other}: AccessDenied", "sts:AssumeRole")


# ---------------------------------------------------------------------------------------------
# Bad usage (exit 2)


def test_duplicate_variable_from_two_secrets(capsys, moto_endpoint, sm):
    # Explicit keys: refused before any call (the secrets do not even exist).
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "a=TOKEN", "--secret", "b=TOKEN")
    assert code == 2
    assert_error(err, "variable TOKEN comes from two places: --secret a=TOKEN and --secret b=TOKEN")
    # All keys: found once both values are read.
    for name in ("one", "two"):
        sm.create_secret(Name=name, SecretString=json.dumps({"TOKEN": f"{name}-{MARK}"}))
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "one", "--raw", "OTHER=two",
                       "--secret", "two")
    assert code == 2
    assert_error(err, "variable TOKEN comes from two places: --secret one and --secret two")


@pytest.mark.parametrize("argv,fragment", [
    (["env"], "nothing to read"),
    ([], "expected 'env' or 'exec'"),
    (["show", "--secret", "x"], "expected 'env' or 'exec'"),
    (["env", "--secret", "app/db=db_user"], "'db_user' is not an environment variable name"),
    (["env", "--secret", "app/db=A,A"], "listed twice"),
    (["env", "--secret", "app db"], "is not a Secrets Manager secret name or ARN"),
    (["env", "--raw", "app/db"], "expected VAR=SECRET"),
    (["env", "--raw", "x-y=app/db"], "'x-y' is not an environment variable name"),
    (["env", "--secret", "x", "--stage", "A", "--version-id", "b"], "not allowed with argument"),
    (["env", "--secret", "x", "--plan-json", "p", "--stack", "s"], "not allowed with argument"),
    (["env", "--secret", "x", "--bogus"], "unrecognized arguments: --bogus"),
    (["env", "--secret", "x", "--decode-base64", "lower"], "'lower' is not an environment variable name"),
    (["exec", "--secret", "x"], "exec needs a command after '--'"),
    (["exec", "--secret", "x", "--"], "exec needs a command after '--'"),
    (["exec", "--secret", "x", "--reveal", "--", "true"], "unrecognized arguments: --reveal"),
    (["env", "--plan-json", "/nonexistent/plan.json"], "--plan-json /nonexistent/plan.json"),
])
def test_usage_errors(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert_error(err, fragment)


def test_decode_base64_of_an_unknown_variable(capsys, moto_endpoint, db):
    code, _, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/db", "--decode-base64", "NOPE")
    assert code == 2
    assert_error(err, "--decode-base64 NOPE: no such variable")


def test_unknown_profile_and_no_region(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    code, _, err = run(capsys, "env", "--secret", "x", "--profile", "nope")
    assert code == 2
    assert_error(err, "AWS profile 'nope' not found")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    code, _, err = run(capsys, "env", "--secret", "x")
    assert code == 2
    assert_error(err, "no AWS region")


def test_help_exits_zero(capsys):
    for argv in (["env", "--help"], ["exec", "--help"]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and "--secret" in out and err == ""


def test_unexpected_errors_show_the_type_only(capsys, monkeypatch):
    def boom(*_args, **_kwargs):
        raise KeyError(f"value {MARK}")

    monkeypatch.setattr(envcmd, "make_client", boom)
    code, _, err = run(capsys, "env", "--secret", "x")
    assert code == 1
    assert_error(err, "unexpected failure")
    assert "KeyError" not in err


def test_dotenv_quote():
    nasty = "a\"b\\c\nd\re$f ${HOME} `id` $(id) it's 'q' ü"
    assert envcmd.dotenv_quote("it's") == "'it'\\''s'"
    assert parse_dotenv("K=" + envcmd.dotenv_quote(nasty) + "\n") == {"K": nasty}
    assert parse_dotenv(envcmd.render_dotenv({"A": nasty, "B": ""}, True, "shell")) == {"A": nasty, "B": ""}
    assert json.loads(envcmd.render_dotenv({"A": nasty, "B": ""}, True, "json")) == {"A": nasty, "B": ""}
    assert json.loads(envcmd.render_dotenv({"A": nasty, "B": ""}, False, "json")) == {"A": "********", "B": ""}


# --- issue 16: whoever writes a secret does not steer the command ------------------------------

HOSTILE = {"APP_TOKEN": f"t-{MARK}", "PATH": "/tmp/evil", "LD_PRELOAD": "/tmp/evil.so",
           "DYLD_INSERT_LIBRARIES": "/tmp/evil.dylib", "PYTHONSTARTUP": "/tmp/evil.py", "PYTHONPATH": "/tmp",
           "NODE_OPTIONS": "--require /tmp/evil.js", "BASH_ENV": "/tmp/evil.sh", "ENV": "/tmp/evil.sh"}
SHOW_ENV = ("import json, os, sys; json.dump({k: os.environ.get(k) for k in sys.argv[1:]}, "
            "open(os.environ['APP_SECRETS_TEST_OUT'], 'w'))")


def test_exec_never_takes_startup_variables_from_a_secret_unless_named(capfd, moto_endpoint, sm, tmp_path,
                                                                       monkeypatch):
    sm.create_secret(Name="app/hostile", SecretString=json.dumps(HOSTILE))
    out_file = tmp_path / "seen.json"
    monkeypatch.setenv("APP_SECRETS_TEST_OUT", str(out_file))
    names = sorted(HOSTILE)
    code = main(["exec", "--endpoint-url", moto_endpoint, "--secret", "app/hostile", "--",
                 sys.executable, "-c", SHOW_ENV, *names])
    assert code == 0
    seen = json.loads(out_file.read_text())
    assert seen["APP_TOKEN"] == HOSTILE["APP_TOKEN"]
    for name in names:
        if name != "APP_TOKEN":
            assert seen[name] != HOSTILE[name], name   # the caller's own value (or none) stays
    out, err = capfd.readouterr()
    assert "left out BASH_ENV, DYLD_INSERT_LIBRARIES, ENV, LD_PRELOAD, NODE_OPTIONS, PATH, PYTHONPATH, " \
           "PYTHONSTARTUP" in err
    assert MARK not in out + err and "/tmp/evil" not in out + err
    # Named explicitly, it is set: the caller asked for it.
    code = main(["exec", "--endpoint-url", moto_endpoint, "--secret", "app/hostile=NODE_OPTIONS,APP_TOKEN", "--",
                 sys.executable, "-c", SHOW_ENV, "NODE_OPTIONS"])
    assert code == 0 and json.loads(out_file.read_text()) == {"NODE_OPTIONS": HOSTILE["NODE_OPTIONS"]}


def test_env_leaves_startup_variables_out_of_dotenv_too(capsys, moto_endpoint, sm):
    sm.create_secret(Name="app/hostile", SecretString=json.dumps(HOSTILE))
    code, out, err = run(capsys, "env", "--endpoint-url", moto_endpoint, "--secret", "app/hostile", "--reveal")
    assert code == 0
    assert parse_dotenv(out) == {"APP_TOKEN": HOSTILE["APP_TOKEN"]}


def test_the_dotenv_claim_holds_for_a_shell_and_is_honest_about_python_dotenv():
    """Our dotenv text, read by a real POSIX shell and by python-dotenv 1.2: the shell reads every
    value exactly; python-dotenv reads plain values the same, interpolates ${...} inside single
    quotes unless interpolate=False, and cannot parse a single quote. `env` says so (note)."""
    import io

    import dotenv

    values = {"PLAIN": "p@ss word=1 `x` \\n $HOME", "BRACES": "${HOME}/x", "QUOTE": "it's"}
    text = envcmd.render_dotenv(values, True)
    assert parse_dotenv(text) == values                                 # the shell: exact
    default = dotenv.dotenv_values(stream=io.StringIO(text))
    literal = dotenv.dotenv_values(stream=io.StringIO(text), interpolate=False)
    assert default["PLAIN"] == literal["PLAIN"] == values["PLAIN"]
    assert default["BRACES"] != values["BRACES"] and literal["BRACES"] == values["BRACES"]
    assert default.get("QUOTE") != values["QUOTE"] and literal.get("QUOTE") != values["QUOTE"]
    assert envcmd.not_for_python_dotenv(values) == ["BRACES", "QUOTE"]
    assert "python-dotenv" in envcmd.__doc__ and "interpolate=False" in envcmd.__doc__


def test_dot_env_files_are_git_ignored():
    ignored = subprocess.run(["git", "-c", f"safe.directory={ROOT}", "check-ignore", "-v", ".env", ".env.local"],
                             cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0, ignored.stderr
    assert ignored.stdout.count(".gitignore:") == 2


def test_overlap_with_a_secret_of_no_app_names_it():
    """A secret no read policy lists is in no app: --app cannot pick it, so the refusal names it."""
    doc = {"secrets": [{"name": "shared-rails", "environmentVariables": ["SECRET_KEY_BASE"]},
                       {"name": "billing-rails", "environmentVariables": ["SECRET_KEY_BASE"]}],
           "apps": [{"name": "billing", "secrets": ["billing-rails"]}]}
    with pytest.raises(envcmd.CommandError) as caught:
        envcmd.app_secrets_of(doc, None, "--stack s")
    assert str(caught.value) == ("--stack s: SECRET_KEY_BASE given by more than one secret, in apps billing and in "
                                 "no app (shared-rails: read those with --secret NAME); pick one with --app NAME")
