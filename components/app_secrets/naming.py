"""Physical names of everything the components create (pure functions, no Pulumi).

AWS allows different characters and lengths per service, so one secret name is turned into a
valid name for each resource kind here, in one place, and checked before anything is registered.
"""

from __future__ import annotations

import re

# Secrets Manager: ASCII letters, digits and /_+=.@- ; 1..512 characters.
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# A JSON key that every consumer (ECS valueFrom, External Secrets property, CSI jmesPath, shells)
# can use as an environment variable name unchanged.
ENV_VAR_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Stack names become part of physical names in review stacks.
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

MAX_IAM_ROLE_NAME = 64
MAX_IAM_POLICY_NAME = 128
MAX_LAMBDA_FUNCTION_NAME = 64
MAX_LAYER_NAME = 140
MAX_KMS_ALIAS = 256
MAX_SECURITY_GROUP_NAME = 255


def _replace(name: str, allowed: str) -> str:
    return re.sub(f"[^{allowed}]", "-", name)


def review_name(base: str, stack: str) -> str:
    """The per-stack physical name used in review (PR preview) stacks."""
    return f"{base}-{stack}"


def kms_alias_name(secret_name: str) -> str:
    # KMS aliases allow only letters, digits, / _ -; "alias/aws/" is reserved for AWS.
    return "alias/" + _replace(secret_name, "A-Za-z0-9/_-")


def iam_name(name: str) -> str:
    # IAM role and policy names: letters, digits and +=,.@_- (no slash).
    return _replace(name, "A-Za-z0-9+=,.@_-")


def rotation_role_name(secret_name: str) -> str:
    return iam_name(f"{secret_name}-rotation")


def lambda_function_name(secret_name: str) -> str:
    # Lambda function names: letters, digits, - and _ only.
    return _replace(secret_name, "A-Za-z0-9_-")


def sid_suffix(name: str) -> str:
    """Policy statement ids must be alphanumeric: keep only those characters of the name."""
    return re.sub(r"[^A-Za-z0-9]", "", name)


def name_problems(secret_name: str) -> list[str]:
    """What AWS would reject about the names derived from this secret name (empty when fine)."""
    problems = []
    if not SECRET_NAME_PATTERN.match(secret_name):
        problems.append(
            f"'{secret_name}' is not a valid Secrets Manager name "
            "(1-512 of: letters, digits and /_+=.@-)"
        )
        return problems
    if secret_name.startswith("aws/"):
        problems.append(f"'{secret_name}' starts with 'aws/', which AWS reserves")
    if len(kms_alias_name(secret_name)) > MAX_KMS_ALIAS:
        problems.append(f"'{secret_name}' gives a KMS alias longer than {MAX_KMS_ALIAS} characters")
    return problems


def rotation_name_problems(secret_name: str, role_name: str | None = None) -> list[str]:
    """Extra checks for secrets that get a rotation role and function."""
    problems = []
    role = role_name or rotation_role_name(secret_name)
    if len(role) > MAX_IAM_ROLE_NAME:
        problems.append(
            f"rotation role name '{role}' is {len(role)} characters; IAM allows {MAX_IAM_ROLE_NAME}"
        )
    function = lambda_function_name(secret_name)
    if len(function) > MAX_LAMBDA_FUNCTION_NAME:
        problems.append(
            f"rotation function name '{function}' is {len(function)} characters; "
            f"Lambda allows {MAX_LAMBDA_FUNCTION_NAME}"
        )
    return problems


def rotation_log_group(function_name: str) -> str:
    """The rotation function's own log group. Not Lambda's default /aws/lambda/<name>: a function
    that ran before may have created that one (with no retention)."""
    return f"/app-secrets/rotation/{function_name}"
