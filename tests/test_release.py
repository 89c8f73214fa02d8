"""One version everywhere a release is read from: the distribution (pyproject.toml), the
component package (provider/pyproject.toml and the version its host announces, which the
generated SDKs carry), and the top released entry of CHANGELOG.md (an `## Unreleased` section
above it is allowed). The git tag `vX.Y.Z` is cut from the commit where they agree (README,
"Cutting a release")."""

from __future__ import annotations

import re
import tomllib

from app_secrets.package import package_version
from tooling.offline import PROJECT_DIR


def released_versions() -> list[str]:
    text = (PROJECT_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## (\d+\.\d+\.\d+)\b", text, flags=re.M)


def test_pyproject_provider_and_changelog_agree():
    version = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["version"]
    provider = tomllib.loads((PROJECT_DIR / "provider" / "pyproject.toml").read_text())["project"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert provider == version
    assert package_version() == version   # what component_provider_host(version=...) announces
    found = released_versions()
    assert found and found[0] == version, (found[:1], version)


def test_changelog_headings_are_unreleased_then_versions_newest_first():
    text = (PROJECT_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    versions = [h for h in headings if h != "Unreleased"]
    assert all(re.match(r"\d+\.\d+\.\d+ — \d{4}-\d{2}-\d{2}$", h) for h in versions), versions
    assert "Unreleased" not in headings[1:]
    numbers = [tuple(map(int, h.split(" ")[0].split("."))) for h in versions]
    assert numbers == sorted(numbers, reverse=True)
