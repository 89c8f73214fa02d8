"""Plain value types of the secret components' args (no Pulumi import, so config parsing can use them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicaRegion:
    region: str
    kms_key_id: str | None = None


@dataclass(frozen=True)
class RandomSettings:
    length: int = 32
    special: bool = False
    upper: bool = True
    lower: bool = True
    numeric: bool = True
    min_upper: int = 0
    min_lower: int = 0
    min_numeric: int = 0
    min_special: int = 0
    override_special: str | None = None
