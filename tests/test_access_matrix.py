"""The access matrix: for every example stack, who can read, write and change the policy of each
secret, computed by evaluating identity, secret and key policies together (tooling.access, tested
on AWS's own examples in test_access.py) over what the program registers offline."""

from __future__ import annotations

import json

import pytest
import yaml

from aws_managed_policies import MANAGED_POLICIES
from tooling.access import (OPERATOR_ABILITIES, Principal, access_summary, can, can_read_after_re_key,
                            replica_accesses, secret_accesses)
from tooling.offline import AwsMocks, DEPLOYER_ROLE, FAKE_ACCOUNT_ID, PROJECT_DIR, run_program
from tests.helpers import stack_account, stack_config

ADMIN_STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# What a pull request could write into a review stack's read policy: every secret, every key.
REVIEW_READ_ALL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}]}

MANAGED = list(MANAGED_POLICIES)
ALL_ABILITIES = ("read", *OPERATOR_ABILITIES, "administer")
SCENARIOS = ["named reader", "reader missing its tag", "account admin (*)", "named admin", "read-write principal",
             "rotation role", "deployer", "review-stack role"]

# Expected reads, one row per scenario, one column per secret (in stack-file order: secrets, then
# databases). Y allowed, n denied, - scenario absent from that stack.
EXPECTED_READS = {
    # dev names no readers, but its read policy's role becomes the named reader of each secret
    # (issue 18, as CDK's grantRead): IAM alone reads nothing.
    "dev": {"columns": ["example-rails", "example-prismic", "example-smtp", "example-db"], "rows": {
        "named reader":           "Y Y Y Y",
        "reader missing its tag": "Y Y Y Y",
        "account admin (*)":      "n n n n",
        "named admin":            "- - - -",
        "read-write principal":   "- - - -",
        "rotation role":          "n n n Y",
        "deployer":               "Y Y Y Y",
        "review-stack role":      "n n n n"}},
    # staging: example-prismic carries trustTags team=example, enforced by a Deny.
    "staging": {"columns": ["example-rails", "example-prismic", "example-db"], "rows": {
        "named reader":           "Y Y Y",
        "reader missing its tag": "Y n Y",
        "account admin (*)":      "n n n",
        "named admin":            "- - -",
        "read-write principal":   "- - -",
        "rotation role":          "n n Y",
        "deployer":               "Y Y Y",
        "review-stack role":      "n n n"}},
    # production names its reader and deployer: IAM alone reads nothing.
    "production": {"columns": ["example-rails", "example-prismic", "example-smtp", "example-db"], "rows": {
        "named reader":           "Y Y Y Y",
        "reader missing its tag": "Y Y Y Y",
        "account admin (*)":      "n n n n",
        "named admin":            "n n n n",
        "read-write principal":   "n Y n n",
        "rotation role":          "n n n Y",
        "deployer":               "Y Y Y Y",
        "review-stack role":      "n n n n"}},
    # the review-stack template: its own secret on the shared key (staging's is not ours to judge).
    "pr": {"columns": ["example-rails"], "rows": {
        "named reader":           "Y",
        "reader missing its tag": "Y",
        "account admin (*)":      "Y",
        "named admin":            "-",
        "read-write principal":   "-",
        "rotation role":          "-",
        "deployer":               "Y",
        "review-stack role":      "Y"}},
}


def function_of_role(run, account: str, role_name: str) -> str:
    region = run.mocks.region
    names = [f.inputs["name"] for f in run.by_type("aws:lambda/function:Function")
             if f.inputs["role"] == f"arn:aws:iam::{account}:role/{role_name}"]
    return f"arn:aws:lambda:{region}:{account}:function:{names[0]}"


