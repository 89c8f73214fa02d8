"""`python -m components rotate / rotation status / rotation cancel` against moto over HTTP, with the real
rotation handler and a real PostgreSQL.

moto's RotateSecret invokes the configured Lambda function through its own Lambda backend, which needs
Docker. The test plays Lambda there (as the other rotation tests play Secrets Manager): the "function"
is the real handler, run in this process for each step moto invokes; its log lines and an uncaught
error go to the function's CloudWatch Logs group in moto, as the Lambda runtime would write them; and
what moto leaves out of Secrets Manager's part is done here too (a failed step ends the rotation;
AWSPENDING is removed from a finished version)."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest

import servers
from tooling import cli

FUNCTION = "rotate"  # servers.enable_rotation configures arn:...:function:rotate


@pytest.fixture
def played_lambda(monkeypatch, handler, moto_endpoint, sm_client):
    import boto3
    from moto.awslambda.models import LambdaBackend

    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = f"/app-secrets/rotation/{FUNCTION}"   # the component's log group (rotation_function.py)
    logs.create_log_group(logGroupName=group)
    failed: set[str] = set()
    invocations: list[str] = []

    def get_function(self, name, qualifier=None):
        return object()

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        event = json.loads(body)
        token, step = event["ClientRequestToken"], event["Step"]
        if token in failed:  # Secrets Manager stops at the first failing step
            return None
        invocations.append(step)
        request_id = str(uuid.uuid4())
        lines: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record):
                lines.append(f"[{record.levelname}]\t{request_id}\t{record.getMessage()}")

        collector = Collect(logging.DEBUG)
        logger = logging.getLogger("rotation.postgres_admin")
        logger.addHandler(collector)
        try:
            handler.lambda_handler(event, None)
            if step == "finishSecret":
                servers.end_rotation(sm_client, event["SecretId"], token)
        except Exception as exc:  # noqa: BLE001 - what the Lambda runtime reports for an uncaught error
            failed.add(token)
            lines.append(f"[ERROR] {type(exc).__name__}: {exc}")
        finally:
            logger.removeHandler(collector)
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now, "message": line} for line in lines or ["(no output)"]])
        return None

    # moto differs from AWS here: RotateSecret without RotationLambdaARN clears the configured function
    # (and then only promotes the placeholder); AWS keeps it and rotates with it, as `rotate` relies on.
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.rotate_secret

    def rotate_secret(self, secret_id, client_request_token=None, rotation_lambda_arn=None, rotation_rules=None,
                      rotate_immediately=True):
        if not rotation_lambda_arn and self._is_valid_identifier(secret_id):
            rotation_lambda_arn = self.secrets[secret_id].rotation_lambda_arn or None
        return original(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules,
                        rotate_immediately)

    monkeypatch.setattr(SecretsManagerBackend, "rotate_secret", rotate_secret)
    monkeypatch.setattr(LambdaBackend, "get_function", get_function)
    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    return invocations


def run(capfd, moto_endpoint, *argv):
    region = [] if "--region" in argv else ["--region", "us-east-1"]
    code = cli.main([*argv, "--endpoint-url", moto_endpoint, *region])
    out, err = capfd.readouterr()
    return code, out, err


def test_rotate_and_wait_reports_the_new_current_version(capfd, moto_endpoint, db, make_secret, played_lambda):
    side = make_secret(db.login_secret())
    code, out, err = run(capfd, moto_endpoint, "rotate", "--secret", side.secret_id, "--wait")
    assert (code, err) == (0, "")
    assert out.startswith(f"rotated {side.secret_id}: version ") and out.strip().endswith("is AWSCURRENT")
    assert played_lambda == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    current = side.value()
    assert db.can_login(current["username"], current["password"]) and not db.can_login(db.admin, db.password)
    version = out.split("version ")[1].split()[0]
    assert side.stages()[version] == ["AWSCURRENT"]

    code, out, _ = run(capfd, moto_endpoint, "rotation", "status", "--secret", side.secret_id)
    assert code == 0
    assert "rotation: enabled, function rotate" in out and "schedule: every 30 days" in out
    assert f"version {version}: AWSCURRENT" in out and "STUCK" not in out and "last error" not in out


def test_rotate_without_wait_only_starts_it(capfd, moto_endpoint, db, make_secret, played_lambda):
    side = make_secret(db.login_secret())
    code, out, err = run(capfd, moto_endpoint, "rotate", "--secret", side.secret_id)
    assert code == 0 and out.startswith(f"rotation of {side.secret_id} started: version ")


def test_a_failed_rotation_is_reported_stuck_and_can_be_cancelled(capfd, moto_endpoint, db, make_secret,
                                                                  played_lambda):
    side = make_secret(db.login_secret(port=servers.closed_port()))  # the database cannot be reached
    code, out, err = run(capfd, moto_endpoint, "rotate", "--secret", side.secret_id, "--wait",
                         "--timeout", "0.5", "--poll", "0.1")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: rotation of {side.secret_id} did not finish within 0.5 s: version ")
    assert "still AWSPENDING; last error of rotate" in err and "setSecret" in err
    assert played_lambda == ["createSecret", "setSecret"]
    pending = next(v for v, s in side.stages().items() if "AWSPENDING" in s)

    code, out, _ = run(capfd, moto_endpoint, "rotation", "status", "--secret", side.secret_id)
    assert code == 0
    assert f"STUCK: AWSPENDING on version {pending} since " in out
    assert "last error of rotate (" in out and "unable to log in" in out

    code, out, err = run(capfd, moto_endpoint, "rotate", "--secret", side.secret_id)
    assert code == 1 and "a rotation is already in progress or stuck" in err and pending in err

    code, out, err = run(capfd, moto_endpoint, "rotation", "cancel", "--secret", side.secret_id)
    assert code == 0
    assert out.strip() == f"cancelled the rotation of {side.secret_id}: AWSPENDING removed from version {pending}"
    assert "automatic rotation of" in err and "is now OFF" in err and f"--version-id {pending}" in err
    assert "AWSPENDING" not in {s for stages in side.stages().values() for s in stages}
    assert side.value() == db.login_secret(port=side.value()["port"])  # AWSCURRENT untouched

    code, out, _ = run(capfd, moto_endpoint, "rotation", "status", "--secret", side.secret_id)
    assert code == 0 and "rotation: disabled" in out and "STUCK" not in out


def test_status_of_a_stacks_database_logins(capfd, moto_endpoint, db, make_secret):
    from tooling.plan import plan_stack

    doc = plan_stack("dev")
    names = [s["secretName"] for s in doc["secrets"] if s["kind"] == "rds-postgres-admin-login"]
    assert names
    for name in names:
        make_secret(db.login_secret(), name=name)
    code, out, err = run(capfd, moto_endpoint, "rotation", "status", "--stack", "dev")
    assert code == 0, err
    for name in names:
        assert f"{name}\n  rotation: enabled" in out


@pytest.mark.parametrize("argv, code, message", [
    (["rotation", "status"], 2, "error: rotation status needs --stack NAME or --secret NAME"),
    (["rotate"], 2, "error: python -m components rotate: the following arguments are required: --secret"),
    (["rotate", "--secret", "nope"], 1, "error: secret nope not found"),
    (["rotation", "status", "--secret", "plain", "--region", "us-esat-1"], 2,
     "error: --region 'us-esat-1': not an AWS region"),
    (["rotation", "cancel", "--secret", "plain"], 1, "error: secret plain has no rotation configured"),
    (["rotate", "--secret", "plain"], 1, "error: secret plain has no rotation function"),
    (["rotate", "--secret", "plain", "--wait", "--timeout", "0"], 2, "error: --timeout 0: expected a positive number of seconds"),
])
def test_bad_input_and_failures_are_one_line(capfd, moto_endpoint, make_secret, argv, code, message):
    make_secret({"A": "value-not-a-login"}, rotation=False, name="plain")
    got, out, err = run(capfd, moto_endpoint, *argv)
    assert got == code and out == ""
    assert err.startswith(message) and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_rotate_immediately_false_through_moto_invokes_test_secret_only(db, make_secret, sm_client, handler_env,
                                                                       played_lambda, strategy):
    """RotateSecret(RotateImmediately=false) as moto implements it: a new AWSPENDING version holding a
    copy of the current value, then testSecret alone. The step passes and nothing changes."""
    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret(), rotation=False)
    response = sm_client.rotate_secret(SecretId=side.secret_id, RotateImmediately=False,
                                       RotationLambdaARN=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
                                       RotationRules={"AutomaticallyAfterDays": 30})
    assert played_lambda == ["testSecret"]
    assert response["ARN"] == side.arn
    (token,) = [v for v, stages in side.stages().items() if stages == ["AWSPENDING"]]
    servers.end_rotation(sm_client, side.secret_id, token)  # AWS removes it after the test; moto does not
    assert side.value() == db.login_secret() and db.can_login(db.admin, db.password)
    assert sm_client.describe_secret(SecretId=side.secret_id)["RotationEnabled"] is True
    # The next (scheduled or `rotate`) rotation works from there.
    side.rotate()
    current = side.value()
    assert db.can_login(current["username"], current["password"])
