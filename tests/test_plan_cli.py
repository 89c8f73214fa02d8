"""The offline plan and validate commands: JSON shape, masking, review stacks, error paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tooling.cli import main
from tooling.offline import PROJECT_DIR, load_project, load_stack

STACKS = ["dev", "staging", "production", "pr"]
# Long-lived stacks name their deployer (issue 16).
DEPLOYER = {"app-secrets:deployerPrincipals": ["arn:aws:iam::123456789012:role/example-deployer"]}


def plan_json(capsys, *args) -> dict:
    code = main(["plan", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def sensitive_of(stack: str, template=None) -> set[str]:
    return load_stack(stack, load_project(), template=template).sensitive


def expected_counts(stack: str) -> dict[str, int]:
    """Resource counts derived from the stack file itself, independently of the program."""
    config = yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    secrets = config.get("app-secrets:secrets", {})
    databases = config.get("app-secrets:databases", {})
    review = config.get("app-secrets:reviewStack", False)
    shared_key = config.get("app-secrets:sharedKmsKey", False)
    owned = [s for s in secrets.values() if not s.get("existingSecretName")]
    rotating = [d for d in databases.values() if d.get("rotation", {}).get("enabled", not review)]
    n_secrets = len(owned) + len(databases)
    # Each replica without a kmsKeyId gets its own key in its region.
    replica_keys = sum(1 for entry in [*owned, *databases.values()] for r in entry.get("replicaRegions", [])
                       if not r.get("kmsKeyId"))
    endpoints = [d for d in rotating if d.get("vpcId") and d.get("secretsManagerEndpoint", "create") == "create"]
    # Rotation failure alerts (issue 20): on by default when something rotates, not in review stacks.
    alerts = config.get("app-secrets:rotationAlerts", {})
    alerting = bool(rotating) and alerts.get("enabled", not review)
    own_topic = alerting and not alerts.get("alertTopicArn")
    return {
        "aws:cloudwatch/eventRule:EventRule": 1 if alerting else 0,
        "aws:cloudwatch/metricAlarm:MetricAlarm": len(rotating) if alerting else 0,
        "aws:sns/topic:Topic": 1 if own_topic else 0,
        "aws:secretsmanager/secret:Secret": n_secrets,
        "aws:secretsmanager/secretVersion:SecretVersion": n_secrets,
        "aws:secretsmanager/secretPolicy:SecretPolicy": n_secrets,
        "aws:kms/key:Key": (1 if shared_key else n_secrets) + replica_keys + (1 if own_topic else 0),
        "aws:cloudwatch/logGroup:LogGroup": len(rotating),
        "random:index/randomPassword:RandomPassword": sum(
            len(s["environmentVariables"]) for s in owned if s["type"] == "random"),
        "aws:lambda/function:Function": len(rotating),
        "aws:secretsmanager/secretRotation:SecretRotation": len(rotating),
        "aws:iam/policy:Policy": len(config.get("app-secrets:readPolicies", {})),
        # The function's group, plus the Secrets Manager endpoint's where the stack creates one.
        "aws:ec2/securityGroup:SecurityGroup": len([d for d in rotating if d.get("vpcId")]) + len(endpoints),
        "aws:ec2/vpcEndpoint:VpcEndpoint": len(endpoints),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_plan_json_counts_names_and_masking(capsys, stack):
    doc = plan_json(capsys, "--stack", stack)
    by_type = doc["summary"]["byType"]
    for type_, count in expected_counts(stack).items():
        assert by_type.get(type_, 0) == count, type_
    assert doc["summary"]["total"] == len(doc["resources"]) == sum(by_type.values())
    text = json.dumps(doc)
    for value in sensitive_of(stack):
        assert value not in text
    versions = [r for r in doc["resources"] if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert versions and all(v["inputs"]["secretString"] == "[secret]" for v in versions)
    config = yaml.safe_load((PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert [s["name"] for s in doc["secrets"]] == list(config.get("app-secrets:secrets", {})) + \
        list(config.get("app-secrets:databases", {}))
    for resource in doc["resources"]:
        if resource["type"] == "aws:secretsmanager/secret:Secret":
            assert resource["physicalName"] == resource["inputs"]["name"]
            assert resource["inputs"]["kmsKeyId"].startswith("(computed: arn of key")


def test_plan_dev_physical_names_and_env(capsys):
    doc = plan_json(capsys, "--stack", "dev")
    names = {r["physicalName"] for r in doc["resources"] if r["physicalName"]}
    assert {"example-rails", "example-prismic", "example-smtp", "rds-postgres-example-dev",
            "alias/example-rails", "rds-postgres-example-dev-rotation", "example-app-read-secrets"} <= names
    env = {s["name"]: s["environmentVariables"] for s in doc["secrets"]}
    assert env == {"example-rails": ["SECRET_KEY_BASE"],
                   "example-prismic": ["PRISMIC_ACCESS_TOKEN", "PRISMIC_WEBHOOK_SECRET"],
                   "example-smtp": ["SMTP_PASSWORD", "SMTP_USERNAME"],
                   "example-db": ["DATABASE_URL"]}
    kinds = {s["name"]: s["kind"] for s in doc["secrets"]}
    assert kinds == {"example-rails": "random", "example-prismic": "user-managed", "example-smtp": "secret",
                     "example-db": "rds-postgres-admin-login"}
    policy = next(r for r in doc["resources"] if r["type"] == "aws:secretsmanager/secretPolicy:SecretPolicy")
    # The read policy's role is the named reader (issue 18), no longer the whole account.
    assert any(line.startswith("AllowRead: arn:aws:iam::<account>:role/example-dev-app -> secretsmanager:DescribeSecret")
               for line in policy["inputs"]["policy"])


def test_review_stacks_are_disjoint_and_leave_nothing_behind(capsys):
    one = plan_json(capsys, "--stack", "pr-1", "--template", "pr")
    two = plan_json(capsys, "--stack", "pr-2", "--template", "pr")

    def physical(doc):
        return {r["physicalName"] for r in doc["resources"] if r["physicalName"]}
    assert physical(one) and physical(one).isdisjoint(physical(two))
    for doc, stack in ((one, "pr-1"), (two, "pr-2")):
        assert doc["reviewStack"] is True
        assert all(stack in name for name in physical(doc))
        secrets = [r for r in doc["resources"] if r["type"] == "aws:secretsmanager/secret:Secret"]
        assert secrets and all(s["inputs"]["recoveryWindowInDays"] == 0 for s in secrets)
        assert all(s["inputs"]["tags"]["app-secrets:ephemeral"] == "true" for s in secrets)
        # The shared token is read from staging's secret: no empty placeholder is created.
        assert "app-secrets:secrets:UserManagedSecret" not in doc["summary"]["byType"]
        shared = next(s for s in doc["secrets"] if s["name"] == "example-prismic")
        assert shared == {"name": "example-prismic", "secretName": "example-prismic", "kind": "existing",
                          "environmentVariables": ["PRISMIC_ACCESS_TOKEN"], "external": True, "access": None}
        assert doc["summary"]["byType"]["aws:kms/key:Key"] == 1
        policy = next(r for r in doc["resources"] if r["type"] == "aws:iam/policy:Policy")
        assert any("<arn of existing secret example-prismic>" in line for line in policy["inputs"]["policy"])
        assert any("<key arn of existing secret example-prismic>" in line for line in policy["inputs"]["policy"])


def test_plain_text_plan_shows_tree_env_and_summary(capsys):
    assert main(["plan", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Plan of stack 'dev' (stacks/Pulumi.dev.yaml)"
    assert "+ app-secrets:secrets:RandomSecret  example-rails" in out
    assert "  + aws:secretsmanager/secret:Secret  example-rails  [example-rails]" in out
    assert "secretString: [secret]" in out
    assert "  example-db -> rds-postgres-example-dev: DATABASE_URL" in out
    lines = out.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    # The dev stack still holds the example's placeholders: one warning each, after the summary.
    assert len(warnings) == 3 and lines[-3:] == warnings
    assert lines[-5].startswith(f"{out.count('  + ') + out.count(chr(10) + '+ ')} resources to create: ")
    # The monthly cost follows the summary, dated and with its sources (tooling/pricing.py).
    assert lines[-4].startswith("Monthly cost: $6.60 (4 secret = $1.60; 5 kms-key = $5.00; ")
    assert "list prices as of 2026-11-27 from https://aws.amazon.com/kms/pricing/" in lines[-4]
    # dev names its deployer (deployerPrincipals is required outside review stacks): nothing invented.
    assert "role/plan-deployer" not in out
    assert "Apps (read policies):\n  example-app: $5.60/month\n    secrets: example-rails, example-prismic, " \
           "example-smtp, example-db\n" in out
    for value in sensitive_of("dev"):
        assert value not in out


# --- error paths -------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    return tmp_path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_stack_file(capsys):
    code, out, err = run_cli(capsys, "plan", "--stack", "nosuch")
    assert code == 2 and out == ""
    assert err == f"error: {PROJECT_DIR}/stacks/Pulumi.nosuch.yaml: no such stack file (stacks: dev, pr, production, staging)\n"


def test_not_a_stack_name(capsys):
    code, _, err = run_cli(capsys, "plan", "--stack", "../../etc/passwd")
    assert code == 2
    assert err == "error: --stack '../../etc/passwd': expected a stack name (letters, digits, '-', '_', '.')\n"


def test_invalid_yaml(capsys, project):
    (project / "stacks" / "Pulumi.broken.yaml").write_text("config:\n  app-secrets:secrets: {a: [\n")
    code, _, err = run_cli(capsys, "plan", "--stack", "broken", "--project-dir", str(project))
    assert code == 2
    assert err.startswith(f"error: {project}/stacks/Pulumi.broken.yaml: invalid YAML: ")
    assert "line 3" in err and len(err.splitlines()) == 1


def test_stack_file_of_the_wrong_shape(capsys, project):
    (project / "stacks" / "Pulumi.list.yaml").write_text("- a\n- b\n")
    code, _, err = run_cli(capsys, "plan", "--stack", "list", "--project-dir", str(project))
    assert code == 2
    assert err == f"error: {project}/stacks/Pulumi.list.yaml: expected a map with a `config:` map at the top\n"


def test_invalid_config_lists_every_problem_with_file_and_key(capsys, project):
    (project / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"web": {"type": "random", "environmentVariables": ["api-key"], "lenght": 3}},
    }}))
    code, out, err = run_cli(capsys, "plan", "--stack", "bad", "--project-dir", str(project))
    assert code == 2 and out == ""
    source = f"{project}/stacks/Pulumi.bad.yaml"
    assert err.splitlines() == [
        f"error: {source}: secrets.web.environmentVariables[0]: 'api-key' is not an upper-case environment "
        "variable name matching ^[A-Z_][A-Z0-9_]*$",
        f"error: {source}: secrets.web.lenght: unknown key (expected one of: adminPrincipals, adopted, "
        "aliases, description, environmentVariables, name, randomSettings, readPrincipals, readwritePrincipals, "
        "recoveryWindowInDays, replicaRegions, secretPolicies, tags, trustTags)",
    ]


def test_validate_reports_each_stack_and_fails_on_any_invalid(capsys, project):
    (project / "stacks" / "Pulumi.good.yaml").write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"web": {"type": "random", "environmentVariables": ["A"]}}}}))
    (project / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"web": {"type": "nope"}}}}))
    code, out, _ = run_cli(capsys, "validate", "--project-dir", str(project))
    assert code == 2
    assert out.splitlines() == [
        "bad: invalid",
        f"  {project}/stacks/Pulumi.bad.yaml: secrets.web.type: 'nope' is not one of 'secret', 'random', 'user-managed'",
        "good: ok (9 resources, 1 secrets)",
    ]


def test_validate_passes_on_the_example_stacks(capsys):
    code, out, _ = run_cli(capsys, "validate")
    assert code == 0, out
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith("  warning:")] == \
        ["dev", "pr", "production", "staging"]
    assert sum(line.startswith("  warning: stacks/Pulumi.staging.yaml: ") for line in out.splitlines()) == 1


def test_real_command_prints_no_traceback():
    """The README's command, as a process: plain output when not a terminal, exit codes."""
    ok = subprocess.run([sys.executable, "-m", "components", "plan", "--stack", "dev"], cwd=PROJECT_DIR,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stderr == ""
    assert ok.stdout.startswith("Plan of stack 'dev'") and "\x1b[" not in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "components", "plan", "--stack", "nosuch"], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_project_defaults_from_pulumi_yaml_are_applied(capsys, project):
    """The mock runtime does not apply Pulumi.yaml defaults; the plan does, as the engine would."""
    text = (project / "Pulumi.yaml").read_text()
    (project / "Pulumi.yaml").write_text(text.replace(
        "  recoveryWindowInDays:\n    type: integer\n    default: 30", "  recoveryWindowInDays:\n    type: integer\n    default: 7"))
    (project / "stacks" / "Pulumi.s.yaml").write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"web": {"type": "random", "environmentVariables": ["A"]}}}}))
    doc = plan_json(capsys, "--stack", "s", "--project-dir", str(project))
    secret = next(r for r in doc["resources"] if r["type"] == "aws:secretsmanager/secret:Secret")
    assert secret["inputs"]["recoveryWindowInDays"] == 7
    key = next(r for r in doc["resources"] if r["type"] == "aws:kms/key:Key")
    assert key["inputs"]["deletionWindowInDays"] == 30


