"""A small declarative schema for structured stack config (pure, no Pulumi).

Pulumi's project-level config can type scalars but not objects, so `secrets:`, `databases:`,
`readPolicies:` and `tags:` are checked here. `check()` returns the normalised value (defaults
filled in) and appends every problem it finds, each with the key path, so one run reports all of
them at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Every problem found in a stack's config. str() is what the user sees."""

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"invalid config{where} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _shown(value: str, limit: int = 80) -> str:
    """A user's string quoted for a message, cut short when long."""
    return f"'{value}'" if len(value) <= limit else f"'{value[:limit]}…' ({len(value)} characters)"


def is_secure(value: Any) -> bool:
    """A `{secure: …}` map: how a stack file writes an encrypted value."""
    return isinstance(value, Mapping) and len(value) == 1 and "secure" in value


def config_leaves(value: Any, path: str = ""):
    """Every leaf of a config value with its key path; a `{secure: …}` map is one leaf."""
    if isinstance(value, Mapping) and not is_secure(value):
        for key, item in value.items():
            yield from config_leaves(item, join(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from config_leaves(item, join(path, index))
    else:
        yield path, value


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "a number that is not finite (.inf, .nan, or too large)"
    if isinstance(value, float):
        return f"the fraction {value}" if not value.is_integer() else f"the decimal {value}"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a map"}.get(type(value), type(value).__name__)


class Spec:
    description = "a value"

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:  # pragma: no cover
        raise NotImplementedError


@dataclass
class Str(Spec):
    pattern: re.Pattern | None = None
    expected: str | None = None  # how to describe the pattern to a person
    choices: tuple[str, ...] | None = None
    min_len: int = 0
    max_len: int | None = None
    extra: Callable[[str], str | None] | None = None  # returns a problem message or None

    @property
    def description(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return self.expected or "a string"

    def check(self, value, path, problems):
        if not isinstance(value, str):
            problems.append(Problem(path, f"expected {self.description}, got {_type_name(value)}"))
            return None
        control = next((c for c in value if ord(c) < 32 and c not in "\n\r\t" or 127 <= ord(c) < 160), None)
        if control is not None:
            # An escape sequence in a description would repaint the reviewer's terminal.
            problems.append(Problem(path, f"expected printable text, got the control character "
                                          f"U+{ord(control):04X} at position {value.index(control) + 1}"))
            return None
        if self.choices and value not in self.choices:
            hint = difflib.get_close_matches(value, self.choices, n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(Problem(path, f"{_shown(value)} is not {self.description}{more}"))
            return None
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            bounds = f"{self.min_len}-{self.max_len}" if self.max_len else f"at least {self.min_len}"
            problems.append(Problem(path, f"expected {bounds} characters, got {len(value)}"))
            return None
        if self.pattern and not self.pattern.match(value):
            problems.append(Problem(path, f"{_shown(value)} is not {self.description}"))
            return None
        if self.extra:
            message = self.extra(value)
            if message:
                problems.append(Problem(path, message))
                return None
        return value


@dataclass
class Int(Spec):
    minimum: int | None = None
    maximum: int | None = None
    allowed: Callable[[int], bool] | None = None
    expected: str | None = None

    @property
    def description(self) -> str:
        if self.expected:
            return self.expected
        if self.minimum is not None and self.maximum is not None:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"a whole number of at least {self.minimum}"
        return "a whole number"

    def check(self, value, path, problems):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(Problem(path, f"expected {self.description}, got {_type_name(value)}"))
            return None
        if ((self.minimum is not None and value < self.minimum)
                or (self.maximum is not None and value > self.maximum)
                or (self.allowed is not None and not self.allowed(value))):
            problems.append(Problem(path, f"expected {self.description}, got {value}"))
            return None
        return value


@dataclass
class Bool(Spec):
    auto: bool = False   # also accept the string "auto" (returned as is): "decide from the rest"

    @property
    def description(self) -> str:
        return "true, false or auto" if self.auto else "true or false"

    def check(self, value, path, problems):
        if self.auto and value == "auto":
            return value
        if not isinstance(value, bool):
            # YAML 1.1 booleans are strings to the Pulumi CLI (YAML 1.2).
            yaml11 = isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n")
            got = f"the string '{value}' (YAML 1.2, which Pulumi reads, has only true and false)" if yaml11 \
                else _type_name(value)
            problems.append(Problem(path, f"expected {self.description}, got {got}"))
            return None
        return value


@dataclass
class List(Spec):
    item: Spec
    min_items: int = 0
    unique: bool = False

    @property
    def description(self) -> str:
        return f"a list of {self.item.description}"

    def check(self, value, path, problems):
        if not isinstance(value, list):
            problems.append(Problem(path, f"expected {self.description}, got {_type_name(value)}"))
            return None
        if len(value) < self.min_items:
            problems.append(Problem(path, f"expected at least {self.min_items} "
                                          f"{'item' if self.min_items == 1 else 'items'}, got {len(value)}"))
            return None
        out = [self.item.check(v, join(path, i), problems) for i, v in enumerate(value)]
        if self.unique:
            seen: set = set()
            for i, v in enumerate(value):
                if isinstance(v, (str, int)) and v in seen:
                    problems.append(Problem(join(path, i), f"duplicate entry '{v}'"))
                elif isinstance(v, (str, int)):
                    seen.add(v)
        return out


@dataclass
class Map(Spec):
    """A map with free keys (names chosen by the user) and one value spec."""

    value: Spec
    key: Str = field(default_factory=Str)
    min_items: int = 0

    @property
    def description(self) -> str:
        return f"a map of {self.key.description} to {self.value.description}"

    def check(self, value, path, problems):
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            problems.append(Problem(path, f"expected {self.description}, got {_type_name(value)}"))
            return None
        if len(value) < self.min_items:
            problems.append(Problem(path, f"expected at least {self.min_items} "
                                          f"{'entry' if self.min_items == 1 else 'entries'}, got {len(value)}"))
        out = {}
        for k, v in value.items():
            k_path = join(path, str(k))
            if self.key.check(k if isinstance(k, str) else str(k), k_path, problems) is None:
                continue
            out[k] = self.value.check(v, k_path, problems)
        return out


@dataclass
class Obj(Spec):
    """A map with known keys: unknown keys are typos and get a did-you-mean."""

    fields: dict[str, Spec]
    required: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    expected: str = "a map"
    # At least one key of this group (e.g. identifier | clusterIdentifier): checked by the config's
    # own cross-checks (one clear message), and stated in the editor schema as anyOf.
    required_one_of: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return self.expected

    def check(self, value, path, problems):
        if not isinstance(value, Mapping):
            problems.append(Problem(path, f"expected {self.expected}, got {_type_name(value)}"))
            return None
        out: dict[str, Any] = {}
        for k, v in value.items():
            k_path = join(path, str(k))
            spec = self.fields.get(k)
            if spec is None:
                hint = difflib.get_close_matches(str(k), self.fields, n=1)
                more = f"did you mean '{hint[0]}'?" if hint else "expected one of: " + ", ".join(sorted(self.fields))
                problems.append(Problem(k_path, f"unknown key ({more})"))
                continue
            checked = spec.check(v, k_path, problems)
            if checked is None and k in self.defaults:
                # The problem is recorded; later cross-checks see the default, not a cascade.
                continue
            out[k] = checked
        for name in self.required:
            if name not in value:
                problems.append(Problem(join(path, name), f"is required ({self.fields[name].description})"))
        for name, default in self.defaults.items():
            out.setdefault(name, default() if callable(default) else default)
        return out


@dataclass
class OneOf(Spec):
    """A map whose `type` key picks the spec for the rest."""

    discriminator: str
    variants: dict[str, Obj]

    @property
    def description(self) -> str:
        return f"a map with '{self.discriminator}' one of " + ", ".join(self.variants)

    def check(self, value, path, problems):
        if not isinstance(value, Mapping):
            problems.append(Problem(path, f"expected {self.description}, got {_type_name(value)}"))
            return None
        kind = value.get(self.discriminator)
        choice = Str(choices=tuple(self.variants))
        if kind is None:
            problems.append(Problem(join(path, self.discriminator), f"is required ({choice.description})"))
            return None
        if choice.check(kind, join(path, self.discriminator), problems) is None:
            return None
        variant = self.variants[kind]
        rest = {k: v for k, v in value.items() if k != self.discriminator}
        out = variant.check(rest, path, problems)
        if out is not None:
            out[self.discriminator] = kind
        return out
