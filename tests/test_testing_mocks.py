"""`app_secrets.testing.AwsMocks`: every component runs under it with no lookup of your own; and
under a consumer's own mocks that answer nothing, the error names the missing lookup."""

from __future__ import annotations

import json

import pulumi
import pytest

from app_secrets.testing import AwsMocks, UnansweredLookup
from tooling.offline import _fresh_runtime


class Answerless(pulumi.runtime.Mocks):
    """The usual mocks of Pulumi's unit-testing guide: resources echo their inputs, calls answer {}."""

    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


def resolve(mocks, build):
    """Run `build()` under `mocks`; return its outputs resolved, or raise what the program raised."""
    _fresh_runtime()
    pulumi.runtime.set_mocks(mocks, project="consumer", stack="test", preview=False)
    outputs = build()
    found = {}

    @pulumi.runtime.test
    def wait():
        return pulumi.Output.all(**outputs).apply(found.update)

    wait()
    return found


def build_everything():
    from app_secrets.kms import CustomerManagedKey, CustomerManagedKeyArgs
    from app_secrets.rds import RdsPostgresAdminLogin, RdsPostgresAdminLoginArgs
    from app_secrets.read_policy import ReadSecretPolicy, ReadSecretPolicyArgs
    from app_secrets.secret import RandomSecret, RandomSecretArgs, Secret, SecretArgs, UserManagedSecret, \
        UserManagedSecretArgs

    rails = RandomSecret("rails", RandomSecretArgs(name="shop/rails", environment_variables=["SECRET_KEY_BASE"],
                                                   replica_regions=[]))
    smtp = Secret("smtp", SecretArgs(name="shop/smtp", initial_value={"SMTP_PASSWORD": pulumi.Output.secret("pw")}))
    tokens = UserManagedSecret("tokens", UserManagedSecretArgs(name="shop/tokens", environment_variables=["TOKEN"]))
    shared = ReadSecretPolicy("shared", ReadSecretPolicyArgs(policy_name="read-shared", secret_names=["shared/gh"],
                                                             role_names=["ci"]))
    key = CustomerManagedKey("key", CustomerManagedKeyArgs(name="shop-key"))
    db = RdsPostgresAdminLogin("db", RdsPostgresAdminLoginArgs(
        identifier="shop-db", username="shop_admin", initial_password=pulumi.Output.secret("initial-pw-1"),
        rotation_enabled=False))
    return {"rails": rails.policy_json, "smtp": smtp.arn, "tokens": tokens.arn, "shared": shared.policy_json,
            "key": key.arn, "db": db.secret_arn}


def test_every_component_runs_under_the_shipped_mocks():
    mocks = AwsMocks(account_id="111122223333", region="eu-west-1")
    found = resolve(mocks, build_everything)
    assert found["smtp"].startswith("arn:aws:secretsmanager:eu-west-1:111122223333:secret:shop/smtp-")
    read = json.loads(found["rails"])
    assert read["Statement"][0]["Resource"].startswith("arn:aws:secretsmanager:eu-west-1:111122223333:secret:shop/rails")
    assert json.loads(found["shared"])["Statement"][0]["Resource"] == \
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared/gh-AbCdEf"
    types = {t for t, _ in mocks.created}
    assert {"aws:secretsmanager/secret:Secret", "aws:kms/key:Key", "aws:iam/policy:Policy"} <= types


def test_answerless_mocks_fail_naming_the_lookup_not_with_a_type_error():
    from app_secrets.context import MissingLookup
    from app_secrets.secret import RandomSecret, RandomSecretArgs

    with pytest.raises(MissingLookup) as caught:
        resolve(Answerless(), lambda: {"arn": RandomSecret("rails", RandomSecretArgs(
            name="shop/rails", environment_variables=["SECRET_KEY_BASE"])).policy_json})
    message = str(caught.value)
    assert "aws:index/get" in message and "app_secrets.testing.AwsMocks" in message
    assert "NoneType" not in message


def test_an_unknown_lookup_is_named():
    with pytest.raises(UnansweredLookup, match="aws:ec2/getVpc:getVpc"):
        AwsMocks().call(pulumi.runtime.MockCallArgs("aws:ec2/getVpc:getVpc", {}, ""))


def test_the_readme_example_runs():
    """README, "Unit-testing your program": the snippet as written, then its test function."""
    from tooling.offline import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Unit-testing your program**", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "AwsMocks" in code and "@pulumi.runtime.test" in code
    _fresh_runtime()
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()


def test_ids_are_the_same_in_every_run():
    """A consumer's snapshot of a policy (which holds key ARNs) must not change between runs:
    ids may not come from hash(), which Python salts per process (PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    from tooling.offline import PROJECT_DIR

    script = ("import pulumi\nfrom app_secrets.testing import AwsMocks\n"
              "print(AwsMocks().new_resource(pulumi.runtime.MockResourceArgs('aws:kms/key:Key', 'rails', {}))[0])")
    ids = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT_DIR,
                          env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2", "3")}
    assert len(ids) == 1 and next(iter(ids)).endswith("-mock"), ids
