"""The components as a multi-language Pulumi package (`pulumi package add …`), for programs in
TypeScript, Go, YAML, C# or Python that cannot import this library directly.

Each class here is a thin component whose `args` are TypedDicts that Pulumi's component analyzer
(`pulumi.provider.experimental`) turns into a package schema; it builds the library component of the
same name as its only child and re-exports that component's outputs. The library classes keep their
richer Python args (dataclasses, Output-valued inputs, `grant_read`); these wrappers exist because
the analyzer needs plain, documented, schema-shaped types.

| package component | library component | tokens |
|---|---|---|
| Secret, RandomSecret, UserManagedSecret | app_secrets.secret | `app-secrets:index:<Name>` |
| ReadSecretPolicy | app_secrets.read_policy | |
| CustomerManagedKey | app_secrets.kms | |
| RdsPostgresAdminLogin | app_secrets.rds (archives built from the shipped handler) | |

Shared settings are nested types (`access`, `storage`) so that the three secret components describe
them once. Numbers arrive from the engine as floats and are turned into ints here. The analyzer reads each property's description from the docstring under it, in the
class's own source, so the outputs of the three secret components are declared in each class.

No `from __future__ import annotations` here: the analyzer reads the annotations as objects.
"""

from typing import Optional, Required, TypedDict

import pulumi

from . import kms as _kms
from . import rds as _rds
from . import read_policy as _read_policy
from . import secret as _secret
from .secret_settings import RandomSettings as _RandomSettings
from .secret_settings import ReplicaRegion as _ReplicaRegion


class ReplicaRegionArgs(TypedDict, total=False):
    region: Required[str]
    """AWS region of the replica (not the stack's own region)."""
    kms_key_id: str
    """KMS key for the replica in that region; AWS's `aws/secretsmanager` key when omitted."""


class SecretAccessArgs(TypedDict, total=False):
    admin_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that administer the secret and its key but never read its value. Default: the account root."""
    read_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that may read the value. Default: the account root (IAM policies decide)."""
    readwrite_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that may read and write the value (e.g. people filling in placeholders)."""
    trust_tags: dict[str, str]
    """Principal tags a reader must carry (`aws:PrincipalTag/<key>` equals the value)."""
    secret_policies: list[pulumi.Input[str]]
    """Extra secret policy documents (JSON) merged into the secret's resource policy; a statement with the same Sid overrides."""
    deployer_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that run `pulumi up` (they write values and own the policies). Default: the role behind the running credentials."""


class SecretStorageArgs(TypedDict, total=False):
    recovery_window_in_days: int
    """Days a deleted secret can be restored: 0 (delete at once) or 7-30. Default 30."""
    kms_deletion_window_in_days: int
    """Days before the secret's own KMS key is deleted after destroy (7-30). Default 30."""
    replica_regions: list[ReplicaRegionArgs]
    """Regions to replicate the secret to."""


class RandomSettingsArgs(TypedDict, total=False):
    length: int
    """Length of the generated value. Default 32."""
    special: bool
    """Include special characters. Default false."""
    upper: bool
    """Include upper-case letters. Default true."""
    lower: bool
    """Include lower-case letters. Default true."""
    numeric: bool
    """Include digits. Default true."""
    min_upper: int
    """Minimum number of upper-case letters. Default 0."""
    min_lower: int
    """Minimum number of lower-case letters. Default 0."""
    min_numeric: int
    """Minimum number of digits. Default 0."""
    min_special: int
    """Minimum number of special characters. Default 0."""
    override_special: str
    """The special characters to choose from, when `special` is true."""


class SecretArgs(TypedDict, total=False):
    name: Required[str]
    """Name of the secret in Secrets Manager (also its KMS key alias `alias/<name>`)."""
    initial_value: Required[dict[str, pulumi.Input[str]]]
    """The secret's first JSON value: upper-case variable name to value. Later hand edits are never overwritten."""
    description: str
    """Description of the secret. Default: its name."""
    tags: dict[str, str]
    """Tags on every resource of the secret."""
    access: SecretAccessArgs
    """Who may administer, read and write the secret."""
    storage: SecretStorageArgs
    """Recovery window, key deletion window and replicas."""
    create_rotation_role: bool
    """Create an IAM role (trusting Lambda) that may rotate this secret. Default false."""
    rotation_role_name: str
    """Name of the rotation role. Default `<name>-rotation`."""


