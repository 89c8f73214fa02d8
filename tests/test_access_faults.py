"""Who can do what, asked the way an attacker would: from outside Secrets Manager (no kms:ViaService
in the request), from another account, with the secret's own rotation role, with trust tags on a
rotating database secret, and with a resource-policy override. Every assertion is a decision of
tooling.access over the documents the program registers (or the policy functions return), never a
snapshot of the policy text, so the checks hold whatever the statements are called."""

from __future__ import annotations

import json

import pytest
import yaml

from app_secrets import policies
from tooling.access import Principal, SecretAccess, can, evaluate, secret_accesses
from tooling.offline import (DEPLOYER_ROLE, FAKE_ACCOUNT_ID, PROJECT_DIR, AwsMocks, load_project, load_stack,
                             run_program)
from tests.helpers import stack_account, stack_config

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111111111111"
ADMIN_STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Every KMS operation that reads or produces key material or plaintext.
KMS_CRYPTO = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
              "kms:GenerateDataKeyPair", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:CreateGrant"]
STACKS = ["dev", "staging", "production", "pr"]


def run_stack(stack: str, config_override: dict | None = None):
    config = stack_config(stack)
    account = stack_account(config)
    run = run_program(stack, mocks=AwsMocks(region=config.get("aws:region", "us-east-1"), account_id=account),
                      config_override=config_override)
    return run, config, account


def rotation_roles(run, account: str) -> dict[str, Principal]:
    """Each rotation role the stack creates, with the inline policies the stack gives it."""
    inline: dict[str, list] = {}
    for r in run.by_type("aws:iam/rolePolicy:RolePolicy"):
        inline.setdefault(r.inputs["role"], []).append(json.loads(r.inputs["policy"]))
    # Its requests come from its own function: Lambda sets lambda:SourceFunctionArn, which the role's
    # own Deny (issue 16) requires.
    function_of = {f.inputs["role"]: f"arn:aws:lambda:{run.mocks.region}:{account}:function:{f.inputs['name']}"
                   for f in run.by_type("aws:lambda/function:Function")}
    roles = {}
    for r in run.by_type("aws:iam/role:Role"):
        arn = f"arn:aws:iam::{account}:role/{r.inputs['name']}"
        context = {"lambda:SourceFunctionArn": function_of[arn]} if arn in function_of else {}
        roles[r.inputs["name"]] = Principal(arn, inline.get(r.inputs["name"], []), context=context)
    return roles


def everyone(run, config: dict, account: str) -> dict[str, Principal]:
    """Principals with broad IAM rights, and those the stack names, with the IAM policies they have."""
    role = lambda name: f"arn:aws:iam::{account}:role/{name}"  # noqa: E731
    found = {
        "account admin (*)": Principal(role("AdministratorAccess-sso"), [ADMIN_STAR]),
        "deployer": Principal((config.get("app-secrets:deployerPrincipals") or [role(DEPLOYER_ROLE)])[0], [ADMIN_STAR]),
    }
    named = {*(config.get("app-secrets:readPrincipals") or []), *(config.get("app-secrets:adminPrincipals") or [])}
    for entry in [*(config.get("app-secrets:secrets") or {}).values(), *(config.get("app-secrets:databases") or {}).values()]:
        for field in ("readPrincipals", "readwritePrincipals", "adminPrincipals"):
            named.update(entry.get(field) or [])
    for arn in sorted(named):
        found[f"named {arn}"] = Principal(arn, [ADMIN_STAR])
    for name, principal in rotation_roles(run, account).items():
        found[f"rotation role {name}"] = Principal(principal.arn, [*principal.identity_policies, ADMIN_STAR],
                                                   context=principal.context)
    return found


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request):
    run, config, account = run_stack(request.param)
    accesses = {k: v for k, v in secret_accesses(run).items() if v.key_policy is not None}
    assert accesses, request.param
    return request.param, run, config, account, accesses


# --------------------------------------------------------------------------- keys used outside Secrets Manager

