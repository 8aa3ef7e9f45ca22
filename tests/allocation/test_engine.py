"""Allocation: rules in order, shared costs split exactly, Cost Explorer's tags, the rollups."""

from datetime import timedelta
from decimal import Decimal

import pytest

from allocation import engine
from allocation.models import AllocationRollup
from tests.allocation.helpers import DAY, explorer, focus, tag_spend, team, written

pytestmark = pytest.mark.django_db
TAG = {"kind": "tag", "tag_key": "team"}


def totals(dimension, start=DAY, end=DAY):
    return engine.rollup_totals(dimension, start, end)


def test_rules_in_order_with_case_and_aliases_and_unallocated(acme):
    dimension = team(
        acme,
        {**TAG, "mapping": {"plat": "platform"}},
        {"kind": "tag", "tag_key": "owner"},
        {"kind": "account", "mapping": {"222222222222": "data"}},
        {"kind": "service", "mapping": {"AWS Lambda": "serverless"}},
    )
    focus(acme, "10", tags={"team": " Payments "})
    focus(acme, "5", tags={"team": "PLAT"})
    focus(acme, "4", tags={"team": "", "owner": "Search"})  # empty: the next rule decides
    focus(acme, "3", account="222222222222")
    focus(acme, "2", service="AWS Lambda")
    focus(acme, "1", service="Amazon S3")
    written(acme)

    assert totals(dimension) == {
        "payments": Decimal("10"),
        "platform": Decimal("5"),
        "search": Decimal("4"),
        "data": Decimal("3"),
        "serverless": Decimal("2"),
        "Unallocated": Decimal("1"),
    }


def test_a_dimension_rule_follows_another_dimension(acme):
    teams = team(acme, TAG)
    units = team(
        acme,
        {"kind": "dimension", "source_dimension": teams, "mapping": {"payments": "commerce"}},
        name="Unit",
    )
    focus(acme, "7", tags={"team": "payments"})
    focus(acme, "3", tags={"team": "search"})
    written(acme)

    assert totals(units) == {"commerce": Decimal("7"), "Unallocated": Decimal("3")}


@pytest.mark.parametrize(
    ("method", "percentages", "expected"),
    [
        # Support $30: even among the two teams with direct spend.
        ("even", {}, {"payments": Decimal("90"), "search": Decimal("40")}),
        # By direct spend: 75 / 25.
        ("proportional", {}, {"payments": Decimal("97.5"), "search": Decimal("32.5")}),
        (
            "fixed",
            {"payments": 10, "search": 90},
            {"payments": Decimal("78"), "search": Decimal("52")},
        ),
    ],
)
def test_shared_costs_are_split(acme, method, percentages, expected):
    dimension = team(
        acme,
        TAG,
        splits=[
            {
                "name": "Support",
                "services": ["AWS Support (Business)"],
                "method": method,
                "percentages": percentages,
            }
        ],
    )
    focus(acme, "75", tags={"team": "payments"})
    focus(acme, "25", tags={"team": "search"})
    focus(acme, "30", service="AWS Support (Business)")
    written(acme)

    assert totals(dimension) == expected
    kinds = AllocationRollup.objects.filter(service="AWS Support (Business)")
    assert {r.kind for r in kinds} == {"shared"}


def test_a_split_of_thirds_stays_exact(acme):
    dimension = team(
        acme, TAG, splits=[{"name": "Tax", "charge_categories": ["Tax"], "method": "even"}]
    )
    for name in ("a", "b", "c"):
        focus(acme, "1", tags={"team": name})
    focus(acme, "100", service="Tax", charge_category="Tax")
    written(acme)

    by_value = totals(dimension)
    assert sum(by_value.values()) == Decimal("103")
    assert sorted(by_value.values()) == [
        Decimal("34.3333333333"),
        Decimal("34.3333333333"),
        Decimal("34.3333333334"),
    ]


