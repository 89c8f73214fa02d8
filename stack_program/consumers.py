"""How workloads read a secret's JSON keys: ECS, External Secrets, Secrets Store CSI, dsops.

Pure functions (no Pulumi, no AWS calls): plain strings and lists in, plain dicts or YAML text
out, so they can run inside `pulumi.Output.all(...).apply(...)` or in a script.

Every JSON key must be an upper-case environment variable name (`^[A-Z_][A-Z0-9_]*$`): dots and
hyphens break CSI `jmesPath` paths and External Secrets `property` lookups, and the key doubles
as the variable name everywhere. Bad input raises `ValueError` naming the offending value.

    ecs_secrets(arn, keys, version_stage=None, *, version_id=None) -> list[dict]
    external_secret(name, secret_name, keys, *, namespace, store_name, store_kind,
                    refresh_interval, target_name, version_stage) -> dict
    secret_store(region, *, name, namespace, kind, service_account,
                 service_account_namespace, role_arn) -> dict
    secret_provider_class(name, secret_arn, keys, *, namespace, region, sync_secret,
                          secret_name, version_stage) -> dict
    dsops_envs(secret_name, keys, *, store, env_name, version) -> dict
    dsops_secret_store(region, store="aws-sm") -> dict
    dsops_config(*parts) -> dict          # merge the two above into one dsops.yaml document
    k8s_name(text) -> str                 # turn a config key into a Kubernetes object name
    to_yaml(*docs) -> str                 # multi-document YAML, block style, keys in order
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

import yaml

ENV_VAR_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SECRET_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# Kubernetes object names (DNS-1123 subdomain).
K8S_NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# ESO refreshInterval is a Go duration such as "1h", "15m", "1h30m" or "0" (never refresh).
DURATION_PATTERN = re.compile(r"^(0|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
VERSION_STAGE_PATTERN = re.compile(r"^[A-Za-z0-9_+=.@-]{1,256}$")

ESO_API_VERSION = "external-secrets.io/v1"
CSI_API_VERSION = "secrets-store.csi.x-k8s.io/v1"
STORE_KINDS = ("SecretStore", "ClusterSecretStore")
# systmms/dsops internal/config/config.go (Config.Load) refuses any other version.
DSOPS_CONFIG_VERSION = 0


# ---------------------------------------------------------------------------------------------
# Validation


def check_keys(keys: Iterable[str]) -> list[str]:
    """The keys, sorted; ValueError on an empty list, a duplicate or a non env-var name."""
    if isinstance(keys, str):
        raise ValueError(f"keys must be a list of names, not the string {keys!r}")
    keys = list(keys)
    if not keys:
        raise ValueError("no JSON keys given: a consumer needs at least one key")
    seen = set()
    for key in keys:
        if not isinstance(key, str) or not ENV_VAR_PATTERN.match(key):
            raise ValueError(f"JSON key {key!r} is not an environment variable name (^[A-Z_][A-Z0-9_]*$); "
                             "dots and hyphens break CSI jmesPath and External Secrets property lookups")
        if key in seen:
            raise ValueError(f"JSON key {key!r} is listed twice")
        seen.add(key)
    return sorted(keys)


def _check(value: Any, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def _arn(value: Any) -> str:
    return _check(value, SECRET_ARN_PATTERN,
                  "a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)")


def _name_or_arn(value: Any) -> str:
    if isinstance(value, str) and value.startswith("arn:"):
        return _arn(value)
    return _check(value, SECRET_NAME_PATTERN, "a Secrets Manager secret name or ARN")


def _k8s(value: Any, what: str = "a Kubernetes object name") -> str:
    return _check(value, K8S_NAME_PATTERN, f"{what} (lower-case letters, digits, '-' and '.'; see k8s_name())")


def _region(value: Any) -> str:
    return _check(value, REGION_PATTERN, "an AWS region such as us-east-1")


def _stage(value: Any) -> str:
    return _check(value, VERSION_STAGE_PATTERN, "a version stage label such as AWSCURRENT")


def _metadata(name: str, namespace: Optional[str]) -> dict:
    metadata = {"name": _k8s(name)}
    if namespace is not None:
        metadata["namespace"] = _k8s(namespace, "a Kubernetes namespace")
    return metadata


def k8s_name(text: str) -> str:
    """A valid Kubernetes object name from free text: `appDb/Main` -> `appdb-main`."""
    name = re.sub(r"[^a-z0-9.-]+", "-", str(text).lower()).strip("-.")[:253].rstrip("-.")
    if not name:
        raise ValueError(f"{text!r} has no letters or digits to make a Kubernetes name from")
    return name


# ---------------------------------------------------------------------------------------------
# ECS


def ecs_secrets(secret_arn: str, keys: list[str], version_stage: Optional[str] = None, *,
                version_id: Optional[str] = None) -> list[dict]:
    """The `secrets` list of an ECS container definition, one entry per JSON key, by key.

    valueFrom is `<arn>:<json-key>:<version-stage>:<version-id>`; empty fields mean AWSCURRENT.
    """
    arn = _arn(secret_arn)
    if version_stage is not None and version_id is not None:
        raise ValueError("give version_stage or version_id, not both")
    stage = _stage(version_stage) if version_stage is not None else ""
    vid = _check(version_id, re.compile(r"^[A-Za-z0-9-]{32,64}$"), "a version id") if version_id is not None else ""
    return [{"name": key, "valueFrom": f"{arn}:{key}:{stage}:{vid}"} for key in check_keys(keys)]


# ---------------------------------------------------------------------------------------------
# External Secrets Operator


def external_secret(name: str, secret_name: str, keys: list[str], *, namespace: Optional[str] = None,
                    store_name: str = "aws-secrets-manager", store_kind: str = "SecretStore",
                    refresh_interval: str = "1h", target_name: Optional[str] = None,
                    version_stage: Optional[str] = None) -> dict:
    """An ExternalSecret copying each JSON key of `secret_name` (name or ARN) into a k8s Secret."""
    if store_kind not in STORE_KINDS:
        raise ValueError(f"store_kind {store_kind!r} is not one of {', '.join(STORE_KINDS)}")
    remote_key = _name_or_arn(secret_name)
    data = []
    for key in check_keys(keys):
        ref = {"key": remote_key, "property": key}
        if version_stage is not None:
            ref["version"] = _stage(version_stage)
        data.append({"secretKey": key, "remoteRef": ref})
    return {
        "apiVersion": ESO_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": _metadata(name, namespace),
        "spec": {
            "refreshInterval": _check(refresh_interval, DURATION_PATTERN, "a duration such as 1h or 15m"),
            "secretStoreRef": {"name": _k8s(store_name), "kind": store_kind},
            "target": {"name": _k8s(target_name or name), "creationPolicy": "Owner"},
            "data": data,
        },
    }


def secret_store(region: str, *, name: str = "aws-secrets-manager", namespace: Optional[str] = None,
                 kind: str = "SecretStore", service_account: Optional[str] = None,
                 service_account_namespace: Optional[str] = None, role_arn: Optional[str] = None) -> dict:
    """The (Cluster)SecretStore for `external_secret`: AWS Secrets Manager in `region`.

    With `service_account`, the operator authenticates as that service account (IRSA / `jwt`);
    without it, with the controller's own credentials. `role_arn` is a role the operator assumes.
    A ClusterSecretStore has no namespace and needs `service_account_namespace` for IRSA.
    """
    if kind not in STORE_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(STORE_KINDS)}")
    if kind == "ClusterSecretStore" and namespace is not None:
        raise ValueError("a ClusterSecretStore is cluster-scoped: it takes no namespace")
    if kind == "ClusterSecretStore" and service_account and not service_account_namespace:
        raise ValueError("a ClusterSecretStore needs service_account_namespace with service_account")
    aws: dict[str, Any] = {"service": "SecretsManager", "region": _region(region)}
    if role_arn is not None:
        aws["role"] = _check(role_arn, re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"), "an IAM role ARN")
    if service_account is not None:
        ref = {"name": _k8s(service_account, "a service account name")}
        if service_account_namespace is not None:
            ref["namespace"] = _k8s(service_account_namespace, "a Kubernetes namespace")
        aws["auth"] = {"jwt": {"serviceAccountRef": ref}}
    elif service_account_namespace is not None:
        raise ValueError("service_account_namespace needs service_account")
    return {
        "apiVersion": ESO_API_VERSION,
        "kind": kind,
        "metadata": _metadata(name, namespace),
        "spec": {"provider": {"aws": aws}},
    }


# ---------------------------------------------------------------------------------------------
# Secrets Store CSI driver, AWS provider (ASCP)


def secret_provider_class(name: str, secret_arn: str, keys: list[str], *, namespace: Optional[str] = None,
                          region: Optional[str] = None, sync_secret: bool = False,
                          secret_name: Optional[str] = None, version_stage: Optional[str] = None) -> dict:
    """A SecretProviderClass mounting each JSON key as a file named after the key.

    `spec.parameters.objects` is YAML text (the driver's format). With `sync_secret`, the mounted
    files are also synced into the Kubernetes Secret `secret_name` (default: `name`) under the
    same keys, ready for `envFrom` - the driver creates it only while a pod mounts the volume.
    """
    arn = _name_or_arn(secret_arn)
    keys = check_keys(keys)
    obj: dict[str, Any] = {"objectName": arn, "objectType": "secretsmanager"}
    if version_stage is not None:
        obj["objectVersionLabel"] = _stage(version_stage)
    obj["jmesPath"] = [{"path": key, "objectAlias": key} for key in keys]
    parameters = {"objects": _dump([obj])}
    if region is not None:
        parameters["region"] = _region(region)
    spec: dict[str, Any] = {"provider": "aws", "parameters": parameters}
    if sync_secret:
        spec["secretObjects"] = [{
            "secretName": _k8s(secret_name or name),
            "type": "Opaque",
            "data": [{"objectName": key, "key": key} for key in keys],
        }]
    elif secret_name is not None:
        raise ValueError("secret_name is only used with sync_secret=True")
    return {"apiVersion": CSI_API_VERSION, "kind": "SecretProviderClass",
            "metadata": _metadata(name, namespace), "spec": spec}


# ---------------------------------------------------------------------------------------------
# dsops


def dsops_store_uri(store: str, secret: str, version: Optional[str] = None) -> str:
    """A dsops `store://<store>/<key>[?version=V]` reference, as dsops' ParseSecretRef reads it
    (systmms/dsops pkg/secretstore/secretstore.go: the store is what precedes the first `/`, the
    key may hold further `/`; `#` starts a field and `?` the options, so neither may be in the
    key - Secrets Manager names never hold them)."""
    uri = f"store://{store}/{secret}"
    if version is not None:
        uri += f"?version={version}"
    return uri


def dsops_envs(secret_name: str, keys: list[str], *, store: str = "aws-sm", env_name: str = "default",
               version: Optional[str] = None) -> dict:
    """dsops `envs`: each variable read from `secret_name` and cut out with `json_extract`.

    `from.store` is a `store://` URI: dsops' loader takes that or the legacy `{provider, key}`
    (its docs' `{store: aws-sm, key: ...}` is refused: `aws-sm` is not a URI)."""
    key = _name_or_arn(secret_name)
    store = _check(store, re.compile(r"^[A-Za-z0-9_.-]+$"), "a dsops store name")
    env_name = _check(env_name, re.compile(r"^[A-Za-z0-9_.-]+$"), "a dsops environment name")
    if version is not None:
        version = _check(version, re.compile(r"^[A-Za-z0-9_+=.@-]{1,256}$"), "a version stage or id")
    variables = {}
    for var in check_keys(keys):
        variables[var] = {"from": {"store": dsops_store_uri(store, key, version)}, "transform": f"json_extract:.{var}"}
    return {"envs": {env_name: variables}}


def dsops_secret_store(region: str, store: str = "aws-sm") -> dict:
    store = _check(store, re.compile(r"^[A-Za-z0-9_.-]+$"), "a dsops store name")
    return {"secretStores": {store: {"type": "aws.secretsmanager", "region": _region(region)}}}


def dsops_config(*parts: dict) -> dict:
    """One `dsops.yaml` document (`version: 0`, the only one dsops' loader accepts) from `dsops_secret_store` / `dsops_envs` results.

    Raises ValueError when two parts define the same store differently or the same variable of
    an environment twice (two secrets exporting one name).
    """
    stores: dict[str, Any] = {}
    envs: dict[str, dict[str, Any]] = {}
    for part in parts:
        unknown = set(part) - {"secretStores", "envs"}
        if unknown:
            raise ValueError(f"unexpected dsops section(s): {', '.join(sorted(unknown))}")
        for store, definition in (part.get("secretStores") or {}).items():
            if store in stores and stores[store] != definition:
                raise ValueError(f"dsops store {store!r} is defined twice, differently")
            stores[store] = definition
        for env, variables in (part.get("envs") or {}).items():
            target = envs.setdefault(env, {})
            for var, definition in variables.items():
                if var in target:
                    raise ValueError(f"dsops env {env!r}: variable {var!r} comes from two secrets")
                target[var] = definition
    doc: dict[str, Any] = {"version": DSOPS_CONFIG_VERSION}
    if stores:
        doc["secretStores"] = stores
    if envs:
        doc["envs"] = {env: dict(sorted(v.items())) for env, v in envs.items()}
    return doc


# ---------------------------------------------------------------------------------------------
# One app: every secret it reads, in one document of each kind (issue 18)


def _check_app_keys(sources: list[tuple[str, list[str]]]) -> None:
    owner: dict[str, str] = {}
    for secret, keys in sources:
        for key in check_keys(keys):
            if key in owner:
                raise ValueError(f"JSON key {key!r} comes from both {owner[key]} and {secret}; "
                                 "one app's environment takes each variable once")
            owner[key] = secret


def app_ecs_secrets(sources: list[tuple[str, list[str]]]) -> list[dict]:
    """The ECS container `secrets` list of an app: (secret ARN, keys) pairs, by variable."""
    _check_app_keys(sources)
    return sorted((entry for arn, keys in sources for entry in ecs_secrets(arn, keys)), key=lambda e: e["name"])


def app_external_secret(name: str, sources: list[tuple[str, list[str]]], **options: Any) -> dict:
    """One ExternalSecret (so one Kubernetes Secret) holding every variable of an app:
    (secret name or ARN, keys) pairs. Options as external_secret()."""
    _check_app_keys(sources)
    documents = [external_secret(name, secret, keys, **options) for secret, keys in sources]
    if not documents:
        raise ValueError("an app needs at least one secret")
    merged = documents[0]
    merged["spec"]["data"] = sorted((d for doc in documents for d in doc["spec"]["data"]),
                                    key=lambda d: d["secretKey"])
    return merged


def app_secret_provider_class(name: str, sources: list[tuple[str, list[str]]], **options: Any) -> dict:
    """One SecretProviderClass mounting every variable of an app: (secret ARN, keys) pairs."""
    _check_app_keys(sources)
    documents = [secret_provider_class(name, arn, keys, **options) for arn, keys in sources]
    if not documents:
        raise ValueError("an app needs at least one secret")
    merged = documents[0]
    objects = [obj for doc in documents for obj in yaml.safe_load(doc["spec"]["parameters"]["objects"])]
    merged["spec"]["parameters"]["objects"] = _dump(objects)
    if "secretObjects" in merged["spec"]:
        merged["spec"]["secretObjects"][0]["data"] = sorted(
            (d for doc in documents for d in doc["spec"]["secretObjects"][0]["data"]), key=lambda d: d["key"])
    return merged


# ---------------------------------------------------------------------------------------------
# YAML


# libyaml's emitter when PyYAML has it (the wheels do): the same output, many times faster, which
# matters for stacks with thousands of secrets.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):
    """Block style, no anchors/aliases, multi-line strings as `|` literals."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - same dict twice is written twice
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def to_yaml(*docs: Any) -> str:
    """Documents as one multi-document YAML text, each starting with `---`, keys as given."""
    if not docs:
        raise ValueError("to_yaml needs at least one document")
    return yaml.dump_all(list(docs), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         explicit_start=True, allow_unicode=True, width=4096)
