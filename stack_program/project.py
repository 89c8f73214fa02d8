"""The project file (Pulumi.yaml) and where its stack files live; pure file reading, no Pulumi."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent


class StackFileError(Exception):
    """A stack that cannot be read: missing file, bad YAML, wrong shape. str() is one line."""


@dataclass
class ProjectFile:
    name: str
    stack_config_dir: Path
    defaults: dict[str, Any]   # full key -> value


def load_project(project_dir: Path = PROJECT_DIR) -> ProjectFile:
    path = project_dir / "Pulumi.yaml"
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise StackFileError(f"{path}: project file not found") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: invalid YAML: {yaml_problem(error)}") from None
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
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem
