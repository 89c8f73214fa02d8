"""Rotation failure alerts (issue 20): the EventBridge pattern, proven on events shaped as AWS's
CloudTrail service events by putting the rule on moto's EventBridge with an SQS target (moto 5.2.5's
TestEventPattern answers with no result), and the component's topic, key policy and alarms."""

from __future__ import annotations

import json
import uuid

import boto3
import pulumi
import pytest

from app_secrets.alerts import RotationAlerts, RotationAlertsArgs, rotation_failure_pattern
from tooling.offline import run_inline

ACCOUNT = "123456789012"
OURS = [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds-postgres-app-db-AbCdEf",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds-postgres-app-db-web-GhIjKl"]
OTHER_STACK = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds-postgres-app-db-staging-MnOpQr"


def service_event(name: str, secret_arn: str) -> dict:
    """A Secrets Manager rotation event as EventBridge delivers it from CloudTrail (a non-API
    `AwsServiceEvent`; the secret in additionalEventData.SecretId)."""
    return {
        "Source": "aws.secretsmanager",
        "DetailType": "AWS Service Event via CloudTrail",
        "Detail": json.dumps({
            "eventVersion": "1.08",
            "userIdentity": {"accountId": ACCOUNT, "invokedBy": "secretsmanager.amazonaws.com"},
            "eventTime": "2026-11-27T03:04:05Z",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "secretsmanager.amazonaws.com",
            "userAgent": "secretsmanager.amazonaws.com",
            "requestParameters": None,
            "responseElements": None,
            "additionalEventData": {"SecretId": secret_arn},
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsServiceEvent",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }),
        "Resources": [],
    }


def api_event(name: str, secret_arn: str) -> dict:
    event = service_event(name, secret_arn)
    detail = json.loads(event["Detail"])
    detail.update({"eventType": "AwsApiCall", "requestParameters": {"secretId": secret_arn},
                   "additionalEventData": None})
    return {**event, "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}


@pytest.fixture
def delivered(moto_endpoint):
    """deliver(events) -> the (eventName, SecretId) pairs that reached the rule's SQS target."""
    kwargs = dict(endpoint_url=moto_endpoint, region_name="us-east-1")
    events, sqs = boto3.client("events", **kwargs), boto3.client("sqs", **kwargs)
    queue = sqs.create_queue(QueueName="rotation-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="rotation-failed", EventPattern=json.dumps(rotation_failure_pattern(OURS)))
    events.put_targets(Rule="rotation-failed", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def deliver(batch):
        for event in batch:
            assert events.put_events(Entries=[event])["FailedEntryCount"] == 0
        got = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return sorted(got)
            for message in messages:
                body = json.loads(message["Body"])
                got.append((body["detail"]["eventName"], body["detail"]["additionalEventData"]["SecretId"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    return deliver


def test_every_failure_event_of_this_stacks_secrets_is_delivered(delivered):
    batch = [service_event(name, arn) for name in ("RotationFailed", "RotationAbandoned", "TestRotationFailed")
             for arn in OURS]
    assert delivered(batch) == sorted((json.loads(e["Detail"])["eventName"], json.loads(e["Detail"])[
        "additionalEventData"]["SecretId"]) for e in batch)


def test_other_stacks_successes_and_api_calls_are_not(delivered):
    batch = [service_event("RotationFailed", OTHER_STACK),               # another stack's secret
             service_event("RotationFailed", OURS[0][:-7]),              # a prefix of ours (no suffix)
             service_event("RotationSucceeded", OURS[0]),                 # not a failure
             service_event("RotationStarted", OURS[1]),
             api_event("RotateSecret", OURS[0]),                          # an API call, not a service event
             {**service_event("RotationFailed", OURS[0]), "Source": "aws.kms"}]
    assert delivered(batch) == []
    assert delivered([service_event("RotationFailed", OURS[1])]) == [("RotationFailed", OURS[1])]  # the control


def test_the_pattern_names_each_secret_once():
    pattern = rotation_failure_pattern([OURS[1], OURS[0], OURS[1]])
    assert pattern["detail"]["additionalEventData"]["SecretId"] == sorted(OURS)
    assert pattern["detail-type"] == ["AWS Service Event via CloudTrail"]


# --------------------------------------------------------------------------- the component (mocks)

def alerts_program(**overrides):
    def program():
        args = dict(name="app", secret_arns=OURS, function_names=["rds-postgres-app-db"])
        args.update(overrides)
        alerts = RotationAlerts("alerts", RotationAlertsArgs(**args))
        pulumi.export("topic", alerts.topic_arn)
        pulumi.export("rule", alerts.rule_arn)
    return program


def test_a_created_topic_lets_the_rule_and_alarms_publish_and_its_key_lets_them_encrypt():
    run = run_inline(alerts_program())
    rule = run.find("aws:cloudwatch/eventRule:EventRule", "alerts")
    assert json.loads(rule.inputs["eventPattern"]) == rotation_failure_pattern(OURS)
    topic = run.find("aws:sns/topic:Topic", "alerts")
    key = run.find("aws:kms/key:Key", "alerts-topic")
    assert run.outputs["topic"] == f"arn:aws:sns:us-east-1:{run.mocks.account}:app-rotation-alerts"
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")  # its own key, not alias/aws/sns
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["PublishersEncrypt"]["Principal"] == {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}
    assert set(statements["PublishersEncrypt"]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    policy = json.loads(run.find("aws:sns/topicPolicy:TopicPolicy", "alerts").inputs["policy"])
    publish = {s["Sid"]: s for s in policy["Statement"]}["RotationFailureRulePublishes"]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"}
    assert publish["Condition"] == {"ArnEquals": {"aws:SourceArn": run.outputs["rule"]}}
    target = run.find("aws:cloudwatch/eventTarget:EventTarget", "alerts")
    assert target.inputs["arn"] == run.outputs["topic"]
    alarm = run.find("aws:cloudwatch/metricAlarm:MetricAlarm", "alerts-errors-0")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["dimensions"]) == \
        ("AWS/Lambda", "Errors", {"FunctionName": "rds-postgres-app-db"})
    assert alarm.inputs["alarmActions"] == [run.outputs["topic"]]


def test_an_existing_topic_is_used_as_it_is():
    existing = f"arn:aws:sns:us-east-1:{ACCOUNT}:ops-alerts"
    run = run_inline(alerts_program(alert_topic_arn=existing))
    assert run.outputs["topic"] == existing
    assert not run.by_type("aws:sns/topic:Topic") and not run.by_type("aws:sns/topicPolicy:TopicPolicy")
    assert run.find("aws:cloudwatch/eventTarget:EventTarget", "alerts").inputs["arn"] == existing


# --------------------------------------------------------------------------- the stack program

def test_a_stack_that_rotates_alerts_on_exactly_its_rotated_secrets():
    from tooling.offline import run_program

    run = run_program("dev", config_override={"logins": {"example-web": {"database": "example-db", "username": "web"}}})
    secrets = run.outputs["secrets"]
    rule = run.find("aws:cloudwatch/eventRule:EventRule", "rotation-alerts")
    assert json.loads(rule.inputs["eventPattern"])["detail"]["additionalEventData"]["SecretId"] == \
        sorted([secrets["example-db"]["arn"], secrets["example-web"]["arn"]])
    alarms = sorted(a.inputs["dimensions"]["FunctionName"] for a in run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert alarms == sorted([secrets["example-db"]["name"], secrets["example-web"]["name"]])
    assert run.outputs["rotationAlerts"]["topicArn"].endswith(":app-secrets-rotation-alerts")


def test_alerts_can_go_to_an_existing_topic_or_be_turned_off():
    from tooling.offline import run_program

    topic = "arn:aws:sns:us-east-1:000000000000:ops"
    run = run_program("dev", config_override={"rotationAlerts": {"alertTopicArn": topic}})
    assert run.outputs["rotationAlerts"]["topicArn"] == topic and not run.by_type("aws:sns/topic:Topic")
    run = run_program("dev", config_override={"rotationAlerts": {"enabled": False}})
    assert "rotationAlerts" not in run.outputs and not run.by_type("aws:cloudwatch/eventRule:EventRule")


def test_many_secrets_are_split_over_rules_within_eventbridges_limit():
    from app_secrets.alerts import ARNS_PER_RULE, MAX_PATTERN_CHARS, rotation_failure_patterns

    longest = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:" + "n" * 64 + "-AbCdEf"
    arns = [longest[:-8] + f"{i:02d}-AbCdEf" for i in range(60)]
    patterns = rotation_failure_patterns(arns)
    assert len(patterns) == 3 and all(len(p["detail"]["additionalEventData"]["SecretId"]) <= ARNS_PER_RULE
                                      for p in patterns)
    assert all(len(json.dumps(p, separators=(",", ":"))) <= MAX_PATTERN_CHARS for p in patterns)
    assert sorted(a for p in patterns for a in p["detail"]["additionalEventData"]["SecretId"]) == sorted(arns)
    run = run_inline(alerts_program(secret_arns=arns))
    rules = run.by_type("aws:cloudwatch/eventRule:EventRule")
    assert len(rules) == 3 and len(run.by_type("aws:cloudwatch/eventTarget:EventTarget")) == 3
    policy = json.loads(run.find("aws:sns/topicPolicy:TopicPolicy", "alerts").inputs["policy"])
    publish = {s["Sid"]: s for s in policy["Statement"]}["RotationFailureRulePublishes"]
    assert len(publish["Condition"]["ArnEquals"]["aws:SourceArn"]) == 3
