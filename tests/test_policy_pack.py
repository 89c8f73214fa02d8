"""The CrossGuard pack (policy_pack/), without the Pulumi CLI: each policy's `validate` is called
with `ResourceValidationArgs` / `StackValidationArgs`, as pulumi-policy's own tests do, on crafted
resources and on the offline plan's registrations of every example stack."""

from __future__ import annotations

import json

import pytest
import yaml
from pulumi_policy import (PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs,
                           ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy_pack.guardrails import POLICIES, rotation_interval_days, secret_name_of_arn
from tooling.offline import PROJECT_DIR, execute, load_project, load_stack, run_program

# The organisation's pack config (lives in Pulumi Cloud, outside any pull request).
# Long-lived secrets by full ARN (account and region; the plan's mock account).
PRISMIC = "arn:aws:secretsmanager:us-east-1:000000000000:secret:example-prismic"
PROD_DB = "arn:aws:secretsmanager:us-east-1:000000000000:secret:rds-postgres-example-production"
PACK_CONFIG = {"allowedLongLivedSecrets": [PRISMIC], "allowedReviewRoleNames": ["example-review-app"],
               "maxRotationDays": 30}
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
POLICY = {p.name: p for p in POLICIES}


def options(parent=None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
                                 parent=parent)


def resource_args(type_, props, name="r", urn=None, config=None) -> ResourceValidationArgs:
    # Props wrapped as the engine hands them over (lists and maps become proxies).
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), urn or f"urn:pulumi:s::p::{type_}::{name}", name, options(), None,
                                  config if config is not None else PACK_CONFIG)


def violations_of(policy, args) -> list[str]:
    found = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def check(resources: list[PolicyResource], config=PACK_CONFIG) -> list[tuple[str, str, str]]:
    """Every policy on every resource, then the stack policies: (policy, resource name, message)."""
    found = []
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, config)
                found += [(policy.name, r.name, m) for m in violations_of(policy, args)]
        elif isinstance(policy, StackValidationPolicy):
            found += [(policy.name, "stack", m) for m in violations_of(policy, StackValidationArgs(resources, config))]
    return found


def policy_resources(run) -> list[PolicyResource]:
    """The offline plan's registrations as CrossGuard sees resources (inputs as props)."""
    return [PolicyResource(r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, options(r.parent or None), None,
                           None, [], {}) for r in run.registrations]


# --- each policy on its own -------------------------------------------------------------------


def test_secrets_need_customer_managed_keys_for_themselves_and_replicas():
    policy = POLICY["secret-customer-managed-key"]
    good = {"kmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "replicas": [{"region": "us-west-2", "kmsKeyId": "arn:k2"}]}
    assert violations_of(policy, resource_args("aws:secretsmanager/secret:Secret", good)) == []
    assert len(violations_of(policy, resource_args("aws:secretsmanager/secret:Secret", {}))) == 1
    bad_replica = {**good, "replicas": [{"region": "us-west-2"}]}
    assert violations_of(policy, resource_args("aws:secretsmanager/secret:Secret", bad_replica)) == [
        "the replica in us-west-2 uses the AWS-managed key; give it a customer-managed key in its region (kmsKeyId)"]
    assert violations_of(policy, resource_args("aws:kms/key:Key", {})) == []


def test_no_public_principal_in_secret_or_key_policies():
    policy = POLICY["no-public-or-wildcard-principal"]
    public = json.dumps({"Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:role/a", "*"]},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Sid": "DenyUntagged", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]})
    assert violations_of(policy, resource_args("aws:secretsmanager/secretPolicy:SecretPolicy", {"policy": public})) \
        == ["statement Everyone allows Principal '*': name the principals"]
    assert len(violations_of(policy, resource_args("aws:kms/key:Key", {"policy": public}))) == 1
    # A Deny to everyone is how trust tags are enforced: fine. An unknown policy (preview) is skipped.
    deny_only = json.dumps({"Statement": [json.loads(public)["Statement"][1]]})
    assert violations_of(policy, resource_args("aws:kms/key:Key", {"policy": deny_only})) == []
    assert violations_of(policy, resource_args("aws:kms/key:Key", {})) == []


def test_keys_rotate_and_keep_the_lockout_check():
    rotation, lockout = POLICY["kms-key-rotation"], POLICY["kms-no-lockout-bypass"]
    assert violations_of(rotation, resource_args("aws:kms/key:Key", {"enableKeyRotation": True})) == []
    assert violations_of(rotation, resource_args("aws:kms/key:Key", {})) == ["key rotation is off: set enableKeyRotation: true"]
    # Asymmetric keys cannot rotate automatically: not this rule's business.
    assert violations_of(rotation, resource_args("aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048"})) == []
    assert len(violations_of(lockout, resource_args("aws:kms/key:Key", {"bypassPolicyLockoutSafetyCheck": True}))) == 1
    assert violations_of(lockout, resource_args("aws:kms/key:Key", {"bypassPolicyLockoutSafetyCheck": False})) == []


