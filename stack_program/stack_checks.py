"""Checks of a stack as a whole, beyond the project's own keys (pure, no Pulumi resources).

- `aws:region` is required and must be a region AWS has: the list is the AWS SDK's partition
  data (`pulumi_aws.Region`, generated from the provider; the same 46 regions as botocore's
  `endpoints.json` at the pinned versions), not a pattern that also accepts `us-east-9`;
- config in a namespace this program never reads (`app-secret:secrets`) is a typo, not a no-op;
- `secure:` values only where a secret is expected, and never empty;
- AWS schedule expressions are parsed field by field (`schedule_problem`).
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping, Optional

from .schema import Problem, config_leaves, is_secure, join

# Namespaces whose keys this program (or a provider it uses) reads.
PROVIDER_NAMESPACES = ("aws", "random", "pulumi")


@lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Every region of every AWS partition, from the SDK's generated enum (a pure data import)."""
    from pulumi_aws._enums import Region

    return frozenset(region.value for region in Region)


def region_problem(value: Any) -> Optional[str]:
    """None for a known AWS region, else what is wrong (with a did-you-mean)."""
    if not isinstance(value, str):
        return None  # the caller reports the type
    if value in aws_regions():
        return None
    hint = difflib.get_close_matches(value.strip().lower(), sorted(aws_regions()), n=1, cutoff=0.6)
    more = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"'{value}' is not an AWS region{more}; expected one such as us-east-1 or eu-west-1"


def stack_region_problems(value: Any) -> list[Problem]:
    """`aws:region` of the stack: required (the provider would otherwise pick one from the
    machine running `pulumi up`), a string, and a real region."""
    if value is None or value == "":
        return [Problem("aws:region", "is required (an AWS region such as us-east-1): "
                                      "`pulumi config set aws:region <region>`")]
    if not isinstance(value, str):
        kind = {list: "a list", dict: "a map", bool: "a boolean", int: "a number", float: "a number"}.get(type(value), "not a string")
        return [Problem("aws:region", f"expected one AWS region as a string such as us-east-1, got {kind}")]
    message = region_problem(value)
    return [Problem("aws:region", message)] if message else []


def namespace_problems(keys: Iterable[str], project: str, known_keys: Iterable[str]) -> list[Problem]:
    """Keys in a namespace nobody reads: most likely a typo of the project's name."""
    problems = []
    known = list(known_keys)
    for key in sorted(set(keys)):
        namespace, sep, short = key.partition(":")
        if not sep or namespace == project or namespace in PROVIDER_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, [project, *PROVIDER_NAMESPACES], n=1, cutoff=0.6)
        if close == [project] and short in known:
            more = f"did you mean '{project}:{short}'?"
        elif close:
            more = f"did you mean namespace '{close[0]}'?"
        else:
            more = f"this program reads only {project}:* and {', '.join(n + ':*' for n in PROVIDER_NAMESPACES)}"
        problems.append(Problem(key, f"unknown config namespace '{namespace}' ({more}); nothing would read it"))
    return problems


def secure_value_problems(stack_config: Mapping[str, Any], project: str,
                          secret_paths: Mapping[str, str]) -> list[Problem]:
    """`secure:` values in a stack file's config map (nothing is decrypted): never empty, and only
    where a secret is expected (`secrets.<name>.initialValue…`, `databases.<name>.initialPassword`);
    elsewhere the plan could only show a stand-in and the value would sit in plain resource inputs."""
    problems: list[Problem] = []

    def allowed(path: str) -> bool:
        parts = re.split(r"[.\[]", path)
        return len(parts) >= 3 and secret_paths.get(parts[0]) == parts[2]

    def check(value: Any, path: str) -> None:
        for leaf_path, leaf in config_leaves(value, path):
            if not is_secure(leaf):
                continue
            cipher = leaf["secure"]
            if not isinstance(cipher, str) or not cipher.strip():
                problems.append(Problem(leaf_path, "the secure value is empty; expected the ciphertext that "
                                                   f"`pulumi config set --secret --path '{leaf_path}' …` writes"))
            elif not allowed(leaf_path):
                problems.append(Problem(leaf_path, "expected plain text, got a secure (encrypted) value: only "
                                                   "secrets.<name>.initialValue and databases.<name>.initialPassword "
                                                   f"are secret; set it with `pulumi config set --path '{leaf_path}' …`"))

    for key, value in (stack_config or {}).items():
        key = str(key)
        if key.startswith(f"{project}:"):
            check(value, key[len(project) + 1:])
        elif ":" not in key:
            check(value, key)
        elif isinstance(value, Mapping) and set(value) == {"secure"}:
            if not isinstance(value["secure"], str) or not value["secure"].strip():
                problems.append(Problem(key, "the secure value is empty; expected the ciphertext that "
                                             f"`pulumi config set --secret {key} …` writes"))
            elif key == "aws:region":
                problems.append(Problem(key, "expected plain text, got a secure (encrypted) value: "
                                             "`pulumi config set aws:region <region>`"))
    return problems


