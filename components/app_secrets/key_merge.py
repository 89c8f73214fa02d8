"""SecretKeys: adds the variables a stack file gained to a secret that already exists, without
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
