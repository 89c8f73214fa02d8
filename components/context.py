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

    @property
    def root_arn(self) -> pulumi.Output[str]:
        return pulumi.Output.all(self.partition, self.account_id).apply(lambda a: account_root(*a))

    @staticmethod
    def lookup(parent: Optional[pulumi.Resource] = None) -> "AwsContext":
        """Read the caller's account, partition and region (three data-source calls)."""
        opts = pulumi.InvokeOptions(parent=parent) if parent else None
        identity = aws.get_caller_identity_output(opts=opts)
        partition = aws.get_partition_output(opts=opts)
        region = aws.get_region_output(opts=opts)
        return AwsContext(
            account_id=identity.account_id,
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=region.region,
        )
