"""The project file (Pulumi.yaml) and where its stack files live; pure file reading, no Pulumi."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent


class StackFileError(Exception):
    """A stack that cannot be read: missing file, bad YAML, wrong shape. str() is one line."""


@dataclass
class ProjectFile:
    name: str
    stack_config_dir: Path
    defaults: dict[str, Any]   # full key -> value


class Yaml12Loader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads it (YAML 1.2 core schema): only true/false are booleans, so
    `no`, `on`, `y` stay strings, and no timestamps or sexagesimal numbers."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _duplicate_key(node: yaml.Node, path: str = "") -> Optional[tuple[str, yaml.Node]]:
    """The first key written twice in a mapping (PyYAML keeps the last silently; Pulumi refuses)."""
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            here = f"{path}.{name}" if path else str(name)
            if name is not None and name in seen:
                return here, key
            seen.add(name)
            found = _duplicate_key(value, here)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _duplicate_key(item, f"{path}[{i}]")
            if found:
                return found
    return None


def shown_path(path: Path) -> str:
    """A file as messages name it: relative to the project when inside it (as config errors
    name `stacks/Pulumi.<stack>.yaml`), else as given."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def read_yaml(path: Path) -> Any:
    """A YAML file read as Pulumi reads it; StackFileError (file, line, what is wrong) otherwise."""
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(f"{shown}: cannot read it ({getattr(error, 'strerror', None) or 'not UTF-8 text'})") from None
    try:
        loader = Yaml12Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            duplicate = _duplicate_key(node)
            if duplicate:
                key_path, key = duplicate
                raise StackFileError(f"{shown}: line {key.start_mark.line + 1}: {key_path}: duplicate key "
                                     "(expected each key once; the Pulumi CLI refuses the file)")
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise StackFileError(f"{shown}: invalid YAML: {yaml_problem(error)}") from None


def load_project(project_dir: Path = PROJECT_DIR) -> ProjectFile:
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        raise StackFileError(f"{path}: project file not found")
    doc = read_yaml(path) or {}
    if not isinstance(doc, dict):
        raise StackFileError(f"{path}: expected a map (name, runtime, config, ...) at the top")
    name = doc.get("name")
    defaults: dict[str, Any] = {}
    for key, entry in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(entry, dict) and ("default" in entry or "value" in entry):
            defaults[full] = entry.get("value", entry.get("default"))
        elif not isinstance(entry, dict):
            defaults[full] = entry
    return ProjectFile(name=name, stack_config_dir=project_dir / doc.get("stackConfigDir", "."), defaults=defaults)


def stack_names(project: ProjectFile) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.stack_config_dir.glob("Pulumi.*.yaml"))


def yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if "'\\t'" in problem:
        problem += " (indent with spaces: YAML does not allow tabs there)"
    context, where = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and where and mark and where.line != mark.line:
        problem += f" ({context} that starts at line {where.line + 1})"
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