class RandomSecretArgs(TypedDict, total=False):
    name: Required[str]
    """Name of the secret in Secrets Manager."""
    environment_variables: Required[list[str]]
    """Upper-case variable names; each gets a generated random value (e.g. SECRET_KEY_BASE)."""
    random_settings: dict[str, RandomSettingsArgs]
    """Per variable: how its value is generated. Default: 32 letters and digits."""
    description: str
    """Description of the secret. Default: its name."""
    tags: dict[str, str]
    """Tags on every resource of the secret."""
    access: SecretAccessArgs
    """Who may administer, read and write the secret."""
    storage: SecretStorageArgs
    """Recovery window, key deletion window and replicas."""


class UserManagedSecretArgs(TypedDict, total=False):
    name: Required[str]
    """Name of the secret in Secrets Manager."""
    environment_variables: Required[list[str]]
    """Upper-case variable names; each starts as an empty string for people to fill in by hand."""
    description: str
    """Description of the secret. Default: its name."""
    tags: dict[str, str]
    """Tags on every resource of the secret."""
    access: SecretAccessArgs
    """Who may administer, read and write the secret (read-write principals fill in the values)."""
    storage: SecretStorageArgs
    """Recovery window, key deletion window and replicas."""


def _int(value, default=None):
    """Numbers reach a component provider as floats (protobuf Struct); the library wants ints."""
    return default if value is None else int(value)


def _replicas(storage: dict) -> tuple:
    return tuple(_ReplicaRegion(region=r["region"], kms_key_id=r.get("kms_key_id"))
                 for r in storage.get("replica_regions") or ())


def _secret_args(cls: type, args: dict, **extra) -> "_secret.SecretArgs":
    access = args.get("access") or {}
    storage = args.get("storage") or {}
    return cls(
        name=args["name"],
        description=args.get("description"),
        admin_principals=access.get("admin_principals") or None,
        read_principals=access.get("read_principals") or None,
        readwrite_principals=tuple(access.get("readwrite_principals") or ()),
        deployer_principals=access.get("deployer_principals") or None,
        trust_tags=dict(access.get("trust_tags") or {}),
        secret_policies=tuple(access.get("secret_policies") or ()),
        resource_tags=dict(args.get("tags") or {}),
        recovery_window_in_days=_int(storage.get("recovery_window_in_days"), 30),
        kms_deletion_window_in_days=_int(storage.get("kms_deletion_window_in_days"), 30),
        replica_regions=_replicas(storage),
        dynamic_resources=False,   # consumers of the package cannot run Python dynamic providers
        **extra,
    )


