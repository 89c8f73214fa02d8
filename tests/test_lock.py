"""The dependency lock: uv.lock matches pyproject.toml, and requirements.txt is that lock exported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"   # pinned in the test dependency group
EXPORT = ["export", "--frozen", "--no-emit-project", "--no-default-groups", "--group", "program",
          "--format", "requirements-txt"]


def _uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(UV), *args], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1",
                               "UV_PYTHON": sys.executable, "HOME": str(Path.home())})


def _requirements(text: str) -> list[str]:
    # The header comment names the output file; the requirements and hashes are what must agree.
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_uv_lock_matches_pyproject():
    result = _uv("lock", "--check")
    assert result.returncode == 0, result.stderr


def test_component_package_lock_matches_its_pyproject_and_the_library():
    result = _uv("lock", "--check", cwd=ROOT / "provider")
    assert result.returncode == 0, result.stderr


def test_requirements_txt_is_the_lock_exported_with_hashes():
    result = _uv(*EXPORT)
    assert result.returncode == 0, result.stderr
    committed = _requirements((ROOT / "requirements.txt").read_text())
    assert committed == _requirements(result.stdout), "requirements.txt is stale: run `make lock`"
    pins = [line for line in committed if line and not line.startswith((" ", "#"))]
    assert any(line.startswith("pulumi-aws==") for line in pins) and any(line.startswith("pyyaml==") for line in pins)
    assert all("==" in line for line in pins)
    assert sum("--hash=sha256:" in line for line in committed) >= len(pins)
