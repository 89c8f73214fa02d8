"""`secure:` values in a stack file that are still placeholders (pure; nothing is decrypted).

The example stacks ship `secure: v1:REPLACE-ME-…` for every value the user must set with
`pulumi config set --secret`; a real ciphertext never contains these words. `plan` and
`validate` warn about each one, by key path, so a stack is not deployed with a placeholder
(`pulumi up` would fail to decrypt it, or, with a hand-made file, store the word as the value).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = re.compile(r"REPLACE[-_ ]?ME|CHANGE[-_ ]?ME|TODO|FIXME|PLACEHOLDER", re.IGNORECASE)


def placeholder_paths(stack_config: Any, project: str = "app-secrets") -> list[str]:
    """Key paths (as `pulumi config set --path` takes them) of placeholder `secure:` values."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                if isinstance(value["secure"], str) and PLACEHOLDER.search(value["secure"]):
                    found.append(path)
                return
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    for key, value in (stack_config or {}).items():
        key = str(key)
        walk(value, key[len(project) + 1:] if key.startswith(f"{project}:") else key)
    return found


def warnings_for(stack_file: Path) -> list[str]:
    try:
        doc = yaml.safe_load(Path(stack_file).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return []
    config = doc.get("config") if isinstance(doc, dict) else None
    return [f"{path}: still a placeholder `secure:` value; set it with "
            f"`pulumi config set --secret --path '{path}' …`"
            for path in placeholder_paths(config if isinstance(config, dict) else {})]
