"""SecretKeys and KmsKeyGuard, two Pulumi dynamic resources (boto3 underneath) that keep a
secret's data safe when its config changes.

SecretKeys adds the variables a stack file gained to a secret that already exists, without
touching anything else in it (a Pulumi dynamic resource, boto3 underneath).

The initial `SecretVersion` ignores changes to its value, so hand edits survive `pulumi up`; the
price is that a variable added to the stack file later would never reach AWS. This resource
closes that gap: on every create/update it reads the live JSON (AWSCURRENT), and when keys of
the config are missing, writes ONE new version = the live JSON + the missing keys (their initial,
generated or empty value). Existing keys and hand edits stay as they are; keys dropped from the
config stay in the secret and are reported (`extra_keys`), never deleted.

| input | type | meaning |
|---|---|---|
| secret_id | Input[str] | ARN of the secret |
| key_names | list[str] | the config's keys (plain: what the plan and the diff compare) |
| values | Input[dict[str, str]] (secret) | the config's value per key; used only for missing keys |
| region | Input[str] | the secret's region |

| output | meaning |
|---|---|
| present_keys | config keys the live secret holds after the merge |
| added_keys | keys this run wrote |
| extra_keys | keys in the secret the config no longer has (left in place) |

No value is ever an output: only key names. The merge writes as the stack's aws provider does:
it reads `aws:region`, `aws:profile`, `aws:assumeRoles`, the shared files, `aws:endpoints`, ... from
the stack config the engine passes to `configure` (see "The stack's AWS identity" below) and
refuses at `check` (preview) a setting it cannot honour. boto3's own variables (e.g.
`AWS_ENDPOINT_URL_SECRETS_MANAGER`) still apply where the config says nothing.

Both providers are pickled into state by import path (`app_secrets.key_merge.<Class>`): destroy
and refresh of every deployed stack need those paths importable forever; a class that moves
keeps an alias here (tests/test_dynamic_provider_process.py pins them).

KmsKeyGuard is registered before its secret (the secret depends on it) and holds the key the
secret is encrypted with; when a config edit would move the secret to another key, its `check`
fails at preview time with one message saying how to migrate (see `key_change_problem`).

| input | type | meaning |
|---|---|---|
| secret_name | str | for the message |
| kms_key_id | Input[str] | the key the secret uses |
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.dynamic import Resource as DynamicResource

OUTPUT_KEYS = ("present_keys", "added_keys", "extra_keys")


class MergeError(Exception):
    """One line, never a value."""


def plan_merge(live: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """(new JSON, added keys, extra keys): the live JSON with the missing config keys added. Pure."""
    added = sorted(k for k in values if k not in live)
    extra = sorted(k for k in live if k not in values)
    merged = dict(live)
    for key in added:
        merged[key] = values[key]
    return merged, added, extra


def merge_keys(client, secret_id: str, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Add the keys of `values` the live secret lacks, as one new AWSCURRENT version."""
    try:
        current = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    except client.exceptions.ResourceNotFoundException:
        raise MergeError(f"secret {secret_id} has no current value to add keys to (or is not found with the "
                         "stack's AWS credentials and region)") from None
    try:
        live = json.loads(current.get("SecretString") or "")
    except ValueError:
        live = None
    if not isinstance(live, dict):
        raise MergeError(f"secret {secret_id}: the current value is not a JSON object, so new keys cannot be "
                         "added; fix the value by hand (keys " + ", ".join(sorted(values)) + ")")
    merged, added, extra = plan_merge(live, values)
    if added:
        # Same token for the same base version and keys: a retried update writes nothing twice.
        seed = f"{current['VersionId']}|{','.join(added)}".encode()
        token = str(uuid.UUID(hashlib.sha256(seed).hexdigest()[:32]))
        client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(merged, sort_keys=True),
                                ClientRequestToken=token)
    return {"present_keys": sorted(k for k in values if k in merged),
            "added_keys": added, "extra_keys": extra}


# ---------------------------------------------------------------------------------------------
# The stack's AWS identity
#
# The merge must write as the stack's aws provider does, or the key policy refuses it (after the
# secret, its version and policy exist) or it lands in another account. The engine gives a
# dynamic provider the whole stack config, keys kept namespaced (`aws:region`, ...), in
# Configure (pulumi/pulumi pkg/resource/deploy/target.go:51-70, GetPackageConfig); the SDK's
# `python -m pulumi.dynamic` passes it to `ResourceProvider.configure` (pulumi/dynamic/__main__.py,
# get_provider). PULUMI_CONFIG holds only `pulumi-python:` keys (pkg/host/host.go, Provider).
# Values arrive as strings; lists and maps as JSON text.

