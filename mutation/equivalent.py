"""Faults that change no behaviour (equivalent mutants), each with the reason. `make mutation` reports
a surviving fault that matches one here as equivalent and leaves it out of the score. A fault is
named by its module, its operator and the text of its line before and after (stripped), so the entry
holds when the line moves; an entry that no longer matches anything simply stops being used.
Add one only with the argument that no input can tell the two apart."""

from __future__ import annotations

# A DiffResult keyword at its default: pulumi.dynamic sends only fields that are not None
# (pulumi 3.272, pulumi/dynamic/__main__.py:129-132), and the proto defaults are an empty list and false.
_DIFF_DEFAULTS = ("the engine receives the very same DiffResponse: None fields are left out of it, and the "
                  "proto defaults of replaces and deleteBeforeReplace are an empty list and false")

# The parsed config's specs are made once by parse_config and only read; none is hashed (several hold
# dicts, which could not be hashed anyway) or assigned to.
_FROZEN_CONFIG = ("the specs parse_config returns are only read, never assigned to, hashed or used as keys, so "
                  "frozen changes no outcome (it keeps components from changing them by accident)")

_FROZEN_ACCESS = ("Principal, Decision and SecretAccess are built once and only read: nothing assigns to a field "
                  "or uses one as a dict key or set member (tooling/apps.py copies with dataclasses.replace), so "
                  "without frozen every evaluation is the same")
_FROZEN_PROBLEM = ("a Problem is made, collected in a list and printed: nothing assigns to it, hashes it or uses it "
                   "as a key, so frozen changes no outcome")

