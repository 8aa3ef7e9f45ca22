"""The overview (stat cards and cost chart) computed from the cost store's rollups."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.models import Organization
from costs import explorer, overview
from costs.models import Recommendation

TODAY = date(2026, 3, 10)


def write(account, day, amount, service="Amazon EC2"):
    """One day's Cost Explorer figures through the real write path (rollups included)."""
    write_many(account, day, {service: amount})


def write_many(account, day, amounts: dict[str, str]):
    rows = [
        explorer.CostRow(
            account.account_id, day, svc, "us-east-1", "unblended", Decimal(a), "USD", False
        )
        for svc, a in amounts.items()
    ]
    explorer.replace_days(account, {day}, rows)


def orgs(*organizations):
    return Organization.objects.filter(pk__in=[o.pk for o in organizations])


def recommend(account, kind, saving, status=Recommendation.Status.OPEN, resource="i-1"):
    return Recommendation.objects.create(
        account=account,
        kind=kind,
        resource_id=resource,
        region="us-east-1",
        summary=f"{kind} {resource}",
        action="do it",
        monthly_saving=Decimal(saving),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        status=status,
    )


@pytest.mark.django_db
def test_stat_cards_month_to_date_forecast_and_change(acme, acme_account):
    for day in range(1, 11):
        write_many(acme_account, date(2026, 3, day), {"Amazon EC2": "10", "Amazon S3": "5"})
        write(acme_account, date(2026, 2, day), "10")
    write(acme_account, date(2026, 2, 11), "999")  # after the same days: not compared

    cards = overview.stat_cards(orgs(acme), TODAY)

    assert cards.month_to_date == Decimal("150")
    # Nine complete days at $15, the other 22 days of March at the same rate.
    assert cards.forecast == Decimal("465")
    assert cards.previous_same_days == Decimal("100")
    assert cards.change_percent == 50.0


@pytest.mark.django_db
def test_the_comparison_clamps_to_a_shorter_last_month(acme, acme_account):
    write(acme_account, date(2026, 2, 28), "40")
    write(acme_account, date(2026, 3, 31), "10")

    cards = overview.stat_cards(orgs(acme), date(2026, 3, 31))

    assert cards.previous_same_days == Decimal("40")
    assert cards.change_percent == -75.0


@pytest.mark.django_db
def test_no_forecast_or_change_without_data(acme, acme_account):
    cards = overview.stat_cards(orgs(acme), date(2026, 3, 1))

    assert cards.month_to_date == 0
    assert cards.forecast is None
    assert cards.change_percent is None


@pytest.mark.django_db
def test_open_recommendations_count_idle_instances_and_savings(acme_account, globex_account):
    kinds = Recommendation.Kind
    recommend(acme_account, kinds.IDLE_INSTANCE, "10.50", resource="i-a")
    recommend(acme_account, kinds.IDLE_INSTANCE, "20", resource="i-b")
    recommend(acme_account, kinds.RIGHTSIZE, "30", resource="i-c")
    recommend(
        acme_account,
        kinds.IDLE_INSTANCE,
        "100",
        status=Recommendation.Status.DISMISSED,
        resource="i-d",
    )
    recommend(globex_account, kinds.IDLE_INSTANCE, "1000", resource="i-e")

    cards = overview.stat_cards(orgs(acme_account.organization), TODAY)

    assert cards.open_idle_instances == 2
    assert cards.open_recommendations == 3
    assert cards.potential_monthly_savings == Decimal("60.50")


@pytest.mark.django_db
def test_chart_stacks_the_top_services_and_groups_the_rest(acme, acme_account):
    services = {f"Service {n}": str(n) for n in range(1, 8)}  # Service 7 costs the most
    write_many(acme_account, TODAY - timedelta(days=20), services)
    write(acme_account, TODAY, "100", service="Service 1")  # the 7-day view's only spend
    write(acme_account, TODAY - timedelta(days=30), "5000")  # outside the 30 days

    chart = overview.cost_chart(orgs(acme), TODAY)

    month = chart["views"]["30"]
    assert chart["default"] == "30"
    assert len(month["labels"]) == 30
    assert month["labels"][0] == (TODAY - timedelta(days=29)).isoformat()
    assert month["labels"][-1] == TODAY.isoformat()
    labels = [d["label"] for d in month["datasets"]]
    assert labels == [
        "Service 1",
        "Service 7",
        "Service 6",
        "Service 5",
        "Service 4",
        "Other services",
    ]
    other = month["datasets"][-1]["data"]
    day = month["labels"].index((TODAY - timedelta(days=20)).isoformat())
    assert other[day] == 5.0  # Service 2 + Service 3
    assert month["total"] == "128.00"
    assert sum(Decimal(t) for t in month["totals"]) == Decimal("128")

    week = chart["views"]["7"]
    assert len(week["labels"]) == 7
    assert [d["label"] for d in week["datasets"]] == ["Service 1"]
    assert week["datasets"][0]["data"] == [0, 0, 0, 0, 0, 0, 100.0]


@pytest.mark.django_db
def test_the_overview_only_counts_the_users_organisations(
    acme, acme_account, globex_account, alice, charlie
):
    write(acme_account, TODAY, "70")
    write(globex_account, TODAY, "3")

    mine = overview.page_context(charlie, TODAY)

    assert mine["cards"].month_to_date == Decimal("3")
    assert mine["chart"]["views"]["30"]["total"] == "3.00"
    assert overview.page_context(alice, TODAY)["cards"].month_to_date == Decimal("70")


@pytest.mark.django_db
def test_no_accounts_and_no_data_are_told_apart(acme, alice, acme_account):
    context = overview.page_context(alice, TODAY)

    assert context["has_accounts"] is True
    assert context["has_cost_data"] is False