def principals(run, config: dict, account: str) -> dict[str, Principal | None]:
    """One principal per scenario, with the identity policies the stack gives it."""
    policy_docs = {f"arn:aws:iam::{account}:policy/{r.inputs['name']}": json.loads(r.inputs["policy"])
                   for r in run.by_type("aws:iam/policy:Policy")}
    attached: dict[str, list] = {}
    for r in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if r.inputs["policyArn"] in policy_docs:
            attached.setdefault(r.inputs["role"], []).append(policy_docs[r.inputs["policyArn"]])
    inline: dict[str, list] = {}
    for r in run.by_type("aws:iam/rolePolicy:RolePolicy"):
        inline.setdefault(r.inputs["role"], []).append(json.loads(r.inputs["policy"]))
    role = lambda name: f"arn:aws:iam::{account}:role/{name}"  # noqa: E731
    tags = {k: v for entry in [*config.get("app-secrets:secrets", {}).values(),
                               *config.get("app-secrets:databases", {}).values()]
            for k, v in (entry.get("trustTags") or {}).items()}
    if attached:
        reader_role, reader_policies = next(iter(sorted(attached.items())))
    else:   # a read policy attached to no role: give its document to a reader role
        reader_role, reader_policies = "example-reader", list(policy_docs.values())
    admins = config.get("app-secrets:adminPrincipals") or []
    writers = [arn for entry in config.get("app-secrets:secrets", {}).values()
               for arn in entry.get("readwritePrincipals") or []]
    rotation_roles = sorted(r.inputs["name"] for r in run.by_type("aws:iam/role:Role"))
    deployers = config.get("app-secrets:deployerPrincipals") or [role(DEPLOYER_ROLE)]
    return {
        "named reader": Principal(role(reader_role), reader_policies, tags),
        "reader missing its tag": Principal(role(reader_role), reader_policies),
        "account admin (*)": Principal(role("AdministratorAccess-sso"), [ADMIN_STAR]),
        "named admin": Principal(admins[0]) if admins else None,
        # Named in the policies only, no IAM policy of its own: what the grant alone gives.
        "read-write principal": Principal(writers[0]) if writers else None,
        # Its requests come from its own function, which Lambda marks with lambda:SourceFunctionArn.
        "rotation role": Principal(role(rotation_roles[0]), inline.get(rotation_roles[0], []),
                                   context={"lambda:SourceFunctionArn": function_of_role(run, account, rotation_roles[0])})
        if rotation_roles else None,
        # The same role passed to a function someone else deployed (iam:PassRole + CreateFunction).
        "rotation role in another function": Principal(
            role(rotation_roles[0]), inline.get(rotation_roles[0], []),
            context={"lambda:SourceFunctionArn": f"arn:aws:lambda:us-east-1:{account}:function:not-the-rotation"})
        if rotation_roles else None,
        "deployer": Principal(deployers[0], [ADMIN_STAR]),
        "review-stack role": Principal(role("example-app-pr-7"), [REVIEW_READ_ALL]),
        # The root user may do anything no Deny stops (it has no identity policy; this models that).
        "root user (break-glass)": Principal(f"arn:aws:iam::{account}:root", [ADMIN_STAR]),
        # Operators holding AWS's managed policies, named nowhere in the stack's policies.
        **{name: Principal(role(f"{name}-sso"), [document]) for name, document in MANAGED_POLICIES.items()},
    }


@pytest.fixture(scope="module", params=sorted(EXPECTED_READS))
def matrix(request):
    stack = request.param
    config = stack_config(stack)
    account = stack_account(config)
    run = run_program(stack, mocks=AwsMocks(region=config.get("aws:region", "us-east-1"), account_id=account))
    accesses = {k: v for k, v in secret_accesses(run).items() if not run.outputs["secrets"][k]["external"]}
    who = principals(run, config, account)
    table = {(scenario, secret, ability): (can(p, ability, access).allowed if p else None)
             for scenario, p in who.items() for secret, access in accesses.items()
             for ability in ALL_ABILITIES}
    for scenario, p in who.items():
        for secret, access in accesses.items():
            table[(scenario, secret, "read-after-re-key")] = can_read_after_re_key(p, access).allowed if p else None
    return stack, accesses, table


def render(table, columns, ability: str) -> dict[str, str]:
    mark = {True: "Y", False: "n", None: "-"}
    return {scenario: " ".join(mark[table[(scenario, c, ability)]] for c in columns) for scenario in SCENARIOS}


def test_reads_match_the_access_matrix(matrix):
    stack, accesses, table = matrix
    expected = EXPECTED_READS[stack]
    assert list(accesses) == expected["columns"]
    assert render(table, expected["columns"], "read") == expected["rows"]


