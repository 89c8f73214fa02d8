"""Monthly list prices of what a stack creates, and the cost of a set of resources (pure).

Infracost has no Pulumi support (infracost/infracost#187, open since 2020), so the plan prices
its own resources: few types, flat monthly prices. The figures are AWS's us-east-1 list prices
as its pricing pages publish them; other regions differ by a few percent. Requests (API calls,
KMS decrypts, Lambda invocations, data processed) are left out: at secret-reading volumes they
are cents, and they depend on traffic the plan cannot know. Say so next to every figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

HOURS_PER_MONTH = 730   # AWS's own monthly figure in its pricing examples (24 x 365 / 12)


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


# Dated: list prices change. Checked against these pages on this date; update both together.
PRICES_AS_OF = "2026-11-27"
PRICES = {
    "secret": Price(0.40, "per secret per month; each replica is billed as a secret",
                    "https://aws.amazon.com/secrets-manager/pricing/"),
    "kms-key": Price(1.00, "per customer-managed key per month (rotated key material: +$1, up to the 2nd rotation)",
                     "https://aws.amazon.com/kms/pricing/"),
    "interface-endpoint-az-hour": Price(0.01, "per interface VPC endpoint per Availability Zone per hour "
                                        "(+ $0.01 per GB processed)",
                                        "https://aws.amazon.com/privatelink/pricing/"),
    "rotation-function": Price(0.00, "per rotation function per month: a few invocations a month stay within "
                               "Lambda's free tier; logs and requests are cents",
                               "https://aws.amazon.com/lambda/pricing/"),
}


def line_items(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, dict[str, float]]:
    """{item: {"count": n, "monthlyUsd": usd}} for (resource type, inputs) pairs. An interface
    endpoint is billed per subnet it has a network interface in (one per Availability Zone)."""
    counts = {name: 0.0 for name in PRICES}
    for type_, inputs in resources:
        if type_ == "aws:secretsmanager/secret:Secret":
            counts["secret"] += 1 + len(inputs.get("replicas") or [])
        elif type_ == "aws:kms/key:Key":
            counts["kms-key"] += 1
        elif type_ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            counts["interface-endpoint-az-hour"] += max(1, len(inputs.get("subnetIds") or [])) * HOURS_PER_MONTH
        elif type_ == "aws:lambda/function:Function":
            counts["rotation-function"] += 1
    return {name: {"count": count, "monthlyUsd": round(count * PRICES[name].usd, 2)}
            for name, count in counts.items() if count}


def total(items: Mapping[str, Mapping[str, float]]) -> float:
    return round(sum(item["monthlyUsd"] for item in items.values()), 2)


def price_table() -> dict[str, Any]:
    """The table as the plan's JSON carries it, so a reader can check every figure."""
    return {"asOf": PRICES_AS_OF, "currency": "USD", "region": "us-east-1",
            "hoursPerMonth": HOURS_PER_MONTH,
            "prices": {name: {"usd": p.usd, "unit": p.unit, "source": p.source} for name, p in PRICES.items()},
            "excluded": "API requests, KMS requests, data processed, Lambda invocations and logs"}


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def cost_difference(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Monthly cost before and after a change, for the stack and for each app, from two plan
    documents. A plan made before costs were added (no "cost") counts as unknown, not as zero."""
    def stack(doc):
        if "cost" in doc:
            return doc["cost"]["monthlyUsd"]
        return None if doc.get("resources") else 0.0   # an empty plan (a new stack) costs nothing

    def apps(doc):
        return {app["name"]: app["cost"]["monthlyUsd"] for app in doc.get("apps") or ()}

    def app(name, old_apps, new_apps, known):
        before_usd = old_apps.get(name, 0.0) if known else None
        after_usd = new_apps.get(name, 0.0)
        return {"beforeUsd": before_usd, "afterUsd": after_usd,
                "differenceUsd": None if before_usd is None else round(after_usd - before_usd, 2)}

    old, new = stack(before), stack(after)
    old_apps, new_apps = apps(before), apps(after)
    return {
        "beforeUsd": old, "afterUsd": new,
        "differenceUsd": None if old is None or new is None else round(new - old, 2),
        # Apps of a plan without cost figures are unknown too, not free.
        "apps": {name: app(name, old_apps, new_apps, old is not None)
                 for name in sorted(set(old_apps) | set(new_apps))
                 if old is None or old_apps.get(name) != new_apps.get(name)},
    }


def difference_line(difference: Mapping[str, Any]) -> str:
    """`Monthly cost: $5.60 -> $7.20 (+$1.60); billing: $0.00 -> $1.60 (+$1.60)`."""
    def signed(amount: float) -> str:
        return ("+" if amount >= 0 else "-") + usd(abs(amount))

    if difference["beforeUsd"] is None:
        head = f"Monthly cost: now {usd(difference['afterUsd'])} (the plan compared against has no cost figures)"
    else:
        head = (f"Monthly cost: {usd(difference['beforeUsd'])} -> {usd(difference['afterUsd'])} "
                f"({signed(difference['differenceUsd'])})")
    parts = [f"app {name}: now {usd(d['afterUsd'])}" if d["beforeUsd"] is None else
             f"app {name}: {usd(d['beforeUsd'])} -> {usd(d['afterUsd'])} ({signed(d['differenceUsd'])})"
             for name, d in difference["apps"].items()]
    return "; ".join([head, *parts]) + f" (list prices as of {PRICES_AS_OF})"
