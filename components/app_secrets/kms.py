"""CustomerManagedKey: thoughtbot's `customer-managed-kms` module as a Pulumi component.

| input | type | default | meaning |
|---|---|---|---|
| name | str | (required) | key description and alias `alias/<name>` |
| admin_principals | list[Input[str]] | account root | may manage the key, never use it for crypto |
| policy_statements | list[dict] | [] | further key policy statements (e.g. who may decrypt) |
| policy | Input[str] | — | a whole key policy instead of the built one |
| deletion_window_in_days | int | 30 | 7-30 |
| tags | dict | {} | resource tags |
| protect | bool | False | `protect` the key (deleting or replacing it needs a deliberate step) |

| output | meaning |
|---|---|
| arn, key_id | the key |
| alias_name, alias_arn | its alias |
| decrypt_policy_json | IAM policy allowing `kms:Decrypt` with this key |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import naming, policies
from .adoption import Adoption, options as adoption_options
from .context import AwsContext


@dataclass
class CustomerManagedKeyArgs:
    name: str
    admin_principals: Sequence[pulumi.Input[str]] | None = None
    policy_statements: Sequence[Mapping[str, Any]] = ()
    policy: pulumi.Input[str] | None = None
    deletion_window_in_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)
    context: AwsContext | None = None
    protect: bool = False


def inherited_protect(protect: bool) -> Optional[bool]:
    """`protect` for a child resource: True, or None (not False) so that the child inherits the
    component's own `protect` resource option."""
    return True if protect else None


def key_with_alias(resource_name: str, *, name: str, policy: pulumi.Input[str], deletion_window_in_days: Optional[int],
                   tags: Optional[Mapping[str, str]], parent: pulumi.Resource,
                   region: Optional[str] = None, protect: bool = False,
                   adoption: Optional[Adoption] = None) -> tuple[aws.kms.Key, aws.kms.Alias]:
    """A symmetric key with yearly rotation, described by `name` and aliased `alias/<name>`.
    Secret creates these directly (not through CustomerManagedKey) to keep one component per secret.
    An `adoption` imports both (see adoption.py); AWS does not report a key's deletion window."""
    key_opts = pulumi.ResourceOptions(parent=parent, protect=inherited_protect(protect))
    if adoption is not None:
        key_opts = adoption_options(adoption, "kmsKey", parent)
        deletion_window_in_days = None
    key = aws.kms.Key(
        resource_name,
        description=name,
        enable_key_rotation=True,
        deletion_window_in_days=deletion_window_in_days,
        policy=policy,
        tags=dict(tags) if tags else None,
        region=region,  # None: the provider's region
        opts=key_opts,
    )
    alias = aws.kms.Alias(
        resource_name,
        name=naming.kms_alias_name(name),
        target_key_id=key.key_id,
        region=region,
        opts=adoption_options(adoption, "kmsAlias", parent),
    )
    return key, alias


class CustomerManagedKey(pulumi.ComponentResource):
    TYPE = "app-secrets:kms:CustomerManagedKey"

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]
    alias_arn: pulumi.Output[str]
    decrypt_policy_json: pulumi.Output[str]

    def __init__(self, resource_name: str, args: CustomerManagedKeyArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.TYPE, resource_name, None, opts)
        context = args.context or AwsContext.lookup(self)
        if args.policy is not None:
            policy = args.policy
        else:
            # The account root always stays an administrator: KMS refuses a policy that would lock
            # the caller out, and it is the break-glass route. No crypto for it: only the
            # principals of `policy_statements` use the key.
            extra = list(args.policy_statements)
            policy = pulumi.Output.all(context.root_arn, context.region, *(args.admin_principals or [])).apply(
                lambda a: policies.to_json(policies.document(
                    policies.key_policy(admin_principals=list(a[2:]), account_root_arn=a[0],
                                        region=a[1])["Statement"] + extra)))
        key, alias = key_with_alias(resource_name, name=args.name, policy=policy,
                                    deletion_window_in_days=args.deletion_window_in_days, tags=args.tags, parent=self,
                                    protect=args.protect)
        self.arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.alias_arn = alias.arn
        self.decrypt_policy_json = key.arn.apply(lambda arn: policies.to_json(policies.decrypt_policy(arn)))
        self.register_outputs({
            "arn": self.arn, "keyId": self.key_id, "aliasName": self.alias_name,
            "aliasArn": self.alias_arn, "decryptPolicyJson": self.decrypt_policy_json,
        })
