"""A JSON Schema of `Pulumi.<stack>.yaml`, derived from the stack program's own config schema
(stack_program.config), so that editors validate and complete stack files with the same rules
the program applies (the program still checks what JSON Schema cannot say: cross-key rules,
duplicate physical names, plaintext where a secret is required).

    python -m tooling.stack_schema > stacks/stack-config.schema.json      (make schema)

Example stack files point at it with a first line that YAML editors (yaml-language-server) read:
    # yaml-language-server: $schema=./stack-config.schema.json
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from stack_program import config as cfg
from stack_program.schema import Bool, Int, List, Map, Obj, OneOf, Spec, Str

SCHEMA_FILE = "stack-config.schema.json"
# A `pulumi config set --secret` value as it sits in a stack file.
SECURE = {"type": "object", "properties": {"secure": {"type": "string", "minLength": 1}},
          "required": ["secure"], "additionalProperties": False,
          "description": "an encrypted value written by `pulumi config set --secret --path …`"}
# Fields whose values must be secrets (`secure:`); cfg.SECRET_VALUE_PATHS names them.
SECRET_FIELDS = set(cfg.SECRET_VALUE_PATHS.values())


def _pattern(regex: re.Pattern) -> str:
    # Python's \Z has no JSON Schema (ECMA 262) spelling; $ means the same for one-line values.
    return regex.pattern.replace(r"\Z", "$")


def to_json_schema(spec: Spec, secret: bool = False) -> dict[str, Any]:
    """The JSON Schema of one spec; `secret` allows (only) a `secure:` value in its place."""
    if secret:
        return {"anyOf": [SECURE, to_json_schema(spec)], "description": "a secret value (`secure:`)"}
    out: dict[str, Any]
    if isinstance(spec, Str):
        out = {"type": "string"}
        if spec.choices:
            out["enum"] = list(spec.choices)
        if spec.pattern is not None:
            out["pattern"] = _pattern(spec.pattern)
        if spec.min_len:
            out["minLength"] = spec.min_len
        if spec.max_len is not None:
            out["maxLength"] = spec.max_len
    elif isinstance(spec, Int):
        out = {"type": "integer"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    elif isinstance(spec, Bool):
        out = {"enum": [True, False, "auto"]} if spec.auto else {"type": "boolean"}
    elif isinstance(spec, List):
        out = {"type": "array", "items": to_json_schema(spec.item)}
        if spec.min_items:
            out["minItems"] = spec.min_items
        if spec.unique:
            out["uniqueItems"] = True
    elif isinstance(spec, Map):
        out = {"type": "object", "propertyNames": to_json_schema(spec.key)}
        out["additionalProperties"] = to_json_schema(spec.value)
        if spec.min_items:
            out["minProperties"] = spec.min_items
    elif isinstance(spec, Obj):
        out = _object(spec)
    elif isinstance(spec, OneOf):
        kinds = list(spec.variants)
        out = {"type": "object", "required": [spec.discriminator],
               "properties": {spec.discriminator: {"enum": kinds}},
               "allOf": [{"if": {"properties": {spec.discriminator: {"const": kind}}},
                          "then": _object(variant, also=(spec.discriminator,))}
                         for kind, variant in spec.variants.items()]}
    else:  # a new Spec kind must be taught here; the schema test notices
        raise TypeError(f"no JSON Schema for {type(spec).__name__}")
    out.setdefault("description", spec.description)
    return out


def _object(spec: Obj, also: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {}
    for name, field_spec in spec.fields.items():
        if name in SECRET_FIELDS and isinstance(field_spec, Map):
            properties[name] = {**to_json_schema(field_spec),
                                "additionalProperties": to_json_schema(field_spec.value, secret=True)}
        else:
            properties[name] = to_json_schema(field_spec, secret=name in SECRET_FIELDS)
    properties.update({name: {} for name in also})
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if spec.required:
        out["required"] = list(spec.required)
    if spec.required_one_of:
        out["anyOf"] = [{"required": [name]} for name in spec.required_one_of]
    return out


def stack_file_schema() -> dict[str, Any]:
    """The whole stack file: Pulumi's own top-level keys and `config:` with this project's keys."""
    config = {f"{cfg.PROJECT}:{key}": to_json_schema(spec) for key, spec in cfg.TOP_LEVEL.items()}
    config["aws:region"] = {"type": "string", "description": "the stack's AWS region, e.g. us-east-1"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{cfg.PROJECT} stack file (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config,
                # Other keys of the providers this project uses (aws:profile, …) are the
                # engine's business; any other namespace is most likely a typo of this one.
                "patternProperties": {r"^(aws|pulumi|random):": {}},
                "additionalProperties": False,
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "additionalProperties": False,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
