"""Stack config: the one schema, and parsing into typed settings (pure, no Pulumi).

`parse_config(raw, ...)` takes the project's config as plain values (what `pulumi.Config`
returns, or what the offline plan reads from the stack file) and either returns `StackSettings`
or raises `ConfigError` listing every problem with its key path. The Pulumi program calls it
before registering any resource, so a bad stack file creates nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from app_secrets import naming
from app_secrets.secret_settings import RandomSettings, ReplicaRegion
from . import stack_checks
from .schema import Bool, ConfigError, Int, List, Map, Obj, OneOf, Problem, Str, config_leaves, is_secure, join

PROJECT = "app-secrets"

ARN = Str(pattern=re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)/[\w+=,.@/-]+)$"),
          expected="an IAM principal ARN (arn:aws:iam::<account>:root | role/<name> | user/<name>)")
ENV_VAR = Str(pattern=naming.ENV_VAR_PATTERN,
              expected="an upper-case environment variable name matching ^[A-Z_][A-Z0-9_]*$")
REGION = Str(expected="an AWS region such as us-east-1", extra=stack_checks.region_problem)
TAGS = Map(value=Str(max_len=256), key=Str(min_len=1, max_len=128, expected="a tag key of 1-128 characters",
                                           extra=lambda k: "tag keys starting with 'aws:' are reserved by AWS"
                                           if k.lower().startswith("aws:") else None))
PRINCIPALS = List(ARN, unique=True)
RECOVERY_WINDOW = Int(allowed=lambda d: d == 0 or 7 <= d <= 30, expected="0 (delete at once) or 7 to 30 days")
SECRET_NAME = Str(expected="a Secrets Manager name",
                  extra=lambda v: "; ".join(naming.name_problems(v)) or None)
def _policy_problem(text: str) -> str | None:
    """A resource policy document must parse, and must not make the secret public (the secret's
    policy blocks public policies, so AWS would refuse it at deploy time)."""
    import json

    try:
        doc = json.loads(text)
    except ValueError as error:
        return f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "expected a policy document with a Statement list"
    for i, statement in enumerate(statements):
        if not isinstance(statement, dict):
            return f"Statement[{i}] is not a map"
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        public = principal == "*" or aws == "*" or (isinstance(aws, list) and "*" in aws)
        if statement.get("Effect") == "Allow" and public and not statement.get("Condition"):
            return f"Statement[{i}] allows everyone (Principal *); public secret policies are blocked"
    return None


POLICY_DOCUMENT = Str(expected="a JSON policy document", extra=_policy_problem)
IAM_ROLE_NAME = Str(pattern=re.compile(r"^[\w+=,.@-]{1,64}$"), expected="an IAM role name (1-64 of letters, digits, +=,.@_-)")
PG_IDENTIFIER = Str(pattern=re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"),
                    expected="a PostgreSQL role name (letter or _, then letters, digits, _ or $; at most 63)")
DB_INSTANCE_ID = Str(pattern=re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$"),
                     expected="an RDS instance identifier (1-63 letters, digits, hyphens; starts with a letter)")
SECURITY_GROUP_ID = Str(pattern=re.compile(r"^sg-[0-9a-f]+$"), expected="a security group id (sg-...)")


def _replica():
    return Obj({"region": REGION, "kmsKeyId": Str(min_len=1)}, required=("region",),
               expected="a map with region and optional kmsKeyId")


# Former config keys of a secret or database (renames move the resources instead of replacing them).
ALIASES = List(Str(pattern=re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$"), expected="a former key of this entry"), unique=True)

COMMON_SECRET_FIELDS = {
    "aliases": ALIASES,
    "name": SECRET_NAME,
    "description": Str(max_len=2048),
    "adminPrincipals": PRINCIPALS,
    "readPrincipals": PRINCIPALS,
    "readwritePrincipals": PRINCIPALS,
    "trustTags": TAGS,
    "tags": TAGS,
    "replicaRegions": List(_replica()),
    "secretPolicies": List(POLICY_DOCUMENT),
    "recoveryWindowInDays": RECOVERY_WINDOW,
}

RANDOM_SETTINGS = Obj(
    {
        "length": Int(minimum=1, maximum=4096),
        "special": Bool(),
        "upper": Bool(),
        "lower": Bool(),
        "numeric": Bool(),
        "minUpper": Int(minimum=0, maximum=4096),
        "minLower": Int(minimum=0, maximum=4096),
        "minNumeric": Int(minimum=0, maximum=4096),
        "minSpecial": Int(minimum=0, maximum=4096),
        "overrideSpecial": Str(min_len=1),
    },
    defaults={"length": 32, "special": False, "upper": True, "lower": True, "numeric": True,
              "minUpper": 0, "minLower": 0, "minNumeric": 0, "minSpecial": 0},
    expected="random settings (length, special, upper, lower, numeric, min*, overrideSpecial)",
)

SECRET = OneOf("type", {
    "secret": Obj({**COMMON_SECRET_FIELDS, "initialValue": Map(value=Str(), key=ENV_VAR, min_items=1),
                   "createRotationRole": Bool()},
                  required=("initialValue",)),
    "random": Obj({**COMMON_SECRET_FIELDS,
                   "environmentVariables": List(ENV_VAR, min_items=1, unique=True),
                   "randomSettings": Map(value=RANDOM_SETTINGS, key=ENV_VAR)},
                  required=("environmentVariables",)),
    "user-managed": Obj({**COMMON_SECRET_FIELDS,
                         "environmentVariables": List(ENV_VAR, min_items=1, unique=True),
                         "existingSecretName": SECRET_NAME},
                        required=("environmentVariables",)),
})

ROTATION = Obj(
    {"enabled": Bool(), "days": Int(minimum=1, maximum=1000),
     "scheduleExpression": Str(expected="rate(N hours|days) or cron(0 H D M W *)", extra=stack_checks.schedule_problem),
     "rotateImmediately": Bool()},
    expected="rotation settings (enabled, days | scheduleExpression, rotateImmediately)",
)

DATABASE = Obj(
    {
        "aliases": ALIASES,
        "identifier": DB_INSTANCE_ID,
        "username": PG_IDENTIFIER,
        "initialPassword": Str(min_len=8, max_len=128, expected="a password of 8-128 characters"),
        "databaseName": PG_IDENTIFIER,
        "alternateUsername": PG_IDENTIFIER,
        "secretName": SECRET_NAME,
        "description": Str(max_len=2048),
        "strategy": Str(choices=("single-user", "alternating-users")),
        "vpcId": Str(pattern=re.compile(r"^vpc-[0-9a-f]+$"), expected="a VPC id (vpc-...)"),
        "subnetIds": List(Str(pattern=re.compile(r"^subnet-[0-9a-f]+$"), expected="a subnet id (subnet-...)"), unique=True),
        "securityGroupIds": List(SECURITY_GROUP_ID, unique=True),
        "databaseSecurityGroupId": SECURITY_GROUP_ID,
        "secretsManagerEndpoint": Str(choices=("create", "existing", "none")),
        "sslMode": Str(choices=("require", "verify-ca", "verify-full", "prefer", "disable")),
        "passwordLength": Int(minimum=16, maximum=128),
        "excludeCharacters": Str(),
        "rotation": ROTATION,
        "adminPrincipals": PRINCIPALS,
        "readPrincipals": PRINCIPALS,
        "replicaRegions": List(_replica()),
        "tags": TAGS,
        "trustTags": TAGS,
        "recoveryWindowInDays": RECOVERY_WINDOW,
    },
    required=("identifier", "username", "initialPassword"),
    defaults={"strategy": "single-user", "sslMode": "require", "passwordLength": 32},
)

READ_POLICY = Obj(
    {"secrets": List(Str(min_len=1, expected="a key of `secrets` or `databases`"), min_items=1, unique=True),
     "roleNames": List(IAM_ROLE_NAME, unique=True),
     "policyName": Str(pattern=re.compile(r"^[\w+=,.@-]{1,128}$"), expected="an IAM policy name")},
    required=("secrets",),
)

SECRET_KEY = Str(pattern=re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$"),
                 expected="a lower-case name of letters, digits and hyphens (used in Pulumi names)")

# What CloudWatch Logs accepts (0, never expire, is not offered: logs of a password rotation age out).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)

# issue 16: Lambda code signing of the rotation functions (aws.lambda_.CodeSigningConfig's ARN).
CODE_SIGNING_CONFIG_ARN = Str(
    pattern=re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:code-signing-config:csc-[a-z0-9]{17}$"),
    expected="a Lambda code signing config ARN (arn:aws:lambda:<region>:<account>:code-signing-config:csc-<17 characters>)")

TOP_LEVEL: dict[str, Any] = {
    "reviewStack": Bool(),
    "protect": Bool(),
    "sharedKmsKey": Bool(),
    "recoveryWindowInDays": RECOVERY_WINDOW,
    "kmsDeletionWindowInDays": Int(minimum=7, maximum=30),
    "adminPrincipals": PRINCIPALS,
    "readPrincipals": PRINCIPALS,
    "tags": TAGS,
    "secrets": Map(value=SECRET, key=SECRET_KEY),
    "databases": Map(value=DATABASE, key=SECRET_KEY),
    "readPolicies": Map(value=READ_POLICY, key=SECRET_KEY),
    "deployerPrincipals": PRINCIPALS,
    "logRetentionInDays": Int(allowed=lambda d: d in LOG_RETENTION_DAYS,
                              expected="a CloudWatch Logs retention: " + ", ".join(map(str, LOG_RETENTION_DAYS))),
    # issue 16: operators
    "breakGlassPrincipals": PRINCIPALS,
    "codeSigningConfigArn": CODE_SIGNING_CONFIG_ARN,
    "permissionsBoundaryArn": Str(pattern=re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$"),
                                  expected="an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)"),
}

# Where a value must come from `pulumi config set --secret`.
SECRET_VALUE_PATHS = {"secrets": "initialValue", "databases": "initialPassword"}

TOP_LEVEL_DEFAULTS: dict[str, Any] = {
    "reviewStack": False,
    "protect": None,  # true, except in review stacks
    "sharedKmsKey": False,
    "recoveryWindowInDays": 30,
    "kmsDeletionWindowInDays": 30,
    "adminPrincipals": [],
    "readPrincipals": [],
    "tags": {},
    "secrets": {},
    "databases": {},
    "readPolicies": {},
    "deployerPrincipals": [],
    "logRetentionInDays": 30,
    "breakGlassPrincipals": [],
    "codeSigningConfigArn": None,
    "permissionsBoundaryArn": None,
}


@dataclass(frozen=True)
class SecretSpec:
    key: str                       # the config key, also the Pulumi logical name
    kind: str                      # secret | random | user-managed
    name: str                      # physical Secrets Manager name
    description: str
    environment_variables: tuple[str, ...]
    initial_value: Mapping[str, str] = field(default_factory=dict)  # kind "secret" only
    random_settings: Mapping[str, RandomSettings] = field(default_factory=dict)
    existing_secret_name: str | None = None
    admin_principals: tuple[str, ...] = ()
    read_principals: tuple[str, ...] = ()
    readwrite_principals: tuple[str, ...] = ()
    trust_tags: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    replica_regions: tuple[ReplicaRegion, ...] = ()
    secret_policies: tuple[str, ...] = ()
    recovery_window_in_days: int = 30
    create_rotation_role: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RotationSpec:
    enabled: bool
    days: int | None
    schedule_expression: str | None
    rotate_immediately: bool


@dataclass(frozen=True)
class DatabaseSpec:
    key: str
    identifier: str
    username: str
    initial_password: str
    database_name: str | None
    alternate_username: str
    secret_name: str
    description: str
    strategy: str
    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    database_security_group_id: str | None
    secrets_manager_endpoint: str
    ssl_mode: str
    password_length: int
    exclude_characters: str | None
    rotation: RotationSpec
    admin_principals: tuple[str, ...]
    read_principals: tuple[str, ...]
    replica_regions: tuple[ReplicaRegion, ...]
    tags: Mapping[str, str]
    trust_tags: Mapping[str, str]
    recovery_window_in_days: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadPolicySpec:
    key: str
    policy_name: str
    secrets: tuple[str, ...]
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class StackSettings:
    stack: str
    region: str | None
    review_stack: bool
    shared_kms_key: bool
    kms_deletion_window_in_days: int
    admin_principals: tuple[str, ...]
    read_principals: tuple[str, ...]
    tags: Mapping[str, str]
    secrets: tuple[SecretSpec, ...]
    databases: tuple[DatabaseSpec, ...]
    read_policies: tuple[ReadPolicySpec, ...]
    deployer_principals: tuple[str, ...] = ()   # () = the role behind the running credentials
    log_retention_in_days: int = 30
    protect: bool = True
    break_glass_principals: tuple[str, ...] = ()   # issue 16: exempt from the operator Denies
    code_signing_config_arn: str | None = None
    permissions_boundary_arn: str | None = None   # of every role the stack creates

    def physical_name(self, base: str) -> str:
        return naming.review_name(base, self.stack) if self.review_stack else base


# issue 16: defaults that are safe against operators, not only readers.
AWS_MANAGED_SECRETS_KEYS = ("alias/aws/secretsmanager", "aws/secretsmanager")
DEPLOYER_HOW_TO = ("the role that runs `pulumi up` for this stack, e.g. CI's deploy role. Find it with "
                   "`aws sts get-caller-identity` (an assumed-role ARN arn:aws:sts::<account>:assumed-role/<role>/"
                   "<session>: the role is <role>), then `aws iam get-role --role-name <role> --query Role.Arn`")


def _operator_safety(values: Mapping[str, Any], review: bool, secrets: Sequence["SecretSpec"],
                     databases: Sequence["DatabaseSpec"], problems: list[Problem]) -> None:
    """A long-lived stack names its deployer and keeps one key per secret; no replica goes to the
    AWS-managed key (every principal of the account may use it)."""
    if not review and not values.get("deployerPrincipals"):
        problems.append(Problem(f"{PROJECT}:deployerPrincipals",
                                "is required in a long-lived stack (not reviewStack): otherwise whoever runs "
                                "`pulumi up` (with SSO, everyone holding the permission set) becomes the deployer, "
                                "with decrypt, write and policy rights; list " + DEPLOYER_HOW_TO))
    if not review and values.get("sharedKmsKey"):
        problems.append(Problem(f"{PROJECT}:sharedKmsKey",
                                "is for review stacks only (reviewStack: true): on one key the readers of every "
                                "secret decrypt every secret; leave it out so each secret keeps its own key"))
    for spec in [*secrets, *databases]:
        top = "secrets" if isinstance(spec, SecretSpec) else "databases"
        for i, replica in enumerate(spec.replica_regions):
            if replica.kms_key_id in AWS_MANAGED_SECRETS_KEYS:
                problems.append(Problem(f"{top}.{spec.key}.replicaRegions[{i}].kmsKeyId",
                                        f"'{replica.kms_key_id}' is the AWS-managed key, which every principal of the "
                                        "account may use to decrypt the replica; leave kmsKeyId out (the stack "
                                        "creates a key there) or give a customer-managed key"))


def parse_config(
    raw: Mapping[str, Any],
    *,
    stack: str,
    region: str | None = None,
    secret_keys: frozenset[str] | set[str] = frozenset(),
    unknown_keys: tuple[str, ...] = (),
    source: str | None = None,
    stack_file_leaves: Mapping[str, bool] | None = None,
    extra_problems: Sequence[Problem] = (),
) -> StackSettings:
    """Validate and type the project's config.

    raw: project config by short key (`secrets`, `reviewStack`, …), values already decoded.
    secret_keys: short keys whose value holds at least one secure (encrypted) value.
    unknown_keys: other `app-secrets:*` keys found in the stack (typos), reported as problems.
    stack_file_leaves: what the stack file holds, when it can be read: key path
        (`secrets.x.initialValue.KEY`) -> True for a `secure:` value, False for a plain one. A
        value that must be secret is then checked on its own: secure when it or a parent is
        `secure:`, plaintext when the file writes it plain; a value the file does not hold (it
        came from elsewhere) falls back to what the engine says of its top-level key.
    """
    problems: list[Problem] = list(extra_problems)  # stack-level ones (aws:region, namespaces, secure values)
    for key in unknown_keys:
        hint = [k for k in TOP_LEVEL if k.lower() == key.lower()] or \
            __import__("difflib").get_close_matches(key, list(TOP_LEVEL), n=1)
        more = f"did you mean '{PROJECT}:{hint[0]}'?" if hint else "known keys: " + ", ".join(TOP_LEVEL)
        problems.append(Problem(f"{PROJECT}:{key}", f"unknown config key ({more})"))
    if not naming.STACK_NAME_PATTERN.match(stack):
        problems.append(Problem("stack", f"'{stack}' is not a usable stack name"))

    values: dict[str, Any] = {}
    for key, spec in TOP_LEVEL.items():
        value = raw.get(key, TOP_LEVEL_DEFAULTS[key])
        if value is None:
            value = TOP_LEVEL_DEFAULTS[key]
        values[key] = None if value is None else spec.check(value, key, problems)

    for top, leaf in SECRET_VALUE_PATHS.items():
        entries = values.get(top) or {}
        for name, entry in entries.items():
            if not entry or entry.get(leaf) in (None, {}):
                continue
            value_path = join(join(top, name), leaf)
            leaves = [join(value_path, k) for k in entry[leaf]] if isinstance(entry[leaf], dict) else [value_path]
            if stack_file_leaves is not None and any(p in stack_file_leaves for p in leaves):
                for leaf_path in leaves:
                    if not _secure_in_file(leaf_path, stack_file_leaves):
                        problems.append(Problem(leaf_path, "expected a secret value, got plaintext: set it with "
                                                f"`pulumi config set --secret --path '{leaf_path}' …`"))
                continue
            if stack_file_leaves is not None and any(_secure_in_file(p, stack_file_leaves) for p in leaves):
                continue
            if top not in secret_keys:
                problems.append(Problem(
                    join(join(top, name), leaf),
                    "expected a secret value, got plaintext: set it with "
                    f"`pulumi config set --secret --path '{top}.{name}.{leaf}{'.KEY' if top == 'secrets' else ''}' …`",
                ))

    review = bool(values.get("reviewStack"))
    window = values.get("recoveryWindowInDays")
    window = TOP_LEVEL_DEFAULTS["recoveryWindowInDays"] if window is None else window
    settings_secrets = _secrets(values.get("secrets") or {}, review, stack, window, problems)
    settings_dbs = _databases(values.get("databases") or {}, review, stack, window, problems)
    policies = _read_policies(values.get("readPolicies") or {}, review, stack,
                              {s.key for s in settings_secrets} | {d.key for d in settings_dbs}, problems)

    _check_duplicates(settings_secrets, settings_dbs, problems)
    _check_aliases(settings_secrets, settings_dbs, problems)
    _check_overlaps(settings_secrets, settings_dbs, problems)
    if region:
        for spec in list(settings_secrets) + list(settings_dbs):
            top = "secrets" if isinstance(spec, SecretSpec) else "databases"
            for i, replica in enumerate(spec.replica_regions):
                if replica.region == region:
                    problems.append(Problem(f"{top}.{spec.key}.replicaRegions[{i}].region",
                                            f"'{region}' is the stack's own region (aws:region); a replica must be elsewhere"))
    _operator_safety(values, review, settings_secrets, settings_dbs, problems)
    if problems:
        raise ConfigError(problems, source)
    return StackSettings(
        stack=stack,
        region=region,
        review_stack=review,
        shared_kms_key=bool(values["sharedKmsKey"]),
        kms_deletion_window_in_days=values["kmsDeletionWindowInDays"],
        admin_principals=tuple(values["adminPrincipals"]),
        read_principals=tuple(values["readPrincipals"]),
        tags=dict(values["tags"]),
        secrets=settings_secrets,
        databases=settings_dbs,
        read_policies=policies,
        deployer_principals=tuple(values["deployerPrincipals"]),
        log_retention_in_days=values["logRetentionInDays"],
        protect=(not review) if values.get("protect") is None else bool(values["protect"]),
        break_glass_principals=tuple(values["breakGlassPrincipals"]),
        code_signing_config_arn=values["codeSigningConfigArn"],
        permissions_boundary_arn=values["permissionsBoundaryArn"],
    )


def _secure_in_file(path: str, leaves: Mapping[str, bool]) -> bool:
    """True when the stack file writes this value, or a map holding it, as `secure:`."""
    while True:
        if leaves.get(path):
            return True
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return False
        path = path[:cut]


def stack_file_leaves_of(stack_config: Mapping[str, Any], project: str = PROJECT) -> dict[str, bool]:
    """Every value of the project's config in a stack file, by key path: True where it is written
    as `{secure: …}` (nothing is decrypted: only where they are is read)."""
    found: dict[str, bool] = {}
    for key, value in (stack_config or {}).items():
        key = str(key)
        short = key[len(project) + 1:] if key.startswith(f"{project}:") else (key if ":" not in key else None)
        if short is not None:
            found.update((path, is_secure(leaf)) for path, leaf in config_leaves(value, short))
    return found


def _name(base: str, review: bool, stack: str) -> str:
    return naming.review_name(base, stack) if review else base


def _replicas(entries) -> tuple[ReplicaRegion, ...]:
    return tuple(ReplicaRegion(r["region"], r.get("kmsKeyId")) for r in entries or () if r and r.get("region"))


def _secrets(entries: Mapping[str, Any], review: bool, stack: str, window: int,
             problems: list[Problem]) -> tuple[SecretSpec, ...]:
    out = []
    for key, entry in entries.items():
        if not entry:
            continue
        path = f"secrets.{key}"
        kind = entry["type"]
        if kind == "secret":
            env = tuple(sorted(entry.get("initialValue") or {}))
        else:
            env = tuple(entry.get("environmentVariables") or ())
        random_settings = {}
        for var, settings in (entry.get("randomSettings") or {}).items():
            if var not in env:
                problems.append(Problem(f"{path}.randomSettings.{var}",
                                        "is not one of this secret's environmentVariables"))
                continue
            if settings is None:
                continue
            rs = RandomSettings(
                length=settings["length"], special=settings["special"], upper=settings["upper"],
                lower=settings["lower"], numeric=settings["numeric"], min_upper=settings["minUpper"],
                min_lower=settings["minLower"], min_numeric=settings["minNumeric"],
                min_special=settings["minSpecial"], override_special=settings.get("overrideSpecial"))
            minimums = rs.min_upper + rs.min_lower + rs.min_numeric + rs.min_special
            if minimums > rs.length:
                problems.append(Problem(f"{path}.randomSettings.{var}",
                                        f"the min* counts add up to {minimums}, more than length {rs.length}"))
            for flag, minimum in (("upper", "minUpper"), ("lower", "minLower"), ("numeric", "minNumeric"),
                                  ("special", "minSpecial")):
                # The provider adds the min* characters even when their class is off.
                if settings[minimum] and not settings[flag]:
                    problems.append(Problem(f"{path}.randomSettings.{var}.{minimum}",
                                            f"is {settings[minimum]} but {flag} is false; expected {flag}: true, "
                                            f"or {minimum}: 0"))
            if not (rs.upper or rs.lower or rs.numeric or rs.special):
                problems.append(Problem(f"{path}.randomSettings.{var}",
                                        "upper, lower, numeric and special are all false: no characters to choose from"))
            random_settings[var] = rs
        base = entry.get("name") or key
        create_role = entry.get("createRotationRole", False)
        if create_role:
            for message in naming.rotation_name_problems(_name(base, review, stack)):
                problems.append(Problem(f"{path}.name", message))
        existing = entry.get("existingSecretName")
        out.append(SecretSpec(
            key=key, kind=kind, name=_name(base, review, stack),
            description=entry.get("description") or f"{key} ({kind} secret managed by {PROJECT})",
            environment_variables=env,
            initial_value=dict(entry.get("initialValue") or {}),
            random_settings=random_settings,
            existing_secret_name=existing,
            admin_principals=tuple(entry.get("adminPrincipals") or ()),
            read_principals=tuple(entry.get("readPrincipals") or ()),
            readwrite_principals=tuple(entry.get("readwritePrincipals") or ()),
            trust_tags=dict(entry.get("trustTags") or {}),
            tags=dict(entry.get("tags") or {}),
            replica_regions=_replicas(entry.get("replicaRegions")),
            secret_policies=tuple(entry.get("secretPolicies") or ()),
            recovery_window_in_days=0 if review else entry.get("recoveryWindowInDays", window),
            create_rotation_role=bool(create_role),
            aliases=tuple(entry.get("aliases") or ()),
        ))
    return tuple(out)


def _databases(entries: Mapping[str, Any], review: bool, stack: str, window: int,
               problems: list[Problem]) -> tuple[DatabaseSpec, ...]:
    out = []
    endpoint_vpcs: dict[str, str] = {}  # VPC id -> the database path that creates its endpoint
    for key, entry in entries.items():
        if not entry:
            continue
        path = f"databases.{key}"
        rotation = entry.get("rotation") or {}
        if rotation.get("days") is not None and rotation.get("scheduleExpression") is not None:
            problems.append(Problem(f"{path}.rotation", "give either days or scheduleExpression, not both"))
        username = entry.get("username") or ""
        alternate = entry.get("alternateUsername") or f"{username}_alt"
        if len(alternate) > 63:
            problems.append(Problem(f"{path}.alternateUsername",
                                    f"'{alternate}' is longer than PostgreSQL's 63 characters; set it explicitly"))
        if entry.get("strategy") == "alternating-users" and alternate == username:
            problems.append(Problem(f"{path}.alternateUsername", "must differ from username"))
        if entry.get("sslMode") in ("prefer", "disable"):
            problems.append(Problem(f"{path}.sslMode",
                                    f"'{entry['sslMode']}' would send the password without TLS; expected require"))
        elif entry.get("sslMode") in ("verify-ca", "verify-full"):
            problems.append(Problem(f"{path}.sslMode",
                                    f"'{entry['sslMode']}' needs the RDS CA bundle inside the rotation function, "
                                    "which this project does not ship yet; expected require"))
        exclude = entry.get("excludeCharacters") or ""
        for label, chars in (("digit", "0123456789"), ("upper-case letter", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                             ("lower-case letter", "abcdefghijklmnopqrstuvwxyz"),
                             ("punctuation character", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")):
            if set(chars) <= set(exclude):
                # The function asks GetRandomPassword for every type (RequireEachIncludedType).
                problems.append(Problem(f"{path}.excludeCharacters", f"excludes every {label}, so no new password "
                                        "could be generated (each type is required); expected it to leave some"))
        identifier = entry.get("identifier") or key
        secret_name = _name(entry.get("secretName") or f"rds-postgres-{identifier}", review, stack)
        for message in naming.rotation_name_problems(secret_name):
            problems.append(Problem(f"{path}.secretName", message))
        for needs_vpc in ("subnetIds", "securityGroupIds", "databaseSecurityGroupId"):
            if entry.get(needs_vpc) and "vpcId" not in entry:  # present but invalid: reported already
                problems.append(Problem(f"{path}.vpcId", f"is required when {needs_vpc} is given"))
        if entry.get("vpcId") and not entry.get("subnetIds"):
            problems.append(Problem(f"{path}.subnetIds", "is required when vpcId is given (the function runs in them)"))
        endpoint = entry.get("secretsManagerEndpoint")
        if entry.get("vpcId") and endpoint == "none":
            problems.append(Problem(f"{path}.secretsManagerEndpoint",
                                    f"none leaves the rotation function in {entry['vpcId']} without a route to "
                                    "Secrets Manager (a Lambda function in a VPC has no internet access); use "
                                    "create, or existing when the VPC already has a secretsmanager interface "
                                    "endpoint with private DNS or a NAT gateway route from these subnets"))
        elif not entry.get("vpcId") and endpoint in ("create", "existing"):
            problems.append(Problem(f"{path}.secretsManagerEndpoint",
                                    f"{endpoint} needs vpcId and subnetIds (without a VPC the function reaches "
                                    "Secrets Manager's public endpoint)"))
        endpoint = endpoint or ("create" if entry.get("vpcId") else "none")
        if endpoint == "create" and entry.get("vpcId") and rotation.get("enabled", not review):
            other = endpoint_vpcs.setdefault(entry["vpcId"], path)
            if other != path:
                problems.append(Problem(f"{path}.secretsManagerEndpoint",
                                        f"{other} already creates the secretsmanager endpoint of {entry['vpcId']} "
                                        "(one with private DNS per VPC); set existing here"))
        # Review stacks rotate only when asked explicitly; long-lived stacks by default.
        enabled = rotation.get("enabled", not review)
        days = rotation.get("days")
        schedule = rotation.get("scheduleExpression")
        out.append(DatabaseSpec(
            key=key, identifier=identifier, username=username,
            initial_password=entry.get("initialPassword") or "",
            database_name=entry.get("databaseName"),
            alternate_username=alternate,
            secret_name=secret_name,
            description=entry.get("description") or f"Admin login of RDS PostgreSQL instance {identifier}",
            strategy=entry.get("strategy") or "single-user",
            vpc_id=entry.get("vpcId"),
            subnet_ids=tuple(entry.get("subnetIds") or ()),
            security_group_ids=tuple(entry.get("securityGroupIds") or ()),
            database_security_group_id=entry.get("databaseSecurityGroupId"),
            secrets_manager_endpoint=endpoint,
            ssl_mode=entry.get("sslMode") or "require",
            password_length=entry.get("passwordLength") or 32,
            exclude_characters=entry.get("excludeCharacters"),
            rotation=RotationSpec(enabled=bool(enabled), days=days if days or schedule else 30,
                                  schedule_expression=schedule,
                                  rotate_immediately=bool(rotation.get("rotateImmediately", True))),
            admin_principals=tuple(entry.get("adminPrincipals") or ()),
            read_principals=tuple(entry.get("readPrincipals") or ()),
            replica_regions=_replicas(entry.get("replicaRegions")),
            tags=dict(entry.get("tags") or {}),
            trust_tags=dict(entry.get("trustTags") or {}),
            recovery_window_in_days=0 if review else entry.get("recoveryWindowInDays", window),
            aliases=tuple(entry.get("aliases") or ()),
        ))
    return tuple(out)


def _read_policies(entries, review, stack, known: set[str], problems) -> tuple[ReadPolicySpec, ...]:
    out = []
    for key, entry in entries.items():
        if not entry:
            continue
        for i, name in enumerate(entry.get("secrets") or ()):
            if name is not None and name not in known:
                problems.append(Problem(f"readPolicies.{key}.secrets[{i}]",
                                        f"'{name}' is not a key of `secrets` or `databases`"))
        policy_name = naming.iam_name(_name(entry.get("policyName") or f"{key}-read-secrets", review, stack))
        if len(policy_name) > naming.MAX_IAM_POLICY_NAME:
            problems.append(Problem(f"readPolicies.{key}.policyName", f"'{policy_name}' is longer than 128 characters"))
        out.append(ReadPolicySpec(key=key, policy_name=policy_name,
                                  secrets=tuple(s for s in entry.get("secrets") or () if s),
                                  role_names=tuple(entry.get("roleNames") or ())))
    return tuple(out)


def _check_duplicates(secrets, databases, problems) -> None:
    seen: dict[str, str] = {}
    for spec in secrets:
        if spec.existing_secret_name:
            continue
        path = f"secrets.{spec.key}"
        if spec.name in seen:
            problems.append(Problem(path, f"physical name '{spec.name}' is already used by {seen[spec.name]}"))
        else:
            seen[spec.name] = path
    for spec in databases:
        path = f"databases.{spec.key}"
        if spec.secret_name in seen:
            problems.append(Problem(path, f"secret name '{spec.secret_name}' is already used by {seen[spec.secret_name]}"))
        else:
            seen[spec.secret_name] = path
    keys = {s.key for s in secrets}
    for spec in databases:
        if spec.key in keys:
            problems.append(Problem(f"databases.{spec.key}", f"'{spec.key}' is also a key of `secrets`; keys must be unique"))


def _check_aliases(secrets, databases, problems) -> None:
    """A former key must not be a current key, nor claimed by two entries: either would make two
    resources answer to the same old URN."""
    current = {s.key for s in secrets} | {d.key for d in databases}
    claimed: dict[str, str] = {}
    for top, specs in (("secrets", secrets), ("databases", databases)):
        for spec in specs:
            for i, alias in enumerate(spec.aliases):
                path = f"{top}.{spec.key}.aliases[{i}]"
                if alias in current:
                    problems.append(Problem(path, f"'{alias}' is a current key; an alias names a former key"))
                elif alias in claimed:
                    problems.append(Problem(path, f"'{alias}' is already an alias of {claimed[alias]}"))
                else:
                    claimed[alias] = f"{top}.{spec.key}"


def _check_overlaps(secrets, databases, problems) -> None:
    """Two secrets giving the same environment variable (`env --stack` could not tell which one
    wins), and a replica region listed twice."""
    owner: dict[str, str] = {}
    for spec in secrets:
        for var in dict.fromkeys(spec.environment_variables):  # a repeat inside one list is reported there
            if var in owner:
                problems.append(Problem(f"secrets.{spec.key}", f"environment variable {var} is also given by "
                                        f"{owner[var]}; expected each variable from one secret"))
            else:
                owner[var] = f"secrets.{spec.key}"
    for spec in databases:  # every login gives DATABASE_URL; two logins are told apart by secret
        for var in ("DATABASE_URL",):
            if owner.get(var, "").startswith("secrets."):
                problems.append(Problem(f"databases.{spec.key}", f"environment variable {var} is also given by "
                                        f"{owner[var]}; expected each variable from one secret"))
    for top, specs in (("secrets", secrets), ("databases", databases)):
        for spec in specs:
            seen: set[str] = set()
            for i, replica in enumerate(spec.replica_regions):
                if replica.region in seen:
                    problems.append(Problem(f"{top}.{spec.key}.replicaRegions[{i}].region",
                                            f"'{replica.region}' is listed twice; expected one replica per region"))
                seen.add(replica.region)