def test_review_stack_secrets_delete_at_once():
    policy = POLICY["review-stack-deletes-at-once"]
    tags = {"app-secrets:ephemeral": "true"}
    assert violations_of(policy, resource_args("aws:secretsmanager/secret:Secret",
                                               {"tags": tags, "recoveryWindowInDays": 0})) == []
    assert violations_of(policy, resource_args("aws:secretsmanager/secret:Secret",
                                               {"tags": tags, "recoveryWindowInDays": 7})) == [
        "review-stack secrets must be deleted at once (recoveryWindowInDays: 0), not 7"]
    assert violations_of(policy, resource_args("aws:secretsmanager/secret:Secret", {"recoveryWindowInDays": 30})) == []


@pytest.mark.parametrize("rules, days", [({"automaticallyAfterDays": 45}, 45), ({"scheduleExpression": "rate(30 days)"}, 30),
                                         ({"scheduleExpression": "rate(12 hours)"}, 0.5),
                                         ({"scheduleExpression": "cron(0 4 1 * ? *)"}, None)])
def test_rotation_interval(rules, days):
    assert rotation_interval_days(rules) == days


def test_database_logins_rotate_often_enough_by_pack_config():
    policy = POLICY["database-login-rotation"]
    rotation = "aws:secretsmanager/secretRotation:SecretRotation"
    assert violations_of(policy, resource_args(rotation, {"rotationRules": {"automaticallyAfterDays": 30}})) == []
    assert violations_of(policy, resource_args(rotation, {"rotationRules": {"scheduleExpression": "rate(90 days)"}})) \
        == ["the secret rotates every 90 days; the organisation requires at least every 30 days"]
    relaxed = {**PACK_CONFIG, "maxRotationDays": 90}
    assert violations_of(policy, resource_args(rotation, {"rotationRules": {"scheduleExpression": "rate(90 days)"}},
                                               config=relaxed)) == []


def test_secret_name_of_arn():
    assert secret_name_of_arn("arn:aws:secretsmanager:us-east-1:1:secret:rds-postgres-x-AbC123") == "rds-postgres-x"
    assert secret_name_of_arn("arn:aws:secretsmanager:us-east-1:1:secret:*") == "*"
    assert secret_name_of_arn("arn:aws:kms:us-east-1:1:key/k") is None


# --- the example stacks, and a pull request that tries to widen access ------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_passes_the_pack(stack):
    run = run_program(stack, template="pr" if stack.startswith("pr") else None)
    assert check(policy_resources(run)) == []


def test_a_review_stack_of_the_template_passes():
    assert check(policy_resources(run_program("pr-7", template="pr"))) == []


def pr_config() -> dict:
    return yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.pr.yaml").read_text())["config"]


