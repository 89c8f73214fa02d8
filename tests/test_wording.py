"""Issue 18's wording problems, where the corpus (exit 2, a message naming the key) cannot say it
all: what must NOT be printed, failures while running (exit 1), files named the same way."""

from __future__ import annotations

import warnings

import boto3
import pytest

from stack_program.config import parse_config
from stack_program.schema import ConfigError
from tooling.cli import main
from tooling.offline import PROJECT_DIR


# deployerPrincipals is required outside review stacks (issue 16); named so it is not a problem here.
DEPLOYER = {"deployerPrincipals": ["arn:aws:iam::123456789012:role/ci"]}


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**DEPLOYER, **raw}, stack="s", region="us-east-1", secret_keys={"secrets", "databases"})
    return [str(p) for p in caught.value.problems]


def test_a_bad_type_is_the_only_problem_a_read_policy_does_not_add_a_false_one():
    found = problems_of({"secrets": {"billing-stripe": {"type": "user_managed", "environmentVariables": ["A"]}},
                         "readPolicies": {"billing-app": {"secrets": ["billing-stripe"]}}})
    assert len(found) == 1 and found[0].startswith("secrets.billing-stripe.type:"), found
    assert "did you mean 'user-managed'?" in found[0]


def test_a_read_policy_under_secrets_is_recognised():
    found = problems_of({"secrets": {"billing-app": {"secrets": ["x"], "roleNames": ["billing-app"]}}})
    assert any("looks like a read policy" in p and "app-secrets:readPolicies" in p for p in found), found


def test_variables_repeat_across_apps_but_not_within_one():
    random = {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"]}
    settings = parse_config({**DEPLOYER, "secrets": {"a": random, "b": random},
                             "readPolicies": {"app-a": {"secrets": ["a"]}, "app-b": {"secrets": ["b"]}}},
                            stack="s", region="us-east-1")
    assert [p.key for p in settings.read_policies] == ["app-a", "app-b"]
    # The same two secrets with no read policy form one environment: refused as before.
    assert problems_of({"secrets": {"a": random, "b": random}}) == [
        "secrets.b: environment variable SECRET_KEY_BASE is also given by secrets.a; expected each variable "
        "from one secret (or list them in different readPolicies, one per app)"]


def test_yaml_errors_name_the_file_as_config_errors_do(tmp_path, monkeypatch, capsys):
    """Relative to the project (stacks/Pulumi.x.yaml), like the config errors beside them."""
    import stack_program.project as project

    (tmp_path / "stacks").mkdir()
    bad = tmp_path / "stacks" / "Pulumi.x.yaml"
    bad.write_text("config:\n  aws:region: [unclosed\n")
    monkeypatch.setattr(project, "PROJECT_DIR", tmp_path)
    with pytest.raises(project.StackFileError) as caught:
        project.read_yaml(bad)
    assert str(caught.value).startswith("stacks/Pulumi.x.yaml: invalid YAML")
    monkeypatch.setattr(project, "PROJECT_DIR", PROJECT_DIR)   # outside the project: as given
    with pytest.raises(project.StackFileError) as caught:
        project.read_yaml(bad)
    assert str(caught.value).startswith(f"{bad}: invalid YAML")


def test_every_python_file_compiles_without_warnings():
    """E.g. the invalid escape sequence '\\|' that policy_pack/guardrails.py's docstring had."""
    for path in [*PROJECT_DIR.glob("*/**/*.py"), *PROJECT_DIR.glob("*.py")]:
        if ".venv" in path.parts or "build" in path.parts or ".tools" in path.parts:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_rotate_on_a_secret_without_rotation_says_which_secrets_rotate(moto_endpoint, capsys):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_secret(Name="example-rails", SecretString='{"SECRET_KEY_BASE": "x"}')
    code = main(["rotate", "--secret", "example-rails", "--endpoint-url", moto_endpoint, "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == ("error: secret example-rails has no rotation function, so it cannot be rotated: only "
                           "database logins rotate (databases.<key>.rotation in the stack file); a random, "
                           "user-managed or plain secret changes through the stack (`pulumi up`) or by writing a "
                           "new value")
    assert "`rotation` settings" not in err


def test_region_help_promises_the_stack_only_where_there_is_one(capsys):
    assert main(["rotate", "--help"]) == 0
    rotate_help = " ".join(capsys.readouterr().out.split())
    assert "the stack's aws:region" not in rotate_help and "--stack" not in rotate_help
    assert main(["rotation", "status", "--help"]) == 0
    assert "the stack's aws:region (with --stack)" in " ".join(capsys.readouterr().out.split())


def test_read_policy_role_tags_and_database_urls_per_app():
    db = {"identifier": "db-a", "username": "admin_user", "initialPassword": "long-enough-pw"}
    settings = parse_config({
        **DEPLOYER,
        "databases": {"a-db": db, "b-db": {**db, "identifier": "db-b"}},
        "secrets": {"a-url": {"type": "user-managed", "environmentVariables": ["DATABASE_URL"]}},
        "readPolicies": {"a": {"secrets": ["a-url"], "roleNames": ["a-app"], "roleTags": {"team": "a"}},
                         "b": {"secrets": ["a-db", "b-db"]}}},
        stack="s", region="us-east-1", secret_keys={"databases"})
    assert settings.read_policies[0].role_tags == {"team": "a"}
    # A secret giving DATABASE_URL beside a login of the same app is refused.
    found = problems_of({
        "databases": {"a-db": db},
        "secrets": {"a-url": {"type": "user-managed", "environmentVariables": ["DATABASE_URL"]}},
        "readPolicies": {"a": {"secrets": ["a-url", "a-db"]}}})
    assert found == ["databases.a-db: environment variable DATABASE_URL is also given by secrets.a-url; both are "
                     "read by app a (readPolicies.a): expected each variable once per app, so rename one or move "
                     "it to another read policy"]


def test_the_config_reference_has_a_row_for_every_top_level_key():
    """Keys added by parallel issues (logins: issue 20) each get a row in README's Config reference."""
    from stack_program.config import TOP_LEVEL

    readme = (PROJECT_DIR / "README.md").read_text()
    reference = readme[readme.index("## Config reference"):]
    assert [key for key in TOP_LEVEL if f"| `{key}` |" not in reference] == []
