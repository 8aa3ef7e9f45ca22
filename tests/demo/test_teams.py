"""The demo's allocation story: tagged and untagged spend, two teams, a shared support charge."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts import aws as aws_module
from demo import seed as demo
from tests.sums import assert_same_total

TODAY = timezone.now().date()


def test_each_tag_page_splits_every_services_daily_cost_whole():
    for account in demo.DEMO_ACCOUNTS:
        costs = defaultdict(Decimal)
        for (day, service, _), amount in demo.daily_costs(account.account_id, TODAY).items():
            costs[(day.isoformat(), service)] += amount
        pages = demo.tag_pages(account.account_id, TODAY)
        assert len(pages) == len(demo.DEMO_TAG_KEYS)
        for key, page in zip(demo.DEMO_TAG_KEYS, pages, strict=True):
            split = defaultdict(Decimal)
            for day in page["ResultsByTime"]:
                for group in day["Groups"]:
                    service, tag = group["Keys"]
                    assert tag.startswith(f"{key}$")
                    split[(day["TimePeriod"]["Start"], service)] += Decimal(
                        group["Metrics"][demo.CE_METRIC]["Amount"]
                    )
            assert split == costs, (account.name, key)
    production = demo.tag_pages(demo.PRODUCTION.account_id, TODAY)[1]
    team_values = {g["Keys"][1] for d in production["ResultsByTime"] for g in d["Groups"]}
    # As people type them: the Team rule lower-cases "Search" and reads "pay" as payments.
    assert {"team$payments", "team$Search", "team$pay", "team$"} <= team_values
    development = demo.tag_pages(demo.DEVELOPMENT.account_id, TODAY)[1]
    assert {g["Keys"][1] for d in development["ResultsByTime"] for g in d["Groups"]} == {"team$"}


@pytest.mark.django_db
def test_after_a_sync_the_team_dimension_owns_every_dollar(aws):
    from accounts.models import Organization
    from allocation import engine
    from allocation.models import AllocationRollup, Dimension
    from costs.models import CostRecord, SyncRun, TagKey, TagSpend
    from costs.summary import counted_once

    aws_module.clear_credential_cache()
    call_command("seed_demo", stdout=StringIO())
    call_command("sync_costs", stdout=StringIO())

    org = Organization.objects.get(slug=demo.DEMO_ORG_SLUG)
    assert set(TagKey.objects.filter(organization=org).values_list("key", flat=True)) == {
        "env",
        "team",
    }
    # Per account: the costs' two pages, then one request per tag key.
    runs = SyncRun.objects.filter(account__organization=org)
    assert sorted(runs.values_list("status", "requests_made")) == [("succeeded", 4)] * 3
    assert TagSpend.objects.filter(organization=org, tag_key="team", tag_value="").exists()

    start = TODAY - timedelta(days=demo.CE_DAYS)
    team = Dimension.objects.get(organization=org, slug="team")
    totals = engine.rollup_totals(team, start, TODAY)
    assert {demo.PAYMENTS, demo.SEARCH, team.unallocated_label} <= set(totals)
    assert "pay" not in totals and "Search" not in totals
    store = counted_once(
        CostRecord.objects.filter(
            organization=org, currency="USD", usage_date__gte=start, usage_date__lte=TODAY
        )
    ).aggregate(total=Sum("amount"))["total"]
    assert_same_total(sum(totals.values()), store)
    # The support charge is the teams', in proportion to their spend; nothing of it unowned.
    support = AllocationRollup.objects.filter(dimension=team, service=demo.SUPPORT)
    assert set(support.values_list("kind", "value")) == {
        ("shared", demo.PAYMENTS),
        ("shared", demo.SEARCH),
    }