def test_nobody_uses_a_secret_key_outside_secrets_manager(stack_run):
    """A direct KMS call (no kms:ViaService) would decrypt or re-encrypt the ciphertext outside Secrets
    Manager, past the secret policy and its trust-tag Deny. Nobody may, not even with `*` in IAM."""
    stack, run, config, account, accesses = stack_run
    for who, principal in everyone(run, config, account).items():
        for secret, access in accesses.items():
            for action in KMS_CRYPTO:
                decision = evaluate(principal, action, access.key_arn, resource_policy=access.key_policy,
                                    key_policy=True)
                assert not decision.allowed, (stack, who, secret, action, decision.reason)


def test_through_secrets_manager_keys_give_no_re_encryption_or_grants(stack_run):
    """Even through Secrets Manager, nobody re-encrypts under another key or hands out grants."""
    stack, run, config, account, accesses = stack_run
    for who, principal in everyone(run, config, account).items():
        for secret, access in accesses.items():
            via = {"kms:ViaService": f"secretsmanager.{access.region}.amazonaws.com"}
            for action in ("kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:CreateGrant"):
                decision = evaluate(principal, action, access.key_arn, resource_policy=access.key_policy,
                                    key_policy=True, context=via)
                assert not decision.allowed, (stack, who, secret, action, decision.reason)


def test_the_rotation_role_uses_its_key_only_to_read_and_write_its_secret(stack_run):
    """The rotation role decrypts and generates data keys through Secrets Manager in the secret's
    region; it encrypts nothing else, and not through Secrets Manager elsewhere."""
    stack, run, config, account, accesses = stack_run
    roles = rotation_roles(run, account)
    assert bool(roles) == any(v.get("rotationRoleArn") for v in run.outputs["secrets"].values()), stack
    secret_of_role = {run.outputs["secrets"][k].get("rotationRoleArn"): k for k in run.outputs["secrets"]}
    for name, role in roles.items():
        secret = secret_of_role[role.arn]
        access = accesses[secret]
        via = {"kms:ViaService": f"secretsmanager.{access.region}.amazonaws.com"}
        allowed = {action for action in KMS_CRYPTO
                   if evaluate(role, action, access.key_arn, resource_policy=access.key_policy, key_policy=True,
                               context=via).allowed}
        assert allowed == {"kms:Decrypt", "kms:GenerateDataKey"}, (stack, name)
        assert can(role, "read", access).allowed and can(role, "write", access).allowed, (stack, name)
        elsewhere = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
        assert not evaluate(role, "kms:Decrypt", access.key_arn, resource_policy=access.key_policy, key_policy=True,
                            context=elsewhere).allowed
        # Its other secrets: none.
        for other, other_access in accesses.items():
            if other != secret:
                assert not can(role, "read", other_access).allowed, (stack, name, other)


