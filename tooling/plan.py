"""Offline plan: what a stack would create, with no cloud account and no Pulumi CLI.

`plan_stack(stack)` runs the real program under the mock runtime and returns one JSON-ready
document (shape below); `render_text` turns it into the tree a reviewer reads. Secret values and
`secure:` config are never decrypted or printed: they show as "[secret]". Values only the cloud
knows (ARNs, ids) show as "(computed: what)".

Document shape (`python -m components plan --stack dev --json`):
    {
      "project": "app-secrets", "stack": "dev", "source": "stacks/Pulumi.dev.yaml",
      "reviewStack": false,
      "resources": [
        {"urn": str, "type": str, "name": str, "parent": urn | null, "component": bool,
         "physicalName": str | null, "inputs": {...},          # tree order, see below
         "protect": bool, "aliases": [urn]}                    # aliases: own and inherited (tooling/urns.py)
         # "import": id, only on a resource adopted with the `import` option (issue 17)
      ],
      "secrets": [
        {"name": config key, "secretName": physical name, "kind": str,
         "environmentVariables": [str], "external": bool,
         "access": {"read": [principal], "write": [...], "administer": [...],      # null if external
                    "readRequiresTags": {tag: value}, "tagExempt": [principal],
                    "readableByAnyIamPrincipal": bool}}
      ],
      "apps": [                                                # one per read policy (tooling/apps.py)
        {"name": str, "secrets": [config key], "environmentVariables": [str], "roleNames": [str],
         "readers": [principal], "roleCanRead": {role: [config key]},
         "cost": {"items": {item: {"count": n, "monthlyUsd": usd}}, "monthlyUsd": usd}}
      ],
      "cost": {"items": {...}, "monthlyUsd": usd, "prices": {dated table, tooling/pricing.py}},
      "summary": {"total": int, "byType": {type: int}},
      "problems": [str],                                       # a read policy role that cannot read
      "warnings": [str]                                        # e.g. placeholder `secure:` values
    }

Resources are listed depth-first (each parent before its children), siblings ordered by type and
then name. Registration order is not used: the SDK registers resources concurrently, so it changes
from run to run, and two plans of the same config must be byte-identical to be worth diffing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from app_secrets import policies
from .access import access_summary, secret_accesses
from . import placeholders
from .offline import DEPLOYER_ROLE, PROJECT_DIR, OfflineRun, Registration, SECRET_SIG, run_program

SECRET = "[secret]"
DEPLOYER_ROLE_ARN_PART = f":role/{DEPLOYER_ROLE}"
UNKNOWN_SIG = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the SDK's marker for unknown values
POLICY_INPUTS = {"policy", "assumeRolePolicy"}
# Inputs that say nothing to a reviewer.
HIDDEN_INPUTS = {"__defaults", "region", "code", "__provider"}
KIND_BY_TYPE = {
    "app-secrets:secrets:Secret": "secret",
    "app-secrets:secrets:RandomSecret": "random",
    "app-secrets:secrets:UserManagedSecret": "user-managed",
    "app-secrets:databases:RdsPostgresAdminLogin": "rds-postgres-admin-login",
    "app-secrets:databases:RdsPostgresLogin": "rds-postgres-login",
}


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(next(iter(SECRET_SIG))) == SECRET_SIG[next(iter(SECRET_SIG))]


class _Renderer:
    def __init__(self, run: OfflineRun):
        # Longest first, so an ARN is replaced before the key id inside it.
        self.computed = sorted(run.mocks.computed.items(), key=lambda kv: -len(kv[0]))
        self.account = run.mocks.account

    def text(self, value: str) -> str:
        if value == UNKNOWN_SIG:
            return "(computed)"
        for invented, label in self.computed:
            if value == invented:
                return f"(computed: {label})"
        for invented, label in self.computed:
            if invented in value:
                value = value.replace(invented, f"<{label}>")
        return value.replace(f":{self.account}:", ":<account>:")

    def value(self, key: str, value: Any) -> Any:
        if _is_secret(value):
            return SECRET
        if key in POLICY_INPUTS and isinstance(value, str):
            try:
                return [self.text(line) for line in policies.summarize(json.loads(value))]
            except ValueError:
                return self.text(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in sorted(value.items()) if not k.startswith("__")}
        if isinstance(value, list):
            return [self.value(key, v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)  # protobuf carries every number as a double
        return value


def in_tree_order(registrations: list[Registration]) -> list[Registration]:
    """Depth-first, siblings by (type, name): a stable order for concurrent registrations."""
    urns = {reg.urn for reg in registrations}
    children: dict[Optional[str], list[Registration]] = {}
    for reg in registrations:
        children.setdefault(reg.parent if reg.parent in urns else None, []).append(reg)
    ordered: list[Registration] = []
    stack = sorted(children.get(None, []), key=lambda r: (r.type, r.name), reverse=True)
    while stack:
        reg = stack.pop()
        ordered.append(reg)
        stack += sorted(children.get(reg.urn, []), key=lambda r: (r.type, r.name), reverse=True)
    return ordered


def plan_document(run: OfflineRun, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    from .urns import alias_urns

    renderer = _Renderer(run)
    aliases = alias_urns(run.registrations)
    resources = []
    for reg in in_tree_order(run.registrations):
        inputs = {k: renderer.value(k, v) for k, v in sorted(reg.raw_inputs.items())
                  if k not in HIDDEN_INPUTS or (k == "region" and v != run.mocks.region)}  # e.g. a replica's key
        if reg.ignore_changes:
            inputs["ignoreChanges"] = list(reg.ignore_changes)
        resources.append({
            "urn": reg.urn,
            "type": reg.type,
            "name": reg.name,
            "parent": reg.parent or None,
            "component": not reg.custom,
            "physicalName": renderer.text(reg.physical_name) if reg.physical_name else None,
            "inputs": inputs,
            "protect": reg.protect,
            "aliases": aliases.get(reg.urn, []),
            **({"import": reg.import_id} if reg.import_id else {}),   # issue 17: adopted, not created
        })
    secrets = []
    kinds: dict[str, str] = {}
    for reg in in_tree_order(run.registrations):
        if reg.type in KIND_BY_TYPE:
            kinds.setdefault(reg.name, KIND_BY_TYPE[reg.type])  # outermost component first
    accesses = secret_accesses(run)
    for key, described in (run.outputs.get("secrets") or {}).items():
        access = None if described.get("external") else access_summary(accesses[key])
        secrets.append({
            "name": key,
            "secretName": described.get("name"),
            "kind": "existing" if described.get("external") else kinds.get(key, "secret"),
            "environmentVariables": list(described.get("environmentVariables") or []),
            "external": bool(described.get("external")),
            "access": access and {k: renderer.value(k, v) for k, v in access.items()},
        })
    by_type = Counter(r.type for r in run.registrations)
    try:
        source = str(run.config.path.relative_to(project_dir))
    except ValueError:
        source = str(run.config.path)
    from .apps import app_views, stack_cost

    apps, app_problems, app_warnings = app_views(run, secrets)
    for app in apps:
        app["readers"] = [renderer.value("read", r) for r in app["readers"]]
    return {
        "project": "app-secrets",
        "stack": run.stack,
        "source": source,
        "reviewStack": bool(run.outputs.get("reviewStack")),
        "resources": resources,
        "secrets": secrets,
        "apps": apps,
        "cost": stack_cost(run),
        "summary": {"total": len(run.registrations), "byType": dict(sorted(by_type.items()))},
        "problems": app_problems,
        "warnings": [f"{source}: {w}" for w in [*placeholders.warnings_for(run.config.path), *app_warnings]],
    }


def plan_stack(stack: str, *, template: Optional[str] = None, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """Plan one stack; raises StackFileError or InvalidConfig (see program.py)."""
    return plan_document(run_program(stack, template=template, project_dir=project_dir), project_dir)


# ---------------------------------------------------------------------------------------------
# Text


def visible(text: Any) -> str:
    """Control characters (an escape sequence could repaint a terminal) shown as \\xNN escapes."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def _format_inputs(inputs: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in inputs.items():
        if key in POLICY_INPUTS and isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  {visible(line)}" for line in value]
        elif isinstance(value, (dict, list)):
            lines.append(f"{key}: {json.dumps(value, sort_keys=True)}")
        else:
            lines.append(f"{key}: {visible(value)}")
    return lines


