"""Config validation: every mistake gives one clear message naming the key path (pure tests)."""

from __future__ import annotations

import json

import pytest

from app_secrets.secret_settings import RandomSettings
from stack_program.config import parse_config
from stack_program.schema import ConfigError

GOOD = {
    "secrets": {
        "rails": {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"],
                  "randomSettings": {"SECRET_KEY_BASE": {"length": 64}}},
        "prismic": {"type": "user-managed", "environmentVariables": ["PRISMIC_TOKEN"]},
        "smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": "s3cret"}},
    },
    "databases": {"db": {"identifier": "app-db", "username": "admin_user", "initialPassword": "p4ssword-long"}},
    "readPolicies": {"app": {"secrets": ["rails", "db"], "roleNames": ["app-role"]}},
}
SECRET_KEYS = {"secrets", "databases"}


DEPLOYER = "arn:aws:iam::123456789012:role/example-deployer"


def parse(raw, **kw):
    # Long-lived stacks must name their deployer (issue 16, tested on its own below); the other
    # tests are about other keys, so they get one unless they set reviewStack or the key itself.
    if not raw.get("reviewStack") and "deployerPrincipals" not in raw:
        raw = {**raw, "deployerPrincipals": [DEPLOYER]}
    kw.setdefault("secret_keys", SECRET_KEYS)
    kw.setdefault("region", "us-east-1")
    return parse_config(raw, stack=kw.pop("stack", "dev"), **kw)


def problems_of(raw, **kw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, **kw)
    return [str(p) for p in caught.value.problems]


def with_secret(**entry):
    return {"secrets": {"x": entry}}


def test_good_config_parses_with_defaults():
    settings = parse(GOOD)
    kinds = {s.key: s.kind for s in settings.secrets}
    assert kinds == {"rails": "random", "prismic": "user-managed", "smtp": "secret"}
    rails = next(s for s in settings.secrets if s.key == "rails")
    # Unset settings take the documented defaults (upper, lower and numeric on; special off; no minimums).
    assert rails.random_settings["SECRET_KEY_BASE"] == RandomSettings(
        length=64, special=False, upper=True, lower=True, numeric=True, min_upper=0, min_lower=0, min_numeric=0,
        min_special=0, override_special=None)
    assert rails.recovery_window_in_days == 30
    db = settings.databases[0]
    assert (db.secret_name, db.alternate_username, db.strategy, db.ssl_mode) == \
        ("rds-postgres-app-db", "admin_user_alt", "single-user", "verify-full")
    assert db.rotation.enabled and db.rotation.days == 30
    assert settings.read_policies[0].policy_name == "app-read-secrets"


def test_review_stack_names_carry_the_stack_and_skip_recovery_and_rotation():
    settings = parse({**GOOD, "reviewStack": True}, stack="pr-12")
    assert {s.name for s in settings.secrets} == {"rails-pr-12", "prismic-pr-12", "smtp-pr-12"}
    db = settings.databases[0]
    assert db.secret_name == "rds-postgres-app-db-pr-12"
    assert db.recovery_window_in_days == 0 and not db.rotation.enabled
    assert all(s.recovery_window_in_days == 0 for s in settings.secrets)
    assert settings.read_policies[0].policy_name == "app-read-secrets-pr-12"


def test_review_stack_rotates_when_asked():
    raw = {"reviewStack": True, "databases": {"db": {**GOOD["databases"]["db"], "rotation": {"enabled": True}}}}
    assert parse(raw, stack="pr-1").databases[0].rotation.enabled


