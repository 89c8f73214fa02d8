"""Faults that change no behaviour (equivalent mutants), each with the reason. `make mutation` reports
a surviving fault that matches one here as equivalent and leaves it out of the score. A fault is
named by its module, its operator and the text of its line before and after (stripped), so the entry
holds when the line moves; an entry that no longer matches anything simply stops being used.
Add one only with the argument that no input can tell the two apart."""

from __future__ import annotations

# (module, operator, line before, line after, why)
EQUIVALENT: list[tuple[str, str, str, str, str]] = [
    ("rotation/postgres_admin/rotation_secret.py", "cosmic-ray ReplaceComparisonOperator_LtE_Lt",
     "if requested is None or SSL_STRENGTH[requested] <= SSL_STRENGTH[default]:",
     "if requested is None or SSL_STRENGTH[requested] < SSL_STRENGTH[default]:",
     "when the two strengths are equal the modes are equal (one rank per mode), so returning the requested "
     "mode instead of the default returns the same string"),
]


def why_equivalent(module: str, operator: str, before: str, after: str) -> str | None:
    for m, op, b, a, why in EQUIVALENT:
        if (m, op, b, a) == (module, operator, before, after):
            return why
    return None
