"""The Pulumi CLI's project/stack config rules, ported to pure Python so tests (and `validate`)
can apply them to Pulumi.yaml and every stack file without the CLI.

Ported from pulumi/pulumi at commit 1b5949891b3c (2026-08-21); each rule names its file:line.
These run before any program starts: a stack that breaks one is refused by `pulumi preview`,
`up`, `refresh` and `destroy` alike, so the program's own checks never get a say.

- Pulumi.yaml (`Project.Validate`, sdk/go/common/workspace/project.go:837-889, after the
  shorthand rewrite at project.go:486-517);
- the merge of project config into the stack's (`mergeConfig`, pkg/workspace/config.go:255-366):
  a key in the project's namespace that the stack does not set and that has neither `value` nor
  `default` is missing (config.go:319-325, message config.go:53-64);
- explicitly typed keys are checked against the stack's value (`validateStackConfigValues`,
  config.go:66-117; `validateStackConfigValue`, config.go:119-157; `ValidateConfigValue`,
  project.go:771-831), with the value as the stack file holds it: scalars become strings,
  maps and lists JSON (sdk/go/common/resource/config/object.go:403-419 MarshalString,
  unmarshalObject object.go:467-526), `{secure: ...}` is a ciphertext (object.go:541-550).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

_MISSING = object()

# project.go:50-54
ARRAY, INTEGER, STRING, BOOLEAN, OBJECT = "array", "integer", "string", "boolean", "object"


@dataclass(frozen=True)
class ConfigType:
    """One entry of Pulumi.yaml `config:` (ProjectConfigType, project.go:282-289)."""
    type: Optional[str]
    items: Optional[Mapping[str, Any]]
    default: Any = _MISSING
    value: Any = _MISSING
    secret: bool = False

    @property
    def explicitly_typed(self) -> bool:   # project.go:294-296
        return self.type is not None

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING and self.default is not None

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING and self.value is not None


def _is_primitive(value: Any) -> bool:
    return isinstance(value, (str, int, bool)) and not isinstance(value, float)


def config_types(project: Mapping[str, Any]) -> dict[str, ConfigType]:
    """Pulumi.yaml `config:` after the CLI's shorthand rewrite (project.go:486-517): a bare
    scalar or list is a `default` for a project key, a `value` for another namespace's key."""
    name = str(project.get("name"))
    out: dict[str, ConfigType] = {}
    for key, entry in (project.get("config") or {}).items():
        if _is_primitive(entry) or isinstance(entry, list):
            entry = {"default": entry} if namespaced_by_project(name, key) else {"value": entry}
        entry = entry if isinstance(entry, Mapping) else {}
        out[key] = ConfigType(type=entry.get("type"), items=entry.get("items"),
                              default=entry.get("default", _MISSING), value=entry.get("value", _MISSING),
                              secret=bool(entry.get("secret", False)))
    return out


def namespaced_by_project(project_name: str, key: str) -> bool:   # project.go:833-835
    return ":" not in key or key.startswith(project_name + ":")


def full_type_name(type_name: Optional[str], items: Optional[Mapping[str, Any]]) -> str:  # project.go:760-766
    if items is not None:
        return f"array<{full_type_name(items.get('type'), items.get('items'))}>"
    return str(type_name)


def validate_config_value(type_name: Optional[str], items: Optional[Mapping[str, Any]], value: Any) -> bool:
    """`ValidateConfigValue` (project.go:771-831). `value` is what Go would hold: a str for a
    scalar stack value, or the JSON-decoded object (numbers as floats)."""
    if type_name == STRING:
        return isinstance(value, str)
    if type_name == INTEGER:
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        if isinstance(value, str):
            return _atoi(value)
        return False
    if type_name == BOOLEAN:
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == OBJECT:
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items.get("type"), items.get("items"), item) for item in value)