def test_only_unallocated_networking_is_shared(acme):
    dimension = team(
        acme,
        TAG,
        splits=[
            {
                "name": "Untagged networking",
                "services": ["Amazon VPC"],
                "only_unallocated": True,
                "method": "proportional",
            }
        ],
    )
    focus(acme, "60", tags={"team": "payments"})
    focus(acme, "40", tags={"team": "search"})
    focus(acme, "8", service="Amazon VPC", tags={"team": "search"})  # tagged: search's own
    focus(acme, "10", service="Amazon VPC")  # untagged: shared 60/48
    written(acme)

    # $10 x 60/108 and x 48/108, rounded down; the remainder goes to the larger share.
    assert totals(dimension) == {
        "payments": Decimal("65.5555555556"),
        "search": Decimal("52.4444444444"),
    }


def test_a_shared_cost_with_no_one_to_share_it_stays_unallocated(acme):
    dimension = team(acme, TAG, splits=[{"name": "Support", "services": ["S"], "method": "even"}])
    focus(acme, "30", service="S")
    written(acme)

    assert totals(dimension) == {"Unallocated": Decimal("30")}


def test_cost_explorer_spend_is_divided_by_its_tag_shares(acme, acme_account):
    dimension = team(acme, TAG, {"kind": "tag", "tag_key": "env"})
    explorer(acme, acme_account, "100")
    tag_spend(acme_account, "team", {"payments": "60", "": "40"})
    tag_spend(acme_account, "env", {"prod": "50", "dev": "50"})
    written(acme)

    # The untagged $40 of "team" follows "env"'s shares (Cost Explorer never pairs two keys).
    assert totals(dimension) == {
        "payments": Decimal("60"),
        "prod": Decimal("20"),
        "dev": Decimal("20"),
    }


def test_every_store_write_keeps_the_rollups_equal(acme):
    dimension = team(acme, TAG)
    focus(acme, "10", tags={"team": "payments"})
    written(acme)
    focus(acme, "5", tags={"team": "search"}, day=DAY + timedelta(days=1))
    written(acme, DAY + timedelta(days=1), DAY + timedelta(days=1))

    assert totals(dimension, DAY, DAY + timedelta(days=1)) == {
        "payments": Decimal("10"),
        "search": Decimal("5"),
    }


def test_tag_coverage_and_the_biggest_untagged_resources(acme, acme_account):
    from allocation import coverage

    focus(acme, "30", tags={"team": "payments"}, resource_id="i-tagged")
    focus(acme, "50", tags={"owner": "x"}, resource_id="i-big")
    focus(acme, "20", resource_id="i-small")
    explorer(acme, acme_account, "100", service="Amazon S3")
    tag_spend(acme_account, "team", {"search": "25", "": "75"}, service="Amazon S3")

    found = {
        (c.sub_account_id, c.service): c.percent for c in coverage.coverage(acme, "team", DAY, DAY)
    }
    assert found == {("111111111111", "Amazon EC2"): 30.0, ("111111111111", "Amazon S3"): 25.0}
    assert [r[0] for r in coverage.untagged_resources(acme, "team", DAY, DAY)] == [
        "i-big",
        "i-small",
    ]


def test_summaries_by_tag_and_the_resource_drill_down(acme, acme_account):
    from allocation import summary

    dimension = team(acme, TAG)
    focus(acme, "30", tags={"team": "Payments"}, resource_id="i-pay")
    focus(acme, "5", tags={"team": "payments"}, resource_id="i-pay-2")
    focus(acme, "20", resource_id="i-none")
    written(acme)

    assert summary.tag_totals(acme, "team", DAY, DAY) == {
        "payments": Decimal("35"),
        "(untagged)": Decimal("20"),
    }
    assert summary.resources(dimension, "payments", DAY, DAY) == [
        ("i-pay", "Amazon EC2", Decimal("30")),
        ("i-pay-2", "Amazon EC2", Decimal("5")),
    ]
    assert summary.services(dimension, "Unallocated", DAY, DAY) == {"Amazon EC2": Decimal("20")}
