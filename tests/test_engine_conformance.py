"""What the Pulumi CLI and engine do around the program, checked on this project's files.

The mock runtime runs the program and nothing else. The rules here are ported from
pulumi/pulumi (commit 1b5949891b3c; file:line in tooling/engine_config.py and below):
- project/stack config rules, applied before any program runs, on every stack file, on the
  `pr` template, and on a stack made with `--copy-config-from pr`;
- URNs in the engine's form, so the plan's URNs paste into `pulumi state` commands;
- `plan --against` on old commits: a plan, or one line with exit 2;
- no `get_session_context` (needs iam:GetRole) when the stack names its deployers.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from stack_program.project import PROJECT_DIR, read_yaml
from tooling import engine_config as ec
from tooling import urns

STACK_FILES = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
STACKS = [p.name[len("Pulumi."):-len(".yaml")] for p in STACK_FILES]
PROJECT = read_yaml(PROJECT_DIR / "Pulumi.yaml")


def stack_config(stack: str) -> dict:
    return read_yaml(PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml")["config"]


# ---------------------------------------------------------------------------------------------
# Config rules (pkg/workspace/config.go, sdk/go/common/workspace/project.go)


def test_pulumi_yaml_passes_the_project_rules():
    assert ec.project_problems(PROJECT) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_passes_the_cli_config_rules(stack):
    assert ec.stack_problems(PROJECT, stack, stack_config(stack)) == []


def test_a_review_stack_copied_from_the_pr_template_passes_the_cli_config_rules():
    copied = ec.copy_config_from(stack_config("pr"))
    assert copied.keys() == stack_config("pr").keys()
    assert ec.stack_problems(PROJECT, "pr-123", copied) == []


def test_a_declared_project_key_without_default_refuses_every_stack():
    """The v0.1.0 Pulumi.yaml: `protect` typed, no default, set by no stack file."""
    old = {**PROJECT, "config": {**PROJECT["config"], "protect": {"type": "boolean", "description": "x"}}}
    for stack in STACKS:
        assert ec.stack_problems(old, stack, stack_config(stack)) == [
            f"Stack '{stack}' is missing configuration value 'protect'"]
    copied = ec.copy_config_from(stack_config("pr"))
    assert ec.stack_problems(old, "pr-123", copied) == ["Stack 'pr-123' is missing configuration value 'protect'"]
    # Set on the stack, the key is not missing (config.go:319: only keys not found on the stack).
    assert ec.stack_problems(old, "dev", {**stack_config("dev"), "app-secrets:protect": True}) == []


def test_the_plan_and_validate_report_the_cli_refusal_in_one_line(tmp_path):
    (tmp_path / "stacks").mkdir()
    text = (PROJECT_DIR / "Pulumi.yaml").read_text()
    (tmp_path / "Pulumi.yaml").write_text(re.sub(r"(  protect:\n)(?:    #.*\n)*    type: string\n    default: auto\n",
                                                 r"\1    type: boolean\n", text))
    assert "default: auto" not in (tmp_path / "Pulumi.yaml").read_text()
    (tmp_path / "stacks" / "Pulumi.s.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  app-secrets:secrets:\n    web: {type: random, environmentVariables: [A]}\n")
    result = subprocess.run([sys.executable, "-m", "components", "validate", "--project-dir", str(tmp_path)],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result
    assert (f"{tmp_path}/stacks/Pulumi.s.yaml: the Pulumi CLI refuses stack s before the program runs: "
            "Stack 's' is missing configuration value 'protect'") in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_typed_values_are_checked_as_the_cli_holds_them():
    typed = {"name": "p", "config": {
        "flag": {"type": "boolean", "default": False},
        "days": {"type": "integer", "default": 30},
        "names": {"type": "array", "items": {"type": "string"}, "default": []},
        "token": {"type": "string", "secret": True, "default": "x"},
    }}

    def problems(**stack):
        return ec.stack_problems(typed, "s", {f"p:{k}": v for k, v in stack.items()})

    assert problems(flag=True, days=7, names=["a"], token={"secure": "v1:abc"}) == []
    assert problems(flag="true", days="30", token={"secure": "v1:abc"}) == []   # scalars are strings to the CLI
    assert problems(flag="yes", token={"secure": "v1:abc"}) == ["Stack 's' with configuration key 'flag' must be of type 'boolean'"]
    assert problems(days="thirty", token={"secure": "v1:abc"}) == ["Stack 's' with configuration key 'days' must be of type 'integer'"]
    assert problems(days=1.5, token={"secure": "v1:abc"}) == ["Stack 's' with configuration key 'days' must be of type 'integer'"]
    assert problems(names=["a", 3], token={"secure": "v1:abc"}) == [
        "Stack 's' with configuration key 'names' must be of type 'array<string>'"]
    assert problems(names=[{"secure": "v1:abc"}], token={"secure": "v1:abc"}) == []   # decrypts to a string
    assert problems(token="plain") == ["Stack 's' with configuration key 'token' must be encrypted as it's secret"]
    assert ec.stack_problems(typed, "s", {"p:token": {"secure": "v1:x"}, "p:a:b:c": 1}) == [
        "could not parse p:a:b:c as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"]


def test_project_rules_in_the_cli_words():
    def problems(config):
        return ec.project_problems({"name": "p", "config": config})

    assert problems({"k": {"type": "boolean", "default": "auto"}}) == [
        "The default value specified for configuration key 'k' is not of the expected type 'boolean'"]
    assert problems({"k": {"type": "array"}}) == [
        "The configuration key 'k' declares an array but does not specify the underlying type via the 'items' attribute"]
    assert problems({"aws:region": {"default": "us-east-1"}})[0].startswith(
        "Configuration key 'aws:region' is not namespaced by the project and should not define a default value")
    assert problems({"aws:region": "us-east-1", "k": 3, "l": [1]}) == []   # shorthand: value / default
    assert ec.missing_keys_error(["b", "a", "c"], "s") == "Stack 's' is missing configuration values 'a', 'b' and 'c'"


def test_protect_auto_means_true_except_in_review_stacks():
    """Pulumi.yaml's default reaches the program as the string "auto"."""
    from stack_program import config as cfg

    assert ec.config_types(PROJECT)["protect"].default == "auto"
    assert cfg.parse_config({"protect": "auto", "deployerPrincipals": ["arn:aws:iam::123456789012:role/ci"]},
                            stack="dev", region="us-east-1").protect is True
    assert cfg.parse_config({"protect": "auto", "reviewStack": True}, stack="pr-1", region="us-east-1").protect is False
    assert cfg.parse_config({"protect": True, "reviewStack": True}, stack="pr-1", region="us-east-1").protect is True
    with pytest.raises(cfg.ConfigError, match="protect: expected true, false or auto"):
        cfg.parse_config({"protect": "yes"}, stack="dev", region="us-east-1")


