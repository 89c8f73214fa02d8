"""components/consumers.py: every generated document is parsed back and checked field by field."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from stack_program import consumers as c

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-Ab12Cd"
ARN_RE = re.compile(r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?P<name>.+)-[A-Za-z0-9]{6}$")
KEYS = ["PASSWORD", "DATABASE_URL", "USER"]
BAD_KEYS = ["db.host", "db-host", "password", "1ABC", "", "A B", "ÄRGER"]


# ---------------------------------------------------------------------------------------------
# ECS


def test_ecs_secrets_one_entry_per_key_sorted_and_value_from_splits():
    entries = c.ecs_secrets(ARN, KEYS)
    assert [e["name"] for e in entries] == sorted(KEYS)
    assert all(set(e) == {"name", "valueFrom"} for e in entries)
    for entry in entries:
        parts = entry["valueFrom"].split(":")
        assert len(parts) == 10  # 7 ARN fields + key + stage + version id
        arn, key, stage, version_id = ":".join(parts[:7]), parts[7], parts[8], parts[9]
        assert arn == ARN
        assert ARN_RE.match(arn).group("name") == "app/db"
        assert key == entry["name"]
        assert stage == "" and version_id == ""
    assert json.loads(json.dumps(entries)) == entries  # plain data


def test_ecs_secrets_with_stage_or_version_id():
    entries = c.ecs_secrets(ARN, ["USER"], "AWSPREVIOUS")
    assert entries == [{"name": "USER", "valueFrom": f"{ARN}:USER:AWSPREVIOUS:"}]
    vid = "01234567-89ab-cdef-0123-456789abcdef"
    assert c.ecs_secrets(ARN, ["USER"], version_id=vid) == [{"name": "USER", "valueFrom": f"{ARN}:USER::{vid}"}]
    with pytest.raises(ValueError, match="not both"):
        c.ecs_secrets(ARN, ["USER"], "AWSCURRENT", version_id=vid)


@pytest.mark.parametrize("bad", ["app/db", "arn:aws:kms:eu-west-1:123456789012:key/abc",
                                 "arn:aws:secretsmanager:eu-west-1:12345:secret:x-abcdef", ""])
def test_ecs_secrets_needs_a_secret_arn(bad):
    with pytest.raises(ValueError, match="ARN"):
        c.ecs_secrets(bad, ["USER"])


# ---------------------------------------------------------------------------------------------
# Key validation (all generators)

GENERATORS = {
    "ecs": lambda keys: c.ecs_secrets(ARN, keys),
    "eso": lambda keys: c.external_secret("app-db", "app/db", keys),
    "csi": lambda keys: c.secret_provider_class("app-db", ARN, keys),
    "dsops": lambda keys: c.dsops_envs("app/db", keys),
}


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("bad", BAD_KEYS)
def test_bad_keys_are_refused_by_name(generator, bad):
    with pytest.raises(ValueError) as raised:
        GENERATORS[generator](["USER", bad])
    assert repr(bad) in str(raised.value)


@pytest.mark.parametrize("generator", GENERATORS)
def test_empty_duplicate_and_string_keys_are_refused(generator):
    with pytest.raises(ValueError, match="at least one"):
        GENERATORS[generator]([])
    with pytest.raises(ValueError, match="twice"):
        GENERATORS[generator](["USER", "USER"])
    with pytest.raises(ValueError, match="list"):
        GENERATORS[generator]("USER")


# ---------------------------------------------------------------------------------------------
# External Secrets


def test_external_secret_maps_every_key_to_the_secret_and_property():
    doc = c.external_secret("app-db", "app/db", KEYS, namespace="web")
    (parsed,) = yaml.safe_load_all(c.to_yaml(doc))
    assert parsed == doc
    assert parsed["apiVersion"] == "external-secrets.io/v1"
    assert parsed["kind"] == "ExternalSecret"
    assert parsed["metadata"] == {"name": "app-db", "namespace": "web"}
    spec = parsed["spec"]
    assert spec["secretStoreRef"] == {"name": "aws-secrets-manager", "kind": "SecretStore"}
    assert spec["target"]["name"] == "app-db"
    assert spec["refreshInterval"] == "1h"
    assert [d["secretKey"] for d in spec["data"]] == sorted(KEYS)
    for item in spec["data"]:
        assert item["remoteRef"] == {"key": "app/db", "property": item["secretKey"]}


def test_external_secret_options():
    doc = c.external_secret("app-db", ARN, ["USER"], store_name="shared", store_kind="ClusterSecretStore",
                            refresh_interval="15m", target_name="db-env", version_stage="AWSPREVIOUS")
    assert "namespace" not in doc["metadata"]
    assert doc["spec"]["secretStoreRef"] == {"name": "shared", "kind": "ClusterSecretStore"}
    assert doc["spec"]["target"]["name"] == "db-env"
    assert doc["spec"]["refreshInterval"] == "15m"
    assert doc["spec"]["data"] == [{"secretKey": "USER",
                                    "remoteRef": {"key": ARN, "property": "USER", "version": "AWSPREVIOUS"}}]
    with pytest.raises(ValueError, match="store_kind"):
        c.external_secret("app-db", "app/db", ["USER"], store_kind="VaultStore")
    with pytest.raises(ValueError, match="Kubernetes"):
        c.external_secret("App_DB", "app/db", ["USER"])
    with pytest.raises(ValueError, match="duration"):
        c.external_secret("app-db", "app/db", ["USER"], refresh_interval="hourly")
    with pytest.raises(ValueError, match="secret name or ARN"):
        c.external_secret("app-db", "app db", ["USER"])


def test_secret_store_for_secrets_manager():
    plain = c.secret_store("eu-west-1")
    assert plain == {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                     "metadata": {"name": "aws-secrets-manager"},
                     "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}}
    irsa = c.secret_store("eu-west-1", namespace="web", service_account="app",
                          role_arn="arn:aws:iam::123456789012:role/eso-reader")
    aws = irsa["spec"]["provider"]["aws"]
    assert irsa["metadata"] == {"name": "aws-secrets-manager", "namespace": "web"}
    assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": "app"}}}
    assert aws["role"] == "arn:aws:iam::123456789012:role/eso-reader"
    cluster = c.secret_store("eu-west-1", kind="ClusterSecretStore", service_account="eso",
                             service_account_namespace="external-secrets")
    assert cluster["kind"] == "ClusterSecretStore" and "namespace" not in cluster["metadata"]
    assert cluster["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"] == {
        "name": "eso", "namespace": "external-secrets"}
    with pytest.raises(ValueError, match="service_account_namespace"):
        c.secret_store("eu-west-1", kind="ClusterSecretStore", service_account="eso")
    with pytest.raises(ValueError, match="no namespace"):
        c.secret_store("eu-west-1", kind="ClusterSecretStore", namespace="web")
    with pytest.raises(ValueError, match="region"):
        c.secret_store("Europe")


# ---------------------------------------------------------------------------------------------
# Secrets Store CSI


def test_secret_provider_class_objects_is_yaml_covering_every_key():
    doc = c.secret_provider_class("app-db", ARN, KEYS, namespace="web", region="eu-west-1")
    (parsed,) = yaml.safe_load_all(c.to_yaml(doc))
    assert parsed["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert parsed["kind"] == "SecretProviderClass"
    assert parsed["metadata"] == {"name": "app-db", "namespace": "web"}
    spec = parsed["spec"]
    assert spec["provider"] == "aws"
    assert "secretObjects" not in spec
    # The CRD types parameters as map[string]string.
    assert all(isinstance(v, str) for v in spec["parameters"].values())
    assert spec["parameters"]["region"] == "eu-west-1"
    objects = yaml.safe_load(spec["parameters"]["objects"])
    assert isinstance(objects, list) and len(objects) == 1
    (obj,) = objects
    assert obj["objectName"] == ARN
    assert obj["objectType"] == "secretsmanager"
    assert "objectVersionLabel" not in obj
    assert obj["jmesPath"] == [{"path": k, "objectAlias": k} for k in sorted(KEYS)]


def test_secret_provider_class_sync_to_kubernetes_secret_and_stage():
    doc = c.secret_provider_class("app-db", ARN, ["USER", "PASSWORD"], sync_secret=True,
                                  secret_name="app-db-env", version_stage="AWSPREVIOUS")
    assert "region" not in doc["spec"]["parameters"]
    (synced,) = doc["spec"]["secretObjects"]
    assert synced["secretName"] == "app-db-env" and synced["type"] == "Opaque"
    aliases = {j["objectAlias"] for j in yaml.safe_load(doc["spec"]["parameters"]["objects"])[0]["jmesPath"]}
    # Every synced entry names a mounted object alias and keeps the env-var key.
    assert synced["data"] == [{"objectName": "PASSWORD", "key": "PASSWORD"}, {"objectName": "USER", "key": "USER"}]
    assert {d["objectName"] for d in synced["data"]} == aliases
    assert yaml.safe_load(doc["spec"]["parameters"]["objects"])[0]["objectVersionLabel"] == "AWSPREVIOUS"
    default = c.secret_provider_class("app-db", ARN, ["USER"], sync_secret=True)
    assert default["spec"]["secretObjects"][0]["secretName"] == "app-db"
    with pytest.raises(ValueError, match="sync_secret"):
        c.secret_provider_class("app-db", ARN, ["USER"], secret_name="x")


# ---------------------------------------------------------------------------------------------
# dsops


# What dsops' own loader accepts, restated from systmms/dsops at b3057b49 (v0.2.5-15), so that a
# file we emit is one `dsops` loads:
# - internal/config/config.go:151-158 (Config.Load): `version` must be 0 ("Set 'version: 0'").
# - internal/config/config.go:72 (Reference) and :304-331 (IsLegacyFormat, IsStoreReference,
#   ToSecretRef): a `from` with `store` is parsed by ParseSecretRef, even when `key` is there
#   too; without `store`, the legacy pair `{provider, key}` is used.
# - pkg/secretstore/secretstore.go:663-704 (ParseSecretRef): the text must start with
#   `store://`; `?` starts the options (`version=`), `#` a field; the store is what precedes the
#   first `/`, and the path after it must not be empty.
def dsops_loader_problems(doc: dict) -> list[str]:
    from urllib.parse import parse_qs

    problems = []
    if doc.get("version", 0) != 0:
        problems.append(f"unsupported configuration version {doc['version']}")
    stores = set(doc.get("secretStores") or {}) | set(doc.get("providers") or {})
    for env, variables in (doc.get("envs") or {}).items():
        for var, spec in variables.items():
            ref = spec.get("from") or {}
            if ref.get("store"):
                uri = ref["store"]
                if not uri.startswith("store://"):
                    problems.append(f"{env}.{var}: URI must start with store://")
                    continue
                rest = uri[len("store://"):]
                rest, _, query = rest.partition("?")
                rest, _, _field = rest.partition("#")
                store, _, path = rest.partition("/")
                parse_qs(query, strict_parsing=bool(query))
                if not store:
                    problems.append(f"{env}.{var}: store name is required")
                elif not path:
                    problems.append(f"{env}.{var}: path is required")
                elif store not in stores:
                    problems.append(f"{env}.{var}: store {store} is not defined")
            elif not (ref.get("provider") and ref.get("key")):
                problems.append(f"{env}.{var}: no store:// reference and no provider/key pair")
    return problems


def test_the_loader_rules_refuse_what_the_dsops_docs_show():
    """The check itself: the documented shape (version 1, {store: aws-sm, key}) is refused twice."""
    documented = {"version": 1, "secretStores": {"aws-sm": {"type": "aws.secretsmanager"}},
                  "envs": {"default": {"USER": {"from": {"store": "aws-sm", "key": "app/db"}}}}}
    assert dsops_loader_problems(documented) == ["unsupported configuration version 1",
                                                 "default.USER: URI must start with store://"]
    legacy = {"version": 0, "providers": {"aws-sm": {}},
              "envs": {"default": {"USER": {"from": {"provider": "aws-sm", "key": "app/db"}}}}}
    assert dsops_loader_problems(legacy) == []
    assert dsops_loader_problems({"envs": {"e": {"V": {"from": {"store": "store://aws-sm/"}}}}}) == \
        ["e.V: path is required"]


def test_dsops_envs_exact_shape():
    assert c.dsops_envs("app/db", ["USER", "PASSWORD"]) == {"envs": {"default": {
        "PASSWORD": {"from": {"store": "store://aws-sm/app/db"}, "transform": "json_extract:.PASSWORD"},
        "USER": {"from": {"store": "store://aws-sm/app/db"}, "transform": "json_extract:.USER"},
    }}}
    pinned = c.dsops_envs("app/db", ["USER"], store="prod-sm", env_name="production", version="AWSPREVIOUS")
    assert pinned == {"envs": {"production": {"USER": {
        "from": {"store": "store://prod-sm/app/db?version=AWSPREVIOUS"},
        "transform": "json_extract:.USER"}}}}
    assert c.dsops_secret_store("eu-west-1") == {"secretStores": {"aws-sm": {"type": "aws.secretsmanager",
                                                                              "region": "eu-west-1"}}}


def test_dsops_config_merges_and_refuses_a_variable_from_two_secrets():
    doc = c.dsops_config(c.dsops_secret_store("eu-west-1"), c.dsops_envs("app/db", ["USER"]),
                         c.dsops_envs("app/api", ["API_KEY"]),
                         c.dsops_envs("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/x-AbCdEf", ["X"]),
                         c.dsops_envs("app/db", ["PASSWORD"], version="AWSPREVIOUS"))
    (parsed,) = yaml.safe_load_all(c.to_yaml(doc))
    assert parsed["version"] == 0
    assert dsops_loader_problems(parsed) == []
    assert parsed["secretStores"]["aws-sm"]["type"] == "aws.secretsmanager"
    assert parsed["envs"]["default"]["USER"]["from"] == {"store": "store://aws-sm/app/db"}
    assert parsed["envs"]["default"]["API_KEY"]["from"] == {"store": "store://aws-sm/app/api"}
    assert parsed["envs"]["default"]["API_KEY"]["transform"] == "json_extract:.API_KEY"
    with pytest.raises(ValueError, match="'USER' comes from two secrets"):
        c.dsops_config(c.dsops_envs("app/db", ["USER"]), c.dsops_envs("app/other", ["USER"]))
    with pytest.raises(ValueError, match="defined twice"):
        c.dsops_config(c.dsops_secret_store("eu-west-1"), c.dsops_secret_store("us-east-1"))


# ---------------------------------------------------------------------------------------------
# YAML and names


def test_to_yaml_multi_document_block_style_in_order():
    spc = c.secret_provider_class("app-db", ARN, ["USER"])
    shared = {"a": 1}
    text = c.to_yaml(c.external_secret("app-db", "app/db", ["USER"]), spc, {"x": shared, "y": shared})
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == 3
    assert text.startswith("---\n") and text.count("\n---\n") == 2
    assert docs[1] == spc  # the objects text survives the round trip unchanged
    assert "objects: |" in text  # readable literal block, not an escaped one-liner
    assert "{" not in text and "&id" not in text and "*id" not in text  # block style, no aliases
    first_keys = [line.split(":")[0] for line in text.split("---\n")[1].splitlines() if not line.startswith(" ")]
    assert first_keys == ["apiVersion", "kind", "metadata", "spec"]
    assert c.to_yaml(docs[0]) == c.to_yaml(docs[0])  # deterministic
    with pytest.raises(ValueError):
        c.to_yaml()


@pytest.mark.parametrize("text,name", [("appDb", "appdb"), ("app_db/Main", "app-db-main"), ("-x-", "x")])
def test_k8s_name(text, name):
    assert c.k8s_name(text) == name
    c.external_secret(c.k8s_name(text), "app/db", ["USER"])  # accepted as a name


def test_k8s_name_needs_letters():
    with pytest.raises(ValueError):
        c.k8s_name("__")


# ---------------------------------------------------------------------------------------------
# One app (issue 18)


ARN_B = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/smtp-XyZ123"


def test_app_documents_hold_every_secret_of_the_app_once():
    sources = [(ARN, ["USER", "PASSWORD"]), (ARN_B, ["SMTP_PASSWORD"])]
    assert [e["name"] for e in c.app_ecs_secrets(sources)] == ["PASSWORD", "SMTP_PASSWORD", "USER"]
    external = c.app_external_secret("billing", [("app/db", ["USER", "PASSWORD"]), ("app/smtp", ["SMTP_PASSWORD"])])
    assert [(d["secretKey"], d["remoteRef"]["key"]) for d in external["spec"]["data"]] == [
        ("PASSWORD", "app/db"), ("SMTP_PASSWORD", "app/smtp"), ("USER", "app/db")]
    assert external["spec"]["target"]["name"] == "billing"
    spc = c.app_secret_provider_class("billing", sources, sync_secret=True)
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    assert [o["objectName"] for o in objects] == [ARN, ARN_B]
    assert [d["key"] for d in spc["spec"]["secretObjects"][0]["data"]] == ["PASSWORD", "SMTP_PASSWORD", "USER"]


def test_app_documents_refuse_a_variable_from_two_secrets():
    with pytest.raises(ValueError, match="'USER' comes from both"):
        c.app_ecs_secrets([(ARN, ["USER"]), (ARN_B, ["USER"])])
    with pytest.raises(ValueError, match="at least one secret"):
        c.app_external_secret("billing", [])
