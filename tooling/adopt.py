"""`adopt`: take secrets that already exist (made by thoughtbot's Terraform modules, another tool or
by hand) under a stack, without touching a value, an ARN or a key.

adopt --stack NAME (--secret NAME ... | --prefix P | --tag KEY=VALUE ...) [--type user-managed|random]
      [--username U [--identifier DB]] [--write] [--project-dir DIR] [--region R] [--profile P]
      [--role-arn A] [--endpoint-url URL]

An RDS admin login (the keys of thoughtbot's rds-postgres/admin-login) becomes a `databases:`
entry with rotation off (its current function keeps rotating it); `--username` names its user,
since nothing is copied out of a value.

For each secret it reads, with boto3: DescribeSecret (description, tags, KMS key, replicas,
rotation), GetResourcePolicy, and for a key of its own KMS DescribeKey, GetKeyPolicy,
GetKeyRotationStatus, ListResourceTags and ListAliases. It writes one `secrets:` entry per secret
(type, name, environmentVariables, description, tags, readers/admins/writers and trust tags as the
policy shows them, replicas) with an `adopted:` block: the live policies kept as they are and the
import IDs of the first `pulumi up` (README "Adopting existing secrets").

Key names: the only way to learn a secret's JSON keys is to read its value. `adopt` calls
GetSecretValue(AWSCURRENT) once per secret, parses it in memory, keeps only the key names and
whether it is a JSON object, and drops the value at once: a value is never printed, logged,
written or passed on.

Prints the entries (or with `--write` puts them under `app-secrets:secrets:` in the stack file)
and a list of what the stack file cannot express. Exit codes: 0 ok; 2 bad input (unknown names, a
secret another stack manages, a value that is not a JSON object, a live setting the program would
have to change); 1 AWS refused or was unreachable.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from app_secrets import naming
from app_secrets.adoption import PolicyReading, read_secret_policy  # noqa: F401 (pure; shared with config)

from .exit_codes import EXIT_FAILED, EXIT_INVALID, EXIT_OK

SECRET_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# thoughtbot's rds-postgres/admin-login writes these keys (terraform-aws-databases).
ADMIN_LOGIN_KEYS = {"dbname", "engine", "host", "password", "port", "username"}


class AdoptError(Exception):
    """Lines to print (each prefixed `error: `) and the exit code they mean."""

    def __init__(self, lines, code: int = EXIT_INVALID):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))
        self.code = code


# ---------------------------------------------------------------------------------------------
# Pure: policies -> config


def entry_key(name: str, taken: set[str]) -> str:
    """A config key for a secret name: lower-case letters, digits and hyphens, unique. Pure."""
    base = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:60] or "secret"
    if not SECRET_KEY.match(base):
        base = f"s-{base}"[:60]
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


@dataclass
class Inspected:
    """What `adopt` learned of one secret (never its value)."""

    name: str
    arn: str
    description: Optional[str]
    tags: dict[str, str]
    keys: list[str]
    replicas: list[dict[str, str]]
    secret_policy: Optional[str]
    kms_key_id: Optional[str] = None        # a customer-managed key of its own
    kms_alias: Optional[str] = None         # its alias/<name>, when it has that one
    key_policy: Optional[str] = None
    rotation: Optional[str] = None          # a sentence, when rotation is on
    notes: list[str] = field(default_factory=list)
    login: bool = False                     # an RDS admin login (keys of rds-postgres/admin-login)


def login_entry(secret: Inspected, identifier: str, username: str, reading: PolicyReading) -> dict[str, Any]:
    """The `databases:` entry of an adopted RDS admin login: its rotation stays with the function
    that runs it now (rotation off here) until the user switches it over. Pure."""
    entry: dict[str, Any] = {"identifier": identifier, "username": username}
    if secret.name != f"rds-postgres-{identifier}":
        entry["secretName"] = secret.name
    entry["strategy"] = "alternating-users"   # what rds-postgres/admin-login's function does
    entry["rotation"] = {"enabled": False}
    return {**entry, **_common(secret, reading, readwrite=False)}


def stack_entry(secret: Inspected, kind: str, reading: PolicyReading) -> dict[str, Any]:
    """The `secrets:` entry of one adopted secret. Pure."""
    entry: dict[str, Any] = {"type": kind, "name": secret.name, "environmentVariables": list(secret.keys)}
    return {**entry, **_common(secret, reading, readwrite=True)}


def _common(secret: Inspected, reading: PolicyReading, readwrite: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if secret.description:
        entry["description"] = secret.description
    if secret.tags:
        entry["tags"] = dict(sorted(secret.tags.items()))
    for config_key, principals in (("readPrincipals", reading.read), ("adminPrincipals", reading.admin),
                                   ("readwritePrincipals", reading.readwrite if readwrite else [])):
        if principals:
            entry[config_key] = list(principals)
    if reading.trust_tags:
        entry["trustTags"] = dict(reading.trust_tags)
    if secret.replicas:
        entry["replicaRegions"] = list(secret.replicas)
    adopted: dict[str, Any] = {}
    if secret.secret_policy:
        adopted["secretPolicy"] = secret.secret_policy
    if secret.kms_key_id:
        if secret.key_policy:
            adopted["keyPolicy"] = secret.key_policy
    else:
        adopted["awsManagedKey"] = True
    ids = {"secret": secret.arn}
    if secret.secret_policy:
        ids["secretPolicy"] = secret.arn
    if secret.kms_key_id:
        ids["kmsKey"] = secret.kms_key_id
        if secret.kms_alias:
            ids["kmsAlias"] = secret.kms_alias
    adopted["import"] = ids
    entry["adopted"] = adopted
    return entry


def compact_json(text: str) -> str:
    """A policy as one line of JSON, keys in AWS's order (the provider compares policies by meaning)."""
    return json.dumps(json.loads(text), separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Other stacks


def managed_elsewhere(project, stack: str) -> dict[str, str]:
    """Secret name or ARN -> `stacks/Pulumi.<s>.yaml secrets.<key>` for every long-lived stack
    file's secrets and database logins (review stacks name theirs after the stack)."""
    from .offline import read_yaml, stack_names

    owners: dict[str, str] = {}
    for other in stack_names(project):
        path = project.stack_config_dir / f"Pulumi.{other}.yaml"
        try:
            config = (read_yaml(path) or {}).get("config") or {}
        except Exception:  # noqa: BLE001 - an unreadable file is `validate`'s business, not adopt's
            continue
        get = lambda k: config.get(f"app-secrets:{k}")  # noqa: E731
        if get("reviewStack") is True:
            continue
        where = f"{path.name} (stack {other})"
        for key, entry in (get("secrets") or {}).items():
            if not isinstance(entry, dict) or entry.get("existingSecretName"):
                continue
            owners.setdefault(str(entry.get("name") or key), f"{where} secrets.{key}")
            arn = ((entry.get("adopted") or {}).get("import") or {}).get("secret")
            if arn:
                owners.setdefault(arn, f"{where} secrets.{key}")
        for key, entry in (get("databases") or {}).items():
            if isinstance(entry, dict):
                name = entry.get("secretName") or f"rds-postgres-{entry.get('identifier') or key}"
                owners.setdefault(str(name), f"{where} databases.{key}")
    return owners


# ---------------------------------------------------------------------------------------------
# AWS


def _key_names(sm, arn: str, name: str) -> list[str]:
    """The JSON key names of the current value; the value itself is dropped here."""
    response = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    text = response.get("SecretString")
    response = None  # noqa: F841 - nothing of the value outlives this function
    try:
        parsed = json.loads(text) if text is not None else None
    except ValueError:
        parsed = None
    keys = sorted(parsed) if isinstance(parsed, dict) else None
    parsed = text = None  # noqa: F841
    if keys is None:
        raise AdoptError(f"secret {name}: its value is not a JSON object, so it has no keys to become "
                         "environmentVariables; expected a JSON object (store one key per variable), or leave it out")
    return keys


def inspect(sm, kms, name: str) -> Inspected:
    described = sm.describe_secret(SecretId=name)
    if described.get("DeletedDate"):
        raise AdoptError(f"secret {name} is scheduled for deletion; restore it first (aws secretsmanager restore-secret)")
    if described.get("OwningService"):
        raise AdoptError(f"secret {name} is managed by {described['OwningService']} (e.g. an RDS-managed master "
                         "password); that service owns it, so it cannot be adopted")
    keys = _key_names(sm, described["ARN"], name)
    bad = [k for k in keys if not naming.ENV_VAR_PATTERN.match(k)]
    login = ADMIN_LOGIN_KEYS <= set(keys)   # thoughtbot rds-postgres/admin-login: a `databases:` entry
    if login and "DATABASE_URL" not in keys:
        raise AdoptError(f"secret {name}: an RDS admin login without DATABASE_URL yet (its rotation function adds "
                         "it); expected it rotated once first (aws secretsmanager rotate-secret --secret-id "
                         f"{name}), so that consumers keep DATABASE_URL")
    if bad and not login:
        raise AdoptError(f"secret {name}: keys {', '.join(bad)} are not environment variable names "
                         "(^[A-Z_][A-Z0-9_]*$), which environmentVariables needs; rename them first")
    policy_text = sm.get_resource_policy(SecretId=described["ARN"]).get("ResourcePolicy")
    tags = {t["Key"]: t["Value"] for t in described.get("Tags") or ()}
    secret = Inspected(
        name=described["Name"], arn=described["ARN"], description=described.get("Description") or None,
        tags=tags, keys=keys,
        replicas=[{"region": r["Region"], "kmsKeyId": r.get("KmsKeyId") or "alias/aws/secretsmanager"}
                  for r in described.get("ReplicationStatus") or ()],
        secret_policy=compact_json(policy_text) if policy_text else None,
        login=login,
    )
    problems = [f"secret {name}: tag {k} is reserved by AWS (aws:*) and cannot be written in a stack file"
                for k in tags if k.lower().startswith("aws:")]
    if described.get("RotationEnabled"):
        days = (described.get("RotationRules") or {}).get("AutomaticallyAfterDays")
        secret.rotation = (f"rotation by {described.get('RotationLambdaARN') or 'a Lambda function'}"
                           + (f" every {days} days" if days else "") + " stays on and as it is; this stack does not "
                           "manage it (nor its function, role or policy)")
    key_ref = described.get("KmsKeyId")
    if key_ref:
        metadata = kms.describe_key(KeyId=key_ref)["KeyMetadata"]
        if metadata.get("KeyManager") == "CUSTOMER":
            key_id = metadata["KeyId"]
            secret.kms_key_id = key_id
            secret.key_policy = compact_json(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
            expected_alias = naming.kms_alias_name(secret.name)
            aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=key_id).get("Aliases") or ()]
            if expected_alias in aliases:
                secret.kms_alias = expected_alias
            for other in aliases:
                if other != expected_alias:
                    secret.notes.append(f"KMS alias {other} stays as it is, outside the stack")
            if expected_alias not in aliases:
                secret.notes.append(f"the stack adds the KMS alias {expected_alias} for the key")
            # The program registers the key as it registers its own: the live key must agree, or
            # the engine refuses the import. Say what to change rather than write a failing entry.
            if (metadata.get("Description") or "") != secret.name:
                problems.append(f"secret {name}: its KMS key {key_id} is described '{metadata.get('Description') or ''}', "
                                f"the stack describes its key by the secret name; expected `aws kms "
                                f"update-key-description --key-id {key_id} --description '{secret.name}'` first")
            if key_ref != metadata["Arn"]:
                # The provider compares kms_key_id as written (no id/ARN equivalence for secrets).
                problems.append(f"secret {name}: names its KMS key as '{key_ref}', the stack names it by ARN; "
                                f"expected `aws secretsmanager update-secret --secret-id {name} --kms-key-id "
                                f"{metadata['Arn']}` first (the same key: no value changes)")
            if not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
                problems.append(f"secret {name}: its KMS key {key_id} has yearly rotation off, the stack turns it on; "
                                f"expected `aws kms enable-key-rotation --key-id {key_id}` first")
            key_tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id).get("Tags") or ()}
            if key_tags != tags:
                problems.append(f"secret {name}: its KMS key {key_id} has other tags than the secret, the stack gives "
                                "both the same tags; expected the key's tags made equal to the secret's first")
    if problems:
        raise AdoptError(problems)
    return secret


