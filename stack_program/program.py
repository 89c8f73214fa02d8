"""The stack program: config in, components out, outputs exported.

`__main__.py` calls `run()`. Config is read and fully validated by `read_settings()` before any
resource is registered; a bad stack file stops with one message listing every problem (as a
`pulumi.RunError`, which Pulumi prints without a traceback) and creates nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from app_secrets import policies
from app_secrets.context import AwsContext
from app_secrets.kms import CustomerManagedKey, CustomerManagedKeyArgs
from app_secrets.read_policy import ExistingSecret, ReadSecretPolicy, ReadSecretPolicyArgs, SecretRef
from app_secrets.secret import (KmsKeyRef, RandomSecret, RandomSecretArgs, Secret, SecretArgs, UserManagedSecret,
                                UserManagedSecretArgs)

from . import config as cfg, consumers, evolution, stack_checks
from .project import PROJECT_DIR
from .schema import ConfigError


def build_dir() -> Path:
    """Where the rotation archives are built (APP_SECRETS_BUILD_DIR, default ./build)."""
    return Path(os.environ.get("APP_SECRETS_BUILD_DIR") or PROJECT_DIR / "build")


def _decode(value: Any) -> Any:
    """Config values arrive as strings (objects JSON-encoded); keep a non-JSON string as it is so
    the schema can say what was expected instead of failing here."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# The offline runner points this at the stack file it read (a review stack is planned from the
# `pr` template's file); under the engine the program finds `Pulumi.<stack>.yaml` itself.
stack_file_override: Optional[Path] = None


def stack_file_path(stack: str) -> Optional[Path]:
    """Where the stack's file is (the engine runs the program in the project folder)."""
    from .project import StackFileError, load_project

    if stack_file_override is not None:
        return stack_file_override
    try:
        return load_project(Path.cwd()).stack_config_dir / f"Pulumi.{stack}.yaml"
    except StackFileError:
        return None


def stack_file_config(stack: str) -> Optional[dict[str, Any]]:
    """The `config:` map of the stack file as written (secure values still encrypted), or None."""
    from .project import StackFileError, read_yaml

    path = stack_file_path(stack)
    if path is None:
        return None
    try:
        doc = read_yaml(Path(path)) or {}
    except StackFileError:
        return None
    config = doc.get("config") if isinstance(doc, dict) else None
    return config if isinstance(config, dict) else ({} if isinstance(doc, dict) else None)