def test_plaintext_beside_a_secure_value_is_caught_per_value(capsys, project):
    """Pulumi marks a whole top-level key secret when any value under it is; the program reads the
    stack file to check each value that must be secret on its own."""
    (project / "stacks" / "Pulumi.mixed.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"api": {"type": "secret", "initialValue": {
            "API_TOKEN": {"secure": "v1:abc"}, "API_KEY": "hunter2-in-git"}}},
        "app-secrets:databases": {"db": {"identifier": "db", "username": "admin_user",
                                         "initialPassword": "plaintext-password",
                                         "rotation": {"enabled": False}},
                                  "db2": {"identifier": "db2", "username": "admin_user",
                                          "initialPassword": {"secure": "v1:def"}, "rotation": {"enabled": False}}},
    }}))
    code, out, err = run_cli(capsys, "plan", "--stack", "mixed", "--project-dir", str(project))
    assert code == 2 and out == ""
    source = f"{project}/stacks/Pulumi.mixed.yaml"
    assert err.splitlines() == [
        f"error: {source}: secrets.api.initialValue.API_KEY: expected a secret value, got plaintext: set it with "
        "`pulumi config set --secret --path 'secrets.api.initialValue.API_KEY' …`",
        f"error: {source}: databases.db.initialPassword: expected a secret value, got plaintext: set it with "
        "`pulumi config set --secret --path 'databases.db.initialPassword' …`",
    ]