BAD_CASES = [
    ("unknown secret type", with_secret(type="secrte", environmentVariables=["A"]),
     "secrets.x.type: 'secrte' is not one of 'secret', 'random', 'user-managed' (did you mean 'secret'?)"),
    ("missing type", with_secret(environmentVariables=["A"]),
     "secrets.x.type: is required (one of 'secret', 'random', 'user-managed')"),
    ("typo in a key", with_secret(type="random", environmentVariable=["A"]),
     "secrets.x.environmentVariable: unknown key (did you mean 'environmentVariables'?)"),
    ("JSON key with a dot", with_secret(type="user-managed", environmentVariables=["database.url"]),
     "secrets.x.environmentVariables[0]: 'database.url' is not an upper-case environment variable name"),
    ("JSON key with a hyphen", with_secret(type="secret", initialValue={"API-KEY": "v"}),
     "secrets.x.initialValue.API-KEY: 'API-KEY' is not an upper-case environment variable name"),
    ("lower-case JSON key", with_secret(type="random", environmentVariables=["secret_key_base"]),
     "secrets.x.environmentVariables[0]: 'secret_key_base' is not an upper-case"),
    ("duplicate variable", with_secret(type="random", environmentVariables=["A", "A"]),
     "secrets.x.environmentVariables[1]: duplicate entry 'A'"),
    ("name AWS rejects", with_secret(type="random", name="my secret!", environmentVariables=["A"]),
     "secrets.x.name: 'my secret!' is not a valid Secrets Manager name"),
    ("negative length", with_secret(type="random", environmentVariables=["A"], randomSettings={"A": {"length": -5}}),
     "secrets.x.randomSettings.A.length: expected a whole number from 1 to 4096, got -5"),
    ("min counts over length", with_secret(type="random", environmentVariables=["A"],
                                           randomSettings={"A": {"length": 4, "minUpper": 3, "minNumeric": 3}}),
     "secrets.x.randomSettings.A: the min* counts add up to 6, more than length 4"),
    ("settings for an unknown variable", with_secret(type="random", environmentVariables=["A"], randomSettings={"B": {}}),
     "secrets.x.randomSettings.B: is not one of this secret's environmentVariables"),
    ("replica in the home region", with_secret(type="random", environmentVariables=["A"],
                                               replicaRegions=[{"region": "us-east-1"}]),
     "secrets.x.replicaRegions[0].region: 'us-east-1' is the stack's own region"),
    ("bad region", with_secret(type="random", environmentVariables=["A"], replicaRegions=[{"region": "mars-1"}]),
     "secrets.x.replicaRegions[0].region: 'mars-1' is not an AWS region"),
    ("recovery window of 3 days", with_secret(type="random", environmentVariables=["A"], recoveryWindowInDays=3),
     "secrets.x.recoveryWindowInDays: expected 0 (delete at once) or 7 to 30 days, got 3"),
    ("a principal that is not an ARN", with_secret(type="random", environmentVariables=["A"], readPrincipals=["bob"]),
     "secrets.x.readPrincipals[0]: 'bob' is not an IAM principal ARN"),
    ("wrong type of value", with_secret(type="random", environmentVariables="A"),
     "secrets.x.environmentVariables: expected a list of an upper-case environment variable name"),
    ("secret key not usable as a Pulumi name", {"secrets": {"My_Secret": {"type": "random", "environmentVariables": ["A"]}}},
     "secrets.My_Secret: 'My_Secret' is not a lower-case name"),
    ("empty initial value", with_secret(type="secret", initialValue={}),
     "secrets.x.initialValue: expected at least 1 entry, got 0"),
    ("database without a password", {"databases": {"db": {"identifier": "db", "username": "u"}}},
     "databases.db.initialPassword: is required"),
    ("database TLS off", {"databases": {"db": {**GOOD["databases"]["db"], "sslMode": "disable"}}},
     "databases.db.sslMode: 'disable' would send the password without TLS"),
    ("both days and a schedule", {"databases": {"db": {**GOOD["databases"]["db"],
                                                       "rotation": {"days": 7, "scheduleExpression": "rate(7 days)"}}}},
     "databases.db.rotation: give either days or scheduleExpression, not both"),
    ("bad RDS identifier", {"databases": {"db": {**GOOD["databases"]["db"], "identifier": "1-bad--id"}}},
     "databases.db.identifier: '1-bad--id' is not an RDS instance identifier"),
    ("read policy naming an unknown secret", {"readPolicies": {"app": {"secrets": ["nope"]}}},
     "readPolicies.app.secrets[0]: 'nope' is not a key of `secrets` or `databases`"),
    ("not a map", {"secrets": ["a", "b"]}, "secrets: expected a map of"),
    ("boolean given as a string", {"reviewStack": "yes"}, "reviewStack: expected true or false, got the string 'yes'"),
    ("a CA bundle that is not there", {"databases": {"db": {**GOOD["databases"]["db"], "caBundle": "certs/none.pem"}}},
     "databases.db.caBundle: cannot read 'certs/none.pem'"),
    ("a CA bundle with sslMode require", {"databases": {"db": {**GOOD["databases"]["db"], "sslMode": "require",
                                                               "caBundle": "README.md"}}},
     "databases.db.caBundle: is not used with sslMode require"),
    ("a CA bundle that holds no certificate", {"databases": {"db": {**GOOD["databases"]["db"], "caBundle": "README.md"}}},
     "databases.db.caBundle: 'README.md' holds no PEM certificate"),
    ("VPC without subnets", {"databases": {"db": {**GOOD["databases"]["db"], "vpcId": "vpc-0abc"}}},
     "databases.db.subnetIds: is required when vpcId is given"),
    ("VPC function with no way to Secrets Manager", {"databases": {"db": {
        **GOOD["databases"]["db"], "vpcId": "vpc-0abc", "subnetIds": ["subnet-01"], "secretsManagerEndpoint": "none"}}},
     "databases.db.secretsManagerEndpoint: none leaves the rotation function in vpc-0abc without a route"),
    ("endpoint without a VPC", {"databases": {"db": {**GOOD["databases"]["db"], "secretsManagerEndpoint": "create"}}},
     "databases.db.secretsManagerEndpoint: create needs vpcId and subnetIds"),
    ("unknown endpoint mode", {"databases": {"db": {**GOOD["databases"]["db"], "secretsManagerEndpoint": "nat"}}},
     "databases.db.secretsManagerEndpoint: 'nat' is not one of 'create', 'existing', 'none'"),
    ("two endpoints with private DNS in one VPC", {"databases": {
        "db": {**GOOD["databases"]["db"], "vpcId": "vpc-0abc", "subnetIds": ["subnet-01"]},
        "db2": {**GOOD["databases"]["db"], "identifier": "db-two", "vpcId": "vpc-0abc", "subnetIds": ["subnet-02"]}}},
     "databases.db2.secretsManagerEndpoint: databases.db already creates the secretsmanager endpoint of vpc-0abc"),
    ("security groups without a VPC", {"databases": {"db": {**GOOD["databases"]["db"], "securityGroupIds": ["sg-01"]}}},
     "databases.db.vpcId: is required when securityGroupIds is given"),
    ("rotation more often than every 4 hours", {"databases": {"db": {**GOOD["databases"]["db"],
                                                                     "rotation": {"scheduleExpression": "rate(2 hours)"}}}},
     "databases.db.rotation.scheduleExpression: 'rate(2 hours)': Secrets Manager rotates at most every 4 hours"),
    ("secret policy that is not JSON", with_secret(type="random", environmentVariables=["A"], secretPolicies=["{nope"]),
     "secrets.x.secretPolicies[0]: is not valid JSON"),
    ("public secret policy", with_secret(type="random", environmentVariables=["A"], secretPolicies=[
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}']),
     "secrets.x.secretPolicies[0]: Statement[0] allows everyone (Principal *)"),
    ("rotation role on a random secret", with_secret(type="random", environmentVariables=["A"], createRotationRole=True),
     "secrets.x.createRotationRole: unknown key"),
    ("reserved tag key", with_secret(type="random", environmentVariables=["A"], tags={"aws:owner": "me"}),
     "secrets.x.tags.aws:owner: tag keys starting with 'aws:' are reserved by AWS"),
    ("rotation role name too long", with_secret(type="secret", name="n" * 60, initialValue={"A": "v"},
                                                createRotationRole=True),
     "secrets.x.name: rotation role name"),
]


@pytest.mark.parametrize("raw, expected", [(raw, expected) for _, raw, expected in BAD_CASES],
                         ids=[case for case, _, _ in BAD_CASES])
def test_bad_config_names_the_key_and_what_was_expected(raw, expected):
    problems = problems_of(raw)
    assert any(p.startswith(expected) for p in problems), problems


def test_plaintext_where_a_secret_is_required():
    problems = problems_of({"secrets": {"smtp": {"type": "secret", "initialValue": {"P": "plain"}}}}, secret_keys=set())
    assert problems == ["secrets.smtp.initialValue: expected a secret value, got plaintext: set it with "
                        "`pulumi config set --secret --path 'secrets.smtp.initialValue.KEY' …`"]
    problems = problems_of({"databases": GOOD["databases"]}, secret_keys={"secrets"})
    assert problems[0].startswith("databases.db.initialPassword: expected a secret value, got plaintext")


def test_duplicate_physical_names():
    raw = {"secrets": {"a": {"type": "random", "environmentVariables": ["A"]},
                       "b": {"type": "random", "name": "a", "environmentVariables": ["B"]}},
           "databases": {"a": {**GOOD["databases"]["db"], "secretName": "a"}}}
    problems = problems_of(raw)
    assert "secrets.b: physical name 'a' is already used by secrets.a" in problems
    assert "databases.a: secret name 'a' is already used by secrets.a" in problems
    assert "databases.a: 'a' is also a key of `secrets`; keys must be unique" in problems


def test_unknown_top_level_key_is_a_typo():
    problems = problems_of({}, unknown_keys=("secret",))
    assert problems == ["app-secrets:secret: unknown config key (did you mean 'app-secrets:secrets'?)"]


def test_all_problems_are_reported_at_once():
    raw = {"secrets": {"a": {"type": "random", "environmentVariables": ["a.b"]},
                       "b": {"type": "nope"}}, "recoveryWindowInDays": -1}
    problems = problems_of(raw)
    assert len(problems) == 3
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    text = str(caught.value)
    assert text.splitlines()[0] == "invalid config (3 problems):"
    assert "Traceback" not in text


def test_stack_recovery_window_is_the_default_of_each_secret():
    raw = {**GOOD, "recoveryWindowInDays": 7,
           "secrets": {**GOOD["secrets"], "own": {"type": "random", "environmentVariables": ["A"],
                                                  "recoveryWindowInDays": 0}}}
    settings = parse(raw)
    windows = {s.key: s.recovery_window_in_days for s in settings.secrets}
    assert windows == {"rails": 7, "prismic": 7, "smtp": 7, "own": 0}
    assert settings.databases[0].recovery_window_in_days == 7


def test_per_value_secure_check_when_the_stack_file_says_which_values_are_secure():
    from stack_program.config import stack_file_leaves_of
    stack_file = {"app-secrets:secrets": {"smtp": {"type": "secret", "initialValue": {
        "SMTP_PASSWORD": {"secure": "v1:x"}, "SMTP_USER": "plain"}}}, "aws:region": "us-east-1"}
    leaves = stack_file_leaves_of(stack_file)
    assert leaves["secrets.smtp.initialValue.SMTP_PASSWORD"] is True
    assert leaves["secrets.smtp.initialValue.SMTP_USER"] is False and "aws:region" not in leaves
    raw = {"secrets": {"smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": "x", "SMTP_USER": "plain"}}}}
    problems = problems_of(raw, stack_file_leaves=leaves)
    assert problems == ["secrets.smtp.initialValue.SMTP_USER: expected a secret value, got plaintext: set it with "
                        "`pulumi config set --secret --path 'secrets.smtp.initialValue.SMTP_USER' …`"]