# ---------------------------------------------------------------------------------------------
# URNs (sdk/go/common/resource/urn/urn.go:80-93, pkg/resource/deploy/deployment.go:796-805)


def test_plan_urns_are_in_the_engine_form():
    from tooling.plan import plan_stack

    doc = plan_stack("production")
    by_urn = {r["urn"]: r for r in doc["resources"]}
    pattern = re.compile(r"^urn:pulumi:production::app-secrets::(?P<types>[^:]+(?::[^:]+)*?)::(?P<name>[^:].*)$")
    deepest = 0
    for resource in doc["resources"]:
        chain = [resource["type"]]
        parent = resource["parent"]
        while parent in by_urn:
            chain.insert(0, by_urn[parent]["type"])
            parent = by_urn[parent]["parent"]
        expected = f"urn:pulumi:production::app-secrets::{'$'.join(chain)}::{resource['name']}"
        assert resource["urn"] == expected
        assert "pulumi:pulumi:Stack" not in resource["urn"] and pattern.match(resource["urn"])
        deepest = max(deepest, len(chain))
    assert deepest >= 3   # a database login's secret's children: the whole chain, not the last parent


def test_old_plan_documents_are_rewritten_in_the_engine_form():
    old = [{"urn": "urn:pulumi:s::p::pulumi:pulumi:Stack$a:b:C::c", "type": "a:b:C", "name": "c",
            "parent": "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"},
           {"urn": "urn:pulumi:s::p::a:b:C$a:b:D::d", "type": "a:b:D", "name": "d",
            "parent": "urn:pulumi:s::p::pulumi:pulumi:Stack$a:b:C::c"},
           {"urn": "urn:pulumi:s::p::a:b:D$aws:x/y:Y::y", "type": "aws:x/y:Y", "name": "y",
            "parent": "urn:pulumi:s::p::a:b:C$a:b:D::d"}]
    assert [r["urn"] for r in urns.to_engine_form(old)] == [
        "urn:pulumi:s::p::a:b:C::c", "urn:pulumi:s::p::a:b:C$a:b:D::d", "urn:pulumi:s::p::a:b:C$a:b:D$aws:x/y:Y::y"]


