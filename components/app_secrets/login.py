"""RdsPostgresLogin: thoughtbot's `rds-postgres/rds-postgres-login` module as a Pulumi component.

An application login that the admin login creates and rotates with alternating users. Its secret has
AWS's multi-user shape (`masterarn` = the admin login's secret); the rotation function logs in as
the admin (with the admin secret's own host) to create `<username>` / `<alternate>` and run the
grants for both.

| input | type | default | thoughtbot variable |
|---|---|---|---|
| identifier | str | (required, unless cluster_identifier) | — (the instance the app connects to; a replica's for `replica`) |
| cluster_identifier | str | none | — (an Aurora cluster: the writer endpoint, or the reader endpoint for `replica`) |
| admin_secret_arn, admin_kms_key_arn | Input[str] | (required) | admin_login_secret_arn, admin_login_kms_key_id |
| username | str | (required) | username |
| alternate_username | str | `<username>_alt` | alternate_username |
| database_name | str | the instance's db_name | database |
| grants | list[str] | [] | grants (templates with `%s`; see grants.py for structured ones) |
| replica | bool | False | replica (the URL goes to `REPLICA_DATABASE_URL`) |
| secret_name | str | `rds-postgres-<identifier>-<username>` | secret_name |
| vpc_id, subnet_ids, security_group_ids, database_security_group_id | | none | vpc_id, subnet_ids |
| ssl_mode, ca_bundle, password_length, exclude_characters | | verify-full, RDS CAs, 32, AWS default | — |
| rotation_days, schedule_expression, rotate_immediately | | 30, —, true | — |
| admin_principals, read_principals, replica_regions, tags, trust_tags | | account root, … | same |

Outputs as the admin login: environment_variables (["DATABASE_URL"] or ["REPLICA_DATABASE_URL"]),
kms_key_arn, policy_json, rotation_role_arn, rotation_role_name, secret_arn, secret_name,
function_arn. The rotation role may additionally read the admin secret (GetSecretValue) and decrypt
with its key through Secrets Manager, nothing more; the admin login must name this role among its
readers so its key policy lets it decrypt (the stack program does).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import naming, policies, tls
from .context import AwsContext
from .rds import DatabaseEndpoint, database_url, rotation_security_group
from .rotation_function import ArchiveLike, SecretRotationFunction, SecretRotationFunctionArgs
from .secret import KmsKeyRef, Secret, SecretArgs
from .secret_settings import ReplicaRegion


def url_key(replica: bool) -> str:
    return "REPLICA_DATABASE_URL" if replica else "DATABASE_URL"


def master_read_policy(admin_secret_arn: str, admin_key_arn: str, region: str,
                       dns_suffix: str = "amazonaws.com") -> dict:
    """What the login's rotation role needs of the admin login: its value, and the key to decrypt it
    through Secrets Manager. No describe, no write, no other secret."""
    return policies.document([
        {"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": admin_secret_arn},
        {"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": admin_key_arn,
         "Condition": policies.secretsmanager_via_service(region, dns_suffix)},
    ])


@dataclass
class RdsPostgresLoginArgs:
    identifier: Optional[str]
    admin_secret_arn: pulumi.Input[str]
    admin_kms_key_arn: pulumi.Input[str]
    username: str
    handler: Optional[ArchiveLike] = None
    layers: Mapping[str, ArchiveLike] = field(default_factory=dict)
    alternate_username: Optional[str] = None
    database_name: Optional[str] = None
    grants: Sequence[str] = ()
    replica: bool = False
    secret_name: Optional[str] = None
    description: Optional[str] = None
    vpc_id: Optional[str] = None
    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    database_security_group_id: Optional[str] = None
    ssl_mode: str = tls.DEFAULT_SSL_MODE
    ca_bundle: Optional[str] = None
    password_length: int = 32
    exclude_characters: Optional[str] = None
    rotation_days: Optional[int] = 30
    schedule_expression: Optional[str] = None
    rotate_immediately: bool = True
    log_retention_in_days: int = 30
    deployer_principals: Optional[Sequence[pulumi.Input[str]]] = None
    admin_principals: Optional[Sequence[pulumi.Input[str]]] = None
    read_principals: Optional[Sequence[pulumi.Input[str]]] = None
    replica_regions: Sequence[ReplicaRegion] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    trust_tags: Mapping[str, str] = field(default_factory=dict)
    recovery_window_in_days: int = 30
    kms_key: Optional[KmsKeyRef] = None
    kms_deletion_window_in_days: int = 30
    context: Optional[AwsContext] = None
    protect: bool = False
    cluster_identifier: Optional[str] = None
    # issue 16, as on the admin login: exempt from the operator Denies, Lambda code signing, the
    # rotation role's permissions boundary.
    break_glass_principals: Sequence[pulumi.Input[str]] = ()
    code_signing_config_arn: Optional[str] = None
    permissions_boundary: Optional[str] = None


class RdsPostgresLogin(pulumi.ComponentResource):
    TYPE = "app-secrets:databases:RdsPostgresLogin"

    def __init__(self, resource_name: str, args: RdsPostgresLoginArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        if args.ssl_mode not in tls.FUNCTION_SSL_MODES:
            raise ValueError(f"ssl_mode must be one of {', '.join(tls.FUNCTION_SSL_MODES)}, not {args.ssl_mode!r}")
        from .grants import template_problems

        for number, template in enumerate(args.grants, 1):
            problems = template_problems(template)
            if problems:
                raise ValueError(f"grants[{number}] {problems[0]}")
        if bool(args.identifier) == bool(args.cluster_identifier):
            raise ValueError("give identifier (an RDS instance) or cluster_identifier (an Aurora cluster), not both "
                             "and not neither")
        if args.handler is None:
            from .packaging import rotation_archives
            handler, layers = rotation_archives()
            args = dataclasses.replace(args, handler=handler, layers={**layers, **args.layers})
        if args.ca_bundle:
            from .packaging import build_ca_bundle_archive
            args = dataclasses.replace(args, layers={**args.layers, "ca": build_ca_bundle_archive(args.ca_bundle)})
        super().__init__(self.TYPE, resource_name, None, opts)
        context = args.context or AwsContext.lookup(self)
        child = pulumi.ResourceOptions(parent=self)
        database = DatabaseEndpoint(self, args.identifier, args.cluster_identifier)
        secret_name = args.secret_name or f"rds-postgres-{database.name}-{args.username}"
        alternate = args.alternate_username or f"{args.username}_alt"
        key = url_key(args.replica)
        dbname = database.dbname(args.database_name)
        # A replica login on a cluster connects to its reader endpoint.
        host = database.reader_host if args.replica and database.reader_host is not None else database.host
        # The user does not exist until the first rotation (immediately, by default) creates the
        # alternate; until then this random password logs in nowhere.
        placeholder = random.RandomPassword(f"{resource_name}-placeholder", length=32, special=False, opts=child)
        password = pulumi.Output.secret(placeholder.result)
        initial_value = {
            "engine": database.engine,
            "host": host,
            "port": database.port,
            "dbname": dbname,
            "username": args.username,
            "password": password,
            "masterarn": args.admin_secret_arn,
            **({"dbClusterIdentifier": args.cluster_identifier} if args.cluster_identifier else {}),
            key: pulumi.Output.secret(pulumi.Output.all(password, host, database.port, dbname).apply(
                lambda a: database_url(args.username, a[0], a[1], a[2], a[3]))),
        }
        secret = Secret(resource_name, SecretArgs(
            name=secret_name,
            initial_value=initial_value,
            description=args.description or f"Application login {args.username} of {database.describe()}",
            admin_principals=args.admin_principals,
            read_principals=args.read_principals,
            deployer_principals=args.deployer_principals,
            resource_tags=args.tags,
            trust_tags=args.trust_tags,
            replica_regions=args.replica_regions,
            create_rotation_role=True,
            recovery_window_in_days=args.recovery_window_in_days,
            kms_key=args.kms_key,
            kms_deletion_window_in_days=args.kms_deletion_window_in_days,
            context=context,
            protect=args.protect,
            break_glass_principals=args.break_glass_principals,
            permissions_boundary=args.permissions_boundary,
        ), opts=child)
        assert secret.rotation_role is not None
        master_access = aws.iam.RolePolicy(
            f"{resource_name}-master",
            name="read-master-secret",
            role=secret.rotation_role.name,
            policy=pulumi.Output.all(args.admin_secret_arn, args.admin_kms_key_arn, context.region,
                                     context.dns_suffix).apply(
                lambda a: policies.to_json(master_read_policy(a[0], a[1], a[2], a[3]))),
            opts=child,
        )
        group_ids = list(args.security_group_ids)
        ingress: list[pulumi.Resource] = []
        self.function_security_group_id = None
        if args.vpc_id:
            group, rules = rotation_security_group(
                self, resource_name, secret_name, vpc_id=args.vpc_id, port=database.port,
                database_group_id=args.database_security_group_id, tags=args.tags)
            group_ids.append(group.id)
            ingress.extend(rules)
            self.function_security_group_id = group.id
        variables: dict[str, pulumi.Input[str]] = {
            "ROTATION_STRATEGY": "alternating-users",
            "PRIMARY_USERNAME": args.username,
            "ALTERNATE_USERNAME": alternate,
            "MASTER_SECRET_ARN": args.admin_secret_arn,
            "GRANTS": pulumi.Output.from_input(list(args.grants)).apply(
                lambda g: json.dumps(g, separators=(",", ":"))),
            "URL_KEY": key,
            "DB_SSLMODE": args.ssl_mode,
            "PASSWORD_LENGTH": str(args.password_length),
        }
        if args.ca_bundle:
            variables["DB_SSLROOTCERT"] = tls.CUSTOM_CA_PATH
        if args.exclude_characters is not None:
            variables["EXCLUDE_CHARACTERS"] = args.exclude_characters
        function = SecretRotationFunction(resource_name, SecretRotationFunctionArgs(
            secret_arn=secret.arn,
            role_arn=secret.rotation_role.arn,
            role_name=secret.rotation_role.name,
            function_name=naming.lambda_function_name(secret_name),
            source=args.handler,
            layers=args.layers,
            variables=variables,
            rotation_days=args.rotation_days,
            schedule_expression=args.schedule_expression,
            rotate_immediately=args.rotate_immediately,
            depends_on=[*secret.rotation_dependencies, master_access, *ingress],
            subnet_ids=list(args.subnet_ids) if args.vpc_id else [],
            security_group_ids=group_ids if args.vpc_id else [],
            tags=args.tags,
            log_retention_in_days=args.log_retention_in_days,
            code_signing_config_arn=args.code_signing_config_arn,
            context=context,
        ), opts=child)

        self.secret = secret
        self.environment_variables = [key]
        self.present_environment_variables = secret.present_environment_variables.apply(
            lambda present: [k for k in self.environment_variables if k in present])
        self.kms_key_arn = secret.kms_key_arn
        self.kms_key_alias = secret.kms_key_alias
        self.policy_json = secret.policy_json
        self.rotation_role_arn = secret.rotation_role_arn
        self.rotation_role_name = secret.rotation_role_name
        self.secret_arn = secret.arn
        self.secret_name = secret.name
        self.function_arn = function.arn
        self.register_outputs({
            "environmentVariables": self.environment_variables,
            "kmsKeyArn": self.kms_key_arn,
            "policyJson": self.policy_json,
            "rotationRoleArn": self.rotation_role_arn,
            "rotationRoleName": self.rotation_role_name,
            "secretArn": self.secret_arn,
            "secretName": self.secret_name,
            "functionArn": self.function_arn,
            "functionSecurityGroupId": self.function_security_group_id,
        })
