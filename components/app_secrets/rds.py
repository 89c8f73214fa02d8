"""RdsPostgresAdminLogin: thoughtbot's `rds-postgres/admin-login` module as a Pulumi component.

| input | type | default | thoughtbot variable |
|---|---|---|---|
| identifier | str | (required, unless cluster_identifier) | identifier |
| cluster_identifier | str | none | — (an Aurora PostgreSQL cluster instead of an instance: the writer endpoint, `dbClusterIdentifier`, and `READER_DATABASE_URL` for the reader endpoint) |
| username | str | (required) | username |
| initial_password | Input[str] (secret) | (required) | initial_password |
| database_name | str | the instance's db_name | database_name |
| alternate_username | str | `<username>_alt` | alternate_username |
| secret_name | str | `rds-postgres-<identifier>` | secret_name |
| strategy | single-user \\| alternating-users | single-user | — (thoughtbot: alternating) |
| vpc_id, subnet_ids, security_group_ids | | none | vpc_id, subnet_ids, security_group_ids |
| secrets_manager_endpoint | create \\| existing \\| none | create in a VPC, else none | — (an interface endpoint for `secretsmanager` in the function's subnets) |
| database_security_group_id | str | none | — (gets an ingress rule from the function's group) |
| admin_principals, read_principals | list | account root | admin_principals, read_principals |
| replica_regions, tags, trust_tags | | none | replica_regions, tags, trust_tags |
| ssl_mode | verify-full \\| verify-ca \\| require | verify-full | — (thoughtbot: require, fixed; a secret's `sslmode`/`ssl` keys can only strengthen it) |
| ca_bundle | str (PEM file) | the RDS root CAs shipped with the handler | — (a stack's own CA bundle, shipped in a layer) |
| password_length, exclude_characters | | 32, AWS default | — |
| rotation_enabled, rotation_days, schedule_expression, rotate_immediately | | true, 30, —, true | — |
| log_retention_in_days | int | 30 | — (the rotation function's log group) |
| deployer_principals | list | the running credentials' role | — (may use the key) |
| handler, layers | ArchiveInfo | built from the handler shipped in this package, into `packaging.default_build_dir()` (the user's cache) | — |
| protect | bool | False | — (`protect` on the login's secret, value and key) |

| output | thoughtbot output |
|---|---|
| environment_variables | environment_variables (["DATABASE_URL"]) |
| present_environment_variables | — (those the live secret holds, see key_merge.py) |
| kms_key_arn, policy_json | kms_key_arn, policy_json |
| rotation_role_arn, rotation_role_name | rotation_role_arn, rotation_role_name |
| secret_arn, secret_name | secret_arn, secret_name |
| function_arn, function_security_group_id, secrets_manager_endpoint_id | — |
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from . import naming, tls
from .secret_settings import ReplicaRegion
from .context import AwsContext, answered
from .rotation_function import ArchiveLike, SecretRotationFunction, SecretRotationFunctionArgs
from .adoption import Adoption
from .secret import KmsKeyRef, Secret, SecretArgs


ENDPOINT_CHOICES = ("create", "existing", "none")


def endpoint_mode(vpc_id: Optional[str], subnet_ids: Sequence[str], mode: Optional[str]) -> str:
    """The effective `secrets_manager_endpoint`, or ValueError when the VPC settings leave the rotation
    function no route to Secrets Manager (a function in a VPC has no internet access of its own)."""
    if mode is not None and mode not in ENDPOINT_CHOICES:
        raise ValueError(f"secretsManagerEndpoint must be one of {', '.join(ENDPOINT_CHOICES)}, not {mode!r}")
    if not vpc_id:
        if subnet_ids:
            raise ValueError("subnetIds is set without vpcId: set vpcId too, or drop subnetIds")
        if mode in ("create", "existing"):
            raise ValueError(f"secretsManagerEndpoint: {mode} needs the function in a VPC (vpcId and subnetIds); "
                             "without a VPC the function reaches Secrets Manager's public endpoint")
        return "none"
    if not subnet_ids:
        raise ValueError("vpcId is set without subnetIds: the rotation function needs subnets of that VPC")
    if mode == "none":
        raise ValueError("secretsManagerEndpoint: none leaves the rotation function in VPC "
                         f"{vpc_id} without a route to Secrets Manager (a Lambda function in a VPC has no "
                         "internet access): use create, or existing when the VPC already has a secretsmanager "
                         "interface endpoint with private DNS or a NAT gateway route from these subnets")
    return mode or "create"


def managed_password_problem(kind: str, identifier: str, managed_secret_arns: Sequence[str]) -> Optional[str]:
    """The refusal for a database whose master password RDS already manages and rotates
    (ManageMasterUserPassword: the lookup lists its `rds!…` secret), or None."""
    if not managed_secret_arns:
        return None
    return (f"RDS already manages and rotates the master password of {kind} '{identifier}' "
            f"(ManageMasterUserPassword; its secret is {managed_secret_arns[0]}): a second rotation here would "
            "fight it. Either drop this entry and let apps read the RDS-managed secret (it holds only username and "
            "password), or turn RDS's management off (modify the "
            f"{'cluster' if kind == 'cluster' else 'instance'} with --no-manage-master-user-password and a new "
            "password) and set that password as initialPassword")


def database_url(username: str, password: str, host: str, port: int | str, dbname: str) -> str:
    """postgres:// URL with user and password percent-encoded, so any character survives."""
    return f"postgres://{quote(username, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(dbname, safe='')}"


