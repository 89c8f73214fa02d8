"""app_secrets.tls: what a stack's own CA bundle must be (pure)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from app_secrets import tls

sys.path.insert(0, str(Path(__file__).resolve().parent / "rotation"))
import servers  # noqa: E402  (tests/rotation/servers.py: certificate helpers)

RDS_BUNDLE = Path(__file__).resolve().parent.parent / "rotation" / "postgres_admin" / "rds-ca-bundle.pem"


def test_the_shipped_rds_bundle_is_a_good_bundle():
    assert tls.ca_bundle_problems(RDS_BUNDLE.read_bytes()) == []


def test_a_server_certificate_and_an_expired_ca_are_named(tmp_path):
    servers.write_ca(tmp_path / "ca.crt", tmp_path / "ca.key", name="Test CA")
    servers.write_server_cert(tmp_path / "s.crt", tmp_path / "s.key", tmp_path / "ca.crt", tmp_path / "ca.key",
                              names=("db.example",))
    data = (tmp_path / "ca.crt").read_bytes() + (tmp_path / "s.crt").read_bytes()
    assert tls.ca_bundle_problems(data) == ["certificate 2 (CN=db.example) is not a CA certificate"]
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    problems = tls.ca_bundle_problems((tmp_path / "ca.crt").read_bytes(), now=later)
    assert len(problems) == 1 and problems[0].startswith("certificate 1 (CN=Test CA) expired on ")


def test_no_certificate_or_garbage():
    assert tls.ca_bundle_problems(b"hello")[0].startswith("holds no PEM certificate")
    assert tls.ca_bundle_problems(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") == \
        ["certificate 1 is not a readable X.509 certificate"]
