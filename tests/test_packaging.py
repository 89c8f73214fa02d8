"""components/packaging.py: reproducible handler and layer archives."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from app_secrets import packaging

HANDLER_FILES = ["lambda_function.py", "rds-ca-bundle.pem", "rotation_postgres.py", "rotation_secret.py"]


def sha256_b64(path) -> str:
    return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()


@pytest.fixture
def handler_copy(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(packaging.HANDLER_DIR, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return src


def test_constants_point_at_the_handler_and_its_requirements():
    assert (packaging.HANDLER_DIR / "lambda_function.py").is_file()
    assert "psycopg[binary]==3.3.9" in packaging.LAYER_REQUIREMENTS.read_text()
    assert "boto3" not in packaging.LAYER_REQUIREMENTS.read_text().replace("boto3 is provided", "")


def test_handler_archive_is_reproducible_despite_mtimes_and_droppings(handler_copy, tmp_path):
    first = packaging.build_directory_archive(handler_copy, tmp_path / "a" / "handler.zip")

    later = time.time() + 3600
    for path in handler_copy.rglob("*"):
        os.utime(path, (later, later))
    (handler_copy / "__pycache__").mkdir()
    (handler_copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (handler_copy / "stray.pyc").write_bytes(b"\x00")
    for dropping in (".DS_Store", "lambda_function.py~", ".lambda_function.py.swp", ".#lock", "#autosave#"):
        (handler_copy / dropping).write_text("junk")
    os.chmod(handler_copy / "rotation_secret.py", 0o600)  # permissions are normalised too

    second = packaging.build_directory_archive(handler_copy, tmp_path / "b" / "handler.zip")
    assert Path(first.path).read_bytes() == Path(second.path).read_bytes()
    assert first.sha256_base64 == second.sha256_base64 == sha256_b64(second.path)
    assert first.size == second.size == Path(second.path).stat().st_size
    assert zipfile.ZipFile(second.path).namelist() == HANDLER_FILES


def test_repository_handler_builds_identically_twice(tmp_path):
    one = packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path / "one.zip")
    two = packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path / "two.zip")
    assert one.sha256_base64 == two.sha256_base64
    assert zipfile.ZipFile(one.path).namelist() == HANDLER_FILES


def test_entries_have_fixed_metadata(handler_copy, tmp_path):
    (handler_copy / "sub").mkdir()
    (handler_copy / "sub" / "tool.sh").write_text("#!/bin/sh\n")
    os.chmod(handler_copy / "sub" / "tool.sh", 0o700)
    info = packaging.build_directory_archive(handler_copy, tmp_path / "h.zip")
    entries = zipfile.ZipFile(info.path).infolist()
    assert [e.filename for e in entries] == sorted(e.filename for e in entries)
    modes = {e.filename: e.external_attr >> 16 for e in entries}
    assert modes["sub/"] == 0o40755
    assert modes["sub/tool.sh"] == 0o100755
    assert modes["lambda_function.py"] == 0o100644
    for entry in entries:
        assert entry.date_time == (1980, 1, 1, 0, 0, 0)
        assert entry.create_system == 3 and entry.extra == b"" and entry.comment == b""
        assert entry.compress_type == (zipfile.ZIP_STORED if entry.is_dir() else zipfile.ZIP_DEFLATED)


def test_a_content_change_changes_the_hash(handler_copy, tmp_path):
    before = packaging.build_directory_archive(handler_copy, tmp_path / "before.zip")
    with open(handler_copy / "rotation_secret.py", "a") as stream:
        stream.write("\n# changed\n")
    after = packaging.build_directory_archive(handler_copy, tmp_path / "after.zip")
    assert before.sha256_base64 != after.sha256_base64


def test_archived_handler_imports_without_its_dependencies(tmp_path):
    info = packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path / "h.zip")
    zipfile.ZipFile(info.path).extractall(tmp_path / "task")
    # As on Lambda: the archive root is on sys.path; psycopg and boto3 are only imported on use.
    code = ("import sys; import lambda_function as f; "
            "assert callable(f.lambda_handler); "
            "assert 'psycopg' not in sys.modules and 'boto3' not in sys.modules")
    subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path / "task", check=True)


def test_missing_source_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        packaging.build_directory_archive(tmp_path / "nope", tmp_path / "x.zip")


def test_layer_arguments_are_validated(tmp_path):
    assert packaging._platform_tags("arm64") == ["manylinux2014_aarch64", "manylinux_2_28_aarch64"]
    assert packaging._platform_tags("x86_64") == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
    with pytest.raises(ValueError, match="architecture"):
        packaging.build_layer_archive(packaging.LAYER_REQUIREMENTS, tmp_path, architecture="sparc")
    with pytest.raises(ValueError, match="python_version"):
        packaging.build_layer_archive(packaging.LAYER_REQUIREMENTS, tmp_path, python_version="313")
    key = packaging.layer_cache_key(b"psycopg", "3.13", "x86_64")
    assert key != packaging.layer_cache_key(b"psycopg", "3.12", "x86_64")
    assert key != packaging.layer_cache_key(b"psycopg", "3.13", "arm64")
    assert key != packaging.layer_cache_key(b"psycopg2", "3.13", "x86_64")


def test_layer_is_reproducible_and_cached(tmp_path):
    """Two uncached builds (pip install + zip) into different directories give identical bytes; a
    cached build is instant. Needs PyPI (or pip's cache) for the cp313 manylinux wheels."""
    one = packaging.build_layer_archive(packaging.LAYER_REQUIREMENTS, tmp_path / "one", use_cache=False)
    two = packaging.build_layer_archive(packaging.LAYER_REQUIREMENTS, tmp_path / "two", use_cache=False)
    assert one.sha256_base64 == two.sha256_base64 == sha256_b64(two.path)
    assert Path(one.path).read_bytes() == Path(two.path).read_bytes()
    assert Path(one.path).name == Path(two.path).name

    names = zipfile.ZipFile(one.path).namelist()
    assert all(name.startswith("python/") for name in names)
    assert "python/psycopg/__init__.py" in names
    assert "python/psycopg-3.3.9.dist-info/METADATA" in names
    assert any(name.startswith("python/psycopg_binary/") and ".cpython-313-x86_64-linux-gnu.so" in name
               for name in names)
    assert not any(name.endswith((".pyc", "direct_url.json")) or "__pycache__" in name for name in names)

    started = time.perf_counter()
    cached = packaging.build_layer_archive(packaging.LAYER_REQUIREMENTS, tmp_path / "two")
    assert time.perf_counter() - started < 1
    assert cached == two


def test_an_archive_written_inside_the_source_is_not_archived_into_itself(handler_copy):
    first = packaging.build_directory_archive(handler_copy, handler_copy / "handler.zip")
    second = packaging.build_directory_archive(handler_copy, handler_copy / "handler.zip")
    assert first.sha256_base64 == second.sha256_base64
    assert zipfile.ZipFile(second.path).namelist() == HANDLER_FILES


def test_shared_cache_names_the_handler_by_content_and_keeps_other_layers(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_SECRETS_BUILD_DIR", str(tmp_path))
    other = tmp_path / "layers" / "layer-py3.13-x86_64-0123456789abcdef0123.zip"   # another version's
    other.parent.mkdir(parents=True)
    other.write_bytes(b"not ours")
    handler, layers = packaging.rotation_archives()
    digest = base64.b64decode(handler.sha256_base64).hex()[:20]
    assert Path(handler.path) == tmp_path / f"rotation-postgres-admin-{digest}.zip"
    assert other.read_bytes() == b"not ours" and Path(layers["deps"].path).parent == other.parent
    again, _ = packaging.rotation_archives()
    assert again == handler and sorted(p.name for p in tmp_path.iterdir()) == ["layers", Path(handler.path).name]
