"""`plan --against REF`: each kind of stack edit, planned at a git ref of a temporary repository
(a copy of this project) and diffed, URN by URN, with the working tree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tooling.cli import main
from tooling.offline import PROJECT_DIR

SECRET = "aws:secretsmanager/secret:Secret"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"

BASE = {
    "aws:region": "us-east-1",
    "app-secrets:deployerPrincipals": ["arn:aws:iam::123456789012:role/example-deployer"],
    "app-secrets:secrets": {
        "app-rails": {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"]},
        "app-tokens": {"type": "user-managed", "environmentVariables": ["API_TOKEN"]},
        "app-smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": {"secure": "v1:abc:def"}}},
    },
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path) -> Path:
    """This project's code and Pulumi.yaml, with one stack `s` (BASE) committed."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("components", "stack_program", "tooling"):
        shutil.copytree(PROJECT_DIR / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT_DIR / name, root / name)
    (root / "stacks").mkdir()
    write_stack(root, BASE)
    _git(root, "init", "-q")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    return root


def write_stack(root: Path, config: dict) -> None:
    (root / "stacks" / "Pulumi.s.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def edited(**secrets) -> dict:
    """BASE with some secrets replaced (None removes one)."""
    config = json.loads(json.dumps(BASE))
    for key, value in secrets.items():
        key = key.replace("_", "-")
        if value is None:
            config["app-secrets:secrets"].pop(key)
        else:
            config["app-secrets:secrets"][key] = value
    return config


def against(capsys, root: Path, *extra: str) -> tuple[int, dict]:
    code = main(["plan", "--stack", "s", "--project-dir", str(root), "--against", "HEAD", "--json", *extra])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    return code, json.loads(out)


def changes_of(doc: dict, type_: str) -> list[dict]:
    return [c for c in doc["changes"] if c["type"] == type_]


def test_unchanged_stack_has_no_changes(capsys, repo):
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0 and doc["changes"] == [] and doc["dataLoss"] is False


def test_rename_without_aliases_is_delete_plus_create_that_collides(capsys, repo):
    moved = dict(BASE["app-secrets:secrets"]["app-tokens"], name="app-tokens")  # same physical name
    write_stack(repo, edited(app_tokens=None, app_api=moved))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 3 and doc["dataLoss"]
    secrets = {c["action"]: c for c in changes_of(doc, SECRET)}
    assert secrets["delete"]["urn"].endswith("::app-tokens") and secrets["create"]["urn"].endswith("::app-api")
    assert any("COLLISION" in n and "'app-tokens'" in n for n in secrets["create"]["notes"])
    assert any("current value and hand edits are lost" in n for n in secrets["delete"]["notes"])
    assert any("PROTECTED" in n for n in secrets["delete"]["notes"])  # long-lived stack: protected
    aliases = {c["action"] for c in changes_of(doc, ALIAS)}
    assert aliases == {"create", "delete"}


def test_rename_with_aliases_moves_every_resource(capsys, repo):
    moved = dict(BASE["app-secrets:secrets"]["app-tokens"], name="app-tokens", aliases=["app-tokens"])
    write_stack(repo, edited(app_tokens=None, app_api=moved))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0 and not doc["dataLoss"]
    assert [c for c in doc["changes"] if c["action"] in ("create", "delete", "replace")] == []
    moved_urns = {c["oldUrn"]: c["urn"] for c in doc["changes"] if c["oldUrn"]}
    # The secret, its key, alias, policy, version and key merge all keep their cloud resource.
    assert {u.split("::")[-1] for u in moved_urns} == {"app-tokens"}
    assert {u.split("::")[-1] for u in moved_urns.values()} == {"app-api"}
    assert {u.split("::")[2].split("$")[-1] for u in moved_urns} >= {SECRET, KEY, ALIAS,
                                                                       "aws:secretsmanager/secretVersion:SecretVersion"}


def test_type_change_keeps_the_same_aws_resources(capsys, repo):
    write_stack(repo, edited(app_tokens={"type": "secret",
                                         "initialValue": {"API_TOKEN": {"secure": "v1:abc:def"}}}))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0 and not doc["dataLoss"]
    secret = changes_of(doc, SECRET)
    assert [c["action"] for c in secret] == ["update"]
    assert "UserManagedSecret$" in secret[0]["oldUrn"] and "app-secrets:secrets:Secret$" in secret[0]["urn"]
    assert not [c for c in doc["changes"] if c["action"] in ("create", "delete", "replace")]


def test_changing_the_physical_name_replaces_the_secret_and_loses_data(capsys, repo):
    write_stack(repo, edited(app_smtp=dict(BASE["app-secrets:secrets"]["app-smtp"], name="smtp-v2")))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 3
    (secret,) = changes_of(doc, SECRET)
    assert secret["action"] == "replace" and secret["replaceKeys"] == ["name"] and secret["protected"]
    assert secret["notes"][0].startswith("replace secret smtp-v2: its current value and hand edits are lost")
    assert any("secretsmanager/secret.go" in n for n in secret["notes"])
    assert changes_of(doc, ALIAS)[0]["action"] == "replace"


def test_adding_a_variable_is_a_merge_not_a_replacement(capsys, repo):
    write_stack(repo, edited(app_tokens={"type": "user-managed", "environmentVariables": ["API_TOKEN", "WEBHOOK"]}))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0
    (merge,) = changes_of(doc, "pulumi-python:dynamic/app-secrets:SecretKeys")
    assert merge["action"] == "update" and any("adds WEBHOOK to the live secret" in n for n in merge["notes"])
    assert changes_of(doc, "aws:secretsmanager/secretVersion:SecretVersion") == []  # value ignored


def test_removing_a_variable_is_reported_for_consumers(capsys, repo):
    write_stack(repo, edited(app_tokens={"type": "user-managed", "environmentVariables": ["OTHER"]}))
    _, doc = against(capsys, repo)
    assert any("API_TOKEN" in n and "left in the live secret" in n
               for c in doc["changes"] for n in c["notes"])
    assert any(c["type"] == "consumers" and c["risk"] == "consumers" for c in doc["changes"])


def test_switching_to_a_shared_key_is_flagged(capsys, repo):
    """Issue 16: a long-lived stack may not share one key (every secret's readers would read every
    secret): the edit is refused as bad input, before anything is compared."""
    config = edited()
    config["app-secrets:sharedKmsKey"] = True
    write_stack(repo, config)
    code = main(["plan", "--stack", "s", "--project-dir", str(repo), "--against", "HEAD", "--json"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "sharedKmsKey: is for review stacks only" in err


def test_random_settings_change_regenerates_but_keeps_the_live_value(capsys, repo):
    write_stack(repo, edited(app_rails={"type": "random", "environmentVariables": ["SECRET_KEY_BASE"],
                                        "randomSettings": {"SECRET_KEY_BASE": {"length": 64}}}))
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0
    (password,) = changes_of(doc, "random:index/randomPassword:RandomPassword")
    assert password["action"] == "replace" and password["replaceKeys"] == ["length"]
    assert any("keeps its value" in n for n in password["notes"])


def test_markdown_and_text_say_it_in_words(capsys, repo):
    write_stack(repo, edited(app_smtp=None))
    code = main(["plan", "--stack", "s", "--project-dir", str(repo), "--against", "HEAD", "--format", "markdown",
                 "--fail-on", "data-loss"])
    out, _ = capsys.readouterr()
    assert code == 3
    assert "[!CAUTION]" in out and "| 🛑 | delete | `aws:secretsmanager/secret:Secret` app-smtp |" in out
    assert "delete secret app-smtp: its current value and hand edits are lost" in out
    code = main(["plan", "--stack", "s", "--project-dir", str(repo), "--against", "HEAD", "--plain"])
    out, _ = capsys.readouterr()
    assert code == 0  # without --fail-on, still exit 0
    assert "!! DATA LOSS" in out and "LOSE DATA OR FAIL" in out


def test_against_a_saved_plan_file_and_a_bad_ref(capsys, repo, tmp_path):
    assert main(["plan", "--stack", "s", "--project-dir", str(repo), "--json"]) == 0
    saved = tmp_path / "before.json"
    saved.write_text(capsys.readouterr().out)
    write_stack(repo, edited(app_tokens=dict(BASE["app-secrets:secrets"]["app-tokens"], name="renamed")))
    code = main(["plan", "--stack", "s", "--project-dir", str(repo), "--against", str(saved), "--json",
                 "--fail-on", "data-loss"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and [c["action"] for c in changes_of(doc, SECRET)] == ["replace"]
    assert main(["plan", "--stack", "s", "--project-dir", str(repo), "--against", "no-such-ref"]) == 2
    assert "neither a plan file nor a git ref" in capsys.readouterr().err


def test_a_stack_new_since_ref_is_all_creates(capsys, repo):
    (repo / "stacks" / "Pulumi.t.yaml").write_text(yaml.safe_dump({"config": BASE}))
    code = main(["plan", "--stack", "t", "--project-dir", str(repo), "--against", "HEAD", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and {c["action"] for c in doc["changes"]} == {"create"}


DB = {"identifier": "example-prod", "username": "example_admin",
      "initialPassword": {"secure": "v1:abc:def"}, "rotation": {"enabled": False}}


def test_database_rename_with_aliases_moves_and_a_new_identifier_loses_the_rotated_password(capsys, repo):
    base = edited()
    base["app-secrets:databases"] = {"main-db": DB}
    write_stack(repo, base)
    _git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "database")
    renamed = edited()
    renamed["app-secrets:databases"] = {"primary-db": {**DB, "aliases": ["main-db"]}}
    write_stack(repo, renamed)
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    assert code == 0 and not [c for c in doc["changes"] if c["action"] != "update"]
    assert {c["oldUrn"].split("::")[-1] for c in doc["changes"] if c["oldUrn"]} == {"main-db"}
    new_instance = edited()
    new_instance["app-secrets:databases"] = {"main-db": {**DB, "identifier": "example-prod-2"}}
    write_stack(repo, new_instance)
    code, doc = against(capsys, repo, "--fail-on", "data-loss")
    (secret,) = changes_of(doc, SECRET)
    assert code == 3 and secret["action"] == "replace" and secret["physicalName"] == "rds-postgres-example-prod-2"
    assert any("rotated database password is lost" in n for n in secret["notes"])