def test_a_whole_key_set_as_one_secret_counts_as_secure():
    from stack_program.config import stack_file_leaves_of
    leaves = stack_file_leaves_of({"app-secrets:secrets": {"secure": "v1:whole"}})
    raw = {"secrets": {"smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": "x", "SMTP_USER": "y"}}}}
    assert parse(raw, stack_file_leaves=leaves).secrets[0].initial_value == {"SMTP_PASSWORD": "x", "SMTP_USER": "y"}


def test_values_not_in_the_stack_file_fall_back_to_the_engine():
    """E.g. config imported from an ESC environment: the file does not hold it at all."""
    raw = {"secrets": {"smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": "x"}}}}
    assert parse(raw, stack_file_leaves={"tags.team": False}, secret_keys={"secrets"}).secrets
    problems = problems_of(raw, stack_file_leaves={"tags.team": False}, secret_keys=set())
    assert problems[0].startswith("secrets.smtp.initialValue: expected a secret value, got plaintext")


@pytest.mark.parametrize("expression", ["rate(1 day)", "rate(12 hour)", "rate(4 hours)", "rate(30 days)",
                                        "cron(0 4 ? * SUN *)"])
def test_schedule_expressions_secrets_manager_accepts(expression):
    raw = {"databases": {"db": {**GOOD["databases"]["db"], "rotation": {"scheduleExpression": expression}}}}
    assert parse(raw).databases[0].rotation.schedule_expression == expression