def test_two_plans_of_the_same_stack_are_identical_and_parents_come_first(capsys):
    """The SDK registers concurrently; the plan must still be diffable from run to run."""
    first = plan_json(capsys, "--stack", "production")
    outputs = [json.dumps(plan_json(capsys, "--stack", "production")) for _ in range(3)]
    assert set(outputs) == {json.dumps(first)}
    planned = {r["urn"] for r in first["resources"]}
    seen: set = set()
    for resource in first["resources"]:
        if resource["parent"] in planned:
            assert resource["parent"] in seen, resource["urn"]
        seen.add(resource["urn"])
    assert any(r["parent"] in planned for r in first["resources"])  # there are nested resources to check


def test_tree_order_is_depth_first_with_siblings_by_type_then_name():
    from tooling.offline import Registration
    from tooling.plan import in_tree_order

    def reg(urn, type_, parent=""):
        return Registration(urn=urn, type=type_, name=urn, parent=parent, custom=True, inputs={}, raw_inputs={},
                            ignore_changes=[], additional_secret_outputs=[], dependencies=[],
                            delete_before_replace=False, protect=False)

    shuffled = [reg("b-key", "aws:kms/key:Key", "b"), reg("b", "pkg:m:Secret"),
                reg("a-secret", "aws:secretsmanager/secret:Secret", "a"), reg("a-key", "aws:kms/key:Key", "a"),
                reg("a", "pkg:m:Secret"), reg("stray", "aws:iam/policy:Policy", "urn:not-planned")]
    assert [r.urn for r in in_tree_order(shuffled)] == ["stray", "a", "a-key", "a-secret", "b", "b-key"]