def read_settings() -> cfg.StackSettings:
    """The validated settings of the running stack; raises ConfigError."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{cfg.PROJECT}:"
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {key: _decode(runtime_config.get_config(prefix + key)) for key in cfg.TOP_LEVEL}
    raw = {k: v for k, v in raw.items() if v is not None}
    unknown = tuple(sorted(k[len(prefix):] for k in present
                           if k.startswith(prefix) and k[len(prefix):] not in cfg.TOP_LEVEL))
    secret_keys = {k for k in cfg.TOP_LEVEL if runtime_config.is_config_secret(prefix + k)}
    # aws:region is required: the provider would otherwise take the region of whoever runs `up`.
    file_config = stack_file_config(pulumi.get_stack())
    extra = stack_checks.namespace_problems(present, cfg.PROJECT, cfg.TOP_LEVEL)
    extra += stack_checks.secure_value_problems(file_config or {}, cfg.PROJECT, cfg.SECRET_VALUE_PATHS)
    region = _decode(runtime_config.get_config("aws:region"))
    if not any(p.path == "aws:region" for p in extra):
        extra += stack_checks.stack_region_problems(region)
    path = stack_file_path(pulumi.get_stack())
    source = os.path.relpath(path) if path is not None and path.is_file() else None  # named in the message
    return cfg.parse_config(raw, stack=pulumi.get_stack(), region=region if isinstance(region, str) else None,
                            secret_keys=secret_keys, unknown_keys=unknown, extra_problems=extra, source=source,
                            stack_file_leaves=None if file_config is None else cfg.stack_file_leaves_of(file_config))


def stack_tags(settings: cfg.StackSettings) -> dict[str, str]:
    tags = {"app-secrets:stack": settings.stack, **settings.tags}
    if settings.review_stack:
        tags["app-secrets:ephemeral"] = "true"
    return tags


def _principals(own: tuple[str, ...], stack_default: tuple[str, ...]) -> Optional[list[str]]:
    # None lets the component fall back to the account root.
    return list(own or stack_default) or None


def rotation_archives():
    """Build (or reuse) the handler and layer archives; only stacks with rotation need them."""
    from app_secrets import packaging

    try:
        return packaging.rotation_archives(build_dir())
    except (OSError, RuntimeError, ValueError) as error:
        # One clear line instead of a traceback; nothing has been registered yet.
        raise pulumi.RunError(
            f"databases: could not build the rotation function's archives in {build_dir()}: {error} "
            "(the layer is downloaded with pip from PyPI, see rotation/requirements.txt)") from None


def build(settings: cfg.StackSettings) -> dict[str, Any]:
    """Create every component for the settings; return the stack outputs."""
    from app_secrets.login import RdsPostgresLogin, RdsPostgresLoginArgs
    from app_secrets.rds import RdsPostgresAdminLogin, RdsPostgresAdminLoginArgs

    # Build the rotation archives first: if that fails, nothing has been registered.
    archives = rotation_archives() if any(db.rotation.enabled for db in settings.databases) or settings.logins \
        else None
    context = AwsContext.lookup()
    policy_roles = read_policy_roles(settings)
    role_arns = read_policy_role_arns(policy_roles)
    tags = stack_tags(settings)
    shared_key: Optional[KmsKeyRef] = None
    deployers = list(settings.deployer_principals) or None
    if settings.shared_kms_key:
        key = CustomerManagedKey(
            "shared-key",
            CustomerManagedKeyArgs(
                name=settings.physical_name("app-secrets"),
                policy=pulumi.Output.all(context.root_arn, context.region, context.dns_suffix,
                                         deployers or context.deployer_list, pulumi.Output.all(**role_arns)).apply(
                    lambda a: policies.to_json(policies.shared_key_policy(
                        admin_principals=list(settings.admin_principals),
                        account_root_arn=a[0], region=a[1], dns_suffix=a[2], deployer_principals=a[3],
                        break_glass_principals=list(settings.break_glass_principals),
                        **shared_key_users(settings, a[0], a[4])))),
                deletion_window_in_days=7 if settings.review_stack else settings.kms_deletion_window_in_days,
                tags=tags,
                context=context,
                protect=settings.protect,
            ),
        )
        shared_key = KmsKeyRef(arn=key.arn, alias_name=key.alias_name)

    built: dict[str, Any] = {}
    for spec in settings.secrets:
        if spec.existing_secret_name:
            built[spec.key] = ExistingSecret(spec.existing_secret_name, spec.environment_variables, context)
            continue
        common = dict(
            name=spec.name,
            description=spec.description,
            admin_principals=_principals(spec.admin_principals, settings.admin_principals),
            read_principals=_readers(spec.key, spec.read_principals, settings, policy_roles, role_arns),
            readwrite_principals=list(spec.readwrite_principals),
            # An adopted secret keeps exactly its own tags (the import compares them).
            resource_tags=dict(spec.tags) if spec.adopted else {**tags, **spec.tags},
            trust_tags=spec.trust_tags,
            secret_policies=list(spec.secret_policies),
            replica_regions=list(spec.replica_regions),
            create_rotation_role=spec.create_rotation_role,
            deployer_principals=deployers,
            break_glass_principals=list(settings.break_glass_principals),
            permissions_boundary=settings.permissions_boundary_arn,
            recovery_window_in_days=spec.recovery_window_in_days,
            kms_key=shared_key,
            kms_deletion_window_in_days=settings.kms_deletion_window_in_days,
            context=context,
            protect=settings.protect or spec.adopted is not None,
            adoption=spec.adopted,
        )
        opts = evolution.secret_options(spec.key, spec.kind, spec.aliases)
        if spec.kind == "random":
            built[spec.key] = RandomSecret(spec.key, RandomSecretArgs(
                environment_variables=list(spec.environment_variables),
                random_settings=dict(spec.random_settings), **common), opts)
        elif spec.kind == "user-managed":
            built[spec.key] = UserManagedSecret(spec.key, UserManagedSecretArgs(
                environment_variables=list(spec.environment_variables), **common), opts)
        else:
            built[spec.key] = Secret(spec.key, SecretArgs(
                initial_value={k: pulumi.Output.secret(v) for k, v in spec.initial_value.items()}, **common), opts)

    # A login's rotation role reads its admin login's secret, so the admin's key policy must name it
    # (KMS lets only named principals decrypt). The role is created with the login, after the admin:
    # a deferred output carries its ARN into the admin's readers, and the engine orders the writes.
    login_roles: dict[str, list] = {}
    resolve_login_roles = {}
    for login in settings.logins:
        role_arn, resolve = pulumi.deferred_output()
        login_roles.setdefault(login.database, []).append(role_arn)
        resolve_login_roles[login.key] = resolve

    for db in settings.databases:
        handler, layers = archives if db.rotation.enabled else (None, {})
        readers = _readers(db.key, db.read_principals, settings, policy_roles, role_arns)
        if db.key in login_roles:
            readers = [*(readers or [context.root_arn]), *login_roles[db.key]]
        built[db.key] = RdsPostgresAdminLogin(db.key, RdsPostgresAdminLoginArgs(
            identifier=None if db.cluster else db.identifier,
            cluster_identifier=db.identifier if db.cluster else None,
            username=db.username,
            initial_password=pulumi.Output.secret(db.initial_password),
            handler=handler,
            layers=layers,
            database_name=db.database_name,
            alternate_username=db.alternate_username,
            secret_name=db.secret_name,
            description=db.description,
            strategy=db.strategy,
            vpc_id=db.vpc_id,
            subnet_ids=list(db.subnet_ids),
            security_group_ids=list(db.security_group_ids),
            ssl_mode=db.ssl_mode,
            ca_bundle=db.ca_bundle,
            password_length=db.password_length,
            exclude_characters=db.exclude_characters,
            rotation_enabled=db.rotation.enabled,
            rotation_days=db.rotation.days,
            schedule_expression=db.rotation.schedule_expression,
            rotate_immediately=db.rotation.rotate_immediately,
            database_security_group_id=db.database_security_group_id,
            secrets_manager_endpoint=db.secrets_manager_endpoint,
            admin_principals=_principals(db.admin_principals, settings.admin_principals),
            read_principals=readers,
            deployer_principals=deployers,
            log_retention_in_days=settings.log_retention_in_days,
            replica_regions=list(db.replica_regions),
            tags=dict(db.tags) if db.adopted else {**tags, **db.tags},   # issue 17: an adopted login keeps its tags
            trust_tags=db.trust_tags,
            recovery_window_in_days=db.recovery_window_in_days,
            kms_key=shared_key,
            kms_deletion_window_in_days=settings.kms_deletion_window_in_days,
            context=context,
            protect=settings.protect or db.adopted is not None,
            adoption=db.adopted,
            break_glass_principals=list(settings.break_glass_principals),
            code_signing_config_arn=settings.code_signing_config_arn,
            permissions_boundary=settings.permissions_boundary_arn,
        ), evolution.database_options(db.aliases))

    def build_login(login, admin, db, handler, layers):
        return RdsPostgresLogin(login.key, RdsPostgresLoginArgs(
            identifier=None if login.cluster else login.identifier,
            cluster_identifier=login.identifier if login.cluster else None,
            admin_secret_arn=admin.secret_arn,
            admin_kms_key_arn=admin.kms_key_arn,
            username=login.username,
            alternate_username=login.alternate_username,
            database_name=login.database_name,
            grants=list(login.grants),
            replica=login.replica,
            secret_name=login.secret_name,
            description=login.description,
            handler=handler,
            layers=layers,
            vpc_id=db.vpc_id,
            subnet_ids=list(db.subnet_ids),
            security_group_ids=list(db.security_group_ids),
            database_security_group_id=db.database_security_group_id,
            ssl_mode=db.ssl_mode,
            ca_bundle=db.ca_bundle,
            password_length=login.password_length,
            exclude_characters=login.exclude_characters,
            rotation_days=login.rotation.days,
            schedule_expression=login.rotation.schedule_expression,
            rotate_immediately=login.rotation.rotate_immediately,
            log_retention_in_days=settings.log_retention_in_days,
            deployer_principals=deployers,
            admin_principals=_principals(login.admin_principals, settings.admin_principals),
            read_principals=_readers(login.key, login.read_principals, settings, policy_roles, role_arns),
            replica_regions=list(login.replica_regions),
            tags={**tags, **login.tags},
            trust_tags=login.trust_tags,
            recovery_window_in_days=login.recovery_window_in_days,
            kms_key=shared_key,
            kms_deletion_window_in_days=settings.kms_deletion_window_in_days,
            context=context,
            protect=settings.protect,
            break_glass_principals=list(settings.break_glass_principals),
            code_signing_config_arn=settings.code_signing_config_arn,
            permissions_boundary=settings.permissions_boundary_arn,
        ))

    databases = {db.key: db for db in settings.databases}
    for login in settings.logins:
        admin, db = built[login.database], databases[login.database]
        handler, layers = archives
        try:
            component = build_login(login, admin, db, handler, layers)
        except BaseException:
            # The admin's readers wait for this role's ARN: resolve it, or the run would wait forever
            # instead of reporting the error.
            resolve_login_roles[login.key](pulumi.Output.from_input(None))
            raise
        resolve_login_roles[login.key](component.rotation_role_arn)
        built[login.key] = component

    alerts_output = None
    enabled, topic = settings.rotation_alerts
    if enabled:
        from app_secrets import naming
        from app_secrets.alerts import RotationAlerts, RotationAlertsArgs

        rotated = [(db.key, db.secret_name) for db in settings.databases if db.rotation.enabled]
        rotated += [(login.key, login.secret_name) for login in settings.logins]
        alerts = RotationAlerts("rotation-alerts", RotationAlertsArgs(
            name=settings.physical_name("app-secrets"),
            secret_arns=[built[key].secret_arn for key, _ in rotated],
            function_names=[naming.lambda_function_name(name) for _, name in rotated],
            alert_topic_arn=topic, tags=tags, context=context))
        alerts_output = {"topicArn": alerts.topic_arn, "ruleArn": alerts.rule_arn}

    read_policies = {}
    for policy in settings.read_policies:
        refs = [SecretRef(name=_secret_name(built[k]), arn=_secret_arn(built[k]), kms_key_arn=built[k].kms_key_arn,
                          replicas=_replicas(built[k]))
                for k in policy.secrets]
        read_policies[policy.key] = ReadSecretPolicy(policy.key, ReadSecretPolicyArgs(
            policy_name=policy.policy_name, secrets=refs, role_names=list(policy.role_names),
            tags=tags, context=context))

    return {
        "reviewStack": settings.review_stack,
        "secrets": {key: describe(component) for key, component in built.items()},
        "consumers": consumer_outputs(built, context, {p.key: p.secrets for p in settings.read_policies}),
        "readPolicies": {key: {"arn": p.arn, "policyJson": p.policy_json} for key, p in read_policies.items()},
        "apps": describe_apps(settings),
        **({"rotationAlerts": alerts_output} if alerts_output else {}),
    }


def _secret_arn(component) -> pulumi.Output[str]:
    return getattr(component, "secret_arn", None) or component.arn


def _replicas(component):
    inner = getattr(component, "secret", component)   # a database login wraps its Secret
    return getattr(inner, "replicas", [])


def shared_key_users(settings: cfg.StackSettings, root_arn: str,
                     role_arns: Optional[dict[str, str]] = None) -> dict[str, list[str]]:
    """Who uses a stack's shared key: every secret's readers (the account when a secret names none)
    and writers. `role_arns`: the ARN IAM gives each read-policy role (read_policy_role_arns). A shared key exists before any rotation role (KMS refuses principals that do not
    exist yet): review stacks rotate only when asked, and then the account writes through IAM."""
    readers: set[str] = set()
    writers: set[str] = set()
    policy_roles = read_policy_roles(settings)
    for spec in [*settings.secrets, *settings.databases, *settings.logins]:
        if getattr(spec, "existing_secret_name", None):
            continue
        named = spec.read_principals or settings.read_principals
        roles = [(role_arns or {}).get(name) or role_arn(root_arn, name) for name in policy_roles.get(spec.key, ())]
        readers.update([*named, *roles] or (root_arn,))
        writers.update(getattr(spec, "readwrite_principals", ()))
    if any(db.rotation.enabled for db in settings.databases) or settings.logins:
        writers.add(root_arn)
    return {"read_principals": sorted(readers), "readwrite_principals": sorted(writers)}


def _secret_name(component) -> pulumi.Output[str]:
    return getattr(component, "secret_name", None) or component.name


def describe(component) -> dict[str, Any]:
    """The outputs exported for one secret (never its value)."""
    return {
        "arn": _secret_arn(component),
        "name": _secret_name(component),
        "kmsKeyArn": component.kms_key_arn,
        "kmsKeyAlias": getattr(component, "kms_key_alias", None),
        "policyJson": component.policy_json,
        "environmentVariables": evolution.present_variables(component),
        "rotationRoleArn": component.rotation_role_arn,
        "rotationRoleName": component.rotation_role_name,
        "external": isinstance(component, ExistingSecret),
    }


class InvalidConfig(pulumi.RunError):
    """Pulumi prints a RunError's message alone, with no traceback, and stops the update."""

    def __init__(self, error: ConfigError):
        super().__init__(str(error))
        self.problems = error.problems


