"""The library as other programs get it: build the wheel, install it into a fresh virtualenv
outside this repository, and run a consumer program that has its own `components` package and
registers every component (the RDS login building its rotation archives from the shipped handler
into the user's cache, not into the consumer's folder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
CONSUMER = Path(__file__).parent / "consumer"


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_serves_a_consumer_with_its_own_components_package(tmp_path):
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    run([UV, "build", "--wheel", "--out-dir", tmp_path / "dist", "--quiet"], cwd=ROOT, env=env)
    (wheel,) = (tmp_path / "dist").glob("app_secrets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # The library only: no stack program, tooling, tests or bytecode.
    assert {n.split("/")[0] for n in names} == {"app_secrets", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "app_secrets/_rotation/postgres_admin/lambda_function.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
    assert "Requires-Dist: pulumi-aws<8,>=7.51.1" in metadata and "pyyaml" not in metadata.lower()

    venv = tmp_path / "venv"
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    # The wheel asks for ranges; install the versions this repository locked (as a consumer's own lock would).
    constraints = tmp_path / "constraints.txt"
    run([UV, "export", "--frozen", "--quiet", "--no-emit-project", "--no-hashes", "--no-default-groups",
         "--format", "requirements-txt", "-o", constraints], cwd=ROOT, env=env)
    run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", constraints, wheel], env=env)

    consumer = tmp_path / "consumer"
    shutil.copytree(CONSUMER, consumer)
    cache = tmp_path / "cache"
    clean_env = {"PATH": env["PATH"], "HOME": str(tmp_path), "XDG_CACHE_HOME": str(cache),
                 "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")}
    for key in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
                "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if key in os.environ:
            clean_env[key] = os.environ[key]
    result = run([venv / "bin" / "python", "program.py"], cwd=consumer, env=clean_env)
    report = json.loads(result.stdout)

    assert Path(report["library"]).resolve().is_relative_to(venv.resolve())
    types = {r["type"] for r in report["registered"]}
    for component in ("app-secrets:secrets:Secret", "app-secrets:secrets:RandomSecret",
                      "app-secrets:secrets:UserManagedSecret", "app-secrets:secrets:ReadSecretPolicy",
                      "app-secrets:kms:CustomerManagedKey", "app-secrets:databases:RdsPostgresAdminLogin"):
        assert component in types
    assert {"aws:lambda/function:Function", "aws:lambda/layerVersion:LayerVersion",
            "random:index/randomPassword:RandomPassword"} <= types
    # Archives went to the user's cache; the consumer's folder got nothing new.
    (handler_zip,) = (cache / "app-secrets").glob("rotation-postgres-admin-*.zip")   # named by content
    assert list((cache / "app-secrets" / "layers").glob("layer-py3.13-x86_64-*.zip"))
    assert sorted(p.name for p in consumer.iterdir()) == sorted(p.name for p in CONSUMER.iterdir())
    # The handler shipped in the wheel zips to the same bytes as this checkout's rotation/ folder.
    from app_secrets import packaging
    here = packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path / "here.zip")
    assert packaging.archive_info(handler_zip).sha256_base64 == here.sha256_base64