def test_plan_shows_who_can_read_write_and_administer(capsys):
    staging = plan_json(capsys, "--stack", "staging")
    access = {s["name"]: s["access"] for s in staging["secrets"]}
    # No readers named, but the read policy's role is the reader (issue 18), not the account.
    assert access["example-rails"]["readableByAnyIamPrincipal"] is False
    assert access["example-rails"]["read"] == ["arn:aws:iam::<account>:role/example-staging-app",
                                               "arn:aws:iam::123456789012:role/example-staging-deployer"]
    # trustTags: the role's reads need the tag too (deployer exempt).
    assert access["example-prismic"]["readableByAnyIamPrincipal"] is False
    assert access["example-prismic"]["readRequiresTags"] == {"team": "example"}
    assert access["example-prismic"]["tagExempt"] == ["arn:aws:iam::123456789012:role/example-staging-deployer"]
    assert "(computed: arn of role rds-postgres-example-staging-rotation)" in access["example-db"]["write"]
    production = plan_json(capsys, "--stack", "production")
    for secret in production["secrets"]:
        assert secret["access"]["readableByAnyIamPrincipal"] is False
        assert "arn:aws:iam::123456789012:role/example-production-app" in secret["access"]["read"]
        assert secret["access"]["administer"][0] == "arn:aws:iam::123456789012:role/platform-admin"
    assert main(["plan", "--stack", "staging"]) == 0
    text = capsys.readouterr().out
    assert "  example-prismic:\n    read: arn:aws:iam::<account>:role/example-staging-app, " \
           "arn:aws:iam::123456789012:role/example-staging-deployer " \
           "(with tags team=example; exempt: arn:aws:iam::123456789012:role/example-staging-deployer)" in text
    # A read policy with no roles (the review template) leaves reads to IAM, and the plan says so.
    assert main(["plan", "--stack", "pr"]) == 0
    text = capsys.readouterr().out
    assert "  example-rails:  ! readable by any principal IAM allows" in text