def _child(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


class Secret(pulumi.ComponentResource):
    """A Secrets Manager secret with an initial JSON value, its own customer-managed KMS key (rotation on, alias), a resource policy and a ready read policy (thoughtbot's `secret`)."""

    arn: pulumi.Output[str]
    """ARN of the secret."""
    secret_name: pulumi.Output[str]
    """Name of the secret."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key that encrypts the secret."""
    kms_key_alias: pulumi.Output[str]
    """Alias of that key (`alias/<name>`)."""
    policy_json: pulumi.Output[str]
    """IAM policy document that reads the secret and decrypts it with its key; attach it to consumers' roles."""
    environment_variables: pulumi.Output[list[str]]
    """The variable names (JSON keys) of the secret."""
    rotation_role_arn: pulumi.Output[Optional[str]]
    """ARN of the rotation role, when one was created."""

    def __init__(self, name: str, args: SecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:Secret", name, {}, opts)
        inner = _secret.Secret(name, _secret_args(
            _secret.SecretArgs, args, initial_value=dict(args["initial_value"]),
            create_rotation_role=bool(args.get("create_rotation_role", False)),
            rotation_role_name=args.get("rotation_role_name")), _child(self))
        _export_secret(self, inner)


class RandomSecret(pulumi.ComponentResource):
    """A secret whose every variable is a generated random value, e.g. a Rails SECRET_KEY_BASE (thoughtbot's `random-secret`)."""

    arn: pulumi.Output[str]
    """ARN of the secret."""
    secret_name: pulumi.Output[str]
    """Name of the secret."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key that encrypts the secret."""
    kms_key_alias: pulumi.Output[str]
    """Alias of that key (`alias/<name>`)."""
    policy_json: pulumi.Output[str]
    """IAM policy document that reads the secret and decrypts it with its key; attach it to consumers' roles."""
    environment_variables: pulumi.Output[list[str]]
    """The variable names (JSON keys) of the secret."""
    rotation_role_arn: pulumi.Output[Optional[str]]
    """Always empty: random secrets have no rotation role."""

    def __init__(self, name: str, args: RandomSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:RandomSecret", name, {}, opts)
        settings = {variable: _RandomSettings(**{k: v if isinstance(v, (bool, str)) else _int(v)
                                                  for k, v in dict(values).items()})
                    for variable, values in (args.get("random_settings") or {}).items()}
        inner = _secret.RandomSecret(name, _secret_args(
            _secret.RandomSecretArgs, args, environment_variables=tuple(args["environment_variables"]),
            random_settings=settings), _child(self))
        _export_secret(self, inner)


class UserManagedSecret(pulumi.ComponentResource):
    """A secret whose variables start empty, for tokens people paste in by hand; never reset by later updates (thoughtbot's `user-managed-secret`)."""

    arn: pulumi.Output[str]
    """ARN of the secret."""
    secret_name: pulumi.Output[str]
    """Name of the secret."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key that encrypts the secret."""
    kms_key_alias: pulumi.Output[str]
    """Alias of that key (`alias/<name>`)."""
    policy_json: pulumi.Output[str]
    """IAM policy document that reads the secret and decrypts it with its key; attach it to consumers' roles."""
    environment_variables: pulumi.Output[list[str]]
    """The variable names (JSON keys) of the secret."""
    rotation_role_arn: pulumi.Output[Optional[str]]
    """Always empty: user-managed secrets have no rotation role."""

    def __init__(self, name: str, args: UserManagedSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:UserManagedSecret", name, {}, opts)
        inner = _secret.UserManagedSecret(name, _secret_args(
            _secret.UserManagedSecretArgs, args, environment_variables=tuple(args["environment_variables"])),
            _child(self))
        _export_secret(self, inner)


def _export_secret(outer: pulumi.ComponentResource, inner: "_secret.Secret") -> None:
    outer.arn = inner.arn
    outer.secret_name = inner.name
    outer.kms_key_arn = inner.kms_key_arn
    outer.kms_key_alias = inner.kms_key_alias
    outer.policy_json = inner.policy_json
    outer.environment_variables = pulumi.Output.from_input(list(inner.environment_variables))
    outer.rotation_role_arn = pulumi.Output.from_input(inner.rotation_role_arn)
    outer.register_outputs({"arn": outer.arn, "secretName": outer.secret_name, "kmsKeyArn": outer.kms_key_arn,
                            "kmsKeyAlias": outer.kms_key_alias, "policyJson": outer.policy_json,
                            "environmentVariables": outer.environment_variables,
                            "rotationRoleArn": outer.rotation_role_arn})


class ReadSecretPolicyArgs(TypedDict, total=False):
    policy_name: Required[str]
    """Name of the IAM policy."""
    secret_names: Required[list[str]]
    """Names of existing secrets to read (looked up with GetSecret, with their KMS keys)."""
    role_names: list[str]
    """IAM role names to attach the policy to."""
    description: str
    """Description of the policy."""


class ReadSecretPolicy(pulumi.ComponentResource):
    """One IAM policy that reads a set of secrets and decrypts them with their keys, attached to roles (thoughtbot's `read-secret-policy`)."""

    arn: pulumi.Output[str]
    """ARN of the IAM policy."""
    policy_json: pulumi.Output[str]
    """The policy document."""

    def __init__(self, name: str, args: ReadSecretPolicyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:ReadSecretPolicy", name, {}, opts)
        inner = _read_policy.ReadSecretPolicy(name, _read_policy.ReadSecretPolicyArgs(
            policy_name=args["policy_name"], secret_names=tuple(args["secret_names"]),
            role_names=tuple(args.get("role_names") or ()), description=args.get("description")), _child(self))
        self.arn = inner.arn
        self.policy_json = inner.policy_json
        self.register_outputs({"arn": self.arn, "policyJson": self.policy_json})


class CustomerManagedKeyArgs(TypedDict, total=False):
    name: Required[str]
    """Name of the key: its description and alias `alias/<name>`."""
    admin_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that administer the key (the account root always stays an administrator)."""
    deletion_window_in_days: int
    """Days before the key is deleted after destroy (7-30). Default 30."""
    tags: dict[str, str]
    """Tags on the key."""


class CustomerManagedKey(pulumi.ComponentResource):
    """A customer-managed KMS key with rotation on and an alias (thoughtbot's `customer-managed-kms`)."""

    arn: pulumi.Output[str]
    """ARN of the key."""
    key_id: pulumi.Output[str]
    """Id of the key."""
    alias_name: pulumi.Output[str]
    """Its alias, `alias/<name>`."""
    decrypt_policy_json: pulumi.Output[str]
    """IAM policy document that decrypts with the key."""

    def __init__(self, name: str, args: CustomerManagedKeyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:CustomerManagedKey", name, {}, opts)
        inner = _kms.CustomerManagedKey(name, _kms.CustomerManagedKeyArgs(
            name=args["name"], admin_principals=args.get("admin_principals") or None,
            deletion_window_in_days=_int(args.get("deletion_window_in_days"), 30), tags=dict(args.get("tags") or {})),
            _child(self))
        self.arn = inner.arn
        self.key_id = inner.key_id
        self.alias_name = inner.alias_name
        self.decrypt_policy_json = inner.decrypt_policy_json
        self.register_outputs({"arn": self.arn, "keyId": self.key_id, "aliasName": self.alias_name,
                               "decryptPolicyJson": self.decrypt_policy_json})


class LoginAccessArgs(TypedDict, total=False):
    admin_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that administer the login secret and its key but never read it. Default: the account root."""
    read_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that may read the login. Default: the account root (IAM policies decide)."""
    trust_tags: dict[str, str]
    """Principal tags a reader must carry (`aws:PrincipalTag/<key>` equals the value)."""
    deployer_principals: list[pulumi.Input[str]]
    """IAM principal ARNs that run `pulumi up` (they write values and own the policies). Default: the role behind the running credentials."""


class RdsPostgresAdminLoginArgs(TypedDict, total=False):
    identifier: Required[str]
    """RDS instance identifier (looked up for host, port and database name)."""
    username: Required[str]
    """The database's master user name."""
    initial_password: Required[pulumi.Input[str]]
    """The master password today; rotated away at once unless rotate_immediately is false. Pass it as a secret."""
    database_name: str
    """Database to connect to. Default: the instance's database name."""
    strategy: str
    """`single-user` (default) or `alternating-users`."""
    alternate_username: str
    """Second user for alternating-users. Default `<username>_alt`."""
    secret_name: str
    """Name of the secret. Default `rds-postgres-<identifier>`."""
    vpc_id: pulumi.Input[str]
    """VPC of the rotation function (with subnet_ids)."""
    subnet_ids: list[pulumi.Input[str]]
    """Subnets the rotation function runs in."""
    security_group_ids: list[pulumi.Input[str]]
    """Extra security groups for the rotation function."""
    database_security_group_id: pulumi.Input[str]
    """The database's security group: gets an ingress rule from the function's group."""
    secrets_manager_endpoint: str
    """How the rotation function in a VPC reaches Secrets Manager: `create` (default with vpc_id) an interface endpoint in subnet_ids with private DNS, `existing` (the VPC has one, or a NAT route), `none` (default without a VPC; refused with one)."""
    rotation_enabled: bool
    """Rotate the password with the bundled Lambda. Default true."""
    rotation_days: int
    """Rotate every this many days. Default 30."""
    schedule_expression: str
    """A rate() or cron() schedule instead of rotation_days."""
    rotate_immediately: bool
    """Rotate once at deploy, replacing the initial password. Default true."""
    password_length: int
    """Length of generated passwords. Default 32."""
    exclude_characters: str
    """Characters generated passwords never contain. Default: Secrets Manager's."""
    access: LoginAccessArgs
    """Who may administer and read the login secret."""
    storage: SecretStorageArgs
    """Recovery window, key deletion window and replicas of the login secret."""
    tags: dict[str, str]
    """Tags on every resource."""


class RdsPostgresAdminLogin(pulumi.ComponentResource):
    """The admin login of an RDS PostgreSQL instance as a secret, rotated by a Lambda that changes the password in the database (thoughtbot's `rds-postgres/admin-login`)."""

    secret_arn: pulumi.Output[str]
    """ARN of the login secret (JSON: engine, host, port, dbname, username, password, DATABASE_URL)."""
    secret_name: pulumi.Output[str]
    """Name of the login secret."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key that encrypts it."""
    policy_json: pulumi.Output[str]
    """IAM policy document that reads the login secret."""
    environment_variables: pulumi.Output[list[str]]
    """["DATABASE_URL"]."""
    rotation_role_arn: pulumi.Output[Optional[str]]
    """ARN of the rotation function's role."""
    function_arn: pulumi.Output[Optional[str]]
    """ARN of the rotation function, when rotation is enabled."""
    secrets_manager_endpoint_id: pulumi.Output[Optional[str]]
    """Id of the `secretsmanager` interface VPC endpoint created for the function, when one was."""

    def __init__(self, name: str, args: RdsPostgresAdminLoginArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("app-secrets:index:RdsPostgresAdminLogin", name, {}, opts)
        access = args.get("access") or {}
        storage = args.get("storage") or {}
        optional = {key: args[key] for key in (
            "database_name", "strategy", "alternate_username", "secret_name", "vpc_id", "database_security_group_id",
            "secrets_manager_endpoint",
            "rotation_enabled", "schedule_expression", "rotate_immediately", "exclude_characters",
        ) if args.get(key) is not None}
        optional.update({key: _int(args[key]) for key in ("rotation_days", "password_length")
                         if args.get(key) is not None})
        inner = _rds.RdsPostgresAdminLogin(name, _rds.RdsPostgresAdminLoginArgs(
            identifier=args["identifier"], username=args["username"],
            initial_password=pulumi.Output.secret(args["initial_password"]),
            subnet_ids=tuple(args.get("subnet_ids") or ()), security_group_ids=tuple(args.get("security_group_ids") or ()),
            admin_principals=access.get("admin_principals") or None, read_principals=access.get("read_principals") or None,
            deployer_principals=access.get("deployer_principals") or None,
            trust_tags=dict(access.get("trust_tags") or {}), tags=dict(args.get("tags") or {}),
            recovery_window_in_days=_int(storage.get("recovery_window_in_days"), 30),
            kms_deletion_window_in_days=_int(storage.get("kms_deletion_window_in_days"), 30),
            replica_regions=_replicas(storage), dynamic_resources=False,
            **optional), _child(self))
        self.secret_arn = inner.secret_arn
        self.secret_name = inner.secret_name
        self.kms_key_arn = inner.kms_key_arn
        self.policy_json = inner.policy_json
        self.environment_variables = pulumi.Output.from_input(list(inner.environment_variables))
        self.rotation_role_arn = pulumi.Output.from_input(inner.rotation_role_arn)
        self.function_arn = pulumi.Output.from_input(inner.function_arn)
        self.secrets_manager_endpoint_id = pulumi.Output.from_input(inner.secrets_manager_endpoint_id)
        self.register_outputs({"secretArn": self.secret_arn, "secretName": self.secret_name,
                               "kmsKeyArn": self.kms_key_arn, "policyJson": self.policy_json,
                               "environmentVariables": self.environment_variables,
                               "rotationRoleArn": self.rotation_role_arn, "functionArn": self.function_arn,
                               "secretsManagerEndpointId": self.secrets_manager_endpoint_id})


COMPONENTS = [Secret, RandomSecret, UserManagedSecret, ReadSecretPolicy, CustomerManagedKey, RdsPostgresAdminLogin]
PACKAGE_NAME = "app-secrets"


def package_version() -> str:
    """The installed distribution's version (pyproject.toml), which the schema carries."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE_NAME)
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0.0.0"
