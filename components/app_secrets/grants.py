"""GRANT templates for application logins (pure: no resources).

thoughtbot's `rds-postgres-login` takes `grants`, a list of GRANT statements with `%s` where the user
goes. Here a grant is either such a raw template or a structured common one (read-only or
read-write on schemas), compiled to templates at preview. The rotation function replaces each `%s`
with the user name quoted as an identifier (psycopg.sql), for both users of the pair.

Default privileges are set for objects the master user (which runs the grants) creates later.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

PLACEHOLDER = "%s"
KINDS = ("readOnly", "readWrite", "raw")
_OTHER_PERCENT = re.compile(r"%(?!s)")

READ_ONLY = (
    "GRANT USAGE ON SCHEMA {schema} TO %s",
    "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO %s",
    "GRANT SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO %s",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO %s",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON SEQUENCES TO %s",
)
READ_WRITE = (
    "GRANT USAGE ON SCHEMA {schema} TO %s",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO %s",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO %s",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %s",
)


def quote_ident(name: str) -> str:
    """PostgreSQL's quoting of an identifier: double quotes, inner ones doubled."""
    return '"' + name.replace('"', '""') + '"'


def template_problems(template: str) -> list[str]:
    """What makes a raw template unusable."""
    problems = []
    if PLACEHOLDER not in template:
        problems.append("has no %s where the user name goes (e.g. 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s')")
    if _OTHER_PERCENT.search(template):
        problems.append("has a % that is not %s (only %s is replaced, by the quoted user name)")
    if ";" in template:
        problems.append("has a ';': one statement per template")
    if "\x00" in template:
        problems.append("has a NUL character")
    return problems


def schema_problems(schema: str) -> list[str]:
    if not schema or len(schema.encode()) > 63 or "\x00" in schema:
        return ["must be a schema name of 1 to 63 bytes"]
    if "%" in schema:
        return ["must not contain % (it would read as the user placeholder)"]
    return []


def compile_grants(grants: Sequence[Mapping[str, Any]]) -> list[str]:
    """Templates for a list of grants: {"readOnly": [schemas]}, {"readWrite": [schemas]} or {"raw": template}.
    Duplicates are dropped, order kept. Callers check problems first (grant_problems)."""
    out: list[str] = []
    for grant in grants:
        if "raw" in grant:
            templates: Sequence[str] = [grant["raw"]]
        else:
            kind = "readOnly" if "readOnly" in grant else "readWrite"
            pattern = READ_ONLY if kind == "readOnly" else READ_WRITE
            templates = [line.format(schema=quote_ident(schema)) for schema in grant[kind] for line in pattern]
        for template in templates:
            if template not in out:
                out.append(template)
    return out