def test_public_principal_in_a_list_is_caught():
    policy = ('{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::000000000000:root", "*"]}, '
              '"Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}')
    problems = problems_of(with_secret(type="random", environmentVariables=["A"], secretPolicies=[policy]))
    assert problems == ["secrets.x.secretPolicies[0]: Statement[0] allows everyone (Principal *); "
                        "public secret policies are blocked"]


def test_deployer_principals_and_log_retention():
    settings = parse({**GOOD, "deployerPrincipals": ["arn:aws:iam::123456789012:role/ci"], "logRetentionInDays": 90})
    assert settings.deployer_principals == ("arn:aws:iam::123456789012:role/ci",)
    assert settings.log_retention_in_days == 90
    defaults = parse({**GOOD, "reviewStack": True})   # a review stack may leave the deployer to the credentials
    assert (defaults.deployer_principals, defaults.log_retention_in_days) == ((), 30)
    problems = problems_of({**GOOD, "deployerPrincipals": ["ci"], "logRetentionInDays": 10})
    assert problems[0].startswith("deployerPrincipals[0]: 'ci' is not an IAM principal ARN")
    assert problems[1].startswith("logRetentionInDays: expected a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30")
    assert problems[1].endswith(", got 10")


def test_shared_key_users_are_every_secrets_readers_and_writers():
    from stack_program.program import shared_key_users

    root = "arn:aws:iam::123456789012:root"
    app, ops = "arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/ops"
    settings = parse({"sharedKmsKey": True, "reviewStack": True, "secrets": {
        "a": {"type": "random", "environmentVariables": ["A"], "readPrincipals": [app]},
        "b": {"type": "user-managed", "environmentVariables": ["B"], "readwritePrincipals": [ops]},
        "c": {"type": "user-managed", "environmentVariables": ["C"], "existingSecretName": "elsewhere"}}})
    # b names no reader: the account reads it (any principal IAM allows); c is not on this key.
    assert shared_key_users(settings, root) == {"read_principals": sorted([app, root]), "readwrite_principals": [ops]}
    named = parse({"readPrincipals": [app], "secrets": {"a": {"type": "random", "environmentVariables": ["A"]}}})
    assert shared_key_users(named, root) == {"read_principals": [app], "readwrite_principals": []}