# aws: keys the merge applies itself.
AWS_HONOURED = ("aws:region", "aws:profile", "aws:accessKey", "aws:secretKey", "aws:token", "aws:assumeRoles",
                "aws:sharedConfigFiles", "aws:sharedCredentialsFiles", "aws:endpoints", "aws:stsRegion",
                "aws:allowedAccountIds", "aws:forbiddenAccountIds", "aws:customCaBundle", "aws:maxRetries",
                "aws:useFipsEndpoint", "aws:useDualstackEndpoint")
# aws: keys that do not change who writes or where (tags, validation shortcuts, S3, user agent).
AWS_WITHOUT_EFFECT = ("aws:defaultTags", "aws:ignoreTags", "aws:skipCredentialsValidation",
                      "aws:skipMetadataApiCheck", "aws:skipRegionValidation", "aws:skipRequestingAccountId",
                      "aws:s3UsePathStyle", "aws:s3UsEast1RegionalEndpoint", "aws:tagPolicyCompliance",
                      "aws:userAgents", "aws:retryMode", "aws:tokenBucketRateLimiterCapacity", "aws:version")
ASSUME_ROLE_FIELDS = ("roleArn", "sessionName", "externalId", "duration", "policy", "policyArns",
                      "sourceIdentity", "tags", "transitiveTagKeys")
DEFAULT_SESSION_NAME = "app-secrets-key-merge"


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _truthy(value: Any) -> bool:
    return _parsed(value) is True


_DURATION_UNITS = {"h": 3600, "m": 60, "s": 1}


def duration_seconds(text: str) -> Optional[int]:
    """A Go duration of whole h/m/s (`1h`, `15m`, `1h30m`) in seconds, or None. Pure."""
    import re

    parts = re.findall(r"(\d+)([hms])", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _DURATION_UNITS[u] for n, u in parts)