def test_the_rotation_roles_own_policy_limits_a_key_that_delegates_to_iam():
    """A key whose policy delegates to IAM (KMS's default policy, e.g. a key made outside this stack):
    then the rotation role's identity policy is the only limit, and it allows the key only through
    Secrets Manager."""
    run, config, account = run_stack("staging")
    (name, role), = rotation_roles(run, account).items()
    key_arn = next(v["kmsKeyArn"] for v in run.outputs["secrets"].values() if v.get("rotationRoleArn") == role.arn)
    delegating = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                 "Action": "kms:*", "Resource": "*"}]}
    via = {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    assert evaluate(role, "kms:Decrypt", key_arn, resource_policy=delegating, key_policy=True, context=via).allowed
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert not evaluate(role, action, key_arn, resource_policy=delegating, key_policy=True).allowed, action


# --------------------------------------------------------------------------- trust tags on a rotating secret

def test_trust_tags_on_a_database_secret_do_not_stop_its_rotation():
    """staging's database with trustTags: untagged readers are denied, and so would the rotation role
    be (it carries no tags) unless the Deny exempts it; the deployer keeps refresh working."""
    loaded = load_stack("staging", load_project(PROJECT_DIR))  # secure values decoded to stand-ins
    databases = json.loads(json.dumps(loaded.values["app-secrets:databases"]))
    databases["example-db"]["trustTags"] = {"team": "example"}
    run, config, account = run_stack("staging", {"databases": databases})
    access = secret_accesses(run)["example-db"]
    (name, role), = rotation_roles(run, account).items()
    assert can(role, "read", access).allowed and can(role, "write", access).allowed
    for action in policies.ROTATION_SECRET_ACTIONS:
        assert evaluate(role, action, access.arn, resource_policy=access.policy).allowed, action
    reader = Principal(f"arn:aws:iam::{account}:role/example-staging-app", [ADMIN_STAR])
    assert not can(reader, "read", access).allowed
    assert can(Principal(reader.arn, [ADMIN_STAR], {"team": "example"}), "read", access).allowed
    deployer = (config.get("app-secrets:deployerPrincipals") or [f"arn:aws:iam::{account}:role/{DEPLOYER_ROLE}"])[0]
    assert can(Principal(deployer, [ADMIN_STAR]), "read", access).allowed
    # The exemption is for this role only: another role without the tag stays denied.
    impostor = Principal(f"arn:aws:iam::{account}:role/{name}-copy", [*role.identity_policies, ADMIN_STAR])
    assert not can(impostor, "read", access).allowed


# --------------------------------------------------------------------------- other accounts

def test_a_reader_in_another_account_needs_its_own_iam_policy_too():
    """production named in readPrincipals a role of another account: the secret and key policies
    name it, yet across accounts its own account's IAM must allow as well."""
    outsider = f"arn:aws:iam::{OTHER_ACCOUNT}:role/partner-reader"
    config = stack_config("production")
    run, config, account = run_stack("production", {"readPrincipals": [*config["app-secrets:readPrincipals"], outsider]})
    access = secret_accesses(run)["example-rails"]
    assert not can(Principal(outsider), "read", access).allowed
    assert can(Principal(outsider, [ADMIN_STAR]), "read", access).allowed
    # Its account's administrators are not named: IAM there cannot grant it.
    assert not can(Principal(f"arn:aws:iam::{OTHER_ACCOUNT}:role/admin", [ADMIN_STAR]), "read", access).allowed


SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_SECRET = f"arn:aws:secretsmanager:us-east-1:{OTHER_ACCOUNT}:secret:shared-AbCdEf"
ME = f"arn:aws:iam::{ACCOUNT}:role/app"


def _allow(principal: str, action: str) -> dict:
    return {"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}]}


def _iam(action: str, resource: str) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


@pytest.mark.parametrize("root", [f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT], ids=["root-arn", "account-id"])
def test_a_secret_policy_naming_the_account_delegates_to_iam(root):
    """IAM User Guide, single-account evaluation: a resource policy that names the account lets IAM
    decide; it grants nothing to a principal that IAM does not allow."""
    policy = _allow(root, "secretsmanager:GetSecretValue")
    assert not evaluate(Principal(ME), "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
    allowed_by_iam = Principal(ME, [_iam("secretsmanager:GetSecretValue", SECRET)])
    assert evaluate(allowed_by_iam, "secretsmanager:GetSecretValue", SECRET, resource_policy=policy).allowed
    # The same principal named by ARN needs no IAM policy in its own account.
    assert evaluate(Principal(ME), "secretsmanager:GetSecretValue", SECRET,
                    resource_policy=_allow(ME, "secretsmanager:GetSecretValue")).allowed


def test_a_key_in_another_account_naming_the_principal_still_needs_its_iam():
    """KMS cross-account use: the key policy names the outside principal AND an IAM policy in the
    principal's own account must allow (KMS Developer Guide, "Allowing users in other accounts")."""
    policy = _allow(ME, "kms:Decrypt")
    assert not evaluate(Principal(ME), "kms:Decrypt", OTHER_KEY, resource_policy=policy, key_policy=True).allowed
    with_iam = Principal(ME, [_iam("kms:Decrypt", OTHER_KEY)])
    assert evaluate(with_iam, "kms:Decrypt", OTHER_KEY, resource_policy=policy, key_policy=True).allowed
    # In its own account the key policy alone suffices.
    assert evaluate(Principal(ME), "kms:Decrypt", KEY, resource_policy=policy, key_policy=True).allowed


def test_a_secret_in_another_account_naming_the_principal_still_needs_its_iam():
    policy = _allow(ME, "secretsmanager:GetSecretValue")
    assert not evaluate(Principal(ME), "secretsmanager:GetSecretValue", OTHER_SECRET, resource_policy=policy).allowed
    with_iam = Principal(ME, [_iam("secretsmanager:GetSecretValue", OTHER_SECRET)])
    assert evaluate(with_iam, "secretsmanager:GetSecretValue", OTHER_SECRET, resource_policy=policy).allowed
    # A full read across accounts: the secret, then its key, both in the other account.
    access = SecretAccess(OTHER_SECRET, policy, OTHER_KEY, _allow(ME, "kms:Decrypt"), "us-east-1")
    assert not can(Principal(ME), "read", access).allowed
    assert can(Principal(ME, [ADMIN_STAR]), "read", access).allowed


# --------------------------------------------------------------------------- resource-policy overrides

def test_a_secret_policy_override_with_the_same_sid_replaces_the_grant():
    """README: statements of `secretPolicies` with an existing Sid replace it (Terraform's
    override_policy_documents). Overriding the read statement moves the read grant; appending
    would leave the old reader in."""
    old_reader, new_reader = f"arn:aws:iam::{ACCOUNT}:role/old-reader", f"arn:aws:iam::{ACCOUNT}:role/new-reader"
    base = policies.secret_resource_policy(admin_principals=[], read_principals=[old_reader])
    assert evaluate(Principal(old_reader), "secretsmanager:GetSecretValue", SECRET, resource_policy=base).allowed
    read_sid = next(s["Sid"] for s in base["Statement"] if s.get("Effect") == "Allow"
                    and old_reader in json.dumps(s.get("Principal")))
    override = {"Statement": [{"Sid": read_sid, "Effect": "Allow", "Principal": {"AWS": new_reader},
                               "Action": policies.SECRET_READ_ACTIONS, "Resource": "*"}]}
    for extra in (override, json.dumps(override)):
        merged = policies.secret_resource_policy(admin_principals=[], read_principals=[old_reader],
                                                 extra_documents=[extra])
        assert not evaluate(Principal(old_reader), "secretsmanager:GetSecretValue", SECRET, resource_policy=merged).allowed
        assert evaluate(Principal(new_reader), "secretsmanager:GetSecretValue", SECRET, resource_policy=merged).allowed


def test_the_shared_review_key_serves_every_reader_and_writer_in_its_partition_only():
    """shared_key_policy (review stacks): each secret's readers decrypt and writers encrypt through
    Secrets Manager of the stack's partition (here AWS China: amazonaws.com.cn); admins, the
    break-glass role and the deployer keep what a secret's own key gives them."""
    root, account = "arn:aws-cn:iam::123456789012:root", "123456789012"
    role = lambda name: f"arn:aws-cn:iam::{account}:role/{name}"  # noqa: E731
    key = f"arn:aws-cn:kms:cn-north-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    doc = policies.shared_key_policy(admin_principals=[role("admin")], account_root_arn=root, region="cn-north-1",
                                     deployer_principals=[role("deployer")], read_principals=[role("reader")],
                                     readwrite_principals=[role("writer")], dns_suffix="amazonaws.com.cn",
                                     break_glass_principals=[role("break-glass")])
    via = {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}
    use = lambda who, action, ctx=via: evaluate(  # noqa: E731
        Principal(role(who), [ADMIN_STAR]), action, key, resource_policy=doc, key_policy=True, context=ctx).allowed
    assert use("reader", "kms:Decrypt") and not use("reader", "kms:GenerateDataKey")
    assert use("writer", "kms:Decrypt") and use("writer", "kms:GenerateDataKey")
    assert not use("reader", "kms:Decrypt", {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com"})
    assert not use("writer", "kms:Decrypt", {})
    assert not use("admin", "kms:PutKeyPolicy") and use("break-glass", "kms:PutKeyPolicy")
    assert use("deployer", "kms:PutKeyPolicy")


def test_a_decrypt_policy_decrypts_with_its_own_key_only():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    other = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/9999abcd-12ab-34cd-56ef-1234567890ab"
    delegating = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]}
    holder = Principal(f"arn:aws:iam::{ACCOUNT}:role/consumer", [policies.decrypt_policy(key)])
    assert evaluate(holder, "kms:Decrypt", key, resource_policy=delegating, key_policy=True).allowed
    assert not evaluate(holder, "kms:Decrypt", other, resource_policy=delegating, key_policy=True).allowed
    assert not evaluate(holder, "kms:Encrypt", key, resource_policy=delegating, key_policy=True).allowed
