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

from app_secrets import naming, tls
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

# ---- issue 17: adopting secrets made elsewhere (see app_secrets/adoption.py, README "Adopting") ----
from app_secrets import adoption as _adoption  # noqa: E402 (kept beside the block that uses it)
import json  # noqa: E402


def _key_policy_problem(text: str) -> str | None:
    try:
        doc = json.loads(text)
    except ValueError as error:
        return f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    return None if isinstance(doc, dict) and doc.get("Statement") else "expected a policy document with a Statement list"


ADOPTED = Obj(
    {
        "import": Obj(
            {"secret": Str(pattern=_adoption.SECRET_ARN_PATTERN,
                           expected="a secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)"),
             "secretPolicy": Str(pattern=_adoption.SECRET_ARN_PATTERN, expected="the secret's ARN (the policy's import ID)"),
             "kmsKey": Str(pattern=_adoption.KMS_KEY_ID_PATTERN, expected="a KMS key id (1234abcd-12ab-34cd-56ef-1234567890ab)"),
             "kmsAlias": Str(pattern=_adoption.KMS_ALIAS_PATTERN, expected="a KMS alias name (alias/<name>)")},
            required=("secret",),
            expected="the import IDs of the first `pulumi up` (secret, secretPolicy, kmsKey, kmsAlias)"),
        "secretPolicy": POLICY_DOCUMENT,
        "keyPolicy": Str(expected="a JSON key policy", extra=_key_policy_problem),
        "awsManagedKey": Bool(),
    },
    expected="what `adopt` read of an existing secret (import, secretPolicy, keyPolicy, awsManagedKey)",
)


def _adoption_of(entry: Mapping[str, Any], path: str, review: bool, problems: list[Problem],
                 own_name: str | None = None):
    """The Adoption of a secret or database entry, or None; cross-field problems are appended."""
    adopted = entry.get("adopted")
    if not adopted:
        return None
    ids = dict(adopted.get("import") or {})
    where = f"{path}.adopted"
    if review:
        problems.append(Problem(where, "review stacks create their own short-lived secrets; adopt into a long-lived "
                                       "stack (dev, staging, production)"))
    if entry.get("existingSecretName"):
        problems.append(Problem(where, "give either adopted (take the secret over) or existingSecretName (only read "
                                       "it), not both"))
    if adopted.get("awsManagedKey") and (ids.get("kmsKey") or ids.get("kmsAlias") or adopted.get("keyPolicy")):
        problems.append(Problem(where, "awsManagedKey: true means the secret has no key of its own; expected no "
                                       "kmsKey, kmsAlias or keyPolicy"))
    if ids.get("kmsAlias") and not ids.get("kmsKey"):
        problems.append(Problem(f"{where}.import.kmsAlias", "expected kmsKey too (the alias is imported with its key)"))
    arn_name = _adoption.secret_name_of_arn(ids["secret"]) if ids.get("secret") else None
    own = own_name or entry.get("name") or path.split(".", 1)[1]
    if arn_name is not None and arn_name != own:
        field = "secretName" if path.startswith("databases.") else "name"
        problems.append(Problem(f"{where}.import.secret", f"names secret '{arn_name}' but this entry's {field} is "
                                f"'{own}'; expected {field}: {arn_name} (a different name would replace the secret)"))
    if ids.get("secretPolicy") and not adopted.get("secretPolicy"):
        problems.append(Problem(f"{where}.secretPolicy", "is required with import.secretPolicy (the live policy, "
                                "as `adopt` wrote it; a different one would make the import fail)"))
    if ids.get("secretPolicy") and ids.get("secret") and ids["secretPolicy"] != ids["secret"]:
        problems.append(Problem(f"{where}.import.secretPolicy", "expected the same ARN as import.secret (a secret "
                                "policy is imported by its secret's ARN)"))
    if adopted.get("secretPolicy"):
        _check_kept_policy(entry, path, adopted["secretPolicy"], problems)
    return _adoption.Adoption(import_ids=ids, secret_policy=adopted.get("secretPolicy"),
                              key_policy=adopted.get("keyPolicy"), aws_managed_key=bool(adopted.get("awsManagedKey")))


