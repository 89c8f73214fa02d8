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

No value is ever an output: only key names. The provider honours `AWS_ENDPOINT_URL_SECRETS_MANAGER`
(boto3's own variable), which is how the tests point it at the emulator.

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
        raise MergeError(f"secret {secret_id} has no current value to add keys to") from None
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


def _client(region: Optional[str]):
    import boto3

    return boto3.client("secretsmanager", region_name=region or None)


class SecretKeysProvider(ResourceProvider):
    """Create and update merge; delete leaves the secret alone (the Secret resource owns it)."""

    def _merge(self, props: Mapping[str, Any]) -> dict[str, Any]:
        result = merge_keys(_client(props.get("region")), props["secret_id"], dict(props.get("values") or {}))
        return {"secret_id": props["secret_id"], "region": props.get("region"),
                "key_names": sorted(props.get("key_names") or []), **result}

    def create(self, props):
        outs = self._merge(props)
        return CreateResult(id_=f"{props['secret_id']}|keys", outs=outs)

    def diff(self, _id, olds, news):
        # Only the key names matter: a changed value of an existing key is never written back.
        changed = (sorted(olds.get("key_names") or []) != sorted(news.get("key_names") or [])
                   or olds.get("secret_id") != news.get("secret_id"))
        return DiffResult(changes=changed, replaces=[], stables=["secret_id"], delete_before_replace=False)

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


def key_change_problem(secret_name: str, old_key: Optional[str], new_key: Optional[str]) -> Optional[str]:
    """Why a secret may not move to another KMS key in place, or None. Pure.

    UpdateSecret(KmsKeyId) re-encrypts only the versions labelled AWSCURRENT, AWSPENDING and
    AWSPREVIOUS; the pinned APP_SECRETS_INITIAL version and any other stay under the old key, which
    the same update then schedules for deletion (or, shared, keeps for others): they become
    unreadable, and `pulumi refresh` of the initial version fails. So the move is refused."""
    if not old_key or old_key == new_key:
        return None
    target = "a key not created yet" if new_key in (None, UNKNOWN) else new_key
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
