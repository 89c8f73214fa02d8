"""Secret, RandomSecret and UserManagedSecret: thoughtbot's `secret`, `random-secret` and
`user-managed-secret` modules as Pulumi components.

Secret inputs (SecretArgs):

| input | type | default | thoughtbot variable |
|---|---|---|---|
| name | str | (required) | name |
| initial_value | dict[str, Input[str]] | (required) | initial_value (JSON object; keys plain, values secret) |
| description | str | name | description |
| admin_principals | list[Input[str]] | account root | admin_principals |
| read_principals | list[Input[str]] | account root | read_principals |
| readwrite_principals | list[Input[str]] | [] | readwrite_principals (also fill in values by hand) |
| deployer_principals | list[Input[str]] | the role behind the running credentials | — (may use the key to write the initial value and refresh) |
| resource_tags | dict | {} | resource_tags |
| trust_tags | dict | {} | trust_tags |
| secret_policies | list[Input[str]] | [] | secret_policies (merged; same Sid overrides) |
| replica_regions | list[ReplicaRegion] | [] | replica_regions (each gets its own key there unless kms_key_id) |
| create_rotation_role | bool | False | create_rotation_role (thoughtbot: true) |
| create_rotation_policy | bool | True | create_rotation_policy |
| rotation_role_name | str | `<name>-rotation` | rotation_role_name |
| rotation_trust_policies | list[Input[str]] | [] | rotation_trust_policies |
| recovery_window_in_days | int | 30 | — (0 in review stacks) |
| kms_key | KmsKeyRef | own key | — (a shared key, in review stacks) |
| kms_deletion_window_in_days | int | 30 | — |
| protect | bool | False | — (`protect` on the secret, its value and its own key) |
| dynamic_resources | bool | True | — (False: no KmsKeyGuard / SecretKeys, for the component package; the secret ignores key changes, later variables do not reach AWS) |
| break_glass_principals | list[Input[str]] | [] | — (may change value, key, rotation, policy besides the deployer and root) |
| permissions_boundary | Input[str] | — | — (permissions boundary of the rotation role) |

Secret outputs:

| output | thoughtbot output |
|---|---|
| arn, id, name | arn, id, name / secret_name |
| kms_key_arn, kms_key_alias | kms_key_arn, kms_key_alias |
| policy_json | policy_json (read this secret and its replicas, decrypt with their keys) |
| replicas | — (list of (region, replica arn, replica key arn)) |
| environment_variables | environment_variables (upper-case JSON keys) |
| present_environment_variables | — (those of them the live secret holds; see key_merge.py) |
| rotation_role_arn, rotation_role_name | rotation_role_arn, rotation_role_name |

RandomSecret adds `random_settings` (per variable: length 32, special false, upper/lower/numeric
true, min_* 0, override_special) and generates each value with pulumi-random. UserManagedSecret
starts every variable as "" for people to fill in by hand. Neither creates a rotation role.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import naming, policies
from .secret_settings import RandomSettings, ReplicaRegion
from .adoption import Adoption, options as adoption_options
from .context import AwsContext
from .key_merge import KmsKeyGuard, SecretKeys
from .kms import inherited_protect, key_with_alias

# A staging label of our own that stays on the version this program created. AWS deletes a
# version once it has no label; without this one, two hand edits later the version is gone, a
# `pulumi refresh` drops it from state and the next `up` writes the initial value back.
INITIAL_VERSION_STAGE = "APP_SECRETS_INITIAL"
INITIAL_VERSION_STAGES = ["AWSCURRENT", INITIAL_VERSION_STAGE]
# Later hand edits and rotations move labels and change the value; never undo them.
IGNORED_VERSION_CHANGES = ["secretString", "versionStages"]


@dataclass(frozen=True)
class KmsKeyRef:
    """A key that already exists (e.g. a review stack's shared key)."""

    arn: pulumi.Input[str]
    alias_name: pulumi.Input[str]


@dataclass
class SecretArgs:
    name: str
    initial_value: Mapping[str, pulumi.Input[object]] = field(default_factory=dict)
    description: Optional[str] = None
    admin_principals: Optional[Sequence[pulumi.Input[str]]] = None
    read_principals: Optional[Sequence[pulumi.Input[str]]] = None
    readwrite_principals: Sequence[pulumi.Input[str]] = ()
    deployer_principals: Optional[Sequence[pulumi.Input[str]]] = None
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    trust_tags: Mapping[str, str] = field(default_factory=dict)
    secret_policies: Sequence[pulumi.Input[str]] = ()
    replica_regions: Sequence[ReplicaRegion] = ()
    create_rotation_role: bool = False
    create_rotation_policy: bool = True
    rotation_role_name: Optional[str] = None
    rotation_trust_policies: Sequence[pulumi.Input[str]] = ()
    recovery_window_in_days: int = 30
    kms_key: Optional[KmsKeyRef] = None
    kms_deletion_window_in_days: int = 30
    context: Optional[AwsContext] = None
    protect: bool = False
    adoption: Optional[Adoption] = None  # take over an existing secret (adoption.py)
    # False: no KmsKeyGuard and no SecretKeys (Python dynamic resources, which run only in a Python
    # program whose environment imports app_secrets: not in a component package's consumers,
    # pulumi/pulumi#5455). The secret then ignores changes of its key instead of being guarded,
    # and variables added later do not reach AWS.
    dynamic_resources: bool = True
    # Exempt from the operator Denies besides the deployer and the account root user (issue 16).
    break_glass_principals: Sequence[pulumi.Input[str]] = ()
    # Permissions boundary of the rotation role (a review stack's deploy role may create roles only
    # under its own boundary, see policies.review_deploy_boundary).
    permissions_boundary: Optional[pulumi.Input[str]] = None


@dataclass
class RandomSecretArgs(SecretArgs):
    environment_variables: Sequence[str] = ()
    random_settings: Mapping[str, RandomSettings] = field(default_factory=dict)


@dataclass
class UserManagedSecretArgs(SecretArgs):
    environment_variables: Sequence[str] = ()


def _all_list(values: Sequence[pulumi.Input[str]]) -> pulumi.Input[list]:
    """One input for a list of inputs; plain strings stay plain (no Output work per secret)."""
    if all(isinstance(v, str) for v in values):
        return list(values)
    if len(values) == 1:
        return pulumi.Output.from_input(values[0]).apply(lambda v: [v])
    return pulumi.Output.all(*values).apply(list)


class Secret(pulumi.ComponentResource):
    TYPE = "app-secrets:secrets:Secret"

    arn: pulumi.Output[str]
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    kms_key_alias: pulumi.Output[str]
    policy_json: pulumi.Output[str]
    environment_variables: list[str]
    rotation_role_arn: Optional[pulumi.Output[str]]
    rotation_role_name: Optional[pulumi.Output[str]]

    def __init__(self, resource_name: str, args: SecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.TYPE, resource_name, None, opts)
        self._resource_name = resource_name
        self._grants = 0
        initial_value = self._initial_value(resource_name, args)
        self._build(resource_name, args, initial_value)

    def _initial_value(self, resource_name: str, args: SecretArgs) -> Mapping[str, pulumi.Input[str]]:
        return args.initial_value

    def _build(self, resource_name: str, args: SecretArgs, initial_value: Mapping[str, pulumi.Input[str]]) -> None:
        context = args.context or AwsContext.lookup(self)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.resource_tags) or None
        # Both default to the account root; one shared Output serves every secret.
        admins = _all_list(list(args.admin_principals)) if args.admin_principals else context.root_list
        readers = _all_list(list(args.read_principals)) if args.read_principals else context.root_list
        writers = _all_list(list(args.readwrite_principals))
        deployers = _all_list(list(args.deployer_principals)) if args.deployer_principals else context.deployer_list

        role = None
        if args.create_rotation_role:
            role_name = args.rotation_role_name or naming.rotation_role_name(args.name)
            role = aws.iam.Role(
                f"{resource_name}-rotation",
                name=role_name,
                description=f"Rotates secret {args.name}",
                assume_role_policy=pulumi.Output.from_input(_all_list(list(args.rotation_trust_policies))).apply(
                    lambda extra: policies.to_json(policies.lambda_trust_policy(extra))),
                permissions_boundary=args.permissions_boundary,
                tags=tags,
                opts=child,
            )
        rotation_arn = role.arn if role else pulumi.Output.from_input(None)

        def key_policy_for(region: pulumi.Input[str], replica: bool = False) -> pulumi.Output[str]:
            return pulumi.Output.all(admins, readers, writers, rotation_arn, region, context.dns_suffix,
                                     context.root_arn, deployers, context.region,
                                     _all_list(list(args.break_glass_principals))).apply(
                lambda a: policies.to_json(policies.key_policy(
                    admin_principals=a[0], read_principals=a[1], readwrite_principals=a[2],
                    rotation_role_arn=a[3], region=a[4], dns_suffix=a[5], account_root_arn=a[6],
                    deployer_principals=a[7], primary_region=a[8] if replica else None,
                    break_glass_principals=a[9])))

        adoption = args.adoption
        if adoption is not None and adoption.aws_managed_key:
            # Adopted as it is: encrypted with aws/secretsmanager, no key of its own.
            key_arn, key_alias = pulumi.Output.from_input(None), pulumi.Output.from_input(None)
        elif args.kms_key is None:
            key, alias = key_with_alias(
                resource_name,
                name=args.name,
                policy=(adoption.key_policy if adoption and adoption.key_policy else key_policy_for(context.region)),
                deletion_window_in_days=args.kms_deletion_window_in_days,
                tags=tags,
                parent=self,
                protect=args.protect,
                adoption=adoption,
            )
            key_arn, key_alias = key.arn, alias.name
        else:
            key_arn = pulumi.Output.from_input(args.kms_key.arn)
            key_alias = pulumi.Output.from_input(args.kms_key.alias_name)
        # Each replica is encrypted in its own region: with its own key of the same policy, unless
        # one is given (AWS's default would be the account-wide aws/secretsmanager key).
        replica_keys: list[pulumi.Output[str]] = []
        for replica in args.replica_regions:
            if replica.kms_key_id:
                replica_keys.append(replica_key_arn(replica.kms_key_id, replica.region, self))
            else:
                replica_key, _ = key_with_alias(
                    f"{resource_name}-{replica.region}",
                    name=args.name,
                    policy=key_policy_for(replica.region, replica=True),
                    deletion_window_in_days=args.kms_deletion_window_in_days,
                    tags=tags,
                    parent=self,
                    region=replica.region,
                    protect=args.protect,
                )
                replica_keys.append(replica_key.arn)

        # A move to another key loses older versions: the guard refuses it at preview time.
        guard = KmsKeyGuard(resource_name, secret_name=args.name, kms_key_id=key_arn,
                            opts=pulumi.ResourceOptions(parent=self)) if args.dynamic_resources else None
        guarded = pulumi.ResourceOptions(depends_on=[guard] if guard else None,
                                         # Unguarded: a new key never moves the secret (old versions stay readable).
                                         ignore_changes=None if guard else ["kmsKeyId"])
        secret_opts = pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=self, protect=inherited_protect(args.protect)), guarded)
        if adoption is not None:
            secret_opts = pulumi.ResourceOptions.merge(adoption_options(adoption, "secret", self), guarded)
        secret = aws.secretsmanager.Secret(
            resource_name,
            name=args.name,
            # An adopted secret keeps its description, also none.
            description=args.description if adoption is not None else (args.description or args.name),
            kms_key_id=key_arn,
            recovery_window_in_days=args.recovery_window_in_days,
            replicas=[
                # An adopted replica keeps the key id as AWS reports it (an ARN or an alias).
                aws.secretsmanager.SecretReplicaArgs(region=r.region,
                                                     kms_key_id=r.kms_key_id if adoption and r.kms_key_id else k)
                for r, k in zip(args.replica_regions, replica_keys)
            ] or None,
            tags=tags,
            opts=secret_opts,
        )
        built_policy = (
            pulumi.Output.all(admins, readers, writers, rotation_arn, _all_list(list(args.secret_policies)),
                              deployers, context.root_arn, _all_list(list(args.break_glass_principals)))
            .apply(lambda a: policies.to_json(policies.secret_resource_policy(
                admin_principals=a[0], read_principals=a[1], readwrite_principals=a[2],
                rotation_role_arn=a[3], trust_tags=args.trust_tags, extra_documents=a[4],
                deployer_principals=a[5], account_root_arn=a[6], break_glass_principals=a[7]))))
        secret_policy = aws.secretsmanager.SecretPolicy(
            resource_name,
            secret_arn=secret.arn,
            # AWS does not report blockPublicPolicy: an adopted policy leaves it unset (adoption.py).
            block_public_policy=None if adoption is not None and adoption.secret_policy else True,
            policy=adoption.secret_policy if adoption is not None and adoption.secret_policy else built_policy,
            opts=adoption_options(adoption, "secretPolicy", self) if adoption is not None else child,
        )
        keys = sorted(initial_value)
        # One Output of the whole value serves the initial version and the key merge.
        values_by_key = pulumi.Output.all(*[initial_value[k] for k in keys]).apply(
            lambda values: dict(zip(keys, values)))
        secret_string = pulumi.Output.secret(values_by_key.apply(lambda values: json.dumps(values, sort_keys=True)))
        # An adopted secret already has its value: no initial version is ever written over it.
        version = None if adoption is not None else aws.secretsmanager.SecretVersion(
            resource_name,
            secret_id=secret.id,
            secret_string=secret_string,
            version_stages=INITIAL_VERSION_STAGES,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=IGNORED_VERSION_CHANGES,
                                        protect=inherited_protect(args.protect)),
        )
        # Variables added to the config later reach AWS through this merge, not the version above.
        merged = SecretKeys(
            resource_name,
            secret_id=secret.arn,
            key_names=keys,
            values=values_by_key,
            region=context.region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[version] if version else [secret_policy]),
        ) if args.dynamic_resources else None
        # What must exist before a rotation may start: the value to rotate, the policy letting the
        # rotation role in, and the role's own permissions.
        self.rotation_dependencies: list[pulumi.Resource] = [r for r in (version, secret_policy) if r is not None]
        if role is not None and args.create_rotation_policy:
            rotation_policy = aws.iam.RolePolicy(
                f"{resource_name}-rotation",
                name="rotate-secret",
                role=role.id,
                policy=pulumi.Output.all(secret.arn, key_arn, context.region, context.dns_suffix).apply(
                    lambda a: policies.to_json(policies.rotation_policy(
                        secret_arn=a[0], key_arn=a[1], region=a[2], dns_suffix=a[3]))),
                opts=child,
            )
            self.rotation_dependencies.append(rotation_policy)

        self.arn = secret.arn
        self.id = secret.id
        self.name = secret.name
        self.kms_key_arn = key_arn
        self.kms_key_alias = key_alias
        regions = [r.region for r in args.replica_regions]
        self.replicas = pulumi.Output.all(secret.arn, *replica_keys).apply(
            lambda a: [(region, policies.replica_arn(a[0], region), key) for region, key in zip(regions, a[1:])])
        self.policy_json = pulumi.Output.all(secret.arn, key_arn, context.region, context.dns_suffix,
                                             self.replicas).apply(
            lambda a: policies.to_json(policies.read_policy([(args.name, a[0], a[1])], region=a[2], dns_suffix=a[3],
                                                            replicas=a[4])))
        self.environment_variables = [k for k in keys if naming.ENV_VAR_PATTERN.match(k)]
        # What consumers may rely on: only keys the live secret really has (after the merge).
        # Unmerged: the initial version's keys (the only ones sure to be there).
        self.present_environment_variables = merged.present_keys.apply(
            lambda present, names=list(self.environment_variables): [k for k in names if k in (present or [])]) \
            if merged else (version.id if version else secret.arn).apply(
                lambda _, names=list(self.environment_variables): names)
        self.rotation_role = role
        self.rotation_role_arn = role.arn if role else None
        self.rotation_role_name = role.name if role else None
        self.register_outputs({
            "arn": self.arn,
            "id": self.id,
            "name": self.name,
            "kmsKeyArn": self.kms_key_arn,
            "kmsKeyAlias": self.kms_key_alias,
            "policyJson": self.policy_json,
            "environmentVariables": self.environment_variables,
            "rotationRoleArn": self.rotation_role_arn,
            "rotationRoleName": self.rotation_role_name,
        })

    def grant_read(self, role: aws.iam.Role | pulumi.Input[str], name: Optional[str] = None) -> aws.iam.RolePolicy:
        """Let a role read this secret (and decrypt it), like CDK's `secret.grant_read(role)`.

        `role` is an `aws.iam.Role` or a role name. Returns the inline policy it attaches."""
        role_id = role.id if isinstance(role, aws.iam.Role) else role
        self._grants += 1
        suffix = name or f"read-{self._grants}"
        return aws.iam.RolePolicy(
            f"{self._resource_name}-{suffix}",
            name=f"read-{naming.iam_name(self._resource_name)}",
            role=role_id,
            policy=self.policy_json,
            opts=pulumi.ResourceOptions(parent=self),
        )


