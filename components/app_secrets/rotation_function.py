"""SecretRotationFunction: thoughtbot's `secret-rotation-function` module as a Pulumi component.

| input | type | default | thoughtbot variable |
|---|---|---|---|
| secret_arn | Input[str] | (required) | secret_arn |
| role_arn, role_name | Input[str] | (required) | role_arn (the name attaches the Lambda execution policy) |
| function_name | str | (required) | — (thoughtbot: the secret's name) |
| source | ArchiveInfo | (required) | source_file (a reproducible zip, see packaging.py) |
| handler | str | lambda_function.lambda_handler | handler |
| runtime | str | python3.13 | runtime (thoughtbot: python3.8) |
| architecture | str | x86_64 | — |
| layers | dict[str, ArchiveInfo] | {} | dependencies |
| variables | dict[str, Input[str]] | {} | variables (+ SECRETS_MANAGER_ENDPOINT) |
| rotation_days | int | 30 | rotation_days |
| schedule_expression | str | — | — (instead of rotation_days) |
| rotate_immediately | bool | True | — (AWS's default: the password from config is replaced at once) |
| depends_on | list[Resource] | [] | — (the secret's value and policies, before the first rotation) |
| subnet_ids, security_group_ids | list[Input[str]] | [] | subnet_ids, security_group_ids |
| timeout | int | 60 | — |
| log_retention_in_days | int | 30 | — (the function's own log group, `/app-secrets/rotation/<function>`) |
| code_signing_config_arn | Input[str] | — | — (Lambda code signing: only signed code deploys) |

| output | thoughtbot output |
|---|---|
| arn | arn |
| function_name | — |
| log_group_name | — |

Least privilege: the role may write only to the function's own log group (not AWS's managed
logging policy on `*`); in a VPC it gets the network-interface actions Lambda needs, which have no
resource type. Its secret and key rights hold only in requests from this function
(`lambda:SourceFunctionArn`): handing the role to another function gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import naming, policies
from .context import AwsContext

DEFAULT_RUNTIME = "python3.13"
# What Lambda does with the role to place a function in a VPC (AWSLambdaVPCAccessExecutionRole
# without its logging on `*`): the describe calls have no resource type, the rest is scoped to
# network interfaces, subnets and security groups of the function's account and region.
VPC_DESCRIBE_ACTIONS = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
VPC_NETWORK_ACTIONS = ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                       "ec2:UnassignPrivateIpAddresses"]


@dataclass
class SecretRotationFunctionArgs:
    secret_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    role_name: pulumi.Input[str]
    function_name: str
    source: "ArchiveLike"
    handler: str = "lambda_function.lambda_handler"
    runtime: str = DEFAULT_RUNTIME
    architecture: str = "x86_64"
    layers: Mapping[str, "ArchiveLike"] = field(default_factory=dict)
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    rotation_days: Optional[int] = 30
    schedule_expression: Optional[str] = None
    rotate_immediately: bool = True
    depends_on: Sequence[pulumi.Resource] = ()  # what must exist before the first rotation
    subnet_ids: Sequence[pulumi.Input[str]] = ()
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    timeout: int = 60
    log_retention_in_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)
    context: Optional[AwsContext] = None
    # Lambda code signing: only code signed by the config's profiles deploys (issue 16).
    code_signing_config_arn: Optional[pulumi.Input[str]] = None


class ArchiveLike:  # the shape of packaging.ArchiveInfo that this component reads
    path: str
    sha256_base64: str


log_group_name = naming.rotation_log_group   # the rotation commands read the same group


def execution_policy(log_group_arn: str, in_vpc: bool, function_name: str | None = None) -> dict:
    doc = policies.log_policy(log_group_arn)
    if function_name:
        # The role's rights hold only from this function (same account and region as its log group).
        _, partition, _, region, account = log_group_arn.split(":")[:5]
        doc["Statement"].append(policies.only_from_own_function(
            f"arn:{partition}:lambda:{region}:{account}:function:{function_name}"))
    if in_vpc:
        _, partition, _, region, account = log_group_arn.split(":")[:5]
        ec2 = f"arn:{partition}:ec2:{region}:{account}"
        doc["Statement"] += [
            {"Sid": "DescribeNetwork", "Effect": "Allow", "Action": VPC_DESCRIBE_ACTIONS, "Resource": "*"},
            {"Sid": "ManageNetworkInterfaces", "Effect": "Allow", "Action": VPC_NETWORK_ACTIONS,
             "Resource": [f"{ec2}:network-interface/*", f"{ec2}:security-group/*", f"{ec2}:subnet/*"]},
        ]
    return doc


def secrets_manager_endpoint(region: str, dns_suffix: str) -> str:
    return f"https://secretsmanager.{region}.{dns_suffix}"


class SecretRotationFunction(pulumi.ComponentResource):
    TYPE = "app-secrets:rotation:SecretRotationFunction"

    arn: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, resource_name: str, args: SecretRotationFunctionArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.TYPE, resource_name, None, opts)
        context = args.context or AwsContext.lookup(self)
        child = pulumi.ResourceOptions(parent=self)
        in_vpc = bool(args.subnet_ids)
        tags = dict(args.tags) or None

        log_group = aws.cloudwatch.LogGroup(
            resource_name,
            name=log_group_name(args.function_name),
            retention_in_days=args.log_retention_in_days,
            tags=tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicy(
            f"{resource_name}-execution",
            name="rotation-function-execution",
            role=args.role_name,
            policy=log_group.arn.apply(
                lambda arn: policies.to_json(execution_policy(arn, in_vpc, args.function_name))),
            opts=child,
        )
        layer_arns = []
        for layer_key, archive in sorted(args.layers.items()):
            layer = aws.lambda_.LayerVersion(
                f"{resource_name}-{layer_key}",
                layer_name=naming.lambda_function_name(f"{args.function_name}-{layer_key}"),
                code=pulumi.FileArchive(archive.path),
                source_code_hash=archive.sha256_base64,
                compatible_runtimes=[args.runtime],
                compatible_architectures=[args.architecture],
                opts=child,
            )
            layer_arns.append(layer.arn)

        variables = {
            **dict(args.variables),
            "SECRETS_MANAGER_ENDPOINT": pulumi.Output.all(context.region, context.dns_suffix).apply(
                lambda a: secrets_manager_endpoint(*a)),
        }
        function = aws.lambda_.Function(
            resource_name,
            name=args.function_name,
            description="Rotates a Secrets Manager secret",
            role=args.role_arn,
            handler=args.handler,
            runtime=args.runtime,
            architectures=[args.architecture],
            code=pulumi.FileArchive(args.source.path),
            source_code_hash=args.source.sha256_base64,
            layers=layer_arns or None,
            code_signing_config_arn=args.code_signing_config_arn,
            timeout=args.timeout,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=list(args.security_group_ids),
            ) if in_vpc else None,
            tags=tags,
            # The role needs its execution policy before Lambda can create ENIs or write logs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        permission = aws.lambda_.Permission(
            resource_name,
            action="lambda:InvokeFunction",
            function=function.name,
            principal="secretsmanager.amazonaws.com",
            source_arn=args.secret_arn,
            opts=child,
        )
        rules = aws.secretsmanager.SecretRotationRotationRulesArgs(
            automatically_after_days=None if args.schedule_expression else args.rotation_days,
            schedule_expression=args.schedule_expression,
        )
        aws.secretsmanager.SecretRotation(
            resource_name,
            secret_id=args.secret_arn,
            rotation_lambda_arn=function.arn,
            rotation_rules=rules,
            rotate_immediately=args.rotate_immediately,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, *args.depends_on]),
        )
        self.arn = function.arn
        self.function_name = function.name
        self.log_group_name = log_group.name
        self.register_outputs({"arn": self.arn, "functionName": self.function_name,
                               "logGroupName": self.log_group_name})
