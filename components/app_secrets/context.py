"""Account, partition and region of the deployment, looked up once and shared by components."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import pulumi
import pulumi_aws as aws

from .policies import account_root


@dataclass(frozen=True)
class AwsContext:
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    region: pulumi.Output[str]
    root_arn: pulumi.Output[str]
    root_list: pulumi.Output[list]   # [root_arn], the default principals
    caller_arn: pulumi.Output[str]
    invoke_opts: Optional[pulumi.InvokeOptions] = field(default=None, compare=False)

    @cached_property
    def deployer_list(self) -> pulumi.Output[list]:
        """[the role (or user) behind the running credentials]. Looked up only when read: a stack
        that names its deployers never calls `get_session_context`, which needs `iam:GetRole`
        (terraform-provider-aws session_context_data_source.go) that a narrow CI role may lack.
        An assumed-role session ARN changes with every session; the session context gives its role."""
        session = aws.iam.get_session_context_output(arn=self.caller_arn, opts=self.invoke_opts)
        return session.issuer_arn.apply(lambda r: [r])

    @staticmethod
    def lookup(parent: Optional[pulumi.Resource] = None) -> "AwsContext":
        """Read the caller's account, partition and region (three data-source calls; the deployer
        is a fourth, made only if `deployer_list` is read)."""
        opts = pulumi.InvokeOptions(parent=parent) if parent else None
        identity = aws.get_caller_identity_output(opts=opts)
        partition = aws.get_partition_output(opts=opts)
        region = aws.get_region_output(opts=opts)
        root_arn = pulumi.Output.all(partition.partition, identity.account_id).apply(lambda a: account_root(*a))
        return AwsContext(
            account_id=identity.account_id,
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=region.region,
            root_arn=root_arn,
            root_list=root_arn.apply(lambda r: [r]),
            caller_arn=identity.arn,
            invoke_opts=opts,
        )