@dataclass
class RdsPostgresAdminLoginArgs:
    identifier: Optional[str]               # an RDS instance; None/"" with cluster_identifier
    username: str
    initial_password: pulumi.Input[str]
    handler: Optional[ArchiveLike] = None   # None: build the shipped handler (and its layer) into the cache
    layers: Mapping[str, ArchiveLike] = field(default_factory=dict)
    database_name: Optional[str] = None
    alternate_username: Optional[str] = None
    secret_name: Optional[str] = None
    description: Optional[str] = None
    strategy: str = "single-user"
    vpc_id: Optional[str] = None
    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    ssl_mode: str = "verify-full"
    ca_bundle: Optional[str] = None  # a PEM file; None: the RDS root CAs shipped in the handler
    password_length: int = 32
    exclude_characters: Optional[str] = None
    rotation_enabled: bool = True
    adoption: Optional[Adoption] = None   # take over an existing login secret (adoption.py)
    rotation_days: Optional[int] = 30
    schedule_expression: Optional[str] = None
    rotate_immediately: bool = True
    log_retention_in_days: int = 30
    deployer_principals: Optional[Sequence[pulumi.Input[str]]] = None
    database_security_group_id: Optional[str] = None
    secrets_manager_endpoint: Optional[str] = None  # create | existing | none; None: create in a VPC
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
    dynamic_resources: bool = True   # SecretArgs.dynamic_resources, for the login's secret
    cluster_identifier: Optional[str] = None  # an Aurora PostgreSQL cluster instead of an instance
    code_signing_config_arn: Optional[str] = None   # Lambda code signing of the rotation function
    break_glass_principals: Sequence[pulumi.Input[str]] = ()   # exempt from the operator Denies
    permissions_boundary: Optional[str] = None   # of the rotation role


