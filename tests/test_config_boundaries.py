"""Config validation at its edges: each pattern and range of the schema accepts its last good value and
refuses the first bad one, at the key path the user wrote (pure tests, no snapshot). Also the rules
that are not patterns: stack names, the alternate login, rotation defaults, booleans that are not
numbers."""

from __future__ import annotations

import copy

import pytest

from stack_program.config import parse_config
from stack_program.schema import ConfigError

BASE = {
    "secrets": {
        "rails": {"type": "random", "environmentVariables": ["SECRET_KEY_BASE"]},
        "smtp": {"type": "secret", "initialValue": {"SMTP_PASSWORD": "s3cret"}},
    },
    "databases": {"db": {"identifier": "app-db", "username": "admin_user", "initialPassword": "p4ssword-long"}},
    "readPolicies": {"app": {"secrets": ["rails", "db"], "roleNames": ["app-role"]}},
}
ROLE = "arn:aws:iam::123456789012:role/app"
NETWORK_KEYS = {"vpcId": "vpc-0a", "subnetIds": ["subnet-0a"], "securityGroupIds": ["sg-0a"],
                "databaseSecurityGroupId": "sg-0b"}


# deployerPrincipals is required outside review stacks (issue 16): named unless a case sets it.
DEPLOYER = {"deployerPrincipals": ["arn:aws:iam::123456789012:role/ci"]}


def parse(raw, stack="dev"):
    return parse_config({**DEPLOYER, **raw}, stack=stack, secret_keys={"secrets", "databases"}, region="us-east-1")


