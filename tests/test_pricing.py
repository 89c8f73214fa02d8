"""The cost figures (tooling/pricing.py, pure) and `plan --against` carrying the difference."""

from __future__ import annotations

import copy
import json

from tooling import pricing
from tooling.cli import main


def test_line_items_count_replicas_keys_endpoint_az_hours_and_functions():
    items = pricing.line_items([
        ("aws:secretsmanager/secret:Secret", {"replicas": [{"region": "us-west-2"}, {"region": "eu-west-1"}]}),
        ("aws:secretsmanager/secret:Secret", {}),
        ("aws:kms/key:Key", {}), ("aws:kms/key:Key", {"region": "us-west-2"}),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcEndpointType": "Gateway"}),   # free: not priced
        ("aws:lambda/function:Function", {}),
        ("aws:iam/role:Role", {}),
    ])
    assert items == {"secret": {"count": 4, "monthlyUsd": 1.6}, "kms-key": {"count": 2, "monthlyUsd": 2.0},
                     "interface-endpoint-az-hour": {"count": 3 * 730, "monthlyUsd": 21.9},
                     "rotation-function": {"count": 1, "monthlyUsd": 0.0}}
    assert pricing.total(items) == 25.5


def test_the_price_table_is_dated_and_cites_aws():
    table = pricing.price_table()
    assert table["asOf"] == pricing.PRICES_AS_OF and table["hoursPerMonth"] == 730
    assert all(p["source"].startswith("https://aws.amazon.com/") and p["source"].endswith("/pricing/")
               for p in table["prices"].values())


def test_cost_difference_for_the_stack_and_each_app():
    before = {"resources": [{}], "cost": {"monthlyUsd": 5.6}, "apps": [{"name": "example", "cost": {"monthlyUsd": 5.6}}]}
    after = {"resources": [{}], "cost": {"monthlyUsd": 7.2}, "apps": [
        {"name": "example", "cost": {"monthlyUsd": 5.6}}, {"name": "billing", "cost": {"monthlyUsd": 1.6}}]}
    difference = pricing.cost_difference(before, after)
    assert difference == {"beforeUsd": 5.6, "afterUsd": 7.2, "differenceUsd": 1.6,
                          "apps": {"billing": {"beforeUsd": 0.0, "afterUsd": 1.6, "differenceUsd": 1.6}}}
    assert pricing.difference_line(difference).startswith(
        "Monthly cost: $5.60 -> $7.20 (+$1.60); app billing: $0.00 -> $1.60 (+$1.60)")
    # A plan saved before costs existed is unknown, not free; an empty plan (new stack) is free.
    old = pricing.cost_difference({"resources": [{}]}, after)
    assert old["differenceUsd"] is None and "has no cost figures" in pricing.difference_line(old)
    # ... and so is each app's cost in it: not "$0.00 -> $5.60 (+$5.60)".
    assert old["apps"] == {"example": {"beforeUsd": None, "afterUsd": 5.6, "differenceUsd": None},
                           "billing": {"beforeUsd": None, "afterUsd": 1.6, "differenceUsd": None}}
    assert pricing.difference_line(old).startswith(
        "Monthly cost: now $7.20 (the plan compared against has no cost figures); app billing: now $1.60; "
        "app example: now $5.60 (list prices")
    assert pricing.cost_difference({"resources": []}, after)["differenceUsd"] == 7.2


def test_plan_against_shows_the_cost_difference(tmp_path, capsys):
    assert main(["plan", "--stack", "dev", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cheaper = copy.deepcopy(doc)
    cheaper["cost"]["monthlyUsd"] = round(doc["cost"]["monthlyUsd"] - 1.4, 2)
    cheaper["apps"][0]["cost"]["monthlyUsd"] = round(doc["apps"][0]["cost"]["monthlyUsd"] - 1.4, 2)
    saved = tmp_path / "before.json"
    saved.write_text(json.dumps(cheaper))
    assert main(["plan", "--stack", "dev", "--against", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "Monthly cost: $5.20 -> $6.60 (+$1.40); app example-app: $4.20 -> $5.60 (+$1.40)" in out
    assert main(["plan", "--stack", "dev", "--against", str(saved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"]["differenceUsd"] == 1.4