def test_a_malicious_review_config_fails_naming_the_rule():
    """A pull request edits the review stack's config: point a placeholder at production's database
    login, and attach the read policy to production's app role."""
    config = pr_config()
    secrets = dict(config["app-secrets:secrets"])
    secrets["steal"] = {"type": "user-managed", "environmentVariables": ["DATABASE_URL"],
                        "existingSecretName": "rds-postgres-example-production"}
    read_policies = {"example-app": {"secrets": ["example-rails", "example-prismic", "steal"],
                                     "roleNames": ["example-production-app"]}}
    run = run_program("pr-7", template="pr",
                      config_override={"secrets": secrets, "readPolicies": read_policies})
    found = check(policy_resources(run))
    assert {policy for policy, _, _ in found} == {"review-stack-allowed-references"}
    messages = sorted(message for _, _, message in found)
    assert messages == [
        "a review stack may not attach policies to role 'example-production-app' (not in allowedReviewRoleNames, "
        "not created by this stack)",
        f"statement ReadSecrets reads long-lived secret 'rds-postgres-example-production' ({PROD_DB}), which is "
        "not in allowedLongLivedSecrets"]
    # The same config with the pack's lists allowing it passes: the lists, not the PR, decide.
    lenient = {**PACK_CONFIG, "allowedLongLivedSecrets": [PRISMIC, PROD_DB],
               "allowedReviewRoleNames": ["example-production-app"]}
    assert check(policy_resources(run), lenient) == []


def test_a_long_lived_stack_without_database_rotation_fails():
    stack = load_stack("staging", load_project())
    stack.values["app-secrets:databases"]["example-db"]["rotation"] = {"enabled": False}
    found = check(policy_resources(execute("app-secrets", stack)))
    assert found == [("database-login-rotation-configured", "stack",
                      "database login secret 'rds-postgres-example-staging' has no rotation")]