# (module, operator, line before, line after, why)
EQUIVALENT: list[tuple[str, str, str, str, str]] = [
    ("rotation/postgres_admin/rotation_secret.py", "cosmic-ray ReplaceComparisonOperator_LtE_Lt",
     "if requested is None or SSL_STRENGTH[requested] <= SSL_STRENGTH[default]:",
     "if requested is None or SSL_STRENGTH[requested] < SSL_STRENGTH[default]:",
     "when the two strengths are equal the modes are equal (one rank per mode), so returning the requested "
     "mode instead of the default returns the same string"),
    ("stack_program/config.py", "runner drop keyword argument", "@dataclass(frozen=True)", "@dataclass()",
     _FROZEN_CONFIG),
    ("stack_program/config.py", "cosmic-ray ReplaceTrueWithFalse", "@dataclass(frozen=True)",
     "@dataclass(frozen=False)", _FROZEN_CONFIG),
    ("tooling/access.py", "runner drop keyword argument", "@dataclass(frozen=True)", "@dataclass()",
     _FROZEN_ACCESS),
    ('components/app_secrets/key_merge.py', "runner drop keyword argument",
     'return DiffResult(changes=changed, replaces=[], delete_before_replace=False)',
     'return DiffResult(changes=changed, delete_before_replace=False)',
     _DIFF_DEFAULTS),
    ('components/app_secrets/key_merge.py', "runner drop keyword argument",
     'return DiffResult(changes=changed, replaces=[], delete_before_replace=False)',
     'return DiffResult(changes=changed, replaces=[])',
     _DIFF_DEFAULTS),
    ('components/app_secrets/key_merge.py', "runner drop keyword argument",
     'return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"), replaces=[],',
     'return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"),',
     _DIFF_DEFAULTS),
    ('components/app_secrets/key_merge.py', "runner drop keyword argument",
     'return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"), replaces=[], / delete_before_replace=False)',
     'return DiffResult(changes=olds.get("kms_key_id") != news.get("kms_key_id"), replaces=[])',
     _DIFF_DEFAULTS),
    ('stack_program/schema.py', 'cosmic-ray NumberReplacer',
     'hint = difflib.get_close_matches(str(k), self.fields, n=1)',
     'hint = difflib.get_close_matches(str(k), self.fields, n= 2)',
     'only hint[0] is shown, and get_close_matches puts the best match first whatever n is'),
    ('stack_program/schema.py', 'runner drop keyword argument',
     'hint = difflib.get_close_matches(str(k), self.fields, n=1)',
     'hint = difflib.get_close_matches(str(k), self.fields)',
     'only hint[0] is shown, and get_close_matches puts the best match first whatever n is (default 3)'),
    ('stack_program/schema.py', 'cosmic-ray NumberReplacer',
     'more = f"did you mean \'{hint[0]}\'?" if hint else "expected one of: " + ", ".join(sorted(self.fields))',
     'more = f"did you mean \'{hint[ -1]}\'?" if hint else "expected one of: " + ", ".join(sorted(self.fields))',
     'with n=1 the hint list has one element, so hint[-1] is hint[0]'),
    ('stack_program/schema.py', 'cosmic-ray NumberReplacer',
     'min_items: int = 0',
     'min_items: int = -1',
     'a length is never below 0, so `len(value) < -1` and `len(value) < 0` are both always false'),
    ('stack_program/schema.py', 'runner drop dict entry',
     'return {bool: "a boolean", int: "a number", float: "a number", str: "a string",',
     'return {bool: "a boolean", int: "a number", str: "a string",',
     'floats return earlier in _type_name (not finite / fraction / decimal), so the float entry is never read'),
    ('tooling/access.py', 'cosmic-ray ReplaceTrueWithFalse',
     '@dataclass(frozen=True)',
     '@dataclass(frozen=False)',
     _FROZEN_ACCESS),
    ('tooling/access.py', 'cosmic-ray ReplaceFalseWithTrue',
     'decision = Decision(False, f"{ability}: no route")',
     'decision = Decision(True, f"{ability}: no route")',
     'every ability in ABILITIES has at least one route, so the loop below always replaces this first value'),
    ('stack_program/schema.py', 'cosmic-ray NumberReplacer',
     'hint = difflib.get_close_matches(value, self.choices, n=1)',
     'hint = difflib.get_close_matches(value, self.choices, n= 2)',
     'only hint[0] is shown, and get_close_matches puts the best match first whatever n is'),
    ('stack_program/schema.py', 'runner drop keyword argument',
     'hint = difflib.get_close_matches(value, self.choices, n=1)',
     'hint = difflib.get_close_matches(value, self.choices)',
     'only hint[0] is shown, and get_close_matches puts the best match first whatever n is (default 3)'),
    ('stack_program/schema.py', 'runner drop keyword argument',
     '@dataclass(frozen=True)',
     '@dataclass()',
     _FROZEN_PROBLEM),
    ('stack_program/schema.py', 'cosmic-ray ReplaceTrueWithFalse',
     '@dataclass(frozen=True)',
     '@dataclass(frozen=False)',
     _FROZEN_PROBLEM),
    ('components/app_secrets/key_merge.py', 'cosmic-ray ReplaceOrWithAnd',
     'return session.client("secretsmanager", region_name=region or identity.get("region") or None,',
     'return session.client("secretsmanager", region_name=region or identity.get("region") and None,',
     "aws_session builds the session in the identity's region, and a client made without region_name takes the session's"),
    ('components/app_secrets/key_merge.py', 'runner drop keyword argument',
     'current = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")',
     'current = client.get_secret_value(SecretId=secret_id)',
     'GetSecretValue without VersionId or VersionStage returns AWSCURRENT (Secrets Manager API Reference, GetSecretValue, VersionStage)'),
    ('tooling/access.py', 'cosmic-ray NumberReplacer',
     'resource_account = (resource.split(":")[4] if resource.count(":") >= 5 else "") or principal.account',
     'resource_account = (resource.split(":")[4] if resource.count(":") >= 4 else "") or principal.account',
     'every ARN has at least five colons (arn:partition:service:region:account:resource) and `*` has none, so no resource the evaluator is asked about has exactly four'),
    ('rotation/postgres_admin/lambda_function.py', 'runner change string',
     'logger.setLevel(_level if _level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO")',
     'logger.setLevel(_level if _level in ("DEBUG", \'XXINFO\', "WARNING", "ERROR", "CRITICAL") else "INFO")',
     'LOG_LEVEL=INFO then falls back to INFO, the level it asked for'),
    ('stack_program/config.py', 'cosmic-ray NumberReplacer',
     'if cut <= 0:',
     'if cut <= 1:',
     "the paths walked are config key paths whose first segment is one of the schema's top-level keys (secrets, databases, logins, ...), never one character long, so a cut is never at 1"),
]


def why_equivalent(module: str, operator: str, before: str, after: str) -> str | None:
    for m, op, b, a, why in EQUIVALENT:
        if (m, op, b, a) == (module, operator, before, after):
            return why
    return None
