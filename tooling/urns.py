"""Pulumi URNs and aliases, computed the way the engine does (pure, no Pulumi runtime).

A URN is `urn:pulumi:<stack>::<project>::<parent type chain>$<type>::<name>` (the chain joins
every ancestor's type with `$`, the root stack's excluded). Under the mock
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


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def make(stack: str, project: str, parent: Optional[str], type_: str, name: str) -> str:
    """The URN the engine gives a resource: the parent's whole qualified type (its own parents'
    types joined by `$`), then `$` and the resource's type; the root stack's type is left out.
    (pulumi/pulumi pkg/resource/deploy/deployment.go generateURN, sdk/go/common/resource/urn/urn.go
    New.) The mock runtime's MockMonitor.make_urn keeps only the parent's last type, and includes
    the stack's: the offline monitor uses this function instead, so plan URNs paste into
    `pulumi state` commands."""
    parent_type = split(parent)[2] if parent else ""
    qualified = f"{parent_type}${type_}" if parent_type and parent_type != ROOT_STACK_TYPE else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def to_engine_form(resources: list[dict]) -> list[dict]:
    """A plan document's resources with URNs (own, parent, aliases kept as they are) rewritten in
    the engine's form: plans saved before the form changed still compare with new ones."""
    by_urn = {r["urn"]: r for r in resources}
    memo: dict[str, str] = {}

    def engine_urn(urn: str) -> str:
        if urn not in memo:
            resource = by_urn.get(urn)
            if resource is None:
                memo[urn] = urn
            else:
                memo[urn] = urn  # no cycles in a tree, but stay safe
                stack, project, _, _ = split(urn)
                parent = resource.get("parent")
                memo[urn] = make(stack, project, engine_urn(parent) if parent else None,
                                 resource["type"], resource["name"])
        return memo[urn]

    return [{**r, "urn": engine_urn(r["urn"]), "parent": engine_urn(r["parent"]) if r.get("parent") else r.get("parent")}
            for r in resources]


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
