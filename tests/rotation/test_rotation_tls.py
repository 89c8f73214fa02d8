"""Verified TLS: the handler connects with verify-full against a CA bundle (AWS's RDS roots by default),
and nothing in the secret can weaken that.

Against the real clusters of the matrix (their certificate is signed by a test CA and names 127.0.0.1
only): a good chain works; an unknown CA, the shipped RDS bundle (which does not know the test CA) and
a host name the certificate does not carry are refused. Against a fake PostgreSQL server that asks
for the password in clear text (the reviewer's MITM): with verify-full nothing is sent before the
certificate is checked; with the old `require` the current password arrives (the control that shows
the fake server would notice).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from pathlib import Path

import pytest

import servers

SSL_REQUEST = 80877103


def _read_exact(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class FakePostgres:
    """A TLS server that speaks just enough of the PostgreSQL protocol to ask for a clear-text password,
    and records what each client sent: whether a startup message arrived, and any password."""

    def __init__(self, cert: Path, key: Path):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.listener = socket.create_server((servers.LOOPBACK, 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.startups = 0
        self.passwords: list[str] = []
        self.handshakes_failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with contextlib.suppress(Exception), conn:
                conn.settimeout(5)
                self._session(conn)

    def _session(self, conn) -> None:
        length, code = struct.unpack("!II", _read_exact(conn, 8))
        if code != SSL_REQUEST:
            return  # no TLS: this server talks TLS only
        conn.sendall(b"S")
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            return
        with tls:
            (length,) = struct.unpack("!I", _read_exact(tls, 4))
            _read_exact(tls, length - 4)
            self.startups += 1
            tls.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            kind = _read_exact(tls, 1)
            (length,) = struct.unpack("!I", _read_exact(tls, 4))
            body = _read_exact(tls, length - 4)
            if kind == b"p":
                self.passwords.append(body.rstrip(b"\x00").decode("utf-8", "replace"))
            fields = b"SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00"
            tls.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)


def _certs(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """(CA cert, server cert, server key): a fresh CA and a server certificate for `name`."""
    servers.write_ca(tmp_path / f"{name}-ca.crt", tmp_path / f"{name}-ca.key", name=f"CA of {name}")
    servers.write_server_cert(tmp_path / f"{name}.crt", tmp_path / f"{name}.key", tmp_path / f"{name}-ca.crt",
                              tmp_path / f"{name}-ca.key", names=(name,))
    return tmp_path / f"{name}-ca.crt", tmp_path / f"{name}.crt", tmp_path / f"{name}.key"


def _fake_login(port: int) -> dict:
    return {"engine": "postgres", "host": servers.LOOPBACK, "port": port, "username": "admin",
            "password": "the-current-admin-password-123", "dbname": "app"}


def _set_secret(side) -> Exception:
    token = side.begin()
    side.step("createSecret", token)
    with pytest.raises(Exception) as caught:
        side.step("setSecret", token)
    return caught.value


# --------------------------------------------------------------------------- the MITM

def test_mitm_with_an_unknown_ca_gets_no_password(make_secret, handler_env, tmp_path):
    """The reviewer's server: a self-signed certificate for CN=evil.example. verify-full against the
    shipped RDS bundle refuses it during the handshake, before the startup message; the old `require`
    sends the current admin password to it."""
    _, cert, key = _certs(tmp_path, "evil.example")
    with FakePostgres(cert, key) as fake:
        side = make_secret(_fake_login(fake.port))
        error = _set_secret(side)
        assert "unable to log in" in str(error)
        assert (fake.startups, fake.passwords) == (0, [])
        assert fake.handshakes_failed >= 1

        handler_env.setenv("DB_SSLMODE", "require")  # the behaviour before verified TLS
        _set_secret(make_secret(_fake_login(fake.port)))
        assert fake.startups >= 1
        assert "the-current-admin-password-123" in fake.passwords


def test_mitm_with_a_trusted_ca_but_another_host_name_gets_no_password(make_secret, handler_env, tmp_path):
    """A certificate from a CA the function trusts, issued for another host: verify-ca would accept it,
    verify-full refuses it before any password is sent."""
    ca, cert, key = _certs(tmp_path, "evil.example")
    handler_env.setenv("DB_SSLROOTCERT", str(ca))
    with FakePostgres(cert, key) as fake:
        _set_secret(make_secret(_fake_login(fake.port)))
        assert (fake.startups, fake.passwords) == (0, [])

        handler_env.setenv("DB_SSLMODE", "verify-ca")  # the control: the chain itself is good
        _set_secret(make_secret(_fake_login(fake.port)))
        assert "the-current-admin-password-123" in fake.passwords


def test_a_secret_cannot_downgrade_tls_to_reach_the_mitm(make_secret, handler_env, tmp_path):
    _, cert, key = _certs(tmp_path, "evil.example")
    with FakePostgres(cert, key) as fake:
        for weaker in ({"sslmode": "require"}, {"sslmode": "disable"}, {"ssl": False}, {"ssl": "false"}):
            _set_secret(make_secret({**_fake_login(fake.port), **weaker}))
        assert fake.passwords == []


# --------------------------------------------------------------------------- the real clusters (matrix)

def test_a_good_chain_works_with_verify_full(db, make_secret, handler):
    side = make_secret(db.login_secret())
    assert handler.Settings.from_env().sslmode == "verify-full"
    side.rotate()
    assert db.can_login(db.admin, side.value()["password"])


def test_an_unknown_ca_is_refused(db, make_secret, handler_env, tmp_path):
    servers.write_ca(tmp_path / "other.crt", tmp_path / "other.key")
    handler_env.setenv("DB_SSLROOTCERT", str(tmp_path / "other.crt"))
    side = make_secret(db.login_secret())
    assert "unable to log in" in str(_set_secret(side))
    assert db.can_login(db.admin, db.password)


def test_the_shipped_rds_bundle_does_not_trust_the_test_server(db, make_secret, handler_env, handler):
    handler_env.delenv("DB_SSLROOTCERT")
    assert handler.Settings.from_env().sslrootcert == handler.DEFAULT_CA_BUNDLE
    side = make_secret(db.login_secret())
    assert "unable to log in" in str(_set_secret(side))
    assert db.can_login(db.admin, db.password)


def test_a_certificate_for_another_host_name_is_refused(db, make_secret, handler_env, caplog):
    """The cluster's certificate names 127.0.0.1 only: reached as `localhost`, verify-full refuses it
    (certificate name mismatch) while verify-ca, which skips the name, gets in."""
    side = make_secret(db.login_secret(host="localhost"))
    assert "unable to log in" in str(_set_secret(side))
    assert "localhost" in caplog.text and "certificate" in caplog.text
    assert db.can_login(db.admin, db.password)

    handler_env.setenv("DB_SSLMODE", "verify-ca")
    side = make_secret(db.login_secret(host="localhost"))
    side.rotate()
    assert db.can_login(db.admin, side.value()["password"])


@pytest.mark.parametrize("weaker", [{"sslmode": "disable"}, {"sslmode": "require"}, {"ssl": False}],
                         ids=["sslmode-disable", "sslmode-require", "ssl-false"])
def test_secret_keys_do_not_downgrade(db, make_secret, handler_env, caplog, weaker):
    """The cluster accepts TLS only: `disable` from the secret would fail if it were obeyed. It is
    ignored with a warning, the rotation runs over verified TLS, and the key is kept in the secret."""
    side = make_secret(db.login_secret(**weaker))
    side.rotate()
    assert db.can_login(db.admin, side.value()["password"])
    assert "ignored, the function keeps verify-full" in caplog.text
    assert {k: side.value()[k] for k in weaker} == weaker


def test_a_secret_may_strengthen_the_function_mode(db, make_secret, handler_env, tmp_path):
    handler_env.setenv("DB_SSLMODE", "require")
    servers.write_ca(tmp_path / "other.crt", tmp_path / "other.key")
    handler_env.setenv("DB_SSLROOTCERT", str(tmp_path / "other.crt"))
    side = make_secret(db.login_secret(sslmode="verify-full"))
    assert "unable to log in" in str(_set_secret(side))  # verify-full from the secret, against a wrong CA


# --------------------------------------------------------------------------- settings

@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "sometimes"])
def test_the_function_refuses_modes_that_may_send_the_password_in_clear(handler, handler_env, mode):
    handler_env.setenv("DB_SSLMODE", mode)
    with pytest.raises(ValueError, match="DB_SSLMODE must be one of verify-full, verify-ca, require"):
        handler.Settings.from_env()


def test_a_missing_ca_file_is_refused_before_any_connection(handler, handler_env, tmp_path):
    handler_env.setenv("DB_SSLROOTCERT", str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="DB_SSLROOTCERT: no CA bundle file"):
        handler.Settings.from_env()