def aws_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's aws provider settings the merge applies, from the config the engine passes.
    Raises MergeError (one line, naming the key) for a setting it cannot honour. Pure."""
    problems = []
    for key in sorted(k for k in config if k.startswith("aws:")):
        if key not in AWS_HONOURED and key not in AWS_WITHOUT_EFFECT and config.get(key) not in (None, ""):
            problems.append(key)
    if problems:
        raise MergeError("stack config " + ", ".join(problems) + " cannot be honoured by the key merge (SecretKeys, "
                         "a dynamic provider), which would then write with other credentials than the stack's aws "
                         "provider; remove it, or use aws:profile / aws:assumeRoles instead")
    identity: dict[str, Any] = {}
    for key in ("region", "profile", "accessKey", "secretKey", "token", "stsRegion", "customCaBundle"):
        value = config.get(f"aws:{key}")
        if value not in (None, ""):
            identity[key] = str(value)
    for key in ("sharedConfigFiles", "sharedCredentialsFiles"):
        files = _parsed(config.get(f"aws:{key}"))
        if files in (None, "", []):
            continue
        files = [files] if isinstance(files, str) else files
        if not isinstance(files, list) or len(files) != 1:
            raise MergeError(f"stack config aws:{key}: the key merge (boto3) reads one file, got {len(files)}; "
                             "keep one file")
        identity[key] = str(files[0])
    roles = _parsed(config.get("aws:assumeRoles")) or []
    roles = [roles] if isinstance(roles, dict) else roles
    chain = []
    for i, role in enumerate(roles if isinstance(roles, list) else [None]):
        if not isinstance(role, dict) or not role.get("roleArn"):
            raise MergeError(f"stack config aws:assumeRoles[{i}]: expected a map with roleArn")
        unknown = sorted(set(role) - set(ASSUME_ROLE_FIELDS))
        if unknown:
            raise MergeError(f"stack config aws:assumeRoles[{i}]: {', '.join(unknown)} cannot be honoured by the key "
                             "merge (expected " + ", ".join(ASSUME_ROLE_FIELDS) + ")")
        if role.get("duration") and duration_seconds(str(role["duration"])) is None:
            raise MergeError(f"stack config aws:assumeRoles[{i}].duration: expected whole hours, minutes or "
                             f"seconds such as 1h or 15m, got {role['duration']!r}")
        chain.append(role)
    if chain:
        identity["assumeRoles"] = chain
    endpoints: dict[str, str] = {}
    for entry in _parsed(config.get("aws:endpoints")) or []:
        if isinstance(entry, dict):
            endpoints.update({k: v for k, v in entry.items() if k in ("secretsmanager", "sts") and v})
    if endpoints:
        identity["endpoints"] = endpoints
    for key in ("allowedAccountIds", "forbiddenAccountIds"):
        ids = _parsed(config.get(f"aws:{key}"))
        if ids:
            identity[key] = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
    retries = _parsed(config.get("aws:maxRetries"))
    if isinstance(retries, int) and not isinstance(retries, bool):
        identity["maxRetries"] = retries
    for key in ("useFipsEndpoint", "useDualstackEndpoint"):
        if _truthy(config.get(f"aws:{key}")):
            identity[key] = True
    return identity


def aws_session(identity: Mapping[str, Any]):
    """A boto3 session acting as the stack's aws provider: static keys, or the profile and shared
    files, then each `assumeRoles` entry in turn (as the Terraform AWS provider chains them)."""
    import boto3
    import botocore.session

    region = identity.get("region")
    if identity.get("accessKey"):
        session = boto3.Session(aws_access_key_id=identity["accessKey"], aws_secret_access_key=identity.get("secretKey"),
                                aws_session_token=identity.get("token"), region_name=region)
    else:
        import os

        core = botocore.session.Session()
        if identity.get("sharedConfigFiles"):
            core.set_config_variable("config_file", os.path.expanduser(identity["sharedConfigFiles"]))
        if identity.get("sharedCredentialsFiles"):
            core.set_config_variable("credentials_file", os.path.expanduser(identity["sharedCredentialsFiles"]))
        if identity.get("profile"):
            core.set_config_variable("profile", identity["profile"])
        session = boto3.Session(botocore_session=core, region_name=region)
    for role in identity.get("assumeRoles") or ():
        sts = session.client("sts", region_name=identity.get("stsRegion") or region, **_client_options(identity, "sts"))
        request: dict[str, Any] = {"RoleArn": role["roleArn"],
                                   "RoleSessionName": role.get("sessionName") or DEFAULT_SESSION_NAME}
        if role.get("externalId"):
            request["ExternalId"] = role["externalId"]
        if role.get("duration"):
            request["DurationSeconds"] = duration_seconds(str(role["duration"]))
        if role.get("policy"):
            request["Policy"] = role["policy"]
        if role.get("policyArns"):
            request["PolicyArns"] = [{"arn": arn} for arn in role["policyArns"]]
        if role.get("sourceIdentity"):
            request["SourceIdentity"] = role["sourceIdentity"]
        if role.get("tags"):
            request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(role["tags"].items())]
        if role.get("transitiveTagKeys"):
            request["TransitiveTagKeys"] = list(role["transitiveTagKeys"])
        credentials = sts.assume_role(**request)["Credentials"]
        session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                aws_secret_access_key=credentials["SecretAccessKey"],
                                aws_session_token=credentials["SessionToken"], region_name=region)
    allowed, forbidden = identity.get("allowedAccountIds"), identity.get("forbiddenAccountIds")
    if allowed or forbidden:
        sts = session.client("sts", region_name=identity.get("stsRegion") or region, **_client_options(identity, "sts"))
        account = sts.get_caller_identity()["Account"]
        if (allowed and account not in allowed) or (forbidden and account in forbidden):
            raise MergeError(f"the stack's credentials act in account {account}, which aws:allowedAccountIds / "
                             "aws:forbiddenAccountIds exclude")
    return session


def _client_options(identity: Mapping[str, Any], service: str) -> dict[str, Any]:
    from botocore.config import Config as BotoConfig

    options: dict[str, Any] = {}
    endpoint = (identity.get("endpoints") or {}).get(service)
    if endpoint:
        options["endpoint_url"] = endpoint
    if identity.get("customCaBundle"):
        options["verify"] = identity["customCaBundle"]
    settings: dict[str, Any] = {}
    if "maxRetries" in identity:
        settings["retries"] = {"total_max_attempts": identity["maxRetries"] + 1}
    if identity.get("useFipsEndpoint"):
        settings["use_fips_endpoint"] = True
    if identity.get("useDualstackEndpoint"):
        settings["use_dualstack_endpoint"] = True
    if settings:
        options["config"] = BotoConfig(**settings)
    return options


def _client(region: Optional[str], identity: Optional[Mapping[str, Any]] = None):
    identity = identity or {}
    session = aws_session(identity)
    return session.client("secretsmanager", region_name=region or identity.get("region") or None,
                          **_client_options(identity, "secretsmanager"))


class SecretKeysProvider(ResourceProvider):
    """Create and update merge; delete leaves the secret alone (the Secret resource owns it)."""

    # Set by configure() from the stack config the engine passes; a setting the merge cannot
    # honour is kept as a message and refused by check(), i.e. at preview.
    _identity: Optional[dict] = None
    _identity_problem: Optional[str] = None

    def configure(self, req) -> None:
        raw = getattr(req.config, "_props", None) or {}
        try:
            self._identity, self._identity_problem = aws_identity(raw), None
        except MergeError as error:
            self._identity, self._identity_problem = None, str(error)

    def check(self, _olds, news):
        from pulumi.dynamic import CheckFailure, CheckResult

        if self._identity_problem:
            return CheckResult(news, [CheckFailure("secret_id", self._identity_problem)])
        return CheckResult(news, [])

    def _merge(self, props: Mapping[str, Any]) -> dict[str, Any]:
        if self._identity_problem:
            raise MergeError(self._identity_problem)
        result = merge_keys(_client(props.get("region"), self._identity), props["secret_id"],
                            dict(props.get("values") or {}))
        return {"secret_id": props["secret_id"], "region": props.get("region"),
                "key_names": sorted(props.get("key_names") or []), **result}

    def create(self, props):
        outs = self._merge(props)
        return CreateResult(id_=f"{props['secret_id']}|keys", outs=outs)

    def diff(self, _id, olds, news):
        # Only the key names matter: a changed value of an existing key is never written back.
        changed = (sorted(olds.get("key_names") or []) != sorted(news.get("key_names") or [])
                   or olds.get("secret_id") != news.get("secret_id"))
        # No `stables`: pulumi.dynamic sends only changes, replaces and deleteBeforeReplace to the engine
        # (pulumi 3.272, pulumi/dynamic/__main__.py, Diff); tests/test_dynamic_provider_process.py reads the wire.
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id, _olds, news):
        return UpdateResult(outs=self._merge(news))

    def delete(self, _id, _props):
        return None


class SecretKeys(DynamicResource, module="app-secrets", name="SecretKeys"):
    present_keys: pulumi.Output[list]
    added_keys: pulumi.Output[list]
    extra_keys: pulumi.Output[list]

    def __init__(self, name: str, *, secret_id: pulumi.Input[str], key_names: list[str],
                 values: pulumi.Input[Mapping[str, str]], region: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["values"]))
        super().__init__(SecretKeysProvider(), name, {
            "secret_id": secret_id,
            "key_names": sorted(key_names),
            "values": pulumi.Output.secret(values),
            "region": region,
            **{key: None for key in OUTPUT_KEYS},
        }, opts)


# ---------------------------------------------------------------------------------------------
# KMS key changes

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value not known yet


def _unknown(value: Any) -> bool:
    """A value not known at preview: the engine's marker string, or the `pulumi.output.Unknown`
    the provider process gets from `rpc.deserialize_properties(..., keep_unknowns=True)` (Check)."""
    from pulumi.output import Unknown

    return value is None or value == UNKNOWN or isinstance(value, Unknown)


def key_change_problem(secret_name: str, old_key: Optional[str], new_key: Optional[str]) -> Optional[str]:
    """Why a secret may not move to another KMS key in place, or None. Pure.

    UpdateSecret(KmsKeyId) re-encrypts only the versions labelled AWSCURRENT, AWSPENDING and
    AWSPREVIOUS; the pinned APP_SECRETS_INITIAL version and any other stay under the old key, which
    the same update then schedules for deletion (or, shared, keeps for others): they become
    unreadable, and `pulumi refresh` of the initial version fails. So the move is refused."""
    if not old_key or old_key == new_key:
        return None
    target = "a key not created yet" if _unknown(new_key) else new_key
    return (f"secret {secret_name}: its KMS key would change from {old_key} to {target} (e.g. sharedKmsKey "
            "was toggled). Secrets Manager re-encrypts only the AWSCURRENT/AWSPENDING/AWSPREVIOUS versions and the "
            "old key would be deleted, so older versions would become unreadable. Revert the edit; to move the "
            "secret, add a new entry (new key and `name`), copy the values over (`python -m components env "
            "--secret ... --reveal`, then put them), switch consumers, and remove the old entry afterwards "
            "(README: Changing a stack safely).")


class KmsKeyGuardProvider(ResourceProvider):
    """Holds the key a secret is encrypted with; refuses a change at preview (check)."""

    def check(self, olds, news):
        problem = key_change_problem(str(news.get("secret_name")), (olds or {}).get("kms_key_id"),
                                     news.get("kms_key_id"))
        if problem:
            from pulumi.dynamic import CheckFailure, CheckResult
            return CheckResult(news, [CheckFailure("kms_key_id", problem)])
        from pulumi.dynamic import CheckResult
        return CheckResult(news, [])

    def create(self, props):
        return CreateResult(id_=f"{props['secret_name']}|kms-key", outs=dict(props))

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"), replaces=[],
                          delete_before_replace=False)

    def update(self, _id, _olds, news):
        return UpdateResult(outs=dict(news))

    def delete(self, _id, _props):
        return None


class KmsKeyGuard(DynamicResource, module="app-secrets", name="KmsKeyGuard"):
    """Registered before its secret (which depends on it): a key change stops the update before
    the secret is touched."""

    def __init__(self, name: str, *, secret_name: str, kms_key_id: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(KmsKeyGuardProvider(), name, {"secret_name": secret_name, "kms_key_id": kms_key_id}, opts)