# ---------------------------------------------------------------------------------------------
# plan --against on old commits


def _commit(ref: str):
    found = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


@pytest.mark.parametrize("ref", ["7cfbaba", "ROOT"])
def test_against_a_commit_that_cannot_plan_is_one_line_exit_2(ref):
    if ref == "ROOT":
        roots = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-list", "--max-parents=0", "HEAD"],
                               capture_output=True, text=True).stdout.split()
        ref = roots[0] if roots else None
    if ref is None or _commit(ref) is None:
        pytest.skip("this checkout has no git history with that commit")
    result = subprocess.run([sys.executable, "-m", "components", "plan", "--stack", "dev", "--against", ref],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: --against {ref}"), result.stderr
    assert not re.search(r"Traceback|[A-Z][A-Za-z]*(Error|Exception)\b", result.stderr), result.stderr


# ---------------------------------------------------------------------------------------------
# get_session_context only when the deployers are not named


def _session_context_calls(run) -> int:
    return sum(1 for token, _ in run.mocks.calls if token == "aws:iam/getSessionContext:getSessionContext")


def test_no_session_context_lookup_when_the_stack_names_its_deployers():
    from tooling.offline import run_program

    assert stack_config("production")["app-secrets:deployerPrincipals"]
    assert _session_context_calls(run_program("production")) == 0
    # A review stack may leave them unset (the pr template does, with a shared key): the running role is
    # asked; naming them there too asks nothing, the shared key's policy included.
    assert not stack_config("pr").get("app-secrets:deployerPrincipals")
    assert _session_context_calls(run_program("pr")) >= 1
    named = run_program("pr", config_override={"deployerPrincipals": '["arn:aws:iam::123456789012:role/ci"]'})
    assert _session_context_calls(named) == 0


def test_the_guard_recipe_is_one_the_engine_accepts():
    """README: `pulumi up --replace '<guard urn>'`. The engine refuses to replace a protected
    resource and refuses `state delete` of one others depend on (pkg/resource/edit/operations.go:
    83-87): the guard must stay unprotected, and the secret depends on it."""
    from tooling.offline import run_program

    run = run_program("production")
    guards = {r.parent: r for r in run.registrations if r.type.endswith(":KmsKeyGuard")}
    secrets = [r for r in run.registrations if r.type == "aws:secretsmanager/secret:Secret"]
    assert guards and len(guards) == len(secrets)
    for secret in secrets:
        guard = guards[secret.parent]
        assert guard.protect is False and secret.protect is True
        assert guard.urn in secret.dependencies   # so `state delete` of the guard is refused
        assert guard.urn.startswith("urn:pulumi:production::app-secrets::") and "pulumi:pulumi:Stack" not in guard.urn