def _check_kept_policy(entry: Mapping[str, Any], path: str, document: str, problems: list[Problem]) -> None:
    """While an adopted entry keeps the live secret policy verbatim, its principals and trust tags
    must say what that policy says: an edit of them alone would change nothing in AWS (Day 2)."""
    reading = _adoption.read_secret_policy(document)
    fields = [("readPrincipals", reading.read), ("adminPrincipals", reading.admin), ("trustTags", reading.trust_tags)]
    if path.startswith("secrets."):
        fields.append(("readwritePrincipals", reading.readwrite))
    for field_name, live in fields:
        configured = entry.get(field_name) or ({} if field_name == "trustTags" else [])
        same = configured == live if field_name == "trustTags" else set(configured) == set(live)
        if not same:
            shown = json.dumps(live) if live else "nothing"
            problems.append(Problem(f"{path}.{field_name}", f"differs from adopted.secretPolicy, which is kept as it "
                                    f"is in AWS and says {shown}; edit that document too, or delete "
                                    "adopted.secretPolicy to use the policy built from this entry"))
    if entry.get("secretPolicies"):
        problems.append(Problem(f"{path}.secretPolicies", "has no effect while adopted.secretPolicy keeps the live "
                                "policy; put the statements into adopted.secretPolicy, or delete it"))
# ---- end issue 17 ----

COMMON_SECRET_FIELDS = {
    "aliases": ALIASES,
    "adopted": ADOPTED,
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
        # issue 20: an Aurora PostgreSQL cluster instead of an instance (aws.rds.get_cluster).
        "clusterIdentifier": Str(pattern=DB_INSTANCE_ID.pattern, expected="an Aurora DB cluster identifier "
                                 "(1-63 letters, digits, hyphens; starts with a letter)"),
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
        # issue 20: verified TLS (default verify-full against the shipped RDS bundle) and a stack's own CA.
        "caBundle": Str(min_len=1, max_len=1024, expected="the path of a PEM file of CA certificates"),
        "passwordLength": Int(minimum=16, maximum=128),
        "excludeCharacters": Str(),
        "rotation": ROTATION,
        "adminPrincipals": PRINCIPALS,
        "readPrincipals": PRINCIPALS,
        "replicaRegions": List(_replica()),
        "tags": TAGS,
        "trustTags": TAGS,
        "recoveryWindowInDays": RECOVERY_WINDOW,
        "adopted": ADOPTED,   # issue 17: initialPassword is then not needed (never written)
    },
    required=("username",),   # initialPassword: unless adopted (_databases)
    required_one_of=("identifier", "clusterIdentifier"),
    defaults={"strategy": "single-user", "sslMode": "verify-full", "passwordLength": 32},
)

# issue 20: application logins (thoughtbot's rds-postgres-login), created and rotated by a database's
# admin login; network and TLS settings come from that database entry.
GRANT = Obj(
    # Schema names: their length (1-63 bytes) is checked once, by grants.schema_problems (bytes, not characters).
    {"readOnly": List(Str(expected="a schema name"), min_items=1, unique=True),
     "readWrite": List(Str(expected="a schema name"), min_items=1, unique=True),
     "raw": Str(min_len=1, max_len=2048, expected="a GRANT statement with %s where the user goes")},
    expected="a grant: {readOnly: [schemas]}, {readWrite: [schemas]} or {raw: 'GRANT … TO %s'}",
)

