"""app_secrets.grants: structured and raw GRANT templates for application logins (pure)."""

from __future__ import annotations

from app_secrets import grants


def test_read_only_and_read_write_compile_to_quoted_schema_templates():
    out = grants.compile_grants([{"readOnly": ["public", 'we"ird']}, {"readWrite": ["app"]},
                                 {"raw": "GRANT pg_read_all_stats TO %s"}, {"readOnly": ["public"]}])
    assert out[:2] == ['GRANT USAGE ON SCHEMA "public" TO %s', 'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO %s']
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA "we""ird" TO %s' in out
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "app" TO %s' in out
    assert out[-1] == "GRANT pg_read_all_stats TO %s"
    assert len(out) == len(set(out)) == 16  # the repeated readOnly public adds nothing
    assert all(grants.template_problems(t) == [] for t in out)


def test_raw_template_problems():
    assert grants.template_problems("GRANT SELECT ON t TO app")[0].startswith("has no %s")
    assert grants.template_problems("GRANT SELECT ON t TO %s; DROP TABLE t") == ["has a ';': one statement per template"]
    assert grants.template_problems("GRANT SELECT ON t TO %d") == [
        "has no %s where the user name goes (e.g. 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s')",
        "has a % that is not %s (only %s is replaced, by the quoted user name)"]


def test_schema_problems():
    assert grants.schema_problems("a%sb") == ["must not contain % (it would read as the user placeholder)"]
    assert grants.schema_problems("x" * 64) == ["must be a schema name of 1 to 63 bytes"]
    assert grants.schema_problems("reports") == []