def _children(doc: dict[str, Any]) -> dict[Optional[str], list[dict]]:
    tree: dict[Optional[str], list[dict]] = {}
    urns = {r["urn"] for r in doc["resources"]}
    for resource in doc["resources"]:
        parent = resource["parent"] if resource["parent"] in urns else None
        tree.setdefault(parent, []).append(resource)
    return tree


def _label(resource: dict[str, Any]) -> str:
    physical = f"  [{resource['physicalName']}]" if resource["physicalName"] else ""
    return f"{resource['type']}  {resource['name']}{physical}"


def render_text(doc: dict[str, Any]) -> str:
    """Plain text: an indented tree, then the environment variables and the summary."""
    tree = _children(doc)
    lines = [f"Plan of stack '{doc['stack']}' ({doc['source']})" +
             (" - review stack" if doc["reviewStack"] else "")]

    def walk(resource: dict[str, Any], depth: int) -> None:
        pad = "  " * depth
        if resource.get("import"):
            lines.append(f"{pad}= {_label(resource)}  (import {visible(resource['import'])})")
        else:
            lines.append(f"{pad}+ {_label(resource)}")
        for line in _format_inputs(resource["inputs"]):
            lines.append(f"{pad}    {line}")
        for child in tree.get(resource["urn"], []):
            walk(child, depth + 1)

    for root in tree.get(None, []):
        walk(root, 0)
    lines.append("")
    lines += _env_lines(doc)
    lines += access_lines(doc)
    lines += app_lines(doc)
    lines.append("")
    lines.append(summary_line(doc))
    lines += cost_lines(doc)
    lines += [f"warning: {w}" for w in doc.get("warnings") or ()]
    return "\n".join(lines)