LOGIN = Obj(
    {
        "database": Str(min_len=1, expected="a key of `databases` (the admin login that creates this one)"),
        "username": PG_IDENTIFIER,
        "alternateUsername": PG_IDENTIFIER,
        "databaseName": PG_IDENTIFIER,
        "grants": List(GRANT),
        "replica": Bool(),
        "replicaIdentifier": DB_INSTANCE_ID,
        "secretName": SECRET_NAME,
        "description": Str(max_len=2048),
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
    required=("database", "username"),
    defaults={"passwordLength": 32, "replica": False},
)

# issue 20: alert when a rotation fails (EventBridge rule -> SNS topic, alarms on the functions' errors).
ROTATION_ALERTS = Obj(
    {"enabled": Bool(),
     "alertTopicArn": Str(pattern=re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"),
                          expected="an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")},
    expected="rotation alert settings (enabled, alertTopicArn)",
)

READ_POLICY = Obj(
    {"secrets": List(Str(min_len=1, expected="a key of `secrets` or `databases`"), min_items=1, unique=True),
     "roleNames": List(IAM_ROLE_NAME, unique=True),
     "policyName": Str(pattern=re.compile(r"^[\w+=,.@-]{1,128}$"), expected="an IAM policy name"),
     # issue 18: the IAM tags its roles carry, checked against the trustTags of its secrets.
     "roleTags": TAGS},
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
    "protect": Bool(auto=True),  # Pulumi.yaml's default is "auto" (the CLI needs a default)
    "sharedKmsKey": Bool(),
    "recoveryWindowInDays": RECOVERY_WINDOW,
    "kmsDeletionWindowInDays": Int(minimum=7, maximum=30),
    "adminPrincipals": PRINCIPALS,
    "readPrincipals": PRINCIPALS,
    "tags": TAGS,
    "secrets": Map(value=SECRET, key=SECRET_KEY),
    "databases": Map(value=DATABASE, key=SECRET_KEY),
    "logins": Map(value=LOGIN, key=SECRET_KEY),
    "rotationAlerts": ROTATION_ALERTS,
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
    "protect": "auto",  # true, except in review stacks
    "sharedKmsKey": False,
    "recoveryWindowInDays": 30,
    "kmsDeletionWindowInDays": 30,
    "adminPrincipals": [],
    "readPrincipals": [],
    "tags": {},
    "secrets": {},
    "databases": {},
    "logins": {},
    "rotationAlerts": {},
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
    adopted: "_adoption.Adoption | None" = None   # issue 17: took over an existing secret


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
    adopted: "_adoption.Adoption | None" = None   # issue 17: took over an existing login secret
    ca_bundle: str | None = None  # a PEM file (relative to the project folder); None: the shipped RDS CAs
    cluster: bool = False         # `identifier` names an Aurora PostgreSQL cluster (clusterIdentifier)


@dataclass(frozen=True)
class LoginSpec:
    key: str
    database: str                  # the key of the admin login's database entry
    identifier: str                # the instance the app connects to (a replica's for replica logins)
    username: str
    alternate_username: str
    database_name: str | None
    grants: tuple[str, ...]        # compiled GRANT templates (app_secrets.grants)
    replica: bool
    secret_name: str
    description: str | None
    password_length: int
    exclude_characters: str | None
    rotation: RotationSpec
    admin_principals: tuple[str, ...]
    read_principals: tuple[str, ...]
    replica_regions: tuple[ReplicaRegion, ...]
    tags: Mapping[str, str]
    trust_tags: Mapping[str, str]
    recovery_window_in_days: int
    cluster: bool = False          # identifier names an Aurora cluster (the database's)


@dataclass(frozen=True)
class ReadPolicySpec:
    key: str
    policy_name: str
    secrets: tuple[str, ...]
    role_names: tuple[str, ...]
    role_tags: Mapping[str, str] = field(default_factory=dict)   # what its roles carry (issue 18)


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
    logins: tuple[LoginSpec, ...] = ()  # issue 20
    # issue 20: (enabled, existing topic ARN or None); enabled by default when something rotates,
    # except in review stacks
    rotation_alerts: tuple[bool, str | None] = (False, None)
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
        if spec.adopted:
            # An adopted secret is taken over as it is (issue 17): `adopt` reports a replica on the
            # AWS-managed key in plain words, and moving it is a later, separate change.
            continue
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
    # Keys of entries that are present but invalid count as known: their own problem is reported,
    # a read policy listing them is not wrong too.
    written = {str(k) for top in ("secrets", "databases", "logins")
               if isinstance(raw.get(top), Mapping) for k in raw[top]}
    settings_logins = _logins(values.get("logins") or {}, settings_dbs, {s.key for s in settings_secrets},
                              values.get("databases") or {}, review, stack, window, problems)
    policies = _read_policies(values.get("readPolicies") or {}, review, stack,
                              {s.key for s in settings_secrets} | {d.key for d in settings_dbs}
                              | {login.key for login in settings_logins} | written, problems)
    problems += _misplaced_read_policies(raw.get("secrets"))

    _check_duplicates(settings_secrets, settings_dbs, problems)
    _check_aliases(settings_secrets, settings_dbs, problems)
    _check_overlaps(settings_secrets, settings_dbs, problems)
    _check_app_variables(settings_secrets, settings_dbs, policies, problems)
    if values.get("sharedKmsKey"):  # issue 17: an adopted secret keeps the key it has
        problems += [Problem(f"{'secrets' if isinstance(spec, SecretSpec) else 'databases'}.{spec.key}.adopted",
                             "sharedKmsKey would move this adopted secret to the stack's shared key; expected "
                             "sharedKmsKey: false in a stack that adopts secrets")
                     for spec in (*settings_secrets, *settings_dbs) if spec.adopted]
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
        logins=settings_logins,
        rotation_alerts=_rotation_alerts(values.get("rotationAlerts") or {}, review, settings_dbs, settings_logins),
        read_policies=policies,
        deployer_principals=tuple(values["deployerPrincipals"]),
        log_retention_in_days=values["logRetentionInDays"],
        protect=(not review) if values.get("protect") in (None, "auto") else bool(values["protect"]),
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
        adopted = _adoption_of(entry, path, review, problems)
        out.append(SecretSpec(
            key=key, kind=kind, name=_name(base, review, stack),
            # An adopted secret keeps its own description, also none (the import compares it).
            description=entry.get("description") if adopted else
            (entry.get("description") or f"{key} ({kind} secret managed by {PROJECT})"),
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
            adopted=adopted,
        ))
    return tuple(out)


def _ca_bundle_file_problems(path: str) -> list[str]:
    """Problems of the CA bundle file at `path` (relative to the project folder, where Pulumi runs
    the program)."""
    from pathlib import Path

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return [f"cannot read '{path}' ({exc.strerror or 'unreadable'}); expected a PEM file of CA certificates "
                "relative to the project folder"]
    return [f"'{path}' {message}" for message in tls.ca_bundle_problems(data)]


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
                                    f"'{entry['sslMode']}' would send the password without TLS; expected verify-full "
                                    "(the default), verify-ca or require"))
        if isinstance(entry.get("caBundle"), str) and entry["caBundle"]:
            problems.extend(Problem(f"{path}.caBundle", message) for message in _ca_bundle_file_problems(entry["caBundle"]))
            if entry.get("sslMode") == "require":
                problems.append(Problem(f"{path}.caBundle", "is not used with sslMode require (which checks no "
                                        "certificate); expected sslMode verify-full, or no caBundle"))
        exclude = entry.get("excludeCharacters") or ""
        for label, chars in (("digit", "0123456789"), ("upper-case letter", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                             ("lower-case letter", "abcdefghijklmnopqrstuvwxyz"),
                             ("punctuation character", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")):
            if set(chars) <= set(exclude):
                # The function asks GetRandomPassword for every type (RequireEachIncludedType).
                problems.append(Problem(f"{path}.excludeCharacters", f"excludes every {label}, so no new password "
                                        "could be generated (each type is required); expected it to leave some"))
        cluster = entry.get("clusterIdentifier")
        if cluster and entry.get("identifier"):
            problems.append(Problem(f"{path}.clusterIdentifier", "give identifier (an RDS instance) or "
                                    "clusterIdentifier (an Aurora cluster), not both"))
        elif not cluster and "identifier" not in entry:
            problems.append(Problem(f"{path}.identifier", "is required (an RDS instance identifier), or set "
                                    "clusterIdentifier for an Aurora PostgreSQL cluster"))
        identifier = cluster or entry.get("identifier") or key
        secret_name = _name(entry.get("secretName") or f"rds-postgres-{identifier}", review, stack)
        adopted = _adoption_of(entry, path, review, problems, own_name=secret_name)  # issue 17
        if "initialPassword" not in entry and not adopted:
            problems.append(Problem(f"{path}.initialPassword", "is required (a password of 8-128 characters)"))
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
            key=key, identifier=identifier, username=username, cluster=bool(cluster),
            initial_password=entry.get("initialPassword") or "",
            database_name=entry.get("databaseName"),
            alternate_username=alternate,
            secret_name=secret_name,
            description=entry.get("description") if adopted else
            (entry.get("description") or (f"Admin login of Aurora PostgreSQL cluster {identifier}" if cluster
                                          else f"Admin login of RDS PostgreSQL instance {identifier}")),
            strategy=entry.get("strategy") or "single-user",
            vpc_id=entry.get("vpcId"),
            subnet_ids=tuple(entry.get("subnetIds") or ()),
            security_group_ids=tuple(entry.get("securityGroupIds") or ()),
            database_security_group_id=entry.get("databaseSecurityGroupId"),
            secrets_manager_endpoint=endpoint,
            ssl_mode=entry.get("sslMode") or tls.DEFAULT_SSL_MODE,
            ca_bundle=entry.get("caBundle"),
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
            adopted=adopted,
        ))
    return tuple(out)


def _logins(entries: Mapping[str, Any], databases: Sequence[DatabaseSpec], secret_keys: set[str],
            raw_databases: Mapping[str, Any], review: bool, stack: str, window: int,
            problems: list[Problem]) -> tuple[LoginSpec, ...]:
    """Application logins: each names the database whose admin login creates and rotates it."""
    from app_secrets import grants as grant_templates

    by_key = {db.key: db for db in databases}
    names = {db.secret_name: f"databases.{db.key}" for db in databases}  # secret name -> who uses it
    taken: dict[str, str] = {}  # PostgreSQL user name -> the config path that claims it
    for db in databases:
        taken[db.username] = f"databases.{db.key}.username (the admin login's user)"
        if db.strategy == "alternating-users":
            taken[db.alternate_username] = f"databases.{db.key}.alternateUsername (the admin login's user)"
    out = []
    for key, entry in entries.items():
        if not entry:
            continue
        path = f"logins.{key}"
        if key in secret_keys or key in by_key:
            problems.append(Problem(path, f"'{key}' is also a key of `secrets` or `databases`; keys must be unique"))
        db = by_key.get(entry.get("database") or "")
        if db is None:
            if entry.get("database"):
                problems.append(Problem(f"{path}.database", f"'{entry['database']}' is not a key of `databases`"))
            continue
        if (raw_databases.get(db.key) or {}).get("trustTags"):
            problems.append(Problem(f"{path}.database", f"databases.{db.key} has trustTags, which deny its secret to "
                                    "this login's rotation role (it carries no tags); drop them or the login"))
        username = entry.get("username") or ""
        alternate = entry.get("alternateUsername") or f"{username}_alt"
        if len(alternate) > 63:
            problems.append(Problem(f"{path}.alternateUsername",
                                    f"'{alternate}' is longer than PostgreSQL's 63 characters; set it explicitly"))
        if alternate == username:
            problems.append(Problem(f"{path}.alternateUsername", "must differ from username"))
        for field_name, user in (("username", username), ("alternateUsername", alternate)):
            if user and user in taken:
                problems.append(Problem(f"{path}.{field_name}", f"'{user}' is already {taken[user]}; "
                                        "each login needs user names of its own"))
            elif user:
                taken[user] = f"{path}.{field_name}"
        structured = []
        for i, grant in enumerate(entry.get("grants") or ()):
            if not grant:
                continue
            if len(grant) != 1:
                problems.append(Problem(f"{path}.grants[{i}]", "give exactly one of readOnly, readWrite or raw"))
                continue
            kind, value = next(iter(grant.items()))
            if kind == "raw":
                for message in grant_templates.template_problems(value):
                    problems.append(Problem(f"{path}.grants[{i}].raw", message))
            else:
                for j, schema in enumerate(value or ()):
                    for message in grant_templates.schema_problems(schema):
                        problems.append(Problem(f"{path}.grants[{i}].{kind}[{j}]", message))
            structured.append(grant)
        if entry.get("replicaIdentifier") and not entry.get("replica"):
            problems.append(Problem(f"{path}.replicaIdentifier", "is only used with replica: true"))
        elif entry.get("replicaIdentifier") and db.cluster:
            problems.append(Problem(f"{path}.replicaIdentifier", f"databases.{db.key} is an Aurora cluster: a replica "
                                    "login uses its reader endpoint; drop replicaIdentifier"))
        identifier = (entry.get("replicaIdentifier") if entry.get("replica") else None) or db.identifier
        secret_name = _name(entry.get("secretName") or f"rds-postgres-{identifier}-{username}", review, stack)
        for message in naming.rotation_name_problems(secret_name):
            problems.append(Problem(f"{path}.secretName", message))
        if secret_name in names:
            problems.append(Problem(f"{path}.secretName", f"secret name '{secret_name}' is already used by "
                                    f"{names[secret_name]}"))
        names.setdefault(secret_name, path)
        rotation = entry.get("rotation") or {}
        if rotation.get("days") is not None and rotation.get("scheduleExpression") is not None:
            problems.append(Problem(f"{path}.rotation", "give either days or scheduleExpression, not both"))
        if rotation.get("enabled") is False:
            problems.append(Problem(f"{path}.rotation.enabled", "must be true: the first rotation creates the "
                                    "login's user"))
        days, schedule = rotation.get("days"), rotation.get("scheduleExpression")
        out.append(LoginSpec(
            key=key, database=db.key, identifier=identifier, cluster=db.cluster and identifier == db.identifier, username=username, alternate_username=alternate,
            database_name=entry.get("databaseName") or db.database_name,
            grants=tuple(grant_templates.compile_grants(structured)) if not problems else (),
            replica=bool(entry.get("replica")), secret_name=secret_name, description=entry.get("description"),
            password_length=entry.get("passwordLength") or 32, exclude_characters=entry.get("excludeCharacters"),
            rotation=RotationSpec(enabled=True, days=days if days or schedule else 30, schedule_expression=schedule,
                                  rotate_immediately=bool(rotation.get("rotateImmediately", True))),
            admin_principals=tuple(entry.get("adminPrincipals") or ()),
            read_principals=tuple(entry.get("readPrincipals") or ()),
            replica_regions=_replicas(entry.get("replicaRegions")),
            tags=dict(entry.get("tags") or {}), trust_tags=dict(entry.get("trustTags") or {}),
            recovery_window_in_days=0 if review else entry.get("recoveryWindowInDays", window),
        ))
    return tuple(out)


def _rotation_alerts(entry: Mapping[str, Any], review: bool, databases, logins) -> tuple[bool, str | None]:
    rotates = any(db.rotation.enabled for db in databases) or bool(logins)
    return bool(entry.get("enabled", rotates and not review)) and rotates, entry.get("alertTopicArn")


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
                                  role_names=tuple(entry.get("roleNames") or ()),
                                  role_tags=dict(entry.get("roleTags") or {})))
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
    """A replica region listed twice (variables are checked per app: _check_app_variables)."""
    for top, specs in (("secrets", secrets), ("databases", databases)):
        for spec in specs:
            seen: set[str] = set()
            for i, replica in enumerate(spec.replica_regions):
                if replica.region in seen:
                    problems.append(Problem(f"{top}.{spec.key}.replicaRegions[{i}].region",
                                            f"'{replica.region}' is listed twice; expected one replica per region"))
                seen.add(replica.region)