def selected_names(sm, names: list[str], prefix: Optional[str], tags: list[tuple[str, str]]) -> list[str]:
    if names:
        return list(dict.fromkeys(names))
    filters = []
    if prefix:
        filters.append({"Key": "name", "Values": [prefix]})
    for key, value in tags:
        filters += [{"Key": "tag-key", "Values": [key]}, {"Key": "tag-value", "Values": [value]}]
    found = []
    for page in sm.get_paginator("list_secrets").paginate(Filters=filters):
        for item in page.get("SecretList") or ():
            item_tags = {t["Key"]: t["Value"] for t in item.get("Tags") or ()}
            if prefix and not item["Name"].startswith(prefix):
                continue
            if any(item_tags.get(k) != v for k, v in tags):
                continue
            found.append(item["Name"])
    if not found:
        what = f"--prefix {prefix}" if prefix else "--tag " + " --tag ".join(f"{k}={v}" for k, v in tags)
        raise AdoptError(f"{what}: no secret matches")
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# The stack file


def render_entries(entries: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(entries), sort_keys=False, width=10_000, allow_unicode=True)


def insert_entries(text: str, entries: Mapping[str, Any], section: str = "app-secrets:secrets") -> Optional[str]:
    """The stack file's text with the entries under `<section>:` (other lines, comments included,
    untouched), or None when they cannot be placed safely. Pure."""
    import yaml

    if not entries:
        return text
    before = yaml.safe_load(text) or {}
    fragment = render_entries(entries)
    lines = text.splitlines(keepends=True)
    head = next((i for i, line in enumerate(lines) if re.match(rf"^(\s+){re.escape(section)}:\s*(#.*)?$", line)), None)
    if head is not None:
        indent = len(lines[head]) - len(lines[head].lstrip()) + 2
        body = "".join(" " * indent + line if line.strip() else line for line in fragment.splitlines(keepends=True))
        new = "".join(lines[:head + 1]) + body + "".join(lines[head + 1:])
    elif set(before) == {"config"}:
        body = "".join("    " + line for line in fragment.splitlines(keepends=True))
        new = text + ("" if text.endswith("\n") else "\n") + f"  {section}:\n" + body
    else:
        return None
    try:
        after = yaml.safe_load(new) or {}
    except yaml.YAMLError:
        return None
    expected = json.loads(json.dumps(before))
    config = expected.setdefault("config", {})
    config[section] = {**(config.get(section) or {}), **entries}
    return new if json.loads(json.dumps(after)) == expected else None


