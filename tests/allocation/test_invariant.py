"""For any rules and splits, a dimension's values sum to the store's total, to the last digit.

Hypothesis writes random stores (FOCUS rows with and without tags, Cost Explorer rows with
tag shares), random rules (tag keys with aliases, accounts, services) and random splits (each
method); the allocation rollups must add up to what the summaries count for the window:
exactly on PostgreSQL, within half a cent on SQLite (whose SUM works in floating point).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import CloudAccount, Organization
from allocation import engine
from costs.models import CostRecord
from costs.summary import counted_once
from tests.allocation.helpers import DAY, explorer, focus, tag_spend, team, written
from tests.sums import assert_same_total

TEAMS = ["payments", "search", "Plat", "data"]
SERVICES = ["Amazon EC2", "Amazon S3", "AWS Support", "Tax"]
ACCOUNTS = ["111111111111", "222222222222"]
amounts = st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("999999"), places=10)
tags = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["team", "owner", "env:name", "équipe"]),
        st.sampled_from([*TEAMS, "", " PAYMENTS ", "plat"]),
        max_size=3,
    ),
)
focus_rows = st.lists(
    st.tuples(
        amounts,
        st.sampled_from(SERVICES),
        st.sampled_from(ACCOUNTS),
        tags,
        st.integers(0, 2),
        st.sampled_from(["", "Usage", "Tax"]),
    ),
    max_size=12,
)
rule = st.one_of(
    st.builds(
        lambda key, alias: {"kind": "tag", "tag_key": key, "mapping": alias},
        st.sampled_from(["team", "owner", "env:name", "équipe"]),
        st.sampled_from([{}, {"plat": "platform"}]),
    ),
    st.builds(
        lambda a, t: {"kind": "account", "mapping": {a: t}},
        st.sampled_from(ACCOUNTS),
        st.sampled_from(TEAMS),
    ),
    st.builds(
        lambda s, t: {"kind": "service", "mapping": {s: t}},
        st.sampled_from(SERVICES),
        st.sampled_from(TEAMS),
    ),
)
split = st.builds(
    lambda name, service, method, unallocated: {
        "name": name,
        "services": [service],
        "method": method,
        "only_unallocated": unallocated,
        "percentages": {"payments": 33.5, "search": 66.5} if method == "fixed" else {},
    },
    st.sampled_from(["s1", "s2"]),
    st.sampled_from(SERVICES),
    st.sampled_from(["even", "proportional", "fixed"]),
    st.booleans(),
)


class TestTheValuesAlwaysAddUpToTheStore(TestCase):
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        rows=focus_rows,
        explorer_amounts=st.lists(amounts, max_size=3),
        shares=st.lists(amounts, min_size=0, max_size=3),
        rules=st.lists(rule, min_size=1, max_size=4),
        splits=st.lists(split, max_size=2, unique_by=lambda s: s["name"]),
    )
    def test_any_rules_and_splits(self, rows, explorer_amounts, shares, rules, splits):
        org = Organization.objects.create(name="Prop", slug="prop")
        account = CloudAccount.objects.create(
            organization=org,
            name="Explorer",
            account_id="333333333333",
            role_arn="arn:aws:iam::333333333333:role/SpendlensAccess",
            regions=["us-east-1"],
        )
        for amount, service, sub_account, row_tags, day, charge in rows:
            focus(
                org, amount, service, sub_account, row_tags, DAY + timedelta(days=day),
                charge_category=charge,
            )  # fmt: skip
        for n, amount in enumerate(explorer_amounts):
            explorer(org, account, amount, service=SERVICES[n])
        if shares:
            tag_spend(account, "team", {TEAMS[i]: a for i, a in enumerate(shares)})
        dimension = team(org, *rules, splits=splits)
        written(org, DAY, DAY + timedelta(days=2))

        store = counted_once(CostRecord.objects.filter(organization=org, currency="USD"))
        expected = store.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        allocated = engine.rollup_totals(dimension, DAY, DAY + timedelta(days=2))
        total = sum(allocated.values(), Decimal(0))
        assert_same_total(total, expected)
        assert all(amount > 0 for amount in allocated.values())


pytestmark = pytest.mark.django_db
