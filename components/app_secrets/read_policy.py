"""ReadSecretPolicy (thoughtbot `read-secret-policy`) and ExistingSecret (a secret of another
stack, looked up by name, e.g. staging's shared token used by review stacks).

ReadSecretPolicy:

| input | type | thoughtbot variable |
|---|---|---|
| policy_name | str | policy_name |
| secret_names | list[str] (looked up with `aws.secretsmanager.get_secret`) | secret_names |
| secrets | list[SecretRef] (secrets of this program, no look-up) | — |
| role_names | list[str] | role_names |

| output | meaning |
|---|---|
| arn | the IAM policy |
| policy_json | its document: read every secret, decrypt with each one's key |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import policies
from .context import AwsContext, answered


@dataclass(frozen=True)
class SecretRef:
    """What a reader needs to know about a secret."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[Optional[str]]
    replicas: pulumi.Input[list] = ()   # (region, replica arn, replica key arn)


def _key_arn(key_id: Optional[str]):
    """get_secret gives "" for the AWS-managed key, else the id the secret was created with;
    turn aliases and bare key ids into the key ARN that IAM policies need."""
    if not key_id:
        return None
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    return aws.kms.get_key_output(key_id=key_id).arn


class ExistingSecret:
    """A secret that this program reads but does not own: no resource is registered, and its
    value never enters this stack's state."""

    def __init__(self, secret_name: str, environment_variables: Sequence[str], context: AwsContext,
                 parent: Optional[pulumi.Resource] = None):
        found = aws.secretsmanager.get_secret_output(
            name=secret_name, opts=pulumi.InvokeOptions(parent=parent) if parent else None)
        key_id = found.kms_key_id.apply(_key_arn)
        arn = answered(found.arn, "aws:secretsmanager/getSecret:getSecret", "arn")
        self.name = pulumi.Output.from_input(secret_name)
        self.arn = arn
        self.id = arn
        self.kms_key_arn = key_id
        self.kms_key_alias = None
        self.environment_variables = list(environment_variables)
        self.rotation_role_arn = None
        self.rotation_role_name = None
        self.replicas = []   # the secret's own replicas are not read through a preview
        self.policy_json = pulumi.Output.all(arn, key_id, context.region, context.dns_suffix).apply(
            lambda a: policies.to_json(policies.read_policy([(secret_name, a[0], a[1])], region=a[2], dns_suffix=a[3])))


@dataclass
class ReadSecretPolicyArgs:
    policy_name: str
    secret_names: Sequence[str] = ()
    secrets: Sequence[SecretRef] = ()
    role_names: Sequence[str] = ()
    description: Optional[str] = None
    context: Optional[AwsContext] = None
    tags: dict = field(default_factory=dict)


class ReadSecretPolicy(pulumi.ComponentResource):
    TYPE = "app-secrets:secrets:ReadSecretPolicy"

    arn: pulumi.Output[str]
    policy_json: pulumi.Output[str]

    def __init__(self, resource_name: str, args: ReadSecretPolicyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.TYPE, resource_name, None, opts)
        context = args.context or AwsContext.lookup(self)
        refs = list(args.secrets)
        for name in args.secret_names:
            found = ExistingSecret(name, (), context, parent=self)
            refs.append(SecretRef(name=name, arn=found.arn, kms_key_arn=found.kms_key_arn))
        if not refs:
            raise ValueError(f"ReadSecretPolicy {resource_name}: give at least one secret")
        triples = [pulumi.Output.all(r.name, r.arn, r.kms_key_arn).apply(tuple) for r in refs]
        replicas = pulumi.Output.all(*[r.replicas for r in refs]).apply(
            lambda lists: [tuple(replica) for found in lists for replica in (found or ())])
        self.policy_json = pulumi.Output.all(pulumi.Output.all(*triples), context.region, context.dns_suffix,
                                             replicas).apply(
            lambda a: policies.to_json(policies.read_policy(list(a[0]), region=a[1], dns_suffix=a[2],
                                                            replicas=a[3])))
        policy = aws.iam.Policy(
            resource_name,
            name=args.policy_name,
            description=args.description or f"Read secrets: {args.policy_name}",
            policy=self.policy_json,
            tags=args.tags or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for role_name in args.role_names:
            aws.iam.RolePolicyAttachment(
                f"{resource_name}-{role_name}",
                role=role_name,
                policy_arn=policy.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.arn = policy.arn
        self.register_outputs({"arn": self.arn, "policyJson": self.policy_json})