# ---------------------------------------------------------------------------------------------
# Command


def build_parser(parser: argparse.ArgumentParser) -> None:
    from .envcmd import add_aws_options

    parser.add_argument("--stack", required=True, help="the stack whose file gets the entries")
    pick = parser.add_mutually_exclusive_group(required=True)
    pick.add_argument("--secret", action="append", metavar="NAME", help="a secret name or ARN (repeatable)")
    pick.add_argument("--prefix", help="every secret whose name starts with this")
    pick.add_argument("--tag", action="append", metavar="KEY=VALUE", help="every secret with this tag (repeatable: all)")
    parser.add_argument("--type", choices=("user-managed", "random"), default="user-managed",
                        help="the entries' type: user-managed (default) or random (variables added later are generated)")
    parser.add_argument("--write", action="store_true", help="put the entries into the stack file (default: print them)")
    parser.add_argument("--username", help="an RDS admin login's user (a `databases:` entry needs it)")
    parser.add_argument("--identifier", help="an RDS admin login's DB instance (default: from rds-postgres-<identifier>)")
    add_aws_options(parser, endpoint="Secrets Manager and KMS")


def cmd_adopt(args: argparse.Namespace) -> int:
    import sys

    from app_secrets.naming import STACK_NAME_PATTERN

    from .envcmd import CommandError, error_parts, make_session, resolve_region
    from .offline import StackFileError, load_project, read_yaml

    if not STACK_NAME_PATTERN.match(args.stack):
        raise AdoptError(f"--stack {args.stack!r}: expected a stack name (letters, digits, '-', '_', '.')")
    tags = []
    for item in args.tag or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise AdoptError(f"--tag {item!r}: expected KEY=VALUE")
        tags.append((key, value))
    try:
        project = load_project(args.project_dir)
        path = project.stack_config_dir / f"Pulumi.{args.stack}.yaml"
        if not path.is_file():
            raise AdoptError(f"{path}: no such stack file; create the stack first (pulumi stack init {args.stack})")
        doc = read_yaml(path) or {}
    except StackFileError as error:
        raise AdoptError(str(error)) from None
    config = doc.get("config") or {}
    if config.get("app-secrets:reviewStack") is True:
        raise AdoptError(f"{path}: a review stack's secrets are short-lived copies; adopt into a long-lived stack")
    if config.get("app-secrets:sharedKmsKey") is True:
        raise AdoptError(f"{path}: app-secrets:sharedKmsKey is true, which would move adopted secrets to the "
                         "stack's shared key; adopt into a stack without it")
    stack_region = config.get("aws:region") if isinstance(config.get("aws:region"), str) else None
    try:
        region = resolve_region(args.region, stack_region, f"{path.name}: aws:region")
        session = make_session(region, args.profile, args.role_arn)
        sm = session.client("secretsmanager", endpoint_url=args.endpoint_url or None)
        kms = session.client("kms", endpoint_url=args.endpoint_url or None)
    except CommandError as error:
        raise AdoptError(str(error), error.code) from None

    from botocore.exceptions import BotoCoreError, ClientError

    own = config.get("app-secrets:secrets") or {}
    owners = managed_elsewhere(project, args.stack)
    taken = set(own) | set(config.get("app-secrets:databases") or {})
    entries: dict[str, Any] = {}
    logins: dict[str, Any] = {}   # RDS admin logins go under app-secrets:databases
    report: list[str] = []
    problems: list[str] = []
    try:
        for name in selected_names(sm, args.secret or [], args.prefix, tags):
            try:
                secret = inspect(sm, kms, name)
            except AdoptError as error:
                problems += error.lines
                continue
            except ClientError as error:
                code, message = error_parts(error)
                if code == "ResourceNotFoundException":
                    problems.append(f"--secret {name}: no such secret in {region or 'the default region'}")
                    continue
                raise
            owner = owners.get(secret.name) or owners.get(secret.arn)
            if owner:
                problems.append(f"secret {secret.name} is already managed by {owner}; a secret belongs to one stack")
                continue
            key = entry_key(secret.name, taken)
            reading = read_secret_policy(secret.secret_policy)
            if secret.login:
                identifier = args.identifier or (secret.name[len("rds-postgres-"):]
                                                 if secret.name.startswith("rds-postgres-") else None)
                if not args.username or not identifier:
                    problems.append(f"secret {secret.name} is an RDS admin login (rds-postgres/admin-login): expected "
                                    + ("--username (its admin user; adopt copies nothing out of a value)"
                                       if not args.username else "--identifier (its DB instance)"))
                    continue
                logins[key] = login_entry(secret, identifier, args.username, reading)
                report.append(f"{key}: rotation stays with the function that rotates it now (rotation.enabled: "
                              "false here); to move it to this project's function set rotation.enabled: true "
                              "(strategy alternating-users, as before), then remove the old function, its role, "
                              "security group and policies; until then the policy pack's "
                              "database-login-rotation-configured rule reports it")
                if reading.readwrite:
                    report.append(f"{key}: AllowReadWrite for {', '.join(reading.readwrite)} stays in the live "
                                  "policy; `databases:` entries have no readwritePrincipals")
            else:
                entries[key] = stack_entry(secret, args.type, reading)
            report += [f"{key}: {line}" for line in reading.unexpressed + secret.notes]
            kept = [name for name, live in (("secret policy", secret.secret_policy),
                                            ("key policy", secret.kms_key_id and secret.key_policy)) if live]
            if kept:
                # Issue 16's Denies are part of the built policies only.
                fields = ", ".join(f"adopted.{f}" for f, live in (("secretPolicy", secret.secret_policy),
                                                                  ("keyPolicy", secret.kms_key_id and secret.key_policy))
                                   if live)
                report.append(f"{key}: its live {' and '.join(kept)} {'are' if len(kept) > 1 else 'is'} kept "
                              f"verbatim ({fields}), without this project's operator Denies; delete "
                              f"{'them' if len(kept) > 1 else 'it'} from the entry to switch to the built policies")
            if secret.rotation:
                report.append(f"{key}: {secret.rotation}")
            if not secret.secret_policy:
                report.append(f"{key}: has no resource policy; the stack adds its own (see the plan)")
            if not secret.kms_key_id:
                report.append(f"{key}: encrypted with the AWS-managed key aws/secretsmanager, which any principal of "
                              "the account may use through Secrets Manager; kept (awsManagedKey: true); the policy pack's "
                              "secret-customer-managed-key rule reports it until it moves to a key of its own")
    except ClientError as error:
        code, message = error_parts(error)
        raise AdoptError(f"AWS refused: {code}: {message}", EXIT_FAILED) from None
    except BotoCoreError as error:
        raise AdoptError(f"could not reach AWS: {error}", EXIT_FAILED) from None
    if problems:
        raise AdoptError(problems)
    sections = [(section, found) for section, found in (("app-secrets:secrets", entries),
                                                        ("app-secrets:databases", logins)) if found]
    if args.write:
        new = path.read_text()
        for section, found in sections:
            new = insert_entries(new, found, section) if new is not None else None
        if new is None:
            raise AdoptError(f"{path}: could not place the entries without touching other lines; run without "
                             "--write and paste them there", EXIT_FAILED)
        path.write_text(new)
        for section, found in sections:
            print(f"{path}: added {', '.join(found)} under {section}")
    else:
        for section, found in sections:
            print(f"# under {section} in {path}:")
            print(render_entries(found), end="")
    if report:
        print("\nWhat the stack file does not express (left as it is in AWS):")
        for line in report:
            print(f"  - {line}")
    print(f"\nNext: python -m components plan --stack {args.stack}   (every `=` row is an import; nothing else may "
          "be replaced), then pulumi up; afterwards the adopted.import blocks may be deleted.", file=sys.stderr)
    return EXIT_OK