def _consumer_documents(key: str, arn: str, name: str, variables: list[str], region: str) -> dict[str, Any]:
    k8s = consumers.k8s_name(key)
    return {
        "ecsSecrets": consumers.ecs_secrets(arn, variables),
        "externalSecret": consumers.external_secret(k8s, name, variables),
        "secretProviderClass": consumers.secret_provider_class(k8s, arn, variables, region=region),
        # One dsops environment per secret: two secrets may both provide e.g. DATABASE_URL.
        "dsopsEnvs": consumers.dsops_envs(name, variables, env_name=key),
    }


def consumer_outputs(built: dict[str, Any], context: AwsContext,
                     apps: Optional[dict[str, tuple[str, ...]]] = None) -> pulumi.Output[dict]:
    """How apps consume each secret (ECS, External Secrets, CSI driver, dsops), per secret and for
    the whole stack. Only names and ARNs: never a value."""
    keys = list(built)

    def documents(args: list) -> dict[str, Any]:
        region, triples = args[0], args[1:]
        per_secret = {key: _consumer_documents(key, arn, name, list(variables), region)
                      for key, (arn, name, variables) in zip(keys, triples)}
        exported = {key: {"ecsSecrets": docs["ecsSecrets"],
                          "externalSecret": consumers.to_yaml(docs["externalSecret"]),
                          "secretProviderClass": consumers.to_yaml(docs["secretProviderClass"]),
                          "dsopsEnvs": docs["dsopsEnvs"]} for key, docs in per_secret.items()}
        dsops = consumers.dsops_config(consumers.dsops_secret_store(region),
                                       *(docs["dsopsEnvs"] for docs in per_secret.values()))
        # Each document starts with `---`, so the stream is the per-secret texts joined.
        manifests = consumers.to_yaml(consumers.secret_store(region)) + "".join(
            entry["externalSecret"] + entry["secretProviderClass"] for entry in exported.values())
        found = {key: (arn, name, list(variables)) for key, (arn, name, variables) in zip(keys, triples)}
        return {"secrets": exported, "kubernetesManifests": manifests, "dsopsConfig": consumers.to_yaml(dsops),
                "apps": {app: app_consumer_documents(app, [found[k] for k in members if k in found], region)
                         for app, members in (apps or {}).items()}}

    pairs = [pulumi.Output.all(_secret_arn(c), _secret_name(c), evolution.present_variables(c)) for c in built.values()]
    return pulumi.Output.all(context.region, *pairs).apply(documents)


