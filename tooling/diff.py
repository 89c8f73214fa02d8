"""What changes between two plans of a stack, and which changes lose data or break consumers.
Pure: two `plan --json` documents in, a list of changes out (no Pulumi, no AWS).

Resources are matched the way the engine matches them: by URN, or by one of the new resource's
alias URNs (`aliases` in the plan document). Then, per pair, the inputs that differ (those under
`ignoreChanges` excepted) and whether any of them forces a replacement (tooling/forcenew.py).
Unmatched old resources are deleted, unmatched new ones created.

Each change carries `risk`: "data-loss" (a value, a hand edit, a rotated password or a key
protecting versions can be lost, or `pulumi up` fails half way), "consumers" (apps may lose a
variable), or "" (safe), and `notes`, sentences a reviewer reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from . import forcenew

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
KEY = "aws:kms/key:Key"
KEYS_MERGE = "pulumi-python:dynamic/app-secrets:SecretKeys"
GUARD = "pulumi-python:dynamic/app-secrets:KmsKeyGuard"
RANDOM = "random:index/randomPassword:RandomPassword"
DATA_LOSS, CONSUMERS = "data-loss", "consumers"


@dataclass
class Change:
    action: str                       # create | import | update | replace | delete
    type: str
    name: str
    urn: str                          # the new URN (the old one for a delete)
    physical_name: Optional[str]
    old_urn: Optional[str] = None     # when matched through an alias
    changed: list[str] = field(default_factory=list)
    replace_keys: list[str] = field(default_factory=list)
    protected: bool = False           # the old resource is protected: the step will be refused
    risk: str = ""
    notes: list[str] = field(default_factory=list)
    before: Optional[Mapping[str, Any]] = field(default=None, repr=False)  # the plans' entries,
    after: Optional[Mapping[str, Any]] = field(default=None, repr=False)   # for the notes

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "type": self.type, "name": self.name, "urn": self.urn,
                "oldUrn": self.old_urn, "physicalName": self.physical_name, "changed": self.changed,
                "replaceKeys": self.replace_keys, "protected": self.protected, "risk": self.risk,
                "notes": self.notes}


def _inputs(resource: Mapping[str, Any]) -> dict[str, Any]:
    inputs = dict(resource.get("inputs") or {})
    ignored = set(inputs.pop("ignoreChanges", None) or ())
    return {k: v for k, v in inputs.items() if k not in ignored}


def _changed(old: Mapping[str, Any], new: Mapping[str, Any], renames: Mapping[str, str]) -> list[str]:
    a, b = _renamed(_inputs(old), renames), _inputs(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _renamed(value: Any, renames: Mapping[str, str]) -> Any:
    """Old inputs as the new plan would label them: a value only the cloud knows is labelled
    after its resource's logical name ("(computed: arn of key web)"); when that resource moved
    under an alias, the cloud value is the same, so the old label is rewritten to the new name."""
    if not renames:
        return value
    if isinstance(value, str):
        return _LABEL.sub(lambda m: m.group(1) + renames.get(m.group(2), m.group(2)) + m.group(3), value)
    if isinstance(value, dict):
        return {k: _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return value


# Only the labels named after a logical name (tooling/offline.py); the others carry a physical
# name, which an alias does not change.
_LABEL = re.compile(r"((?:\(computed: |<)(?:arn of key|key id of|version id of) )([a-z0-9][a-z0-9-]*)([)>])")


def diff_plans(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> list[Change]:
    old = {r["urn"]: r for r in old_doc.get("resources") or ()}
    matched_old: set[str] = set()
    changes: list[Change] = []
    pairs: list[tuple[Optional[dict], dict]] = []
    for resource in new_doc.get("resources") or ():
        previous = old.get(resource["urn"])
        if previous is None:
            for alias in resource.get("aliases") or ():
                if alias in old and alias not in matched_old:
                    previous = old[alias]
                    break
        if previous is not None:
            matched_old.add(previous["urn"])
        pairs.append((previous, resource))
    renames = {p["name"]: r["name"] for p, r in pairs if p is not None and p["name"] != r["name"]}

    for previous, resource in pairs:
        if resource.get("component"):
            continue  # components hold nothing in the cloud; their children say what happens
        base = dict(type=resource["type"], name=resource["name"], urn=resource["urn"],
                    physical_name=resource.get("physicalName"))
        if previous is None:
            # issue 17: an `import` adopts the existing resource; nothing is created.
            changes.append(Change(action="import" if resource.get("import") else "create", after=resource, **base))
            continue
        changed = _changed(previous, resource, renames)
        if bool(previous.get("protect")) != bool(resource.get("protect")):
            changed.append("(protect)")  # a resource option: state only, nothing changes in AWS
        moved = previous["urn"] != resource["urn"]
        if not changed and not moved:
            continue
        keys = forcenew.replaces(resource["type"], set(changed))
        changes.append(Change(action="replace" if keys else "update", changed=changed, replace_keys=keys,
                              old_urn=previous["urn"] if moved else None, protected=bool(previous.get("protect")),
                              before=previous, after=resource, **base))

    for urn, previous in old.items():
        if urn in matched_old or previous.get("component"):
            continue
        changes.append(Change(action="delete", type=previous["type"], name=previous["name"], urn=urn,
                              physical_name=previous.get("physicalName"), protected=bool(previous.get("protect")),
                              before=previous))

    _annotate(changes, old_doc, new_doc)
    order = {"delete": 0, "replace": 1, "update": 2, "import": 3, "create": 4}
    changes.sort(key=lambda c: (0 if c.risk == DATA_LOSS else 1 if c.risk else 2, order[c.action], c.type, c.name))
    return changes


def _recovery(resource: Mapping[str, Any]) -> str:
    window = (resource.get("inputs") or {}).get("recoveryWindowInDays")
    if window == 0:
        return "it is deleted at once (recovery window 0)"
    if isinstance(window, int):
        return f"it can be restored for {window} days (aws secretsmanager restore-secret)"
    return "it is scheduled for deletion"


def _annotate(changes: list[Change], old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> None:
    creates = {(c.type, c.physical_name): c for c in changes if c.action == "create" and c.physical_name}
    deletes = {(c.type, c.physical_name): c for c in changes if c.action == "delete" and c.physical_name}
    db_secrets = {s["secretName"] for s in (old_doc.get("secrets") or ()) if s.get("kind") == "rds-postgres-admin-login"}
    imported = {r["import"] for r in (new_doc.get("resources") or ()) if r.get("import")}
    existing_secrets = {(r.get("parent"), r["name"]) for r in (old_doc.get("resources") or ()) if r["type"] == SECRET}

    for c in changes:
        before, after = c.before or {}, c.after or {}
        label = f"{c.physical_name or c.name}"
        if c.old_urn:
            c.notes.append(f"moves from {c.old_urn} (alias): the same cloud resource is kept")
        if c.type == VERSION and c.action == "create" and (after.get("parent"), c.name) in existing_secrets:
            # issue 17: e.g. `adopted` deleted from an entry: the program writes its initial version again.
            c.risk = DATA_LOSS
            c.notes.insert(0, f"writes an initial version into the existing secret {c.physical_name or c.name}: "
                              "it becomes AWSCURRENT and replaces the live value (and hand edits). Was `adopted` "
                              "removed from the entry? Keep it")
        if c.type == KEYS_MERGE and c.action == "create" and (after.get("inputs") or {}).get("secret_id") in imported:
            c.notes.append("reads the adopted secret's live value and adds only the keys it lacks; existing keys "
                           "keep their values")
        if c.action == "import":
            c.notes.append(f"adopts the existing resource {after.get('import')} as it is (protected; the import "
                           "fails, changing nothing, if its live settings differ from these inputs)")
        if c.action in ("replace", "delete") and c.protected:
            c.notes.append("PROTECTED: `pulumi up` refuses this step until the resource is unprotected "
                           "(see README, Changing a stack safely)")
        if c.action == "replace":
            source = forcenew.source_of(c.type)
            where = source if source.startswith("hashicorp/") else f"{forcenew.TF_AWS} {source}"
            c.notes.append(f"replaced because {', '.join(c.replace_keys)} changed (ForceNew in {where})")
            old_name, new_name = before.get("physicalName"), after.get("physicalName")
            if c.type in forcenew.NAMED_TYPES and old_name and old_name == new_name:
                c.risk = DATA_LOSS
                c.notes.append(f"COLLISION: the new {c.type.split(':')[-1]} '{new_name}' is created before the old "
                               "one is deleted, under the same name: `pulumi up` fails half way")
        if c.type == SECRET and c.action in ("replace", "delete"):
            c.risk = DATA_LOSS
            what = "replace" if c.action == "replace" else "delete"
            c.notes.insert(0, f"{what} secret {label}: its current value and hand edits are lost; "
                              + _recovery(before))
            if c.physical_name in db_secrets or before.get("physicalName") in db_secrets:
                c.notes.append("a rotated database password is lost: a new secret starts from the stale "
                               "initialPassword and the next rotation cannot log in")
        elif c.type == KEY and c.action in ("replace", "delete"):
            c.risk = DATA_LOSS
            c.notes.insert(0, f"{c.action} KMS key {c.name}: every secret version still encrypted under it "
                              "becomes unreadable once the key's deletion window ends")
        elif c.type == VERSION and c.action in ("replace", "delete"):
            c.risk = DATA_LOSS
            c.notes.insert(0, f"{c.action} the initial version of {c.name}: its APP_SECRETS_INITIAL label goes, "
                              "and a new version would overwrite hand edits")
        elif c.type == SECRET and c.action == "update" and "kmsKeyId" in c.changed:
            c.risk = DATA_LOSS
            c.notes.insert(0, f"secret {label} moves to another KMS key: Secrets Manager re-encrypts only the "
                              "AWSCURRENT/AWSPENDING/AWSPREVIOUS versions, not APP_SECRETS_INITIAL; versions left "
                              "under the old key become unreadable when it is deleted. REFUSED: `pulumi preview` "
                              "stops at this secret's KmsKeyGuard. Migrate instead: see README, Changing a stack safely")
        elif c.type == GUARD and c.action == "update" and "kms_key_id" in c.changed:
            c.risk = DATA_LOSS
            c.notes.insert(0, f"the key guard of {c.name} refuses the KMS key change at preview time")
        elif c.type == RANDOM and c.action == "replace":
            c.notes.append("a new random value is generated; the live secret keeps its value (the initial "
                           "version ignores changes)")
        elif c.type == KEYS_MERGE and c.action in ("update", "create") and before:
            old_keys = set(_keys(before)) if before else set()
            new_keys = set(_keys(after))
            added, removed = sorted(new_keys - old_keys), sorted(old_keys - new_keys)
            if added:
                c.notes.append(f"adds {', '.join(added)} to the live secret as a new version; existing keys "
                               "and hand edits stay")
            if removed:
                c.risk = c.risk or CONSUMERS
                c.notes.append(f"{', '.join(removed)} no longer in the config: left in the live secret, but no "
                               "longer exported to consumers (ECS valueFrom, ExternalSecret, CSI, env)")

        if c.action == "create" and (c.type, c.physical_name) in deletes:
            c.risk = DATA_LOSS
            old = deletes[(c.type, c.physical_name)]
            c.notes.append(f"COLLISION: '{c.physical_name}' is created while {old.urn} still exists under "
                           "the same name (Pulumi creates before it deletes): `pulumi up` fails half way. "
                           "If this is a rename, add the former key to `aliases`")
        if c.action == "delete" and (c.type, c.physical_name) in creates:
            c.notes.append(f"deleted after {creates[(c.type, c.physical_name)].urn} was created under the same "
                           "name: see the collision above")

    for note in _variable_changes(old_doc, new_doc):
        changes.append(note)


def _keys(resource: Mapping[str, Any]) -> list[str]:
    keys = (resource.get("inputs") or {}).get("key_names")
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _variable_changes(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> list[Change]:
    """Variables that consumers lose (a secret's exported variables shrink or the secret goes)."""
    old = {s["name"]: s for s in old_doc.get("secrets") or ()}
    new = {s["name"]: s for s in new_doc.get("secrets") or ()}
    out = []
    for key, before in old.items():
        after = new.get(key)
        gone = sorted(set(before.get("environmentVariables") or ()) - set((after or {}).get("environmentVariables") or ()))
        if gone and after is not None:
            out.append(Change(action="update", type="consumers", name=key, urn="", physical_name=after.get("secretName"),
                              risk=CONSUMERS, notes=[f"consumers of {key} no longer get {', '.join(gone)}"]))
    return out


def has_data_loss(changes: list[Change]) -> bool:
    return any(c.risk == DATA_LOSS for c in changes)


# ---------------------------------------------------------------------------------------------
# Rendering

SYMBOL = {"create": "+", "import": "=", "update": "~", "replace": "+-", "delete": "-"}


def summary(changes: list[Change]) -> str:
    counts = {a: sum(1 for c in changes if c.action == a and c.type != "consumers")
              for a in ("create", "import", "update", "replace", "delete")}
    if not counts["import"]:
        del counts["import"]  # the usual summary line stays as it was
    lossy = sum(1 for c in changes if c.risk == DATA_LOSS)
    text = ", ".join(f"{n} to {a}" for a, n in counts.items())
    return text + (f"; {lossy} change(s) LOSE DATA OR FAIL" if lossy else "; nothing loses data")


def render_text(changes: list[Change], old_label: str, new_label: str) -> str:
    lines = [f"Changes from {old_label} to {new_label}:"]
    if not changes:
        lines.append("  (none)")
    for c in changes:
        flag = {DATA_LOSS: "  !! DATA LOSS", CONSUMERS: "  ! consumers"}.get(c.risk, "")
        what = f"{c.type}  {c.name}" + (f"  [{c.physical_name}]" if c.physical_name else "")
        lines.append(f"{SYMBOL[c.action]:>2} {c.action:<7} {what}{flag}")
        if c.changed and c.action in ("update", "replace"):
            lines.append(f"      changed: {', '.join(c.changed)}")
        for note in c.notes:
            lines.append(f"      {note}")
    lines.append("")
    lines.append(summary(changes))
    return "\n".join(lines)


def render_markdown(changes: list[Change], old_label: str, new_label: str) -> str:
    """For a pull-request comment or $GITHUB_STEP_SUMMARY."""
    lossy = [c for c in changes if c.risk == DATA_LOSS]
    lines = [f"### app-secrets: `{old_label}` → `{new_label}`", ""]
    if lossy:
        lines.append(f"> [!CAUTION]\n> **{len(lossy)} change(s) lose data or make `pulumi up` fail.** Read them before merging.")
        lines.append("")
    lines += ["| | action | resource | physical name | what happens |", "|---|---|---|---|---|"]
    for c in changes:
        mark = {DATA_LOSS: "🛑", CONSUMERS: "⚠️"}.get(c.risk, "")
        notes = "<br>".join(n.replace("|", "\\|") for n in c.notes) or (", ".join(c.changed) if c.changed else "")
        lines.append(f"| {mark} | {c.action} | `{c.type}` {c.name} | {c.physical_name or ''} | {notes} |")
    if not changes:
        lines.append("| | | (no changes) | | |")
    lines += ["", summary(changes)]
    return "\n".join(lines)
