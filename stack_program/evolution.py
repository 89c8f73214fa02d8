"""How the program keeps a stack's resources when its config is edited (Day 2).

- A secret or database renamed in the stack file lists its former keys under `aliases`; each
  becomes a Pulumi alias on the component, and the children follow (their names start with the
  component's name, so the engine derives their old URNs from the component's aliases).
- A secret's `type` may change among secret / random / user-managed: the component carries an
  alias for the two other types, so the same Secret, key, policy and version stay in place (the
  value is never rewritten: the initial version ignores changes to it).
"""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi

COMPONENT_TYPES = {
    "secret": "app-secrets:secrets:Secret",
    "random": "app-secrets:secrets:RandomSecret",
    "user-managed": "app-secrets:secrets:UserManagedSecret",
}


def secret_alias_specs(key: str, kind: str, former_keys: Sequence[str]) -> list[dict[str, str]]:
    """Every (name, type) a secret component may have had other than its own: its key and former
    keys, under any of the three secret types. Pure, for the tests."""
    return [{"name": n, "type": t} for n in (key, *former_keys) for t in sorted(COMPONENT_TYPES.values())
            if (n, t) != (key, COMPONENT_TYPES[kind])]


def secret_options(key: str, kind: str, former_keys: Sequence[str]) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(name=spec["name"], type_=spec["type"])
                                           for spec in secret_alias_specs(key, kind, former_keys)])


def database_options(former_keys: Sequence[str]) -> Optional[pulumi.ResourceOptions]:
    if not former_keys:
        return None
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(name=key, type_="app-secrets:databases:RdsPostgresAdminLogin")
                                           for key in former_keys])


def present_variables(component) -> pulumi.Output:
    """The variables consumers may use: those the live secret holds (after the key merge)."""
    present = getattr(component, "present_environment_variables", None)
    if present is not None:
        return present
    return pulumi.Output.from_input(list(component.environment_variables))