def replica_key_arn(key_id: str, region: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The ARN of a given replica key (IAM policies need ARNs; config may give an id or alias)."""
    if key_id.startswith("arn:") and ":key/" in key_id:
        return pulumi.Output.from_input(key_id)
    return aws.kms.get_key_output(key_id=key_id, region=region, opts=pulumi.InvokeOptions(parent=parent)).arn


def random_password(resource_name: str, settings: RandomSettings, parent: pulumi.Resource) -> random.RandomPassword:
    return random.RandomPassword(
        resource_name,
        length=settings.length,
        special=settings.special,
        upper=settings.upper,
        lower=settings.lower,
        numeric=settings.numeric,
        min_upper=settings.min_upper,
        min_lower=settings.min_lower,
        min_numeric=settings.min_numeric,
        min_special=settings.min_special,
        override_special=settings.override_special,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class RandomSecret(Secret):
    """A Secret whose every variable is a generated random value (e.g. Rails SECRET_KEY_BASE)."""

    TYPE = "app-secrets:secrets:RandomSecret"

    def __init__(self, resource_name: str, args: RandomSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, dataclasses.replace(args, create_rotation_role=False), opts)

    def _initial_value(self, resource_name: str, args: SecretArgs) -> Mapping[str, pulumi.Input[str]]:
        assert isinstance(args, RandomSecretArgs)
        values = {}
        for variable in args.environment_variables:
            settings = args.random_settings.get(variable, RandomSettings())
            values[variable] = random_password(f"{resource_name}-{variable.lower()}", settings, self).result
        return values


class UserManagedSecret(Secret):
    """A Secret whose variables start empty, to be filled in by hand and never reset."""

    TYPE = "app-secrets:secrets:UserManagedSecret"

    def __init__(self, resource_name: str, args: UserManagedSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, dataclasses.replace(args, create_rotation_role=False), opts)

    def _initial_value(self, resource_name: str, args: SecretArgs) -> Mapping[str, pulumi.Input[str]]:
        assert isinstance(args, UserManagedSecretArgs)
        return {variable: "" for variable in args.environment_variables}
