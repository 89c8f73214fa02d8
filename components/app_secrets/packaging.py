"""Byte-for-byte reproducible zip archives for the rotation Lambda (pure functions, no resources).

The same inputs give the same bytes on every machine and every run: entries are sorted, every entry
has the timestamp 1980-01-01 00:00:00, Unix permissions 0644 (files) or 0755 (directories and
executables), no extra fields, and a fixed deflate level. Caches, bytecode and editor droppings are
left out. The hash is reported the way Lambda's CodeSha256 / Terraform's filebase64sha256 are:
base64 of the raw SHA-256 digest.

    build_directory_archive(src_dir, dest_zip) -> ArchiveInfo
    build_layer_archive(requirements_file, dest_dir, python_version="3.13", architecture="x86_64")
        -> ArchiveInfo   (pip install into python/, cached by requirements + python + architecture)
    rotation_archives(dest_dir=None) -> (handler, {"deps": layer})
        the PostgreSQL rotation function's archives, from the handler shipped with this package,
        into dest_dir or the user's cache (default_build_dir()), never the consumer's source tree
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

def _rotation_sources() -> Path:
    """The rotation handler's folder: shipped inside the installed package (app_secrets/_rotation),
    or the repository's rotation/ folder in a checkout (editable install)."""
    shipped = Path(__file__).resolve().parent / "_rotation"
    return shipped if shipped.is_dir() else Path(__file__).resolve().parent.parent.parent / "rotation"


ROTATION_SOURCES = _rotation_sources()
HANDLER_DIR = ROTATION_SOURCES / "postgres_admin"
LAYER_REQUIREMENTS = ROTATION_SOURCES / "requirements.txt"
HANDLER_ARCHIVE_NAME = "rotation-postgres-admin.zip"

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 6
FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755
# Bump when the archive layout or the pip invocation changes, so cached layers are rebuilt.
LAYER_FORMAT = "1"

EXCLUDED_DIRS = ("__pycache__", ".git", ".hg", ".svn", ".idea", ".vscode", ".mypy_cache", ".pytest_cache",
                 ".ruff_cache", ".tox", ".nox", ".venv")
EXCLUDED_FILES = ("*.pyc", "*.pyo", ".DS_Store", "._*", "Thumbs.db", "desktop.ini", "*~", "*.swp", "*.swo",
                  "*.swx", ".*.sw?", ".#*", "#*#", "*.orig", "*.rej", "*.bak", "*.tmp", ".netrwhist")
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ArchiveInfo:
    path: str
    sha256_base64: str
    size: int


def is_excluded(name: str, is_dir: bool) -> bool:
    if is_dir:
        return name in EXCLUDED_DIRS
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED_FILES)


def archive_info(path: PathLike) -> ArchiveInfo:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return ArchiveInfo(path=str(path), sha256_base64=base64.b64encode(digest.digest()).decode("ascii"), size=size)


def _bytecode_only(name: str, is_dir: bool) -> bool:
    return name == "__pycache__" if is_dir else name.endswith((".pyc", ".pyo"))


def _walk(src: Path, excluded: Callable[[str, bool], bool] = is_excluded,
          skip: Optional[Path] = None) -> Iterator[tuple[str, Path, bool]]:
    """(archive name, path, is_dir) below src, sorted by archive name, exclusions applied; `skip`
    (the archive being written, should it live inside src) is left out. Symlinks to files are
    archived as the file's content; symlinked directories are not followed."""
    entries: list[tuple[str, Path, bool]] = []
    skip = skip.resolve() if skip else None
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not excluded(d, True) and not (here / d).is_symlink()]
        for name in dirnames:
            entries.append(((here / name).relative_to(src).as_posix() + "/", here / name, True))
        for name in filenames:
            path = here / name
            if excluded(name, False) or not path.is_file():
                continue
            if skip and (path.resolve() == skip or (path.parent.resolve() == skip.parent
                                                   and name.startswith(f".{skip.name}."))):
                continue
            entries.append((path.relative_to(src).as_posix(), path, False))
    entries.sort(key=lambda entry: entry[0])
    return iter(entries)


def _zip_entry(name: str, mode: int, is_dir: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.create_system = 3  # Unix, so external_attr carries the permission bits everywhere
    info.create_version = info.extract_version = 20
    info.external_attr = ((stat.S_IFDIR if is_dir else stat.S_IFREG) | mode) << 16
    if is_dir:
        info.external_attr |= 0x10  # MS-DOS directory flag
        info.compress_type = zipfile.ZIP_STORED
    else:
        info.compress_type = COMPRESSION
    return info


def _write_zip(entries: Iterator[tuple[str, Path, bool]], dest: Path, prefix: str = "") -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", compression=COMPRESSION,
                                                         compresslevel=COMPRESS_LEVEL) as archive:
            if prefix:
                archive.writestr(_zip_entry(prefix, DIR_MODE, True), b"")
            for name, path, is_dir in entries:
                if is_dir:
                    archive.writestr(_zip_entry(prefix + name, DIR_MODE, True), b"")
                    continue
                mode = EXEC_MODE if os.stat(path).st_mode & 0o111 else FILE_MODE
                archive.writestr(_zip_entry(prefix + name, mode, False), path.read_bytes(),
                                 compress_type=COMPRESSION, compresslevel=COMPRESS_LEVEL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def build_directory_archive(src_dir: PathLike, dest_zip: PathLike) -> ArchiveInfo:
    """Zip the contents of src_dir (paths relative to it) into dest_zip, reproducibly."""
    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"not a directory: {src}")
    dest = Path(dest_zip)
    _write_zip(_walk(src, skip=dest), dest)
    return archive_info(dest)