def test_the_pack_folder_is_complete_and_pinned_like_the_lock():
    folder = PROJECT_DIR / "policy_pack"
    manifest = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert "PolicyPack(" in (folder / "__main__.py").read_text()
    lock = (PROJECT_DIR / "uv.lock").read_text()
    for line in (folder / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert f'name = "{name}"\nversion = "{version}"' in lock, line


def test_a_review_stack_that_claims_not_to_be_one_is_still_judged_as_one():
    """The pull request also sets reviewStack: false (no ephemeral tags) and opens production's
    database security group: the stack's name, which the PR cannot change, still decides."""
    config = pr_config()
    # (PROD_DATABASE_URL: the stack's own login already gives DATABASE_URL, and config refuses two.)
    secrets = {"steal": {"type": "user-managed", "environmentVariables": ["PROD_DATABASE_URL"],
                         "existingSecretName": "rds-postgres-example-production"}}
    database = {"identifier": "example-production", "username": "example_admin",
                "initialPassword": "secure-placeholder-not-a-secret", "vpcId": "vpc-0a1b2c3d4e5f60718",
                "subnetIds": ["subnet-0a1b2c3d4e5f60718"], "databaseSecurityGroupId": "sg-0d1e2f3a4b5c6d7e8"}
    stack = load_stack("pr-7", load_project(), template="pr")
    stack.values.update({"app-secrets:reviewStack": False, "app-secrets:sharedKmsKey": False,
                         "app-secrets:deployerPrincipals": ["arn:aws:iam::000000000000:role/plan-deployer"],
                         "app-secrets:secrets": {**config["app-secrets:secrets"], **secrets},
                         "app-secrets:readPolicies": {"example-app": {"secrets": ["steal"]}}})
    stack.values["app-secrets:databases"] = {"prod": database}
    stack.secret_keys.add("app-secrets:databases")
    run = execute("app-secrets", stack)
    assert not any(r.inputs.get("tags", {}).get("app-secrets:ephemeral") for r in run.registrations)
    found = {(policy, message) for policy, _, message in check(policy_resources(run))}
    assert ("review-stack-allowed-references", "statement Readrdspostgresexampleproduction reads long-lived "
            f"secret 'rds-postgres-example-production' ({PROD_DB}), which is not in allowedLongLivedSecrets") in found
    assert ("review-stack-allowed-references", "a review stack may not open security group 'sg-0d1e2f3a4b5c6d7e8' "
            "of another stack (databaseSecurityGroupId)") in found
    # A long-lived stack's name does not match: the same resources there are not review rules' business.
    assert not any(p == "review-stack-allowed-references"
                   for p, _, _ in check(policy_resources(run), {**PACK_CONFIG, "reviewStackNamePattern": "^review-"}))


def test_review_references_are_judged_on_each_resource_before_it_exists():
    policy = POLICY["review-stack-allowed-references"]
    attach = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    urn = f"urn:pulumi:pr-9::app-secrets::{attach}::x"
    assert violations_of(policy, resource_args(attach, {"role": "example-production-app"}, urn=urn)) == [
        "a review stack may not attach policies to role 'example-production-app' (not in allowedReviewRoleNames, "
        "not created by this stack)"]
    for role in ("example-review-app", "rds-postgres-x-pr-9-rotation"):   # allowed, or its own
        assert violations_of(policy, resource_args(attach, {"role": role}, urn=urn)) == []
    # The same attachment in a long-lived stack is not this rule's business.
    assert violations_of(policy, resource_args(attach, {"role": "example-production-app"},
                                               urn=f"urn:pulumi:production::app-secrets::{attach}::x")) == []
    # A read policy still unknown at preview is judged at `pulumi up`, when it is known.
    iam_policy = "aws:iam/policy:Policy"
    assert violations_of(policy, resource_args(iam_policy, {}, urn=f"urn:pulumi:pr-9::app-secrets::{iam_policy}::p")) == []
    wildcard = json.dumps({"Statement": [{"Sid": "All", "Effect": "Allow", "Action": "secretsmanager:Get*",
                                          "Resource": "arn:aws:secretsmanager:us-east-1:1:secret:*"}]})
    assert violations_of(policy, resource_args(iam_policy, {"policy": wildcard},
                                               urn=f"urn:pulumi:pr-9::app-secrets::{iam_policy}::p")) == [
        "statement All reads secrets on 'arn:aws:secretsmanager:us-east-1:1:secret:*': a review stack names each secret"]


def test_a_value_unknown_at_preview_is_left_to_the_framework():
    """pulumi-policy turns UnknownValueError into "can't run policy during preview"; the policy is
    then judged at `pulumi up`, when the value is known."""
    policy = POLICY["review-stack-allowed-references"]
    iam_policy = "aws:iam/policy:Policy"
    with pytest.raises(UnknownValueError):
        violations_of(policy, resource_args(iam_policy, {"policy": UNKNOWN_STRING_VALUE},
                                            urn=f"urn:pulumi:pr-9::app-secrets::{iam_policy}::p"))


def test_the_pack_entry_point_serves_the_policies_over_grpc_as_the_engine_calls_it():
    """`__main__.py` is what Pulumi runs: it prints its port and answers the analyzer protocol.
    Ask it, as `pulumi preview --policy-pack` would, about a review stack's attachment."""
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    folder = PROJECT_DIR / "policy_pack"
    server = subprocess.Popen([sys.executable, "__main__.py"], cwd=folder, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty())
            assert info.name == "app-secrets-guardrails"
            assert {p.name for p in info.policies} == set(POLICY)
            props = struct_pb2.Struct()
            props.update({"role": "example-production-app", "policyArn": "arn:aws:iam::1:policy/p"})
            attach = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
            response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=attach, properties=props, urn=f"urn:pulumi:pr-9::app-secrets::{attach}::x", name="x",
                options=analyzer_pb2.AnalyzerResourceOptions()))
            # The engine shows the policy's description, then the violation.
            assert [(d.policyName, d.message.splitlines()[-1]) for d in response.diagnostics] == [(
                "review-stack-allowed-references",
                "a review stack may not attach policies to role 'example-production-app' "
                "(not in allowedReviewRoleNames, not created by this stack)")]
            assert response.diagnostics[0].enforcementLevel == analyzer_pb2.MANDATORY
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


# --- issue 16: the holes a review found, each reproduced against the pack's own validators ----

def review_violations(type_, props, stack="pr-1", config=PACK_CONFIG) -> list[str]:
    return violations_of(POLICY["review-stack-allowed-references"],
                         resource_args(type_, props, urn=f"urn:pulumi:{stack}::app-secrets::{type_}::x", config=config))


def policy_doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROD_DB_ARN = f"{PROD_DB}-AbCdEf"


@pytest.mark.parametrize("stack, role", [("pr", "example-production-app"), ("pr-1", "payments-pr-1xx-deploy"),
                                         ("pr-1", "payments-pr-1"), ("pr-1", "pr-1-rotation")])