# ---------------------------------------------------------------------------------------------
# Apps and read policies (issue 18): an app is a read policy; its roles read its secrets.


def read_policy_roles(settings: cfg.StackSettings) -> dict[str, tuple[str, ...]]:
    """The roles each secret's read policies name, by secret key (sorted, each once)."""
    roles: dict[str, set[str]] = {}
    for policy in settings.read_policies:
        for key in policy.secrets:
            roles.setdefault(key, set()).update(policy.role_names)
    return {key: tuple(sorted(names)) for key, names in roles.items() if names}


def role_arn(root_arn: str, role_name: str) -> str:
    """`arn:<partition>:iam::<account>:role/<name>` from the account root's ARN."""
    return root_arn[: -len("root")] + f"role/{role_name}"


def read_policy_role_arns(policy_roles: dict[str, tuple[str, ...]]) -> dict[str, pulumi.Output[str]]:
    """The ARN of each read-policy role, asked of IAM: a role under a path (`/service-role/`) is
    `role/<path><name>`, and a key policy naming a principal that does not exist is refused by KMS.
    A missing role then fails the preview, naming it, before anything changes."""
    names = sorted({name for roles in policy_roles.values() for name in roles})
    return {name: aws.iam.get_role_output(name=name).arn for name in names}


def _readers(key: str, own: tuple[str, ...], settings: cfg.StackSettings,
             policy_roles: dict[str, tuple[str, ...]], role_arns: dict[str, pulumi.Output[str]]) -> Optional[list]:
    """Who reads a secret, in its key policy and its secret policy: the secret's own readers (else
    the stack's), plus every role of a read policy listing it, as CDK's grantRead names the
    grantee. With none of these, None: the component falls back to the account (IAM decides)."""
    named: list = list(own or settings.read_principals)
    named += [role_arns[name] for name in policy_roles.get(key, ())]
    return named or None


