"""The overview (stat cards and cost chart) computed from the cost store's rollups."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization
from alerts import rules
from costs.ingest import explorer
from dashboard import overview
from findings.models import Recommendation

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
    # The nine complete days on both sides: 1-9 March ($135) against 1-9 February ($90).
    same = cards.same_days
    assert (same.start, same.end) == (date(2026, 3, 1), date(2026, 3, 9))
    assert (same.previous_start, same.previous_end) == (date(2026, 2, 1), date(2026, 2, 9))
    assert (same.amount, same.previous_amount) == (Decimal("135"), Decimal("90"))
    assert cards.change_percent == 50.0


@pytest.mark.django_db
def test_the_comparison_counts_complete_days_only_and_the_same_number_on_both_sides(
    acme, acme_account
):
    """The reported case: on 5 Dec (today still $0), 1-4 Dec against 1-4 Nov, not 1-5 Nov."""
    for day, amount in [(1, "150.10"), (2, "160.03"), (3, "155.05"), (4, "161.00")]:
        write(acme_account, date(2026, 12, day), amount)  # $626.18
    for day, amount in [(1, "140.00"), (2, "145.23"), (3, "148.00"), (4, "150.00")]:
        write(acme_account, date(2026, 11, day), amount)  # $583.23
    write(acme_account, date(2026, 11, 5), "157.71")  # 1-5 Nov would be $740.94

    cards = overview.stat_cards(orgs(acme), date(2026, 12, 5))

    assert cards.same_days.label == "1\u20134 Dec"
    assert cards.same_days.previous_label == "1\u20134 Nov"
    assert cards.same_days.amount == Decimal("626.18")
    assert cards.same_days.previous_amount == Decimal("583.23")
    assert cards.change_percent == 7.4  # (626.18 - 583.23) / 583.23 = +7.36 %


@pytest.mark.django_db
def test_the_forecast_card_counts_each_day_at_its_weekday_rate(acme, acme_account):
    # Tuesday 10 March 2026 (March: 31 days, starting on a Sunday). The 28 complete days before
    # it, 10 February - 9 March, cost $20 on weekdays and $5 at weekends.
    day = TODAY - timedelta(days=28)
    while day < TODAY:
        write(acme_account, day, "5" if day.weekday() >= 5 else "20")
        day += timedelta(days=1)
    write(acme_account, TODAY, "7")

    cards = overview.stat_cards(orgs(acme), TODAY)

    # 1-9 March: 6 weekdays x 20 + 3 weekend days (1, 7, 8) x 5 = 135, and 7 today: 142.
    # 10-31 March: 16 weekdays and 6 weekend days (14, 15, 21, 22, 28, 29):
    # 135 + 16 x 20 + 6 x 5 = 485 (the run rate would say 135 / 9 x 31 = 465).
    assert cards.month_to_date == Decimal("142")
    assert cards.forecast == Decimal("485.00")
    assert cards.forecast_method == "day of week"


@pytest.mark.django_db
def test_the_comparison_clamps_to_a_shorter_last_month(acme, acme_account):
    write(acme_account, date(2026, 2, 28), "40")
    write(acme_account, date(2026, 3, 28), "30")
    write(acme_account, date(2026, 3, 30), "500")  # complete, but February has no 30th
    write(acme_account, date(2026, 3, 31), "10")  # today

    cards = overview.stat_cards(orgs(acme), date(2026, 3, 31))

    assert cards.same_days.label == "1\u201328 Mar"
    assert cards.same_days.previous_label == "1\u201328 Feb"
    assert cards.same_days.previous_amount == Decimal("40")
    assert cards.change_percent == -25.0


@pytest.mark.django_db
def test_no_comparison_on_the_first_of_the_month(acme, acme_account):
    write(acme_account, date(2026, 3, 1), "10")
    write(acme_account, date(2026, 2, 1), "10")

    cards = overview.stat_cards(orgs(acme), date(2026, 3, 1))

    assert cards.same_days is None
    assert cards.change_percent is None


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


def checked(*organizations, today=TODAY):
    """The spike check, as the schedule runs it: it records what the chart marks."""
    for organization in organizations:
        rules.check_alerts(organization, today)


def steady_until(account, last, spikes, amount="100", service="Amazon EC2", days=50):
    """ACCOUNT's SERVICE at AMOUNT a day for DAYS days up to LAST, SPIKES {day: amount} aside."""
    for n in range(days):
        day = last - timedelta(days=n)
        write(account, day, spikes.get(day, amount), service=service)


@pytest.mark.django_db
def test_the_chart_marks_the_spikes_the_alerts_judge_with_their_figures(
    acme, acme_account, globex_account
):
    spike_day = TODAY - timedelta(days=3)
    # Today's partial figures are not judged: the alert rule waits for complete days too.
    steady_until(acme_account, TODAY, {spike_day: "400", TODAY: "900"})
    steady_until(globex_account, TODAY, {TODAY - timedelta(days=5): "400"})
    (alert,) = rules.spike_alerts(acme, TODAY)
    checked(globex_account.organization)

    chart = overview.cost_chart(orgs(acme), TODAY)

    month = chart["views"]["30"]
    assert len(month["spikes"]) == 30
    figures = {
        "account": "111111111111",
        "service": "Amazon EC2",
        "cost": "400.00",
        "baseline_median": "100.00",
        "increase": "300.00",
    }
    marked = {month["labels"][i]: s for i, s in enumerate(month["spikes"]) if s}
    assert marked == {spike_day.isoformat(): [figures]}
    week = chart["views"]["7"]
    assert week["spikes"][week["labels"].index(spike_day.isoformat())] == [figures]

    # The same days, the same figures: the rule that raises the alerts.
    assert alert.subject == f"spike:111111111111:Amazon EC2:{spike_day.isoformat()}"
    assert {k: alert.evidence[k] for k in ("cost", "increase")} == {
        "cost": "400.00",
        "increase": "300.00",
    }


@pytest.mark.django_db
def test_the_chart_table_lists_each_days_spikes(acme, acme_account, alice):
    spike_day = TODAY - timedelta(days=3)
    steady_until(acme_account, TODAY, {spike_day: "400"})
    checked(acme)

    rows = {day: spikes for day, _, spikes in overview.page_context(alice, TODAY)["daily_rows"]}

    assert rows[spike_day.isoformat()] == [
        {
            "account": "111111111111",
            "service": "Amazon EC2",
            "cost": "400.00",
            "baseline_median": "100.00",
            "increase": "300.00",
        }
    ]
    assert all(not spikes for day, spikes in rows.items() if day != spike_day.isoformat())


@pytest.mark.django_db
def test_the_chart_reads_each_organisations_spikes_in_the_same_queries(
    acme, acme_account, globex_account
):
    steady_until(acme_account, TODAY, {TODAY - timedelta(days=3): "400"})
    steady_until(globex_account, TODAY, {TODAY - timedelta(days=5): "250"}, amount="50")
    checked(acme, globex_account.organization)

    with CaptureQueriesContext(connection) as one:
        overview.cost_chart(orgs(acme), TODAY)
    with CaptureQueriesContext(connection) as both:
        chart = overview.cost_chart(orgs(acme, globex_account.organization), TODAY)

    month = chart["views"]["30"]
    marked = {
        month["labels"][i]: [(s["account"], s["increase"]) for s in spikes]
        for i, spikes in enumerate(month["spikes"])
        if spikes
    }
    assert marked == {
        (TODAY - timedelta(days=3)).isoformat(): [("111111111111", "300.00")],
        (TODAY - timedelta(days=5)).isoformat(): [("999999999999", "200.00")],
    }
    assert len(both) == len(one)