# ---------------------------------------------------------------------------------------------
# Schedule expressions (Secrets Manager rotation rules)

_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
RATE_HOURS = (4, 23)
RATE_DAYS = (1, 1000)


def _value(text: str, low: int, high: int, names: Mapping[str, int]) -> Optional[int]:
    if text.upper() in names:
        return names[text.upper()]
    if re.fullmatch(r"\d{1,4}", text) and low <= int(text) <= high:
        return int(text)
    return None


def _field_problem(text: str, name: str, low: int, high: int, names: Mapping[str, int],
                   extra: str) -> Optional[str]:
    """One cron field: `*`, `?`, values, ranges a-b, steps x/n, lists; plus the field's extras."""
    label = f"{low}-{high}" + (f" or {next(iter(names))}-{list(names)[-1]}" if names else "")
    if text == "?" and "?" in extra:
        return None
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (re.fullmatch(r"\d{1,4}", step) and int(step) >= 1):
            return f"{name} '{text}': the step after '/' must be a whole number of at least 1"
        if base == "*" or (base == "L" and "L" in extra):
            continue
        if "L" in extra and re.fullmatch(r"\d{1,2}L|[A-Za-z]{3}L", base) and _value(base[:-1], low, high, names):
            continue
        if "#" in extra and "#" in base:
            day, _, nth = base.partition("#")
            if _value(day, low, high, names) is None or nth not in ("1", "2", "3", "4", "5"):
                return f"{name} '{text}': expected DAY#N with N from 1 to 5 (e.g. MON#1)"
            continue
        if "W" in extra and re.fullmatch(r"\d{1,2}W", base) and _value(base[:-1], low, high, names):
            continue
        first, dash, last = base.partition("-")
        a = _value(first, low, high, names)
        b = _value(last, low, high, names) if dash else a
        if a is None or b is None:
            return f"{name} '{text}': expected {label}, '*'{', ?' if '?' in extra else ''}, ranges a-b, lists a,b and steps x/n"
    return None


def schedule_problem(expression: str) -> Optional[str]:
    """None for a schedule Secrets Manager accepts, else what is wrong.

    rate(N hours|days): 4-23 hours or 1-1000 days. cron(Minutes Hours Day-of-month Month
    Day-of-week Year): minutes must be 0 (rotation windows open on the hour), year must be `*`,
    and exactly one of day-of-month and day-of-week is `?`."""
    text = expression.strip()
    rate = re.fullmatch(r"rate\((.*)\)", text)
    if rate:
        match = re.fullmatch(r"(\d{1,6}) (hour|hours|day|days)", rate.group(1))
        if not match:
            return f"'{expression}': expected rate(N hours) or rate(N days)"
        n, unit = int(match.group(1)), match.group(2).rstrip("s")
        low, high = RATE_HOURS if unit == "hour" else RATE_DAYS
        if not low <= n <= high:
            if unit == "hour":
                return (f"'{expression}': Secrets Manager rotates at most every 4 hours "
                        f"(rate(4 hours) to rate(23 hours); use days beyond that)")
            return f"'{expression}': expected rate(1 days) to rate(1000 days)"
        return None
    cron = re.fullmatch(r"cron\((.*)\)", text)
    if not cron:
        return f"'{expression}': expected rate(N hours|days) or cron(Minutes Hours Day-of-month Month Day-of-week Year)"
    fields = cron.group(1).split()
    if len(fields) != 6:
        return (f"'{expression}': expected 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), "
                f"got {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if minutes != "0":
        return f"'{expression}': minutes must be 0 (Secrets Manager rotation windows open on the hour)"
    if year != "*":
        return f"'{expression}': year must be * (schedules more than a year apart are not supported)"
    if (dom == "?") == (dow == "?"):
        return f"'{expression}': exactly one of day-of-month and day-of-week must be '?'"
    for problem in (_field_problem(hours, "hours", 0, 23, {}, ""),
                    _field_problem(dom, "day-of-month", 1, 31, {}, "?LW"),
                    _field_problem(month, "month", 1, 12, _MONTHS, ""),
                    _field_problem(dow, "day-of-week", 1, 7, _DAYS, "?L#")):
        if problem:
            return f"'{expression}': {problem}"
    return None
