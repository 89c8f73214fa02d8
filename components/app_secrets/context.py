"""Account, partition and region of the deployment, looked up once and shared by components."""

from __future__ import annotations

from dataclasses import dataclass
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
    deployer_list: pulumi.Output[list]  # [the role (or user) behind the running credentials]

    @staticmethod
    def lookup(parent: Optional[pulumi.Resource] = None) -> "AwsContext":
        """Read the caller's account, partition, region and deployer (four data-source calls).

        The deployer is the role behind the running credentials: an assumed-role session ARN
        changes with every session, `get_session_context` gives its role's ARN."""
        opts = pulumi.InvokeOptions(parent=parent) if parent else None
        identity = aws.get_caller_identity_output(opts=opts)
        partition = aws.get_partition_output(opts=opts)
        region = aws.get_region_output(opts=opts)
        root_arn = pulumi.Output.all(partition.partition, identity.account_id).apply(lambda a: account_root(*a))
        session = aws.iam.get_session_context_output(arn=identity.arn, opts=opts)
        return AwsContext(
            account_id=identity.account_id,
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=region.region,
            root_arn=root_arn,
            root_list=root_arn.apply(lambda r: [r]),
            deployer_list=session.issuer_arn.apply(lambda r: [r]),
        )