def problems_of(raw, stack="dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, stack)
    return [str(p) for p in caught.value.problems]


def with_value(path: str, value):
    raw = copy.deepcopy(BASE)
    *parents, leaf = path.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    if path.split(".")[-1] in NETWORK_KEYS:  # a VPC id and subnets come together
        for key, companion in NETWORK_KEYS.items():
            raw["databases"]["db"].setdefault(key, companion)
    return raw


# (key path, last value accepted, first value refused)
EDGES = [
    ("adminPrincipals", ["arn:aws:iam::123456789012:root"], ["arn:aws:iam::12345678901:root"]),
    ("adminPrincipals", ["arn:aws-us-gov:iam::123456789012:role/a/b+=,.@_-"], ["arn:aws:iam::123456789012:group/a"]),
    ("adminPrincipals", ["arn:aws:iam::123456789012:user/u"], ["xarn:aws:iam::123456789012:user/u"]),
    ("adminPrincipals", [ROLE], ["arn:aws:iam::123456789012:role/"]),
    ("adminPrincipals", [ROLE], ["arn:aws:iam::123456789012:root/x"]),
    ("adminPrincipals", [ROLE], [ROLE + " "]),
    ("readPrincipals", [ROLE], [ROLE, ROLE]),
    ("databases.db.username", "_a$1", "1abc"),
    ("databases.db.username", "a" * 59, "ab-c"),
    ("databases.db.alternateUsername", "b" * 63, "b" * 64),
    ("databases.db.databaseName", "app_db", "app db"),
    ("databases.db.identifier", "a", "1a"),
    ("databases.db.identifier", "a-b1", "a--b"),
    ("databases.db.identifier", "a" * 40, "a-"),
    ("databases.db.vpcId", "vpc-0a1b", "vpc-0A1B"),
    ("databases.db.vpcId", "vpc-0a1b", "xvpc-0a1b"),
    ("databases.db.subnetIds", ["subnet-0a"], ["subnet-"]),
    ("databases.db.securityGroupIds", ["sg-0a"], ["sg-0a "]),
    ("databases.db.databaseSecurityGroupId", "sg-9f", "sg-9g"),
    ("databases.db.initialPassword", "p" * 8, "p" * 7),
    ("databases.db.initialPassword", "p" * 128, "p" * 129),
    ("databases.db.passwordLength", 16, 15),
    ("databases.db.passwordLength", 128, 129),
    ("databases.db.rotation.days", 1, 0),
    ("databases.db.rotation.days", 1000, 1001),
    ("databases.db.description", "d" * 2048, "d" * 2049),
    ("databases.db.strategy", "alternating-users", "alternating"),
    ("databases.db.sslMode", "require", "required"),
    ("readPolicies.app.roleNames", ["r" * 64], ["r" * 65]),
    ("readPolicies.app.roleNames", ["a+=,.@_-"], ["a b"]),
    ("readPolicies.app.policyName", "p" * 128, "p" * 129),
    ("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {"length": 4096}}, {"SECRET_KEY_BASE": {"length": 4097}}),
    ("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {"length": 1}}, {"SECRET_KEY_BASE": {"length": 0}}),
    ("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {"overrideSpecial": "!"}},
     {"SECRET_KEY_BASE": {"overrideSpecial": ""}}),
    ("secrets.rails.environmentVariables", ["_A9"], ["9A"]),
    ("secrets.rails.environmentVariables", ["A_B"], ["A-B"]),
    ("secrets.rails.aliases", ["a" * 63], ["a" * 64]),
    ("secrets.rails.aliases", ["0-a"], ["-a"]),
    ("secrets.rails.tags", {"k" * 128: "v" * 256}, {"k" * 129: "v"}),
    ("secrets.rails.tags", {"k": "v" * 256}, {"k": "v" * 257}),
    ("secrets.rails.tags", {"team": "x"}, {"AWS:team": "x"}),
    ("secrets.rails.recoveryWindowInDays", 0, 6),
    ("secrets.rails.recoveryWindowInDays", 7, 31),
    ("secrets.rails.recoveryWindowInDays", 30, 1),
    ("recoveryWindowInDays", 7, True),
    ("kmsDeletionWindowInDays", 7, 6),
    ("kmsDeletionWindowInDays", 30, 31),
    ("kmsDeletionWindowInDays", 30, False),
    ("logRetentionInDays", 3653, 0),
    ("logRetentionInDays", 1, 2),
    ("databases.db.passwordLength", 32, True),
    ("databases.db.rotation.days", 1, True),
    ("logRetentionInDays", 1, True),
    ("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {"length": 1}}, {"SECRET_KEY_BASE": {"length": True}}),
    ("databases.db.rotation.enabled", False, 0),
    ("reviewStack", False, 0),
]


@pytest.mark.parametrize("path, good, bad", EDGES, ids=[f"{p}={b!r}"[:60] for p, _, b in EDGES])
def test_each_rule_accepts_its_edge_and_refuses_past_it(path, good, bad):
    parse(with_value(path, good))
    problems = problems_of(with_value(path, bad))
    assert problems and all(p.startswith(path) for p in problems), problems


def test_a_secret_key_must_be_a_lower_case_name():
    for key in ("a", "0", "a" * 63, "a-1"):
        raw = copy.deepcopy(BASE)
        raw["secrets"][key] = raw["secrets"].pop("smtp")
        parse(raw)
    for key in ("A", "-a", "a" * 64, "a_b"):
        raw = copy.deepcopy(BASE)
        raw["secrets"][key] = raw["secrets"].pop("smtp")
        problems = problems_of(raw)
        assert problems and all(p.startswith("secrets") for p in problems), (key, problems)


@pytest.mark.parametrize("stack", ["feature/x", "a b", "x" * 101, ""])
def test_an_unusable_stack_name_is_refused(stack):
    assert problems_of(BASE, stack=stack) == [f"stack: '{stack}' is not a usable stack name"]


@pytest.mark.parametrize("stack", ["dev", "pr-12.a_B", "x" * 100])
def test_usable_stack_names_parse(stack):
    assert parse(BASE, stack=stack).stack == stack


def test_alternating_users_need_an_alternate_that_differs():
    same = with_value("databases.db", {**BASE["databases"]["db"], "strategy": "alternating-users",
                                       "alternateUsername": "admin_user"})
    assert problems_of(same) == ["databases.db.alternateUsername: must differ from username"]
    default = parse(with_value("databases.db.strategy", "alternating-users")).databases[0]
    assert default.alternate_username == "admin_user_alt"
    # The default alternate name is the username plus _alt: too long past 59 characters.
    long = with_value("databases.db.username", "a" * 60)
    assert [p.split(":")[0] for p in problems_of(long)] == ["databases.db.alternateUsername"]


def test_rotation_defaults_rotate_immediately_and_every_30_days():
    rotation = parse(BASE).databases[0].rotation
    assert (rotation.enabled, rotation.days, rotation.rotate_immediately) == (True, 30, True)
    later = parse(with_value("databases.db.rotation", {"rotateImmediately": False})).databases[0].rotation
    assert later.rotate_immediately is False and later.enabled
    scheduled = parse(with_value("databases.db.rotation", {"scheduleExpression": "rate(10 days)"})).databases[0]
    assert scheduled.rotation.schedule_expression == "rate(10 days)"
    both = with_value("databases.db.rotation", {"days": 3, "scheduleExpression": "rate(10 days)"})
    assert problems_of(both) == ["databases.db.rotation: give either days or scheduleExpression, not both"]


@pytest.mark.parametrize("path, expected", [
    ("secrets.rails.randomSettings.SECRET_KEY_BASE",
     "expected random settings (length, special, upper, lower, numeric, min*, overrideSpecial), got a string"),
    ("databases.db.rotation", "expected rotation settings (enabled, days | scheduleExpression, rotateImmediately), "
                              "got a string"),
    ("databases.db.replicaRegions", "expected a list of a map with region and optional kmsKeyId, got a string"),
    ("readPolicies.app", "expected a map, got a string"),
])
def test_a_map_written_as_a_string_says_what_was_expected(path, expected):
    assert problems_of(with_value(path, "x")) == [f"{path}: {expected}"]


@pytest.mark.parametrize("minimum, flag", [("minUpper", "upper"), ("minLower", "lower"), ("minNumeric", "numeric"),
                                           ("minSpecial", "special")])
def test_each_min_count_takes_0_to_4096(minimum, flag):
    path = f"secrets.rails.randomSettings.SECRET_KEY_BASE.{minimum}"
    parse(with_value("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {"length": 4096, minimum: 4096, flag: True}}))
    parse(with_value("secrets.rails.randomSettings", {"SECRET_KEY_BASE": {minimum: 0}}))
    for bad in (4097, -1):
        settings = {"SECRET_KEY_BASE": {"length": 4096, minimum: bad, flag: True}}
        assert problems_of(with_value("secrets.rails.randomSettings", settings)) == \
            [f"{path}: expected a whole number from 0 to 4096, got {bad}"]


# CloudWatch Logs API Reference, PutRetentionPolicy, retentionInDays "Valid Values" (0 = never expire is
# refused on purpose, see config.py).
CLOUDWATCH_RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                         2922, 3288, 3653]


def test_every_cloudwatch_retention_is_accepted_and_nothing_else():
    for days in CLOUDWATCH_RETENTIONS:
        assert parse(with_value("logRetentionInDays", days)).log_retention_in_days == days
    for days in (0, 2, 4, 8, 366, 730, 3652, 3654):
        assert [p.split(":")[0] for p in problems_of(with_value("logRetentionInDays", days))] == ["logRetentionInDays"]


def test_every_bad_entry_is_reported_and_empty_entries_are_skipped():
    two_bad = with_value("secrets.rails.randomSettings", {"NOPE": {"length": 8}, "ALSO_NOPE": {"length": 8}})
    assert sorted(problems_of(two_bad)) == [
        "secrets.rails.randomSettings.ALSO_NOPE: is not one of this secret's environmentVariables",
        "secrets.rails.randomSettings.NOPE: is not one of this secret's environmentVariables"]
    # An empty entry is one problem; the entries after it are still checked.
    databases = {"empty": None, "db": {**BASE["databases"]["db"], "strategy": "alternating-users",
                                       "alternateUsername": "admin_user"}}
    assert problems_of(with_value("databases", databases)) == [
        "databases.empty: expected a map, got nothing", "databases.db.alternateUsername: must differ from username"]


@pytest.mark.parametrize("label, chars", [("digit", "0123456789"), ("upper-case letter", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                                          ("lower-case letter", "abcdefghijklmnopqrstuvwxyz"),
                                          ("punctuation character", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")])
def test_excluding_a_whole_character_class_is_refused(label, chars):
    problems = problems_of(with_value("databases.db.excludeCharacters", chars))
    assert len(problems) == 1 and problems[0].startswith(f"databases.db.excludeCharacters: excludes every {label},")
    parse(with_value("databases.db.excludeCharacters", chars[1:]))


@pytest.mark.parametrize("minimum, flag", [("minUpper", "upper"), ("minLower", "lower"), ("minNumeric", "numeric"),
                                           ("minSpecial", "special")])
def test_a_min_count_needs_its_character_class(minimum, flag):
    """The random provider adds the min* characters even when their class is off: refused."""
    path = f"secrets.rails.randomSettings.SECRET_KEY_BASE.{minimum}"
    settings = {"SECRET_KEY_BASE": {minimum: 2, flag: False}}
    assert f"{path}: is 2 but {flag} is false; expected {flag}: true, or {minimum}: 0" in \
        problems_of(with_value("secrets.rails.randomSettings", settings))