def describe_apps(settings: cfg.StackSettings) -> dict[str, Any]:
    """Each app (read policy) as the plan shows it: its secrets, roles and the tags they carry."""
    return {policy.key: {"secrets": list(policy.secrets), "roleNames": list(policy.role_names),
                         "roleTags": dict(policy.role_tags), "policyName": policy.policy_name}
            for policy in settings.read_policies}


def app_consumer_documents(app: str, members: list[tuple[str, str, list[str]]], region: str) -> dict[str, Any]:
    """One app's consumer files: every secret of the app in one ECS `secrets` list, one
    ExternalSecret and one SecretProviderClass (one Kubernetes Secret for the app), one dsops env
    named after the app. `members`: (arn, name, variables) of each secret.

    A variable given by several of them (two database logins each give DATABASE_URL, which the
    config allows: they are told apart by secret) is left out of these files and named under
    `leftOut`, with its secrets: each secret's own consumer files still give it."""
    givers: dict[str, list[str]] = {}
    for _, name, variables in members:
        for var in variables:
            givers.setdefault(var, []).append(name)
    left_out = {var: names for var, names in sorted(givers.items()) if len(names) > 1}
    members = [(arn, name, [v for v in variables if v not in left_out]) for arn, name, variables in members]
    members = [m for m in members if m[2]]
    extra = {"leftOut": left_out} if left_out else {}
    if not members:
        return {"ecsSecrets": [], **extra}
    k8s = consumers.k8s_name(app)
    return {
        **extra,
        "ecsSecrets": consumers.app_ecs_secrets([(arn, variables) for arn, _, variables in members]),
        "externalSecret": consumers.to_yaml(consumers.app_external_secret(
            k8s, [(name, variables) for _, name, variables in members])),
        "secretProviderClass": consumers.to_yaml(consumers.app_secret_provider_class(
            k8s, [(arn, variables) for arn, _, variables in members], region=region)),
        "dsopsConfig": consumers.to_yaml(consumers.dsops_config(
            consumers.dsops_secret_store(region),
            *(consumers.dsops_envs(name, variables, env_name=app) for _, name, variables in members))),
    }