class DatabaseEndpoint:
    """Where a login connects, read from the instance (aws.rds.get_instance) or the Aurora cluster
    (aws.rds.get_cluster: writer endpoint, reader endpoint)."""

    def __init__(self, parent: pulumi.Resource, identifier: Optional[str], cluster_identifier: Optional[str]):
        if bool(identifier) == bool(cluster_identifier):
            raise ValueError("give identifier (an RDS instance) or cluster_identifier (an Aurora cluster), not both "
                             "and not neither")
        invoke = pulumi.InvokeOptions(parent=parent)
        self.cluster_identifier = cluster_identifier
        self.name = cluster_identifier or identifier
        if cluster_identifier:
            cluster = aws.rds.get_cluster_output(cluster_identifier=cluster_identifier, opts=invoke)
            # A mock that does not answer the lookup fails here, naming it (app_secrets.testing).
            self.host = answered(cluster.endpoint, "aws:rds/getCluster:getCluster", "endpoint")
            self.port, self.engine = cluster.port, cluster.engine
            self.reader_host: Optional[pulumi.Output[str]] = cluster.reader_endpoint
            self.default_dbname = cluster.database_name
        else:
            instance = aws.rds.get_instance_output(db_instance_identifier=identifier, opts=invoke)
            self.host = answered(instance.address, "aws:rds/getInstance:getInstance", "address")
            self.port, self.engine = instance.port, instance.engine
            self.reader_host = None
            self.default_dbname = instance.db_name

    def dbname(self, explicit: Optional[str]) -> pulumi.Output[str]:
        # A database created without a name has only the default `postgres` database.
        return (pulumi.Output.from_input(explicit) if explicit
                else self.default_dbname.apply(lambda name: name or "postgres"))

    def describe(self) -> str:
        return f"Aurora PostgreSQL cluster {self.name}" if self.cluster_identifier else f"RDS PostgreSQL instance {self.name}"


def rotation_egress(port: pulumi.Input[int], database_group_id: Optional[str], vpc_cidr: pulumi.Input[str],
                    endpoint_group_id: Optional[pulumi.Input[str]] = None) -> list:
    """Where the rotation function may connect: the database port (to the database's security group
    when known, else only inside the VPC's CIDR) and HTTPS to the Secrets Manager API (only to the
    interface endpoint's group when the component creates one, else anywhere: an existing endpoint
    or a NAT). Nothing else."""
    database = aws.ec2.SecurityGroupEgressArgs(
        protocol="tcp", from_port=port, to_port=port, description="The database",
        **({"security_groups": [database_group_id]} if database_group_id else {"cidr_blocks": [vpc_cidr]}))
    if endpoint_group_id is not None:
        https = aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443,
                                                security_groups=[endpoint_group_id],
                                                description="Secrets Manager API (HTTPS, its VPC endpoint)")
    else:
        https = aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                                                ipv6_cidr_blocks=["::/0"], description="Secrets Manager API (HTTPS)")
    return [database, https]


def rotation_security_group(parent: pulumi.Resource, resource_name: str, secret_name: str, *, vpc_id: str,
                            port: pulumi.Input[int], database_group_id: Optional[str], tags: Mapping[str, str],
                            endpoint_group_id: Optional[pulumi.Input[str]] = None
                            ) -> tuple[aws.ec2.SecurityGroup, list[pulumi.Resource]]:
    """A rotation function's own group in the VPC (egress: rotation_egress; without the database's
    group the database port stays inside the VPC's CIDR), and the database group's rule letting it in.
    Shared by the admin login and application logins, so both keep the same narrow egress."""
    child = pulumi.ResourceOptions(parent=parent)
    vpc_cidr = "" if database_group_id else aws.ec2.get_vpc_output(
        id=vpc_id, opts=pulumi.InvokeOptions(parent=parent)).cidr_block
    group = aws.ec2.SecurityGroup(
        f"{resource_name}-rotation",
        name=naming.iam_name(f"{secret_name}-rotation"),
        description=f"Rotation function of secret {secret_name}",
        vpc_id=vpc_id,
        egress=rotation_egress(port, database_group_id, vpc_cidr, endpoint_group_id),
        tags=dict(tags) or None,
        opts=child,
    )
    ingress: list[pulumi.Resource] = []
    if database_group_id:
        # Let the function reach the database: its group in, on the database's port.
        ingress.append(aws.vpc.SecurityGroupIngressRule(
            f"{resource_name}-rotation-to-db",
            security_group_id=database_group_id,
            referenced_security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"Rotation function of secret {secret_name}",
            opts=child,
        ))
    return group, ingress