# ---------------------------------------------------------------------------------------------
# Apps (issue 18): an app is a read policy; its environment is the variables of its secrets.

NO_APP = ""   # the secrets no read policy lists: one environment of their own


def app_groups(secret_keys: Sequence[str], policies: Sequence[ReadPolicySpec]) -> dict[str, tuple[str, ...]]:
    """The secrets of each app, by read policy key, in the policy's order; NO_APP holds the
    secrets (and databases) no read policy lists, when there are any."""
    groups = {policy.key: tuple(dict.fromkeys(policy.secrets)) for policy in policies}
    listed = {key for keys in groups.values() for key in keys}
    rest = tuple(key for key in secret_keys if key not in listed)
    if rest:
        groups[NO_APP] = rest
    return groups


def _misplaced_read_policies(entries: Any) -> list[Problem]:
    """A read policy written under `secrets:` would only be told `type: is required`."""
    found = []
    for key, entry in (entries.items() if isinstance(entries, Mapping) else ()):
        if isinstance(entry, Mapping) and "type" not in entry and ("roleNames" in entry or "secrets" in entry):
            found.append(Problem(f"secrets.{key}", "looks like a read policy (it has secrets/roleNames, no type); "
                                 f"expected it under {PROJECT}:readPolicies, not {PROJECT}:secrets"))
    return found


