"""Coverage and utilization from FOCUS data (CommitmentDiscountCategory/Status, PricingCategory,
ListCost), and the proof that it means what Cost Explorer's figures mean: the same synthetic
usage, rendered once as a FOCUS export and once as Cost Explorer's answers (served over HTTP by
the fault proxy), gives the same figures through both sources."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count

from accounts.models import CloudAccount
from commitments import report
from commitments.models import CommitmentDay
from commitments.sync import sync_account
from costs.ingest.focus import import_billing
from costs.models import CommitmentUsageHour
from tests.commitments.recorded import TODAY, WINDOW, answer_inventory, period, savings_plan

pytestmark = pytest.mark.django_db

ACCOUNT = "111111111111"
DAYS = WINDOW[-3:]
HEADER = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ChargePeriodStart",
    "BillingPeriodStart",
    "BillingCurrency",
    "ProviderName",
    "SubAccountId",
    "ServiceName",
    "ChargeCategory",
    "PricingCategory",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
]
EC2 = "Amazon Elastic Compute Cloud"
RDS = "Amazon Relational Database Service"
SP_HOURLY_COMMITMENT = Decimal("1.05")


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.000001"))


def usage_rows(days=DAYS, account=ACCOUNT):
    """A day of hourly charges per day: eligible on-demand EC2 whose load follows office hours,
    a Compute Savings Plan of $1.05/h at a 30 % discount covering part of it (its commitment
    unused at night), a reservation on RDS, and rows no commitment figure may count (S3, spot,
    the plan's fee)."""
    rows = []
    for n, day in enumerate(days):
        for hour in range(24):
            start = f"{day.isoformat()}T{hour:02d}:00:00Z"
            busy = 8 <= hour < 18
            on_demand = Decimal("0.40") + Decimal("0.05") * (hour % 8) + Decimal(n) / 10
            covered_list = Decimal("1.50") if busy else Decimal("1.00")
            used = covered_list * Decimal("0.7")
            unused = SP_HOURLY_COMMITMENT - used
            row = {"start": start, "day": day, "account": account}
            rows += [
                {**row, "service": EC2, "pricing": "Standard", "list": on_demand},
                {**row, "service": "Amazon Simple Storage Service", "pricing": "Standard"},
                {**row, "service": EC2, "pricing": "Dynamic", "list": Decimal("0.1")},
                {
                    **row,
                    "service": EC2,
                    "pricing": "Committed",
                    "category": "Spend",
                    "status": "Used",
                    "list": covered_list,
                    "effective": used,
                    "billed": Decimal(0),
                },
                {
                    **row,
                    "service": RDS,
                    "pricing": "Committed",
                    "category": "Usage",
                    "status": "Used",
                    "list": Decimal("0.5"),
                    "effective": Decimal("0.3"),
                    "billed": Decimal(0),
                },
            ]
            if unused > 0:
                rows.append(
                    {
                        **row,
                        "service": "Savings Plans for AWS Compute usage",
                        "pricing": "Committed",
                        "category": "Spend",
                        "status": "Unused",
                        "list": Decimal(0),
                        "effective": unused,
                        "billed": Decimal(0),
                    }
                )
            if hour < 6:
                rows.append(
                    {
                        **row,
                        "service": RDS,
                        "pricing": "Committed",
                        "category": "Usage",
                        "status": "Unused",
                        "list": Decimal(0),
                        "effective": Decimal("0.03"),
                        "billed": Decimal(0),
                    }
                )
            if hour == 0:
                rows.append(
                    {
                        **row,
                        "service": "Savings Plans for AWS Compute usage",
                        "pricing": "Committed",
                        "category": "Spend",
                        "charge": "Purchase",
                        "list": Decimal(0),
                        "effective": Decimal(0),
                        "billed": SP_HOURLY_COMMITMENT * 24,
                    }
                )
    return rows


def write_focus(path, rows, list_cost=lambda row: row.get("list")):
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for row in rows:
            amount = row.get("list", Decimal("0.2"))
            listed = list_cost(row)
            out.writerow(
                [
                    row.get("billed", amount),
                    row.get("effective", amount),
                    "" if listed is None else listed,
                    row["start"],
                    row["day"].replace(day=1).isoformat(),
                    "USD",
                    "AWS",
                    row["account"],
                    row["service"],
                    row.get("charge", "Usage"),
                    row["pricing"],
                    row.get("category", ""),
                    row.get("status", ""),
                ]
            )
    return str(path)


def explorer_figures(rows):
    """Cost Explorer's daily figures for ROWS, by its definitions (AWS's documentation of
    GetSavingsPlansCoverage/Utilization and GetReservationUtilization)."""
    days = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        if row.get("charge", "Usage") != "Usage":
            continue
        figures = days[row["day"]]
        category, status = row.get("category"), row.get("status")
        if category == "Spend" and status == "Used":
            figures["sp_covered"] += row["list"]
            figures["sp_used"] += row["effective"]
        elif category == "Spend" and status == "Unused":
            figures["sp_unused"] += row["effective"]
        elif category == "Usage" and status == "Used":
            figures["ri_covered"] += row["list"]
            figures["ri_used"] += row["effective"]
        elif category == "Usage" and status == "Unused":
            figures["ri_unused"] += row["effective"]
        elif row["pricing"] == "Standard" and row["service"] == EC2:
            figures["on_demand"] += row["list"]
    return days


def percent(part, whole) -> str:
    return str((Decimal(100) * part / whole).quantize(Decimal("0.001")))


def answer_explorer_with(proxy, figures):
    entries = sorted(figures.items())
    proxy.answer(
        "GetSavingsPlansCoverage",
        {
            "SavingsPlansCoverages": [
                {
                    "Attributes": {},
                    "Coverage": {
                        "SpendCoveredBySavingsPlans": str(f["sp_covered"]),
                        "OnDemandCost": str(f["on_demand"]),
                        "TotalCost": str(f["sp_covered"] + f["on_demand"]),
                        "CoveragePercentage": percent(
                            f["sp_covered"], f["sp_covered"] + f["on_demand"]
                        ),
                    },
                    "TimePeriod": period(day),
                }
                for day, f in entries
            ]
        },
    )
    proxy.answer(
        "GetSavingsPlansUtilization",
        {
            "SavingsPlansUtilizationsByTime": [
                {
                    "TimePeriod": period(day),
                    "Utilization": {
                        "TotalCommitment": str(f["sp_used"] + f["sp_unused"]),
                        "UsedCommitment": str(f["sp_used"]),
                        "UnusedCommitment": str(f["sp_unused"]),
                        "UtilizationPercentage": percent(
                            f["sp_used"], f["sp_used"] + f["sp_unused"]
                        ),
                    },
                    "Savings": {
                        "NetSavings": str(f["sp_covered"] - f["sp_used"] - f["sp_unused"]),
                        "OnDemandCostEquivalent": str(f["sp_covered"]),
                    },
                }
                for day, f in entries
            ]
        },
    )
    # Reservation coverage is counted in hours by Cost Explorer (FOCUS leaves it to it).
    proxy.answer(
        "GetReservationCoverage",
        {
            "CoveragesByTime": [
                {
                    "TimePeriod": period(day),
                    "Groups": [],
                    "Total": {
                        "CoverageHours": {"CoverageHoursPercentage": "100"},
                        "CoverageCost": {"OnDemandCost": "0"},
                    },
                }
                for day, _ in entries
            ]
        },
    )
    proxy.answer(
        "GetReservationUtilization",
        {
            "UtilizationsByTime": [
                {
                    "TimePeriod": period(day),
                    "Groups": [],
                    "Total": {
                        "UtilizationPercentage": percent(
                            f["ri_used"], f["ri_used"] + f["ri_unused"]
                        ),
                        "TotalAmortizedFee": str(f["ri_used"] + f["ri_unused"]),
                        "RICostForUnusedHours": str(f["ri_unused"]),
                        "NetRISavings": str(f["ri_covered"] - f["ri_used"] - f["ri_unused"]),
                    },
                }
                for day, f in entries
            ]
        },
    )


SAVINGS_PLAN_FIGURES = (
    "coverage_percent",
    "covered_spend",
    "on_demand_spend",
    "utilization_percent",
    "used_commitment",
    "unused_commitment",
    "net_savings",
)
RESERVATION_FIGURES = ("utilization_percent", "used_commitment", "unused_commitment", "net_savings")


def figures_of(account, source, kind, names):
    return {
        day.day: tuple(getattr(day, name) for name in names)
        for day in CommitmentDay.objects.filter(account=account, source=source, kind=kind)
    }


def test_both_sources_give_the_same_figures_on_the_same_usage(
    aws_faults, acme, acme_account, tmp_path
):
    rows = usage_rows()
    answer_inventory(aws_faults, plans=[savings_plan()])
    answer_explorer_with(aws_faults, explorer_figures(rows))
    sync_account(acme_account, today=TODAY)
    import_billing(write_focus(tmp_path / "focus.csv", rows), acme)

    for kind, names in (
        (CommitmentDay.Kind.SAVINGS_PLAN, SAVINGS_PLAN_FIGURES),
        (CommitmentDay.Kind.RESERVATION, RESERVATION_FIGURES),
    ):
        explorer = figures_of(acme_account, "explorer", kind, names)
        focus = figures_of(acme_account, "focus", kind, names)
        assert sorted(focus) == DAYS, kind
        for day in DAYS:
            assert focus[day] == explorer[day], (kind, day)

    first = CommitmentDay.objects.get(
        account=acme_account, source="focus", kind="savings_plan", day=DAYS[0]
    )
    # By hand: 10 busy hours covered at $1.50 list and 14 quiet ones at $1.00.
    assert first.covered_spend == money(10 * 1.5 + 14 * 1.0)
    assert first.used_commitment == money((10 * 1.5 + 14 * 1.0) * 0.7)
    assert first.unused_commitment == money(14 * (1.05 - 0.7))
    assert first.utilization_percent < 100


def test_the_import_keeps_only_the_hours_commitment_figures_use(acme, acme_account, tmp_path):
    import_billing(write_focus(tmp_path / "focus.csv", usage_rows(days=DAYS[:1])), acme)

    hours = CommitmentUsageHour.objects.filter(organization=acme)
    buckets = dict(hours.values_list("bucket").annotate(n=Count("pk")).order_by())
    # S3, spot and the plan's purchase row have no bucket.
    assert buckets == {
        "on_demand": 24,
        "sp_used": 24,
        "sp_unused": 14,
        "ri_used": 24,
        "ri_unused": 6,
    }
    assert set(hours.values_list("account", flat=True)) == {acme_account.pk}


def test_reimporting_a_period_replaces_its_hours_and_days(acme, acme_account, tmp_path):
    path = write_focus(tmp_path / "focus.csv", usage_rows())
    import_billing(path, acme)
    first = list(
        CommitmentDay.objects.filter(source="focus").values_list("day", "kind", "net_savings")
    )
    hours = CommitmentUsageHour.objects.count()

    import_billing(path, acme)

    assert CommitmentUsageHour.objects.count() == hours
    again = list(
        CommitmentDay.objects.filter(source="focus").values_list("day", "kind", "net_savings")
    )
    assert sorted(again) == sorted(first)


def test_a_file_without_list_costs_gives_no_coverage_rather_than_a_wrong_one(
    acme, acme_account, tmp_path
):
    rows = usage_rows(days=DAYS[:1])
    import_billing(write_focus(tmp_path / "focus.csv", rows, list_cost=lambda row: None), acme)

    day = CommitmentDay.objects.get(account=acme_account, source="focus", kind="savings_plan")
    assert day.coverage_percent is None
    assert day.covered_spend is None and day.on_demand_spend is None
    assert day.net_savings is None
    # Utilization needs effective costs only: still known.
    assert day.used_commitment == money((10 * 1.5 + 14 * 1.0) * 0.7)


def test_a_malformed_list_cost_spoils_only_its_hour_group(acme, acme_account, tmp_path):
    rows = usage_rows(days=DAYS[:1])
    spoilt = f"{DAYS[0].isoformat()}T03:00:00Z"

    def listed(row):
        if (
            row["start"] == spoilt
            and row.get("status") == "Used"
            and row.get("category") == "Spend"
        ):
            return "not-a-number"
        return row.get("list")

    result = import_billing(write_focus(tmp_path / "focus.csv", rows, list_cost=listed), acme)

    assert result.rows_rejected == 0  # ListCost is optional: the row's costs still count
    day = CommitmentDay.objects.get(account=acme_account, source="focus", kind="savings_plan")
    assert day.covered_spend is None  # one hour unknown: the day's sum is unknown
    assert day.on_demand_spend is not None


def test_the_sample_export_counts_its_savings_plan_usage(acme):
    sample = Path(settings.BASE_DIR) / "tests" / "data" / "focus" / "focus_sample.csv"
    with open(sample, newline="") as handle:
        used = [
            row
            for row in csv.DictReader(handle)
            if row["CommitmentDiscountStatus"] == "Used" and row["ProviderName"] == "AWS"
        ]
    assert used, "the sample has Savings Plan usage"
    sub_account = used[0]["SubAccountId"]
    account = CloudAccount.objects.create(
        organization=acme,
        name="Sample",
        account_id=sub_account,
        role_arn=f"arn:aws:iam::{sub_account}:role/SpendlensAccess",
        regions=["us-east-1"],
    )

    import_billing(str(sample), acme)

    stored = CommitmentUsageHour.objects.filter(account=account, bucket="sp_used")
    expected = [Decimal(r["ListCost"]) for r in used if r["SubAccountId"] == sub_account]
    assert sum(h.list_cost for h in stored) == sum(expected)
    assert CommitmentDay.objects.filter(account=account, source="focus").exists()


def test_what_to_buy_reads_the_hourly_series_when_there_is_one(acme, acme_account, tmp_path):
    days = WINDOW[-8:]
    import_billing(write_focus(tmp_path / "focus.csv", usage_rows(days=days)), acme)

    found = report.what_to_buy([acme_account], days=30, today=TODAY)

    assert found.days_with_data == 8
    assert "Hourly on-demand spend" in found.basis and f"{8 * 24} hours" in found.basis
    series = report.eligible_hourly([acme_account], days[0], days[-1])
    # Office hours are visible: the series is not flat.
    assert series[days[0]][3] != series[days[0]][12]
    assert series[days[0]][0] == pytest.approx(0.40)


def test_a_daily_export_falls_back_to_flat_days(acme, acme_account, tmp_path):
    rows = [
        {**row, "start": row["day"].isoformat()}
        for row in usage_rows(days=WINDOW[-8:])
        if row["start"].endswith("T00:00:00Z")
    ]
    import_billing(write_focus(tmp_path / "focus.csv", rows), acme)

    assert report.eligible_hourly([acme_account], WINDOW[0], WINDOW[-1]) == {}
    found = report.what_to_buy([acme_account], days=30, today=TODAY)
    assert "spread evenly over its 24 hours" in found.basis


def test_a_renewal_is_sized_on_the_hourly_figures_with_the_plans_usage_as_on_demand(
    acme, acme_account, tmp_path
):
    from datetime import UTC, datetime, timedelta

    from commitments.models import Commitment

    days = WINDOW[-8:]
    import_billing(write_focus(tmp_path / "focus.csv", usage_rows(days=days)), acme)
    end = datetime.combine(TODAY + timedelta(days=20), datetime.min.time(), tzinfo=UTC)
    plan = Commitment.objects.create(
        account=acme_account,
        commitment_id="sp-ending",
        kind=Commitment.Kind.SAVINGS_PLAN,
        plan_type="Compute",
        term_years=1,
        payment_option=Commitment.PaymentOption.NO_UPFRONT,
        hourly_commitment=SP_HOURLY_COMMITMENT,
        start=end - timedelta(days=365),
        end=end,
        state="active",
    )

    sized = report.renewal(plan, TODAY)

    assert sized.hourly and sized.days_with_data == 8
    # The quietest hour once the plan is gone: $0.40 on demand + $1.00 it covers now. Hours
    # never drop below it, so the renewal covers at least that much at full utilization.
    best = sized.recommendation.best
    assert best.covered_level >= 1.40 - 1e-9
    assert best.utilization >= 0.9
