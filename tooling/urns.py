"""Pulumi URNs and aliases, computed the way the engine does (pure, no Pulumi runtime).

A URN is `urn:pulumi:<stack>::<project>::<parent type chain>$<type>::<name>`. Under the mock
runtime the SDK sends alias *specs* (name, type, parent, ...) and leaves it to the engine to turn
them into URNs, and to give children of an aliased component aliases of their own. The plan
needs those URNs to match a renamed resource with its old self, so this module does both:
- an alias spec becomes a URN with the resource's own stack, project, type, name and parent for
  every field the spec leaves out;
- a child inherits one alias per alias of its parent: the parent's old type chain, and, when the
  child's name starts with the parent's name, that prefix replaced by the parent's old name
  (the engine's `inheritedChildAlias`, the same rule the SDK applied before alias specs).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Protocol


class _Reg(Protocol):
    urn: str
    type: str
    name: str
    parent: str
    aliases: list[dict]


def split(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of a URN."""
    body = urn[len("urn:pulumi:"):]
    stack, project, qualified, name = body.split("::", 3)
    return stack, project, qualified, name


def name_of(urn: str) -> str:
    return split(urn)[3]


def make(stack: str, project: str, parent: Optional[str], type_: str, name: str) -> str:
    """The URN the mock runtime gives a resource (MockMonitor.make_urn): the parent's own type,
    then `$`, then the resource's type. (The engine keeps the whole chain; within one plan
    document, and between two plans, only consistency matters.)"""
    qualified = f"{split(parent)[2].split('$')[-1]}${type_}" if parent else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def alias_urns(registrations: Iterable[_Reg]) -> dict[str, list[str]]:
    """Every alias URN of every registration (own specs and those inherited from parents)."""
    regs = {r.urn: r for r in registrations}
    memo: dict[str, list[str]] = {}

    def of(reg: _Reg) -> list[str]:
        if reg.urn in memo:
            return memo[reg.urn]
        memo[reg.urn] = []  # no cycles in a tree, but stay safe
        stack, project, _, _ = split(reg.urn)
        parent = reg.parent or None
        found: list[str] = []
        for spec in reg.aliases or ():
            if spec.get("urn"):
                found.append(spec["urn"])
                continue
            spec = spec.get("spec", spec)
            alias_parent = None if spec.get("noParent") else (spec.get("parentUrn") or parent)
            found.append(make(spec.get("stack") or stack, spec.get("project") or project, alias_parent,
                              spec.get("type") or reg.type, spec.get("name") or reg.name))
        parent_reg = regs.get(parent) if parent else None
        if parent_reg is not None:
            for parent_alias in of(parent_reg):
                name = reg.name
                if name.startswith(parent_reg.name):
                    name = name_of(parent_alias) + name[len(parent_reg.name):]
                found.append(make(stack, project, parent_alias, reg.type, name))
        unique = [u for i, u in enumerate(found) if u != reg.urn and u not in found[:i]]
        memo[reg.urn] = unique
        return unique

    return {urn: of(reg) for urn, reg in regs.items()}


def index(resources: Iterable[Mapping]) -> dict[str, str]:
    """alias URN -> current URN, for the resources of a plan document."""
    out: dict[str, str] = {}
    for resource in resources:
        for alias in resource.get("aliases") or ():
            out.setdefault(alias, resource["urn"])
    return out