def _check_app_variables(secrets, databases, policies, problems) -> None:
    """Each variable from one secret within one app's environment (what `env --app` and the
    app's consumer outputs load together). Two apps may each have their own SECRET_KEY_BASE.
    Every database login gives DATABASE_URL: two logins are told apart by secret, but a secret
    giving DATABASE_URL beside a login of the same app is refused."""
    variables = {spec.key: tuple(dict.fromkeys(spec.environment_variables)) for spec in secrets}
    database_keys = {spec.key for spec in databases}
    reported: set[tuple[str, str]] = set()
    for app, keys in app_groups([*variables, *database_keys], policies).items():
        where = (f"; both are read by app {app} (readPolicies.{app}): expected each variable once per app, "
                 "so rename one or move it to another read policy") if app else             "; expected each variable from one secret (or list them in different readPolicies, one per app)"
        owner: dict[str, str] = {}
        for key in keys:
            for var in variables.get(key, ()):  # a repeat inside one list is reported there
                if var in owner and (key, var) not in reported:
                    reported.add((key, var))
                    problems.append(Problem(f"secrets.{key}", f"environment variable {var} is also given by "
                                            f"{owner[var]}{where}"))
                owner.setdefault(var, f"secrets.{key}")
        for key in keys:
            if key in database_keys and owner.get("DATABASE_URL", "").startswith("secrets.") \
                    and (key, "DATABASE_URL") not in reported:
                reported.add((key, "DATABASE_URL"))
                problems.append(Problem(f"databases.{key}", "environment variable DATABASE_URL is also given by "
                                        f"{owner['DATABASE_URL']}{where}"))