def test_secrets_manager_endpoint_defaults_to_create_in_a_vpc_and_none_outside():
    vpc = {**GOOD["databases"]["db"], "vpcId": "vpc-0abc", "subnetIds": ["subnet-01"]}
    settings = parse({"databases": {"in": vpc, "out": {**GOOD["databases"]["db"], "identifier": "other"},
                                    "shared": {**vpc, "identifier": "third", "secretsManagerEndpoint": "existing"}}})
    modes = {db.key: db.secrets_manager_endpoint for db in settings.databases}
    assert modes == {"in": "create", "out": "none", "shared": "existing"}


# --- issue 16: defaults that are safe against operators ---------------------------------------

def test_a_long_lived_stack_must_name_its_deployer_and_is_told_how_to_find_it():
    problems = problems_of({**GOOD, "deployerPrincipals": []})
    (problem,) = [p for p in problems if p.startswith("app-secrets:deployerPrincipals")]
    assert "is required in a long-lived stack" in problem
    assert "aws sts get-caller-identity" in problem and "aws iam get-role --role-name <role> --query Role.Arn" in problem
    assert parse({**GOOD, "reviewStack": True}).deployer_principals == ()


def test_shared_key_only_in_review_stacks():
    problems = problems_of({**GOOD, "sharedKmsKey": True})
    assert any(p.startswith("app-secrets:sharedKmsKey: is for review stacks only") for p in problems)
    assert parse({**GOOD, "sharedKmsKey": True, "reviewStack": True}).shared_kms_key is True