def _env_lines(doc: dict[str, Any]) -> list[str]:
    lines = ["Environment variables:"]
    for secret in doc["secrets"]:
        where = " (existing secret, read only)" if secret["external"] else ""
        lines.append(f"  {secret['name']} -> {secret['secretName']}{where}: "
                     + (", ".join(secret["environmentVariables"]) or "(none)"))
    return lines


def access_lines(doc: dict[str, Any]) -> list[str]:
    """Who can read, write and administer each secret, as the key and secret policies say."""
    lines = ["Access (key and secret policies):"]
    for secret in doc["secrets"]:
        access = secret.get("access")
        if not access:
            lines.append(f"  {secret['name']}: decided by the existing secret's own policies")
            continue
        tags = ", ".join(f"{k}={v}" for k, v in access["readRequiresTags"].items())
        read = ", ".join(access["read"]) + (f" (with tags {tags}; exempt: {', '.join(access['tagExempt'])})"
                                            if tags else "")
        flag = "  ! readable by any principal IAM allows" if access["readableByAnyIamPrincipal"] else ""
        lines.append(f"  {secret['name']}:{flag}")
        lines += [f"    read: {read}", f"    write: {', '.join(access['write'])}",
                  f"    administer: {', '.join(access['administer'])}"]
    if any(DEPLOYER_ROLE_ARN_PART in line for line in lines):
        lines.append(f"  (role/{DEPLOYER_ROLE} stands for whoever runs `pulumi up`: with deployerPrincipals unset, "
                     "the role behind the running credentials is the deployer; the offline plan cannot know it)")
    return lines


