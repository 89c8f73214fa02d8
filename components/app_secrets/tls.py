"""TLS settings of the rotation function (pure: no resources).

The function connects with `verify-full` by default against AWS's RDS root CAs, which it ships
(`rds-ca-bundle.pem` beside the handler, see scripts/rds-ca-bundle). A stack may give its own CA
bundle instead (`caBundle`: a PEM file), which goes into a layer at CUSTOM_CA_PATH.
"""

from __future__ import annotations

import datetime
import re
from typing import Optional

# Modes that never send the password without TLS, strongest first; `require` encrypts but accepts
# any certificate (a man in the middle gets the password), so it is an explicit choice only.
FUNCTION_SSL_MODES = ("verify-full", "verify-ca", "require")
DEFAULT_SSL_MODE = "verify-full"
CUSTOM_CA_LAYER_DIR = "app-secrets-ca"
CUSTOM_CA_PATH = f"/opt/{CUSTOM_CA_LAYER_DIR}/ca-bundle.pem"  # layers are unpacked under /opt
MAX_CA_BUNDLE_BYTES = 1024 * 1024
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def ca_bundle_problems(data: bytes, now: Optional[datetime.datetime] = None) -> list[str]:
    """What is wrong with a CA bundle (PEM certificates): empty, unreadable, not a CA, expired."""
    from cryptography import x509

    now = now or datetime.datetime.now(datetime.timezone.utc)
    if len(data) > MAX_CA_BUNDLE_BYTES:
        return [f"is larger than {MAX_CA_BUNDLE_BYTES} bytes; expected a PEM file of CA certificates"]
    blocks = _PEM.findall(data)
    if not blocks:
        return ["holds no PEM certificate (-----BEGIN CERTIFICATE-----); expected the CA bundle of the database"]
    problems = []
    for number, block in enumerate(blocks, 1):
        try:
            cert = x509.load_pem_x509_certificate(b"-----BEGIN CERTIFICATE-----" + block +
                                                  b"-----END CERTIFICATE-----")
        except ValueError:
            problems.append(f"certificate {number} is not a readable X.509 certificate")
            continue
        subject = cert.subject.rfc4514_string()
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            problems.append(f"certificate {number} ({subject}) is not a CA certificate")
        if cert.not_valid_after_utc <= now:
            problems.append(f"certificate {number} ({subject}) expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return problems