def test_only_writers_write_and_only_the_deployer_or_the_root_user_change_policies(matrix):
    stack, accesses, table = matrix
    columns = list(accesses)
    for secret in columns:
        # The deployer writes initial values; a named admin, a reader and a review role never write.
        assert table[("deployer", secret, "write")] is True
        for scenario in ("named reader", "named admin", "review-stack role", "account admin (*)"):
            assert table[(scenario, secret, "write")] in (False, None), (scenario, secret)
        # Named admins administer but cannot change the resource policy (and so grant themselves
        # read); neither can IAM administrators since issue 16: break-glass is the account's root
        # user (or a configured break-glass principal), audited in CloudTrail.
        assert table[("named admin", secret, "change-policy")] in (False, None)
        assert table[("account admin (*)", secret, "change-policy")] is False
        assert table[("root user (break-glass)", secret, "change-policy")] is True
    # Hand-filling placeholders: the read-write principal writes exactly where it is named.
    for secret in columns:
        assert table[("read-write principal", secret, "write")] == table[("read-write principal", secret, "read")]
    if stack == "production":
        assert table[("read-write principal", "example-prismic", "write")] is True
    rotating = [s for s in columns if table[("rotation role", s, "read")]]
    assert all(table[("rotation role", s, "write")] for s in rotating)


def test_the_plan_flag_matches_the_matrix(matrix):
    """"Readable by any principal IAM allows" is shown exactly where an IAM admin reads."""
    stack, accesses, table = matrix
    for secret, access in accesses.items():
        summary = access_summary(access)
        assert summary["readableByAnyIamPrincipal"] is table[("account admin (*)", secret, "read")], secret
        # Trust tags on top of the account's readers: IAM may allow, the Deny still decides.
        if summary["readRequiresTags"]:
            assert table[("reader missing its tag", secret, "read")] is False


def test_readers_fail_over_to_replicas_and_nobody_else_gains_them():
    """Production replicates to us-west-2: each replica has its own key, and the reader's
    policyJson (via readPolicies) covers the replica ARN and key, through Secrets Manager there."""
    config = stack_config("production")
    account = stack_account(config)
    run = run_program("production", mocks=AwsMocks(region="us-east-1", account_id=account))
    replicas = replica_accesses(run)
    assert sorted(replicas) == [("example-db", "us-west-2"), ("example-rails", "us-west-2")]
    who = principals(run, config, account)
    for (secret, region), access in replicas.items():
        assert access.arn.startswith("arn:aws:secretsmanager:us-west-2:") and access.key_arn.startswith(
            "arn:aws:kms:us-west-2:"), secret
        assert can(who["named reader"], "read", access).allowed, secret
        assert can(who["deployer"], "read", access).allowed, secret
        for scenario in ("account admin (*)", "named admin", "review-stack role"):
            assert not can(who[scenario], "read", access).allowed, (scenario, secret)


def test_policy_json_alone_reads_every_replica_when_readers_default_to_the_account():
    """Where the key delegates reads to IAM, a consumer holding only a secret's policyJson must
    reach the replicas too (else it fails over into AccessDenied)."""
    config = stack_config("production")
    account = stack_account(config)
    run = run_program("production", mocks=AwsMocks(region="us-east-1", account_id=account),
                      config_override={"readPrincipals": [], "readPolicies": {}})
    replicas = replica_accesses(run)
    assert replicas
    for (secret, region), access in replicas.items():
        consumer = Principal(f"arn:aws:iam::{account}:role/consumer",
                             [json.loads(run.outputs["secrets"][secret]["policyJson"])])
        assert can(consumer, "read", access).allowed, secret
        assert can(consumer, "read", secret_accesses(run)[secret]).allowed, secret
        # Not a policy of another secret: it names this secret's ARNs and keys only.
        other = next(k for k in run.outputs["secrets"] if k != secret)
        assert not can(consumer, "read", secret_accesses(run)[other]).allowed, (secret, other)


# ---------------------------------------------------------------------------------------------
# Operators: everyone else with rights in the account (issue 16).

def test_operators_with_managed_policies_never_reach_a_secret_whose_readers_are_named(matrix):
    """Where readers are named (every secret of production, staging's tagged one): holders of
    SecretsManagerReadWrite, PowerUserAccess and AdministratorAccess may neither read nor write,
    re-key, rotate or re-policy, nor take the re-key, rotate, read route."""
    stack, accesses, table = matrix
    named = [s for s, a in accesses.items() if not access_summary(a)["readableByAnyIamPrincipal"]]
    if stack == "production":
        assert named == list(accesses)
    for principal in MANAGED:
        for secret in named:
            for ability in ("read", "write", "re-key", "rotate", "change-policy", "read-after-re-key"):
                assert table[(principal, secret, ability)] is False, (principal, secret, ability)