def app_lines(doc: dict[str, Any]) -> list[str]:
    """Each app (read policy): its secrets, variables, readers and monthly cost."""
    from .pricing import usd

    if not doc.get("apps"):
        return []
    lines = ["Apps (read policies):"]
    for app in doc["apps"]:
        lines.append(f"  {app['name']}: {usd(app['cost']['monthlyUsd'])}/month")
        lines += [f"    secrets: {', '.join(app['secrets']) or '(none)'}",
                  f"    variables: {', '.join(app['environmentVariables']) or '(none)'}",
                  f"    roles: {', '.join(app['roleNames']) or '(none: the policy is attached to no role)'}",
                  f"    readers: {', '.join(app['readers']) or '(none)'}"]
    return lines


def cost_lines(doc: dict[str, Any]) -> list[str]:
    """The stack's monthly cost by item, with the price table's date and what it leaves out."""
    from .pricing import PRICES, usd

    cost = doc.get("cost")
    if not cost:
        return []
    table = cost["prices"]
    parts = [f"{item['count']:g} {name} = {usd(item['monthlyUsd'])}" for name, item in cost["items"].items()]
    return [f"Monthly cost: {usd(cost['monthlyUsd'])} ({'; '.join(parts) or 'nothing priced'}); "
            f"{table['region']} list prices as of {table['asOf']} from "
            + ", ".join(sorted({p.source for p in PRICES.values()})) + f"; excludes {table['excluded']}"]


def summary_line(doc: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {t}" for t, n in doc["summary"]["byType"].items())
    imports = sum(1 for r in doc["resources"] if r.get("import"))
    adopted = f"; {imports} of them imported (`=`: existing resources adopted, nothing created)" if imports else ""
    return f"{doc['summary']['total']} resources to create: {counts}{adopted}"


def render_rich(doc: dict[str, Any], console) -> None:
    """The same as render_text, as a rich tree and table, for a terminal. Every string from the
    stack (names, descriptions, tags, "[secret]") is escaped: rich would read `[/bold]` as markup
    (and fail) and `[secret]` as a tag (and print nothing where a reviewer must see a secret)."""
    from rich.markup import escape
    from rich.table import Table
    from rich.tree import Tree

    tree_index = _children(doc)
    title = (f"[bold]Plan of stack '{escape(doc['stack'])}'[/] ({escape(doc['source'])})"
             + (" - review stack" if doc["reviewStack"] else ""))
    root = Tree(title)

    def add(node, resource):
        physical = f" [cyan]{escape(resource['physicalName'])}[/]" if resource["physicalName"] else ""
        mark = f"[cyan]=[/] [dim](import {escape(resource['import'])})[/] " if resource.get("import") else "[green]+[/] "
        branch = node.add(f"{mark}[bold]{escape(resource['name'])}[/] [dim]{escape(resource['type'])}[/]{physical}")
        for line in _format_inputs(resource["inputs"]):
            branch.add(f"[dim]{escape(line)}[/]", highlight=False)
        for child in tree_index.get(resource["urn"], []):
            add(branch, child)

    for resource in tree_index.get(None, []):
        add(root, resource)
    console.print(root)
    table = Table(title="Environment variables")
    table.add_column("secret")
    table.add_column("physical name")
    table.add_column("variables")
    for secret in doc["secrets"]:
        table.add_row(escape(secret["name"]), escape(str(secret["secretName"])) + (" (existing)" if secret["external"] else ""),
                      escape(", ".join(secret["environmentVariables"])))
    console.print(table)
    console.print("\n".join(access_lines(doc) + app_lines(doc)), highlight=False, markup=False)
    console.print(escape(summary_line(doc)))
    console.print("\n".join(cost_lines(doc)), highlight=False, markup=False)
    for warning in doc.get("warnings") or ():
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