def run() -> None:
    """The Pulumi program."""
    try:
        settings = read_settings()
    except ConfigError as error:
        # Stop before any resource is registered: a bad stack file creates nothing.
        raise InvalidConfig(error) from None
    problems = managed_password_problems(settings)
    if problems:
        # Stop before any resource is registered, like a config mistake.
        path = stack_file_path(pulumi.get_stack())
        raise InvalidConfig(ConfigError(problems, os.path.relpath(path) if path is not None and path.is_file() else None))
    for key, value in build(settings).items():
        pulumi.export(key, value)


def managed_password_problems(settings: cfg.StackSettings) -> list:
    """Databases whose master password RDS already manages and rotates (ManageMasterUserPassword):
    read with the same lookups the components make (aws.rds.get_instance / get_cluster), before
    anything is registered. pulumi_aws 7 reports it as `master_user_secrets` (the `rds!…` secret)."""
    import pulumi_aws as aws
    from app_secrets.rds import managed_password_problem

    problems = []
    for db in settings.databases:
        if db.cluster:
            found = aws.rds.get_cluster(cluster_identifier=db.identifier)
        else:
            found = aws.rds.get_instance(db_instance_identifier=db.identifier)
        arns = [secret.secret_arn for secret in (found.master_user_secrets or [])]
        message = managed_password_problem("cluster" if db.cluster else "instance", db.identifier, arns)
        if message:
            path = f"databases.{db.key}.{'clusterIdentifier' if db.cluster else 'identifier'}"
            problems.append(cfg.Problem(path, message))
    return problems
