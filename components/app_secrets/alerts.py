"""RotationAlerts: tell someone when a rotation fails.

Secrets Manager records `RotationFailed`, `RotationAbandoned` and `TestRotationFailed` as CloudTrail
service events, which EventBridge receives as detail-type "AWS Service Event via CloudTrail" with
source `aws.secretsmanager`; the secret's ARN is in `detail.additionalEventData.SecretId`. One rule
matches those events for this stack's secrets only and sends them to an SNS topic, and one alarm per
rotation function fires on its `Errors` metric (a failure that never reaches Secrets Manager's
bookkeeping, e.g. a function that cannot start).

| input | type | default | meaning |
|---|---|---|---|
| name | str | (required) | names the rule, topic, key and alarms |
| secret_arns | list[Input[str]] | (required) | the secrets whose failures alert |
| function_names | list[Input[str]] | [] | rotation functions to alarm on (`AWS/Lambda` `Errors` > 0 in 5 minutes) |
| alert_topic_arn | str | none: a topic is created | an existing topic; its policy must let `events.amazonaws.com` (and `cloudwatch.amazonaws.com`) publish, and its KMS key, if any, must let them use it (the AWS-managed `alias/aws/sns` key cannot) |

A created topic is encrypted with its own key, whose policy lets EventBridge and CloudWatch use it;
its topic policy lets the rule (by ARN) and this account's alarms publish.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import naming, policies
from .context import AwsContext

FAILURE_EVENTS = ("RotationFailed", "RotationAbandoned", "TestRotationFailed")
PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")
# EventBridge refuses patterns over 4096 characters (terraform-provider-aws
# internal/service/events/rule.go, validateEventPatternValue). A secret ARN this project creates is
# at most ~140 characters (names fit a 64-character Lambda function name), so 25 per rule fit.
ARNS_PER_RULE = 25
MAX_PATTERN_CHARS = 4096


def rotation_failure_pattern(secret_arns: Sequence[str]) -> dict:
    """The EventBridge pattern for rotation failures of exactly these secrets."""
    return {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": list(FAILURE_EVENTS),
            "additionalEventData": {"SecretId": sorted(set(secret_arns))},
        },
    }


def rotation_failure_patterns(secret_arns: Sequence[str]) -> list[dict]:
    """One pattern per ARNS_PER_RULE secrets, each within EventBridge's size limit."""
    arns = sorted(set(secret_arns))
    patterns = [rotation_failure_pattern(arns[i:i + ARNS_PER_RULE]) for i in range(0, len(arns), ARNS_PER_RULE)]
    for pattern in patterns:
        if len(json.dumps(pattern, separators=(",", ":"))) > MAX_PATTERN_CHARS:
            raise ValueError("a rotation alert pattern would exceed EventBridge's 4096 characters")
    return patterns


def topic_policy(topic_arn: str, rule_arns: Sequence[str] | str, account_id: str, partition: str,
                 region: str) -> dict:
    """The created topic's policy: the account administers it (SNS's default), the rules and this
    account's alarms publish to it."""
    rule_arns = [rule_arns] if isinstance(rule_arns, str) else list(rule_arns)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
         "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
                    "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
         "Resource": topic_arn},
        {"Sid": "RotationFailureRulePublishes", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns[0] if len(rule_arns) == 1 else rule_arns}}},
        {"Sid": "AccountAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
                       "StringEquals": {"aws:SourceAccount": account_id}}},
    ]}


def topic_key_policy(account_id: str, partition: str) -> dict:
    """The created topic's key: the account administers it; EventBridge and CloudWatch may encrypt
    messages for the topic (SNS asks for a data key with the publisher's principal)."""
    return {"Version": "2012-10-17", "Statement": [
        # Administration, not use (as the secrets' keys): nothing but the publishers encrypts with it.
        {"Sid": "AllowAccountAdministration", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
         "NotAction": policies.KMS_ROOT_NOT_ACTIONS, "Resource": "*"},
        {"Sid": "PublishersEncrypt", "Effect": "Allow", "Principal": {"Service": list(PUBLISHERS)},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]}


@dataclass
class RotationAlertsArgs:
    name: str
    secret_arns: Sequence[pulumi.Input[str]]
    function_names: Sequence[pulumi.Input[str]] = ()
    alert_topic_arn: Optional[str] = None
    tags: Mapping[str, str] = field(default_factory=dict)
    context: Optional[AwsContext] = None


class RotationAlerts(pulumi.ComponentResource):
    TYPE = "app-secrets:rotation:RotationAlerts"

    def __init__(self, resource_name: str, args: RotationAlertsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not args.secret_arns:
            raise ValueError("RotationAlerts needs at least one secret ARN")
        super().__init__(self.TYPE, resource_name, None, opts)
        context = args.context or AwsContext.lookup(self)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags) or None
        patterns = pulumi.Output.all(*args.secret_arns).apply(rotation_failure_patterns)
        rules = []
        for index in range((len(args.secret_arns) + ARNS_PER_RULE - 1) // ARNS_PER_RULE):
            suffix = f"-{index + 1}" if index else ""
            rules.append(aws.cloudwatch.EventRule(
                f"{resource_name}{suffix}",
                name=naming.iam_name(f"{args.name}-rotation-failed{suffix}"),
                description="Secrets Manager rotation failures of this stack's secrets",
                event_pattern=patterns.apply(lambda p, i=index: json.dumps(p[i], sort_keys=True)),
                tags=tags,
                opts=child,
            ))
        rule = rules[0]
        target_deps: list[pulumi.Resource] = []
        if args.alert_topic_arn:
            topic_arn: pulumi.Input[str] = args.alert_topic_arn
        else:
            identity = pulumi.Output.all(context.root_arn, context.region)
            key = aws.kms.Key(
                f"{resource_name}-topic",
                description=f"Rotation alerts of {args.name}",
                enable_key_rotation=True,
                policy=identity.apply(lambda a: json.dumps(topic_key_policy(a[0].split(":")[4], a[0].split(":")[1]))),
                tags=tags,
                opts=child,
            )
            topic = aws.sns.Topic(resource_name, name=naming.iam_name(f"{args.name}-rotation-alerts"),
                                  kms_master_key_id=key.arn, tags=tags, opts=child)
            topic_arn = topic.arn
            target_deps.append(aws.sns.TopicPolicy(
                resource_name, arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, context.root_arn, context.region, *[r.arn for r in rules]).apply(
                    lambda a: json.dumps(topic_policy(a[0], a[3:], a[1].split(":")[4], a[1].split(":")[1], a[2]))),
                opts=child))
        for index, each in enumerate(rules):
            aws.cloudwatch.EventTarget(f"{resource_name}{f'-{index + 1}' if index else ''}", rule=each.name,
                                       arn=topic_arn,
                                       opts=pulumi.ResourceOptions(parent=self, depends_on=target_deps))
        for index, function_name in enumerate(args.function_names):
            aws.cloudwatch.MetricAlarm(
                f"{resource_name}-errors-{index}",
                alarm_description="The rotation function failed (Lambda Errors)",
                namespace="AWS/Lambda", metric_name="Errors", dimensions={"FunctionName": function_name},
                statistic="Sum", period=300, evaluation_periods=1, threshold=0,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=[topic_arn], tags=tags, opts=child)
        self.topic_arn = pulumi.Output.from_input(topic_arn)
        self.rule_arn = rule.arn
        self.register_outputs({"topicArn": self.topic_arn, "ruleArn": self.rule_arn})