def _atoi(text: str) -> bool:
    """Go's strconv.Atoi: optional sign, ASCII digits only, fits in 64 bits."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all("0" <= c <= "9" for c in digits):
        return False
    return -2**63 <= int(text) < 2**63


def project_problems(project: Mapping[str, Any]) -> list[str]:
    """`Project.Validate` (project.go:837-889) for the config block; the CLI's own words."""
    name = str(project.get("name") or "")
    if not name:
        return ["project is missing a 'name' attribute"]
    problems = []
    for key, entry in sorted(config_types(project).items()):
        if entry.has_default and entry.has_value:
            problems.append(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
            continue
        if namespaced_by_project(name, key):
            if entry.explicitly_typed and entry.type == ARRAY and entry.items is None:
                problems.append(f"The configuration key '{key}' declares an array but does not specify the "
                                "underlying type via the 'items' attribute")
            elif entry.explicitly_typed and entry.has_default \
                    and not validate_config_value(entry.type, entry.items, entry.default):
                problems.append(f"The default value specified for configuration key '{key}' is not of the "
                                f"expected type '{full_type_name(entry.type, entry.items)}'")
        elif entry.explicitly_typed:
            problems.append(f"Configuration key '{key}' is not namespaced by the project and should not define a type")
        elif entry.has_default:
            problems.append(f"Configuration key '{key}' is not namespaced by the project and should not define "
                            "a default value. Did you mean to use the 'value' attribute instead of 'default'?")
        elif not entry.has_value:
            problems.append(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")
    return problems


@dataclass(frozen=True)
class StackValue:
    """A stack file value as the CLI holds it (config.Value): text, secure, object."""
    text: str
    secure: bool
    object: bool

    def content(self) -> Any:
        """What validateStackConfigValue type-checks (config.go:137-143): the (decrypted) text,
        JSON-decoded when it is an object. A ciphertext always decrypts to a string, so a secure
        leaf is checked as a string without decrypting it."""
        if self.secure and not self.object:
            return "[secret]"
        return json.loads(self.text) if self.object else self.text


def _go_json(value: Any) -> str:
    """encoding/json of a scalar: Go writes whole floats without `.0`."""
    if isinstance(value, float) and math.isfinite(value) and value == math.trunc(value) and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value)


def stack_value(raw: Any) -> StackValue:
    """unmarshalObject + MarshalString (object.go:467-526, 403-419)."""
    if isinstance(raw, Mapping) and len(raw) == 1 and isinstance(raw.get("secure"), str):   # object.go:541-550
        return StackValue(raw["secure"], True, False)
    if isinstance(raw, str):
        return StackValue(raw, False, False)
    if isinstance(raw, (bool, int, float)):
        return StackValue(_go_json(raw), False, False)

    def plain(value: Any) -> Any:   # nested secure leaves as their decrypted kind (a string)
        if isinstance(value, Mapping):
            if len(value) == 1 and isinstance(value.get("secure"), str):
                return "[secret]"
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return StackValue(json.dumps(plain(raw)), _has_secure(raw), True)


def _has_secure(value: Any) -> bool:
    if isinstance(value, Mapping):
        if len(value) == 1 and isinstance(value.get("secure"), str):
            return True
        return any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _key(project_name: str, key: str) -> tuple[str, str]:
    """parseConfigKey (config.go:159-168) and config.ParseKey (sdk/go/common/resource/config/key.go:45-70)."""
    if ":" not in key:
        return project_name, key
    parts = key.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config":
        return parts[0], parts[2]
    raise ValueError(f"could not parse {key} as a configuration key "
                     "(configuration keys should be of the form `<namespace>:<name>`)")


def stack_problems(project: Mapping[str, Any], stack: str, stack_config: Mapping[str, Any]) -> list[str]:
    """What `pulumi preview|up|refresh|destroy` says before the program runs, in its words
    (mergeConfig with validate=true, config.go:255-366); [] when the stack passes."""
    problems = project_problems(project)
    if problems:
        return problems
    name = str(project["name"])
    try:
        present = {_key(name, k): v for k, v in (stack_config or {}).items()}
    except ValueError as error:
        return [str(error)]
    types = config_types(project)
    missing = []
    merged: dict[tuple[str, str], Any] = dict(present)
    for key in sorted(types):                                   # config.go:303-349
        entry = types[key]
        full = _key(name, key)
        found = full in present
        if not found and not entry.has_value and not entry.has_default and full[0] == name:
            missing.append(key)                                 # config.go:319-325
            continue
        if not found and (entry.has_value or entry.has_default):
            merged[full] = entry.default if entry.has_default else entry.value   # config.go:327-347
    if missing:                                                 # config.go:351-355
        return [missing_keys_error(missing, stack)]
    for key in sorted(types):                                   # config.go:88-114
        entry = types[key]
        if not entry.explicitly_typed:
            continue
        value = stack_value(merged.get(_key(name, key)))
        if entry.secret and not value.secure:                   # config.go:128-134
            return [f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"]
        if not validate_config_value(entry.type, entry.items, value.content()):   # config.go:145-154
            return [f"Stack '{stack}' with configuration key '{key}' must be of type "
                    f"'{full_type_name(entry.type, entry.items)}'"]
    return []


def missing_keys_error(keys: list[str], stack: str) -> str:
    """missingStackConfigurationKeysError + formatMissingKeys (config.go:30-64)."""
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        keys = sorted(keys)
        listed = ", ".join(f"'{k}'" for k in keys[:-2])
        listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration {'values' if len(keys) > 1 else 'value'} {listed}"


def copy_config_from(template_config: Mapping[str, Any]) -> dict[str, Any]:
    """`pulumi stack init NEW --copy-config-from TEMPLATE`: the whole config map, secure values
    re-encrypted for the new stack (pkg/cmd/pulumi/stack/io.go:467-514 CopyEntireConfigMap)."""
    def reencrypt(value: Any) -> Any:
        if isinstance(value, Mapping):
            if len(value) == 1 and isinstance(value.get("secure"), str):
                return {"secure": "v1:re-encrypted-for-the-new-stack"}
            return {k: reencrypt(v) for k, v in value.items()}
        if isinstance(value, list):
            return [reencrypt(v) for v in value]
        return value

    return {key: reencrypt(value) for key, value in (template_config or {}).items()}