def test_plan_shows_the_region_of_replica_keys_only(capsys):
    doc = plan_json(capsys, "--stack", "production")
    keys = {r["name"]: r["inputs"] for r in doc["resources"] if r["type"] == "aws:kms/key:Key"}
    assert keys["example-rails-us-west-2"]["region"] == "us-west-2"
    assert "region" not in keys["example-rails"]


def test_terminal_rendering_escapes_markup_and_shows_secret(project):
    """A description with rich markup must neither crash the terminal renderer nor vanish, and
    secret inputs must read `[secret]` on screen (rich would take it for a tag and print nothing)."""
    from rich.console import Console

    from tooling.plan import plan_stack, render_rich

    (project / "stacks" / "Pulumi.m.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": "us-east-1", **DEPLOYER,
        "app-secrets:secrets": {"web": {"type": "random", "environmentVariables": ["A"],
                                        "description": "[/bold] oops [red]x[/red] [secret]",
                                        "tags": {"team": "[link=http://e.invalid]t[/link]"}}}}}))
    doc = plan_stack("m", project_dir=project)
    console = Console(record=True, width=400, force_terminal=True, color_system="truecolor")
    render_rich(doc, console)
    shown = console.export_text()
    assert "[/bold] oops [red]x[/red] [secret]" in shown
    assert "[link=http://e.invalid]t[/link]" in shown
    assert "secretString: [secret]" in shown


def test_validate_runs_each_stack_in_isolation(capsys, project, monkeypatch):
    """A stack that fails while resources are still being registered must not fail the next one
    (its pending registrations used to resume inside the next stack's run)."""
    from tooling.offline import AwsMocks

    real = AwsMocks.new_resource

    def new_resource(self, args):
        if args.typ == "aws:kms/key:Key" and args.name == "boom":
            raise RuntimeError("the cloud fell over")
        return real(self, args)

    monkeypatch.setattr(AwsMocks, "new_resource", new_resource)
    for name, secret in (("a-broken", "boom"), ("b-good", "web")):
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": {
            "aws:region": "us-east-1", **DEPLOYER,
            "app-secrets:secrets": {secret: {"type": "random", "environmentVariables": ["A", "B", "C"]}}}}))
    code, out, _ = run_cli(capsys, "validate", "--project-dir", str(project))
    lines = out.splitlines()
    assert lines[0] == "a-broken: failed" and "the cloud fell over" in lines[1] and "RuntimeError" not in out
    assert lines[2:] == ["b-good: ok (11 resources, 1 secrets)"]
    assert code == 1  # a failure while running, not bad input


def test_under_the_engine_the_message_names_the_stack_file(project):
    """What `pulumi preview` prints (the RunError's text) names the file too, not only the CLI."""
    from stack_program.program import InvalidConfig
    from tooling.offline import run_program

    (project / "stacks" / "Pulumi.e.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": "us-east-9", **DEPLOYER, "app-secrets:secrets": {"web": {"type": "nope"}}}}))
    with pytest.raises(InvalidConfig) as raised:
        run_program("e", project_dir=project)
    text = str(raised.value)
    assert text.splitlines()[0] == "invalid config in stacks/Pulumi.e.yaml (2 problems):"
    assert "  - aws:region: 'us-east-9' is not an AWS region" in text
    assert "InvalidConfig" not in text and "Error" not in text


def test_validate_with_no_stack_files_is_bad_input(capsys, project):
    code, out, err = run_cli(capsys, "validate", "--project-dir", str(project))
    assert (code, out) == (2, "")
    assert err == f"error: {project}/stacks: no stack files; expected Pulumi.<stack>.yaml files there\n"


def test_renderers_show_control_characters_as_escapes():
    from tooling.plan import _format_inputs, visible

    assert visible("a\x1b[2Jb\x07 é [secret]") == "a\\x1b[2Jb\\x07 é [secret]"
    assert _format_inputs({"description": "x\x1b]0;owned\x07"}) == ["description: x\\x1b]0;owned\\x07"]


def test_the_invented_deployer_is_explained_in_a_review_stack(capsys):
    """A review stack may leave deployerPrincipals unset: the plan stands a role in for whoever runs
    `pulumi up`, and says so next to it."""
    assert main(["plan", "--stack", "pr"]) == 0
    out = capsys.readouterr().out
    assert "role/plan-deployer" in out
    assert "(role/plan-deployer stands for whoever runs `pulumi up`" in out