def _platform_tags(architecture: str) -> list[str]:
    machine = ARCHITECTURES.get(architecture)
    if machine is None:
        raise ValueError(f"architecture must be one of x86_64, arm64 (got {architecture!r})")
    return [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"]


def layer_cache_key(requirements: bytes, python_version: str, architecture: str) -> str:
    digest = hashlib.sha256()
    for part in (LAYER_FORMAT.encode(), python_version.encode(), ARCHITECTURES[architecture].encode(),
                 requirements):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:20]


def _normalise_site_packages(target: Path) -> None:
    """Drop what pip writes that the runtime does not need and that could vary between builds."""
    for path in list(target.rglob("*")):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path, ignore_errors=True)
    for dist_info in target.glob("*.dist-info"):
        # Written only for URL/path requirements, and it records the building machine's path.
        (dist_info / "direct_url.json").unlink(missing_ok=True)
    # Console scripts point at the building interpreter; a layer does not run them.
    shutil.rmtree(target / "bin", ignore_errors=True)


def build_layer_archive(requirements_file: PathLike, dest_dir: PathLike, python_version: str = "3.13",
                        architecture: str = "x86_64", *, use_cache: bool = True, prune: bool = True) -> ArchiveInfo:
    """pip-install requirements_file for Lambda (manylinux wheels for python_version/architecture)
    under python/ and zip it reproducibly into dest_dir. The archive is named after a key of
    (requirements content, python version, architecture) and reused when present, unless
    use_cache is False. prune deletes layers of older requirements in dest_dir (not in a shared cache)."""
    if not re.fullmatch(r"3\.\d{1,2}", python_version):
        raise ValueError(f"python_version must look like 3.13 (got {python_version!r})")
    platforms = _platform_tags(architecture)
    requirements = Path(requirements_file).read_bytes()
    key = layer_cache_key(requirements, python_version, architecture)
    dest = Path(dest_dir) / f"layer-py{python_version}-{ARCHITECTURES[architecture]}-{key}.zip"
    if use_cache and dest.is_file():
        return archive_info(dest)

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".layer-", dir=dest.parent) as tmp:
        target = Path(tmp) / "python"
        command = [sys.executable, "-m", "pip", "install", "--target", str(target), "--only-binary=:all:",
                   "--implementation", "cp", "--python-version", python_version,
                   *[arg for platform in platforms for arg in ("--platform", platform)],
                   "--no-compile", "--no-warn-script-location", "--disable-pip-version-check", "--no-input",
                   "--quiet", "-r", str(Path(requirements_file).resolve())]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SOURCE_DATE_EPOCH": "315532800"}
        result = subprocess.run(command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pip install for the layer failed (exit {result.returncode}):\n{result.stdout}")
        _normalise_site_packages(target)
        # Third-party files are kept as installed: only bytecode is left out of a layer.
        _write_zip(_walk(target, _bytecode_only), dest, prefix="python/")
    for stale in dest.parent.glob(f"layer-py{python_version}-{ARCHITECTURES[architecture]}-*.zip") if prune else ():
        if stale != dest:
            with contextlib.suppress(OSError):
                stale.unlink()  # built from older requirements
    return archive_info(dest)


def build_ca_bundle_archive(pem_file: PathLike, dest_dir: Optional[PathLike] = None) -> ArchiveInfo:
    """A layer with one file, the stack's own CA bundle, at `/opt/app-secrets-ca/ca-bundle.pem` in the
    function (tls.CUSTOM_CA_PATH); named by content in dest_dir or the user's cache."""
    from .tls import CUSTOM_CA_LAYER_DIR

    source = Path(pem_file)
    dest = Path(dest_dir) if dest_dir is not None else default_build_dir() / "layers"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:20]
    target = dest / f"ca-bundle-{digest}.zip"
    _write_zip(iter([(f"{CUSTOM_CA_LAYER_DIR}/", source, True), (f"{CUSTOM_CA_LAYER_DIR}/ca-bundle.pem", source, False)]),
               target)
    return archive_info(target)


def default_build_dir() -> Path:
    """Where archives go when the caller names no folder: $APP_SECRETS_BUILD_DIR, else the user's
    cache ($XDG_CACHE_HOME/app-secrets or ~/.cache/app-secrets), so that a program using the
    library gets no build output in its own source tree."""
    explicit = os.environ.get("APP_SECRETS_BUILD_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "app-secrets"


def rotation_archives(dest_dir: Optional[PathLike] = None) -> tuple[ArchiveInfo, dict[str, ArchiveInfo]]:
    """Build (or reuse) the PostgreSQL rotation function's handler zip and dependency layer.

    With no dest_dir the archives go to the user's cache, which every program and library version
    on the machine shares: there the handler zip is named by its content (so another version can
    never swap the file between hashing and upload) and no other layer is pruned."""
    if dest_dir is not None:
        handler = build_directory_archive(HANDLER_DIR, Path(dest_dir) / HANDLER_ARCHIVE_NAME)
        return handler, {"deps": build_layer_archive(LAYER_REQUIREMENTS, Path(dest_dir) / "layers")}
    cache = default_build_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".handler-", dir=cache) as tmp:
        built = build_directory_archive(HANDLER_DIR, Path(tmp) / HANDLER_ARCHIVE_NAME)
        digest = base64.b64decode(built.sha256_base64).hex()[:20]
        final = cache / f"{Path(HANDLER_ARCHIVE_NAME).stem}-{digest}.zip"
        os.replace(built.path, final)   # same name, same bytes: replacing is harmless
    layer = build_layer_archive(LAYER_REQUIREMENTS, cache / "layers", prune=False)
    return archive_info(final), {"deps": layer}