def test_nobody_outside_the_named_principals_re_keys_rotates_or_writes(matrix):
    """In every stack, whatever its readers: only the deployer re-keys, rotates and re-policies;
    writes come from the deployer, the rotation role (its own secret) and named read-write principals."""
    stack, accesses, table = matrix
    for secret in accesses:
        for scenario in [*MANAGED, "account admin (*)", "named admin", "named reader", "review-stack role"]:
            for ability in ("write", "re-key", "rotate", "change-policy"):
                assert table[(scenario, secret, ability)] in (False, None), (scenario, secret, ability)
        assert table[("rotation role", secret, "re-key")] in (False, None)
        assert table[("rotation role", secret, "rotate")] in (False, None)
        assert table[("read-write principal", secret, "re-key")] in (False, None)


def test_the_deployer_can_still_do_everything_pulumi_does(matrix):
    """pulumi up/refresh/destroy: read back, write, re-key (UpdateSecret), rotate (SecretRotation),
    re-policy (SecretPolicy, key policy) and delete."""
    stack, accesses, table = matrix
    for secret in accesses:
        for ability in ("read", "write", "re-key", "rotate", "change-policy", "administer"):
            assert table[("deployer", secret, ability)] is True, (stack, secret, ability)


def test_changing_the_rotation_code_is_the_one_route_left_and_only_for_lambda_writers(matrix):
    """The trust boundary the README states: who may change the rotation function's code reads the
    login. SecretsManagerReadWrite may not (its Lambda rights cover functions named SecretsManager*);
    passing the role to another function is closed by the role's lambda:SourceFunctionArn Deny."""
    stack, accesses, table = matrix
    rotating = [s for s in accesses if accesses[s].rotation_function_arn]
    assert bool(rotating) is (stack != "pr"), "every long-lived example stack has a rotating database"
    for secret in rotating:
        assert table[("SecretsManagerReadWrite", secret, "change-code")] is False
        assert table[("PowerUserAccess", secret, "change-code")] is True
        assert table[("AdministratorAccess", secret, "change-code")] is True
        assert table[("named reader", secret, "change-code")] is False


def matrix_counts() -> dict[str, dict[str, int]]:
    """Allowed (principal, secret, ability) triples per stack and ability, over every scenario."""
    counts: dict[str, dict[str, int]] = {}
    for stack in sorted(EXPECTED_READS):
        config = stack_config(stack)
        account = stack_account(config)
        run = run_program(stack, mocks=AwsMocks(region=config.get("aws:region", "us-east-1"), account_id=account))
        accesses = {k: v for k, v in secret_accesses(run).items() if not run.outputs["secrets"][k]["external"]}
        who = {k: v for k, v in principals(run, config, account).items() if v is not None}
        row = {ability: sum(can(p, ability, a).allowed for p in who.values() for a in accesses.values())
               for ability in ALL_ABILITIES}
        row["read-after-re-key"] = sum(can_read_after_re_key(p, a).allowed for p in who.values()
                                       for a in accesses.values())
        row["managed-policy holders, any ability"] = sum(
            can(who[m], ability, a).allowed for m in MANAGED for a in accesses.values()
            for ability in ("read", "write", "re-key", "rotate", "change-policy"))
        row["cells"] = len(who) * len(accesses) * (len(ALL_ABILITIES) + 1)
        counts[stack] = row
    return counts


if __name__ == "__main__":   # .venv/bin/python tests/test_access_matrix.py: the counts for the report
    for stack_name, row in matrix_counts().items():
        print(stack_name, json.dumps(row))


def test_the_rotation_role_works_only_from_its_own_function(matrix):
    """iam:PassRole of the rotation role to a new function gains nothing: the role's identity
    policy denies its secret and key rights outside its own function."""
    stack, accesses, table = matrix
    rotating = [s for s in accesses if table[("rotation role", s, "read")]]
    assert bool(rotating) is (stack != "pr")
    for secret in rotating:
        assert table[("rotation role", secret, "write")] is True
        assert table[("rotation role in another function", secret, "read")] is False
        assert table[("rotation role in another function", secret, "write")] is False
