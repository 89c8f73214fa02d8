"""The faults issue 19 lists, each applied alone to a scratch copy and run against the test that must
catch it (`make mutation-listed`). A fault whose text no longer matches the module (the code was
rewritten) is reported as "gone", not as caught: re-write it for the new code.

Usage: python mutation/listed_faults.py [substring of a fault's name]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as mutation  # noqa: E402  (mutation/run.py)

POLICIES = "components/app_secrets/policies.py"
ACCESS = "tooling/access.py"
CONFIG = "stack_program/config.py"
SCHEMA = "stack_program/schema.py"
KEY_MERGE = "components/app_secrets/key_merge.py"
HANDLER = "rotation/postgres_admin/lambda_function.py"
LOGIN = "rotation/postgres_admin/rotation_secret.py"

# (name, module, text, replacement, the test that catches it)
FAULTS = [
    ("kms:ReEncrypt* no longer excluded from the root and deployer statements", POLICIES,
     '"kms:GenerateDataKey*", "kms:ReEncrypt*"]', '"kms:GenerateDataKey*"]',
     "tests/test_access_faults.py::test_nobody_uses_a_secret_key_outside_secrets_manager"),
    ("key policy AllowRotation without kms:ViaService", POLICIES,
     'statements += _allow("AllowRotation", [rotation_role_arn], Action=use_actions, Resource="*",\n'
     '                             Condition=use_via)',
     'statements += _allow("AllowRotation", [rotation_role_arn], Action=use_actions, Resource="*")',
     "tests/test_access_faults.py::test_nobody_uses_a_secret_key_outside_secrets_manager"),
    ("key policy AllowRotation with every crypto action", POLICIES,
     'statements += _allow("AllowRotation", [rotation_role_arn], Action=use_actions,',
     'statements += _allow("AllowRotation", [rotation_role_arn], Action=KMS_CRYPTO_ACTIONS,',
     "tests/test_access_faults.py::test_the_rotation_role_uses_its_key_only_to_read_and_write_its_secret"),
    ("rotation role's UseSecretKey without kms:ViaService", POLICIES,
     '"Resource": key_arn, "Condition": secretsmanager_via_service(region, dns_suffix)}', '"Resource": key_arn}',
     "tests/test_access_faults.py::test_the_rotation_roles_own_policy_limits_a_key_that_delegates_to_iam"),
    ("rotation role not exempt from the trust-tag Deny", POLICIES,
     "exempt = [*deployer_principals, *([rotation_role_arn] if rotation_role_arn else [])]",
     "exempt = [*deployer_principals]",
     "tests/test_access_faults.py::test_trust_tags_on_a_database_secret_do_not_stop_its_rotation"),
    ("merge_documents appends a same-Sid statement", POLICIES,
     "            else:\n                statements[index] = dict(statement)",
     "            else:\n                statements.append(dict(statement))",
     "tests/test_access_faults.py::test_a_secret_policy_override_with_the_same_sid_replaces_the_grant"),
    ("a secret policy naming the account counts as a direct grant", ACCESS,
     '            return "account"', '            return "direct"',
     "tests/test_access_faults.py::test_a_secret_policy_naming_the_account_delegates_to_iam"),
    ("cross-account rule ignored for a principal named in a key policy", ACCESS,
     'if "direct" in resource_side["Allow"] and (same_account or identity_allows):',
     'if "direct" in resource_side["Allow"]:',
     "tests/test_access_faults.py::test_a_key_in_another_account_naming_the_principal_still_needs_its_iam"),
    ("key ARNs count as the caller's account (>= 5 -> > 5)", ACCESS,
     'resource.count(":") >= 5', 'resource.count(":") > 5',
     "tests/test_access_faults.py::test_a_key_in_another_account_naming_the_principal_still_needs_its_iam"),
    ("stack-name check removed", CONFIG,
     "    if not naming.STACK_NAME_PATTERN.match(stack):\n        problems.append",
     "    if False:\n        problems.append",
     "tests/test_config_boundaries.py::test_an_unusable_stack_name_is_refused"),
    ("alternateUsername == username accepted", CONFIG,
     'if entry.get("strategy") == "alternating-users" and alternate == username:', "if False:",
     "tests/test_config_boundaries.py::test_alternating_users_need_an_alternate_that_differs"),
    ("rotateImmediately default flipped", CONFIG,
     '                                  schedule_expression=schedule,\n'
     '                                  rotate_immediately=bool(rotation.get("rotateImmediately", True))),',
     '                                  schedule_expression=schedule,\n'
     '                                  rotate_immediately=bool(rotation.get("rotateImmediately", False))),',
     "tests/test_config_boundaries.py::test_rotation_defaults_rotate_immediately_and_every_30_days"),
    ("booleans accepted as integers", SCHEMA,
     "if isinstance(value, bool) or not isinstance(value, int):", "if not isinstance(value, int):",
     "tests/test_config_boundaries.py::test_each_rule_accepts_its_edge_and_refuses_past_it"),
    ("SecretKeys.diff ignores a changed secret_id", KEY_MERGE,
     '                   or olds.get("secret_id") != news.get("secret_id"))', "                   )",
     "tests/test_key_merge_providers.py::test_secret_keys_diff_follows_the_key_names_and_the_secret"),
    ("KmsKeyGuard.diff never reports a change", KEY_MERGE,
     'return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"), replaces=[],',
     "return DiffResult(changes=False, replaces=[],",
     "tests/test_key_merge_providers.py::test_the_key_guard_reports_a_changed_key_and_nothing_else"),
    ("setSecret accepts an AWSPENDING username the strategy does not expect", HANDLER,
     '        if pending["username"] != expected:', "        if False:",
     "tests/rotation/test_hostile_pending.py::test_single_user_refuses_a_pending_username_of_another_role"),
    ("setSecret accepts an AWSPENDING with another host, port or dbname", HANDLER,
     "            if current.get(key) != pending.get(key):\n                raise",
     "            if False:\n                raise",
     "tests/rotation/test_hostile_pending.py::test_a_pending_pointing_elsewhere_is_refused_before_any_change"),
    ("NUL check on passwords removed", LOGIN,
     'if "\\x00" in login["password"] or "\\x00" in login["username"]:', 'if "\\x00" in login["username"]:',
     "tests/rotation/test_hostile_pending.py::test_a_nul_character_in_a_login_is_refused_without_showing_it"),
]


def main(argv: list[str]) -> int:
    wanted = [f for f in FAULTS if not argv or any(a in f[0] for a in argv)]
    scratch = mutation.scratch_copy(None)
    results = []
    try:
        for name, module, text, replacement, test in wanted:
            path = scratch / module
            code = path.read_text(encoding="utf-8")
            if code.count(text) != 1:
                results.append(("gone", name, test))
                continue
            path.write_text(code.replace(text, replacement), encoding="utf-8")
            try:
                outcome, seconds = mutation.run_tests(scratch, [test], timeout=900)
            finally:
                path.write_text(code, encoding="utf-8")
            results.append(("caught" if outcome in ("caught", "timeout") else "SURVIVED", name, test))
            print(f"{results[-1][0]:8} {name}  <- {test}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    caught = sum(1 for r in results if r[0] == "caught")
    print(f"\n{caught}/{len(results)} listed faults caught")
    for outcome, name, test in results:
        if outcome != "caught":
            print(f"{outcome}: {name} ({test})")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
