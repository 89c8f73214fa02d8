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
        issuer = answered(session.issuer_arn, "aws:iam/getSessionContext:getSessionContext", "issuerArn")
        return issuer.apply(lambda r: [r])

    @staticmethod
    def lookup(parent: Optional[pulumi.Resource] = None) -> "AwsContext":
        """Read the caller's account, partition and region (three data-source calls; the deployer
        is a fourth, made only if `deployer_list` is read)."""
        opts = pulumi.InvokeOptions(parent=parent) if parent else None
        identity = aws.get_caller_identity_output(opts=opts)
        partition = aws.get_partition_output(opts=opts)
        region = aws.get_region_output(opts=opts)
        account_id = answered(identity.account_id, "aws:index/getCallerIdentity:getCallerIdentity", "accountId")
        partition_name = answered(partition.partition, "aws:index/getPartition:getPartition", "partition")
        root_arn = pulumi.Output.all(partition_name, account_id).apply(lambda a: account_root(*a))
        return AwsContext(
            account_id=account_id,
            partition=partition_name,
            dns_suffix=answered(partition.dns_suffix, "aws:index/getPartition:getPartition", "dnsSuffix"),
            region=answered(region.region, "aws:index/getRegion:getRegion", "region"),
            root_arn=root_arn,
            root_list=root_arn.apply(lambda r: [r]),
            caller_arn=answered(identity.arn, "aws:index/getCallerIdentity:getCallerIdentity", "arn"),
            invoke_opts=opts,
        )


class MissingLookup(Exception):
    """A data source answered without a field the components need: under unit-test mocks, a
    `Mocks.call` that does not answer this token (app_secrets.testing.AwsMocks answers them all)."""


def answered(value: pulumi.Output, token: str, field: str) -> pulumi.Output:
    """`value`, or MissingLookup naming the data source and field when it came back empty (the
    real provider always fills them; a mock returning {} does not)."""
    def check(found):
        if found is None or found == "":
            raise MissingLookup(
                f"app_secrets: the data source {token} returned no '{field}'. Under Pulumi's unit-test mocks, "
                f"answer it in your Mocks.call (or use app_secrets.testing.AwsMocks, which answers every "
                f"lookup the components make)")
        return found
    return value.apply(check)