@pytest.mark.parametrize("key", ["alias/aws/secretsmanager", "aws/secretsmanager"])
def test_a_replica_on_the_aws_managed_key_is_refused(key):
    raw = {**GOOD, "secrets": {**GOOD["secrets"], "rails": {**GOOD["secrets"]["rails"],
                                                            "replicaRegions": [{"region": "us-west-2", "kmsKeyId": key}]}}}
    problems = problems_of(raw)
    assert problems == [f"secrets.rails.replicaRegions[0].kmsKeyId: '{key}' is the AWS-managed key, which every "
                        "principal of the account may use to decrypt the replica; leave kmsKeyId out (the stack "
                        "creates a key there) or give a customer-managed key"]


def test_a_login_grant_names_each_schema_once():
    raw = {**GOOD, "logins": {"web": {"database": "db", "username": "web", "grants": [
        {"readOnly": ["public", "public"]}, {"readWrite": ["app", "app"]}]}}}
    found = problems_of(raw, secret_keys={"secrets", "databases", "logins"})
    assert any(p.startswith("logins.web.grants[0].readOnly[1]") for p in found), found
    assert any(p.startswith("logins.web.grants[1].readWrite[1]") for p in found), found
    ok = {**GOOD, "logins": {"web": {"database": "db", "username": "web", "grants": [{"readOnly": ["public", "app"]}]}}}
    assert parse(ok, secret_keys={"secrets", "databases", "logins"}).logins[0].grants


LOGIN_KEYS = {"secrets", "databases", "logins"}


def login(**entry):
    return {**GOOD, "logins": {"web": {"database": "db", "username": "web", **entry}}}


def test_a_login_alternate_may_have_postgresql_s_63_characters_and_no_more():
    named = {"secretName": "web-login"}   # the default name would carry the long username
    assert parse(login(username="u" * 59, **named), secret_keys=LOGIN_KEYS).logins[0].alternate_username == \
        "u" * 59 + "_alt"
    assert problems_of(login(username="u" * 60, **named), secret_keys=LOGIN_KEYS) == [
        f"logins.web.alternateUsername: '{'u' * 60}_alt' is longer than PostgreSQL's 63 characters; set it explicitly"]


def test_a_login_rotates_by_days_or_by_schedule_not_both():
    by_schedule = parse(login(rotation={"scheduleExpression": "rate(10 days)"}), secret_keys=LOGIN_KEYS).logins[0]
    assert by_schedule.rotation.schedule_expression == "rate(10 days)" and by_schedule.rotation.days is None
    assert parse(login(rotation={"days": 7}), secret_keys=LOGIN_KEYS).logins[0].rotation.days == 7
    assert problems_of(login(rotation={"days": 7, "scheduleExpression": "rate(10 days)"}), secret_keys=LOGIN_KEYS) == [
        "logins.web.rotation: give either days or scheduleExpression, not both"]


def test_a_login_grant_takes_schema_names_of_1_to_63_characters():
    for name in ("a", "s" * 63):
        assert parse(login(grants=[{"readOnly": [name]}, {"readWrite": [name]}]), secret_keys=LOGIN_KEYS).logins[0].grants
    for name in ("", "s" * 64, "é" * 32):   # 64 bytes
        found = problems_of(login(grants=[{"readOnly": [name]}, {"readWrite": [name]}]), secret_keys=LOGIN_KEYS)
        assert found == [f"logins.web.grants[{i}].{kind}[0]: must be a schema name of 1 to 63 bytes"
                         for i, kind in enumerate(("readOnly", "readWrite"))]   # one message per mistake


def test_a_secret_s_description_is_its_own_or_says_who_manages_it():
    settings = parse({**GOOD, "secrets": {**GOOD["secrets"], "prismic": {
        "type": "user-managed", "environmentVariables": ["PRISMIC_TOKEN"], "description": "Prismic API token"}}})
    by_key = {s.key: s for s in settings.secrets}
    assert by_key["prismic"].description == "Prismic API token"
    assert by_key["rails"].description == "rails (random secret managed by app-secrets)"