def test_role_names_are_matched_exactly_not_as_substrings(stack, role):
    assert review_violations(ATTACH, {"role": role}, stack=stack) == [
        f"a review stack may not attach policies to role '{role}' (not in allowedReviewRoleNames, "
        "not created by this stack)"]
    assert review_violations(ATTACH, {"role": f"example-db-{stack}-rotation"}, stack=stack) == []


@pytest.mark.parametrize("action", ["secretsmanager:PutSecretValue", "secretsmanager:PutResourcePolicy",
                                    "secretsmanager:UpdateSecret", "secretsmanager:RotateSecret",
                                    "secretsmanager:Delete*", "secretsmanager:*"])
def test_write_admin_and_policy_actions_on_a_long_lived_secret_are_refused(action):
    document = policy_doc({"Sid": "Touch", "Effect": "Allow", "Action": action, "Resource": PROD_DB_ARN})
    found = review_violations(ROLE_POLICY, {"role": "example-db-pr-1-rotation", "policy": document})
    assert len(found) == 1 and found[0].startswith("statement Touch may change long-lived secret "
                                                   "'rds-postgres-example-production'"), found


def test_not_resource_and_not_action_grants_are_refused():
    for field, value in (("NotResource", "arn:aws:s3:::nothing"), ("NotAction", "iam:*")):
        statement = {"Sid": "Sneaky", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", field: value}
        if field == "NotAction":
            statement = {"Sid": "Sneaky", "Effect": "Allow", "NotAction": value, "Resource": "*"}
        found = review_violations("aws:iam/policy:Policy", {"policy": policy_doc(statement)})
        assert found == ["statement Sneaky uses NotAction or NotResource: a review stack names its actions and "
                         "resources"], field


@pytest.mark.parametrize("arn", [
    "arn:aws:secretsmanager:us-east-1:999999999999:secret:example-prismic-AbCdEf",   # another account
    "arn:aws:secretsmanager:eu-west-1:000000000000:secret:example-prismic-AbCdEf",   # another region
])
def test_an_allowed_name_in_another_account_or_region_is_not_allowed(arn):
    document = policy_doc({"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": arn})
    found = review_violations("aws:iam/policy:Policy", {"policy": document})
    assert len(found) == 1 and "which is not in allowedLongLivedSecrets" in found[0], found
    allowed = PRISMIC + "-AbCdEf"
    same = policy_doc({"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": allowed})
    assert review_violations("aws:iam/policy:Policy", {"policy": same}) == []


READ_PROD = policy_doc({"Sid": "Steal", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                        "Resource": PROD_DB_ARN})


@pytest.mark.parametrize("type_, props", [
    ("aws:iam/role:Role", {"name": "x-pr-1-rotation", "inlinePolicies": [{"name": "p", "policy": READ_PROD}]}),
    ("aws:iam/userPolicy:UserPolicy", {"user": "alice", "policy": READ_PROD}),
    ("aws:iam/groupPolicy:GroupPolicy", {"group": "devs", "policy": READ_PROD}),
])
def test_every_policy_bearing_type_is_inspected(type_, props):
    found = review_violations(type_, props)
    assert any(m.startswith("statement Steal reads long-lived secret 'rds-postgres-example-production'")
               for m in found), found


@pytest.mark.parametrize("type_, props", [
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "alice", "policyArn": "arn:aws:iam::aws:policy/x"}),
    ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"group": "devs", "policyArn": "arn:aws:iam::aws:policy/x"}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"users": ["alice"], "policyArn": "arn:aws:iam::aws:policy/x"}),
])
def test_review_stacks_attach_nothing_to_users_or_groups(type_, props):
    assert review_violations(type_, props) == ["a review stack may not attach policies to users or groups"]


def test_permissions_management_and_code_changes_are_refused():
    document = policy_doc({"Sid": "Escalate", "Effect": "Allow", "Action": ["iam:PassRole", "lambda:Update*"],
                           "Resource": "*"})
    assert review_violations("aws:iam/policy:Policy", {"policy": document}) == [
        "statement Escalate grants iam:PassRole, lambda:UpdateFunctionCode, lambda:UpdateFunctionConfiguration: "
        "a review stack manages no permissions and no code"]