class RdsPostgresAdminLogin(pulumi.ComponentResource):
    TYPE = "app-secrets:databases:RdsPostgresAdminLogin"

    def _endpoint_group(self, resource_name: str, secret_name: str,
                        args: RdsPostgresAdminLoginArgs) -> aws.ec2.SecurityGroup:
        """The Secrets Manager endpoint's group, created first: the function's group sends HTTPS only to it."""
        return aws.ec2.SecurityGroup(
            f"{resource_name}-secretsmanager-endpoint",
            name=naming.iam_name(f"{secret_name}-secretsmanager-endpoint"),
            description=f"Secrets Manager endpoint for the rotation function of secret {secret_name}",
            vpc_id=args.vpc_id,
            tags=dict(args.tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _secrets_manager_endpoint(self, resource_name: str, secret_name: str, args: RdsPostgresAdminLoginArgs,
                                  function_group: aws.ec2.SecurityGroup, group: aws.ec2.SecurityGroup,
                                  context: AwsContext) -> pulumi.Resource:
        """An interface VPC endpoint for Secrets Manager in the function's subnets, with private DNS (so
        the regional name the function calls resolves to it) and a group that admits HTTPS from the
        function's group only. Returns the endpoint (the function depends on it)."""
        opts = pulumi.ResourceOptions(parent=self)
        rule = aws.vpc.SecurityGroupIngressRule(
            f"{resource_name}-secretsmanager-endpoint-https",
            security_group_id=group.id,
            referenced_security_group_id=function_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"HTTPS from the rotation function of secret {secret_name}",
            opts=opts,
        )
        endpoint = aws.ec2.VpcEndpoint(
            f"{resource_name}-secretsmanager",
            vpc_id=args.vpc_id,
            service_name=context.region.apply(lambda region: f"com.amazonaws.{region}.secretsmanager"),
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=list(args.subnet_ids),
            security_group_ids=[group.id],
            tags={**args.tags, "Name": f"{secret_name}-secretsmanager"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rule]),
        )
        self.secrets_manager_endpoint_id = endpoint.id
        return endpoint

    def __init__(self, resource_name: str, args: RdsPostgresAdminLoginArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        if args.handler is None and args.rotation_enabled:
            # Built before anything is registered, so a failed build leaves nothing half-created.
            from .packaging import rotation_archives
            handler, layers = rotation_archives()
            args = dataclasses.replace(args, handler=handler, layers={**layers, **args.layers})
        if args.ssl_mode not in tls.FUNCTION_SSL_MODES:
            raise ValueError(f"ssl_mode must be one of {', '.join(tls.FUNCTION_SSL_MODES)}, not {args.ssl_mode!r}")
        if args.ca_bundle and args.rotation_enabled:
            from .packaging import build_ca_bundle_archive
            args = dataclasses.replace(args, layers={**args.layers, "ca": build_ca_bundle_archive(args.ca_bundle)})
        if bool(args.identifier) == bool(args.cluster_identifier):
            raise ValueError("give identifier (an RDS instance) or cluster_identifier (an Aurora cluster), not both "
                             "and not neither")
        endpoint = endpoint_mode(args.vpc_id, args.subnet_ids, args.secrets_manager_endpoint)
        super().__init__(self.TYPE, resource_name, None, opts)
        self.secrets_manager_endpoint_id = None
        context = args.context or AwsContext.lookup(self)
        self.function_security_group_id = None
        database = DatabaseEndpoint(self, args.identifier, args.cluster_identifier)
        secret_name = args.secret_name or f"rds-postgres-{database.name}"
        alternate = args.alternate_username or f"{args.username}_alt"
        dbname = database.dbname(args.database_name)
        password = pulumi.Output.secret(args.initial_password)
        url = pulumi.Output.secret(pulumi.Output.all(password, database.host, database.port, dbname).apply(
            lambda a: database_url(args.username, a[0], a[1], a[2], a[3])))
        initial_value = {
            "engine": database.engine,
            "host": database.host,
            "port": database.port,
            "dbname": dbname,
            "username": args.username,
            "password": password,
            "DATABASE_URL": url,
        }
        if database.reader_host is not None:
            # AWS's templates name the cluster; the function rewrites READER_DATABASE_URL from readerHost.
            initial_value["dbClusterIdentifier"] = database.cluster_identifier
            initial_value["readerHost"] = database.reader_host
            initial_value["READER_DATABASE_URL"] = pulumi.Output.secret(
                pulumi.Output.all(password, database.reader_host, database.port, dbname).apply(
                    lambda a: database_url(args.username, a[0], a[1], a[2], a[3])))
        if args.adoption is not None:
            # The live secret holds the real password: nothing derived from initial_password may be
            # merged into it (DATABASE_URL appears with the first rotation by this project's function).
            initial_value = {k: v for k, v in initial_value.items() if k not in ("password", "DATABASE_URL", "READER_DATABASE_URL")}
        secret = Secret(
            resource_name,
            SecretArgs(
                name=secret_name,
                initial_value=initial_value,
                description=args.description if args.adoption else
                (args.description or f"Admin login of {database.describe()}"),
                admin_principals=args.admin_principals,
                read_principals=args.read_principals,
                deployer_principals=args.deployer_principals,
                break_glass_principals=args.break_glass_principals,
                permissions_boundary=args.permissions_boundary,
                resource_tags=args.tags,
                trust_tags=args.trust_tags,
                replica_regions=args.replica_regions,
                create_rotation_role=args.rotation_enabled,
                recovery_window_in_days=args.recovery_window_in_days,
                kms_key=args.kms_key,
                kms_deletion_window_in_days=args.kms_deletion_window_in_days,
                context=context,
                protect=args.protect,
                adoption=args.adoption,
                dynamic_resources=args.dynamic_resources,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret = secret
        function_arn = None
        if args.rotation_enabled:
            assert secret.rotation_role is not None
            group_ids = list(args.security_group_ids)
            ingress: list[pulumi.Resource] = []
            if args.vpc_id:
                endpoint_group = self._endpoint_group(resource_name, secret_name, args) \
                    if endpoint == "create" else None
                group, rules = rotation_security_group(
                    self, resource_name, secret_name, vpc_id=args.vpc_id, port=database.port,
                    database_group_id=args.database_security_group_id, tags=args.tags,
                    endpoint_group_id=endpoint_group.id if endpoint_group else None)
                group_ids.append(group.id)
                ingress.extend(rules)
                self.function_security_group_id = group.id
                if endpoint == "create":
                    assert endpoint_group is not None
                    ingress.append(self._secrets_manager_endpoint(resource_name, secret_name, args, group,
                                                                  endpoint_group, context))
            variables: dict[str, pulumi.Input[str]] = {
                "ROTATION_STRATEGY": args.strategy,
                "PRIMARY_USERNAME": args.username,
                "ALTERNATE_USERNAME": alternate,
                "DB_SSLMODE": args.ssl_mode,
                "PASSWORD_LENGTH": str(args.password_length),
            }
            if args.ca_bundle:
                variables["DB_SSLROOTCERT"] = tls.CUSTOM_CA_PATH
            if args.exclude_characters is not None:
                variables["EXCLUDE_CHARACTERS"] = args.exclude_characters
            function = SecretRotationFunction(
                resource_name,
                SecretRotationFunctionArgs(
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
                    depends_on=[*secret.rotation_dependencies, *ingress],
                    subnet_ids=list(args.subnet_ids) if args.vpc_id else [],
                    security_group_ids=group_ids if args.vpc_id else [],
                    tags=args.tags,
                    log_retention_in_days=args.log_retention_in_days,
                    context=context,
                    code_signing_config_arn=args.code_signing_config_arn,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            function_arn = function.arn

        self.environment_variables = ["DATABASE_URL"] + (["READER_DATABASE_URL"] if database.reader_host is not None
                                                         else [])
        self.present_environment_variables = secret.present_environment_variables.apply(
            lambda present: [k for k in self.environment_variables if k in present])
        if args.adoption is not None:
            # Not merged (see above); `adopt` took the login only once its live value had it.
            self.present_environment_variables = pulumi.Output.from_input(list(self.environment_variables))
        self.kms_key_arn = secret.kms_key_arn
        self.kms_key_alias = secret.kms_key_alias
        self.policy_json = secret.policy_json
        self.rotation_role_arn = secret.rotation_role_arn
        self.rotation_role_name = secret.rotation_role_name
        self.secret_arn = secret.arn
        self.secret_name = secret.name
        self.function_arn = function_arn
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
            "secretsManagerEndpointId": self.secrets_manager_endpoint_id,
        })