def test_an_adopted_secret_policy_is_imported_by_its_secret_s_arn():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prismic-AbCdEf"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::123456789012:role/app"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})

    def adopted(policy_id):
        entry = {"type": "user-managed", "environmentVariables": ["PRISMIC_TOKEN"],
                 "readPrincipals": ["arn:aws:iam::123456789012:role/app"], "adopted": {
            "import": {"secret": arn, "secretPolicy": policy_id}, "secretPolicy": policy, "awsManagedKey": True}}
        return {**GOOD, "secrets": {**GOOD["secrets"], "prismic": entry}}

    assert parse(adopted(arn)).secrets
    assert problems_of(adopted(arn.replace("prismic-AbCdEf", "other-AbCdEf"))) == [
        "secrets.prismic.adopted.import.secretPolicy: expected the same ARN as import.secret (a secret policy is "
        "imported by its secret's ARN)"]


def test_each_import_id_names_what_it_expected():
    entry = {"type": "user-managed", "environmentVariables": ["T"], "adopted": {
        "import": {"secret": "nope", "secretPolicy": "nope", "kmsKey": "nope", "kmsAlias": "nope"}}}
    assert problems_of({**GOOD, "secrets": {**GOOD["secrets"], "x": entry}})[:4] == [
        "secrets.x.adopted.import.secret: 'nope' is not a secret ARN (arn:aws:secretsmanager:<region>:<account>:"
        "secret:<name>-<6 characters>)",
        "secrets.x.adopted.import.secretPolicy: 'nope' is not the secret's ARN (the policy's import ID)",
        "secrets.x.adopted.import.kmsKey: 'nope' is not a KMS key id (1234abcd-12ab-34cd-56ef-1234567890ab)",
        "secrets.x.adopted.import.kmsAlias: 'nope' is not a KMS alias name (alias/<name>)"]


@pytest.mark.parametrize("on", ["upper", "lower", "numeric", "special", None])
def test_random_settings_need_one_character_class(on):
    classes = {name: name == on for name in ("upper", "lower", "numeric", "special")}
    raw = {**GOOD, "secrets": {**GOOD["secrets"], "r": {"type": "random", "environmentVariables": ["K"],
                                                         "randomSettings": {"K": classes}}}}
    if on is None:
        assert problems_of(raw) == ["secrets.r.randomSettings.K: upper, lower, numeric and special are all false: "
                                    "no characters to choose from"]
    else:
        assert parse(raw).secrets


@pytest.mark.parametrize("mode, accepted", [("verify-full", True), ("verify-ca", True), ("require", True),
                                            ("prefer", False), ("disable", False)])
def test_each_libpq_mode_is_accepted_or_explained(mode, accepted):
    raw = {**GOOD, "databases": {"db": {**GOOD["databases"]["db"], "sslMode": mode}}}
    if accepted:
        assert parse(raw).databases[0].ssl_mode == mode
    else:
        assert problems_of(raw) == [f"databases.db.sslMode: '{mode}' would send the password without TLS; expected "
                                    "verify-full (the default), verify-ca or require"]


@pytest.mark.parametrize("missing", ["database", "username"])
def test_a_login_names_its_database_and_username(missing):
    entry = {"database": "db", "username": "web"}
    del entry[missing]
    raw = {**GOOD, "logins": {"web": entry}}
    assert f"logins.web.{missing}: is required" in "\n".join(problems_of(raw, secret_keys=LOGIN_KEYS))


def test_a_database_s_subnets_and_security_groups_are_each_named_once():
    db = {**GOOD["databases"]["db"], "vpcId": "vpc-0abc", "subnetIds": ["subnet-01", "subnet-01"],
          "securityGroupIds": ["sg-01", "sg-01"], "secretsManagerEndpoint": "none"}
    found = problems_of({**GOOD, "databases": {"db": db}})
    assert "databases.db.subnetIds[1]: duplicate entry 'subnet-01'" in found
    assert "databases.db.securityGroupIds[1]: duplicate entry 'sg-01'" in found
