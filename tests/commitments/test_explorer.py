"""Coverage and utilization from Cost Explorer, over real HTTP (recorded answers served by the
fault proxy): pages followed, incomplete days skipped and noted, re-syncs replace."""

from datetime import timedelta
from decimal import Decimal

import pytest

from commitments.models import CommitmentDay, CommitmentSync
from commitments.sync import sync_account
from tests.commitments.recorded import (
    TODAY,
    WINDOW,
    answer_explorer,
    answer_inventory,
    ri_coverage,
    ri_utilization,
    savings_plan,
    sp_coverage,
    sp_utilization,
)

pytestmark = pytest.mark.django_db


def days_of(account, kind):
    return CommitmentDay.objects.filter(account=account, kind=kind, source="explorer")


def test_daily_figures_of_both_kinds_are_stored(aws_faults, acme_account):
    answer_inventory(aws_faults, plans=[savings_plan()], ec2=[{"id": "ri-1"}])
    answer_explorer(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    assert (run.window_start, run.window_end) == (WINDOW[0], TODAY)
    assert run.status == CommitmentSync.Status.SUCCEEDED, (run.problems, run.notes)
    assert run.days_stored == 60
    plans = days_of(acme_account, "savings_plan").get(day=WINDOW[0])
    assert plans.coverage_percent == Decimal(80)
    assert (plans.covered_spend, plans.on_demand_spend) == (Decimal(40), Decimal(10))
    assert plans.utilization_percent == Decimal(96)
    assert (plans.used_commitment, plans.unused_commitment) == (Decimal("57.6"), Decimal("2.4"))
    assert plans.net_savings == Decimal(18)
    reserved = days_of(acme_account, "reservation").get(day=WINDOW[-1])
    assert (reserved.coverage_percent, reserved.on_demand_spend) == (Decimal(75), Decimal("4.5"))
    assert reserved.covered_spend is None  # Cost Explorer counts reservation coverage in hours
    assert reserved.utilization_percent == Decimal(90)
    # Used and unused in money: the amortized fee split by the cost of the unused hours.
    assert (reserved.used_commitment, reserved.unused_commitment) == (Decimal(9), Decimal(1))
    assert reserved.net_savings == Decimal(5)
    bodies = [r for r in aws_faults.requests if r.service == "ce"]
    assert [r.operation for r in bodies] == [
        "GetSavingsPlansCoverage",
        "GetSavingsPlansUtilization",
        "GetReservationCoverage",
        "GetReservationUtilization",
        *["GetSavingsPlansPurchaseRecommendation"] * 4,  # AWS's own advice, last
    ]


def test_next_tokens_are_followed(aws_faults, acme_account):
    answer_inventory(aws_faults)
    first, second = WINDOW[:15], WINDOW[15:]
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(first, token="sp-2"))
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(second))
    aws_faults.answer("GetSavingsPlansUtilization", sp_utilization(WINDOW))
    aws_faults.answer("GetReservationCoverage", ri_coverage(first, token="ri-2"))
    aws_faults.answer("GetReservationCoverage", ri_coverage(second))
    aws_faults.answer("GetReservationUtilization", ri_utilization(first, token="ru-2"))
    aws_faults.answer("GetReservationUtilization", ri_utilization(second))

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.SUCCEEDED, run.notes
    assert days_of(acme_account, "savings_plan").count() == 30
    assert days_of(acme_account, "reservation").count() == 30
    assert aws_faults.calls["GetSavingsPlansCoverage"] == 2
    assert aws_faults.calls["GetReservationCoverage"] == 2
    assert aws_faults.calls["GetReservationUtilization"] == 2
    assert run.requests_made == 3 + 2 + 1 + 2 + 2 + 4


def test_a_partial_answer_skips_those_days_and_says_so(aws_faults, acme_account):
    answer_inventory(aws_faults, plans=[savings_plan()], ec2=[{"id": "ri-1"}])
    gap, no_total = WINDOW[10], WINDOW[20]
    coverage = sp_coverage([d for d in WINDOW if d != gap])  # a day left out
    aws_faults.answer("GetSavingsPlansCoverage", coverage)
    aws_faults.answer("GetSavingsPlansUtilization", sp_utilization(WINDOW))
    aws_faults.answer("GetReservationCoverage", ri_coverage(WINDOW))
    utilization = ri_utilization(WINDOW)
    del utilization["UtilizationsByTime"][20]["Total"]  # a day without its totals
    aws_faults.answer("GetReservationUtilization", utilization)

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    plans, reserved = days_of(acme_account, "savings_plan"), days_of(acme_account, "reservation")
    assert plans.count() == 29 and not plans.filter(day=gap).exists()
    assert reserved.count() == 29 and not reserved.filter(day=no_total).exists()
    assert run.notes == [
        f"Savings Plans: 1 day(s) not stored, Cost Explorer's answer was incomplete: {gap} "
        "(coverage: no coverage entry).",
        f"Reservations: 1 day(s) not stored, Cost Explorer's answer was incomplete: {no_total} "
        "(utilization: no Total).",
    ]
    assert run.days_stored == 58

    # The next sync asks again from the first day still missing, and fills it.
    answer_inventory(aws_faults, plans=[savings_plan()], ec2=[{"id": "ri-1"}])
    answer_explorer(aws_faults, days=[d for d in WINDOW if d >= gap])
    again = sync_account(acme_account, today=TODAY)
    assert again.window_start == gap
    assert again.status == CommitmentSync.Status.SUCCEEDED
    assert plans.count() == 30 and reserved.count() == 30


def test_a_missing_figure_is_never_stored_as_zero(aws_faults, acme_account):
    answer_inventory(aws_faults, plans=[savings_plan()])
    coverage = sp_coverage(WINDOW)
    del coverage["SavingsPlansCoverages"][0]["Coverage"]["CoveragePercentage"]
    aws_faults.answer("GetSavingsPlansCoverage", coverage)
    aws_faults.answer("GetSavingsPlansUtilization", sp_utilization(WINDOW))
    aws_faults.answer("GetReservationCoverage", ri_coverage(WINDOW))
    aws_faults.answer("GetReservationUtilization", ri_utilization(WINDOW))

    run = sync_account(acme_account, today=TODAY)

    assert not days_of(acme_account, "savings_plan").filter(day=WINDOW[0]).exists()
    assert "(coverage: no CoveragePercentage)" in run.notes[0]


def test_no_commitment_of_a_kind_stores_coverage_without_utilization(aws_faults, acme_account):
    answer_inventory(aws_faults, ec2=[{"id": "ri-1"}])
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(WINDOW, percent="0", covered="0"))
    aws_faults.fail("GetSavingsPlansUtilization", "DataUnavailableException", "no data")
    aws_faults.answer("GetReservationCoverage", ri_coverage(WINDOW))
    aws_faults.answer("GetReservationUtilization", ri_utilization(WINDOW))

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.SUCCEEDED
    plans = days_of(acme_account, "savings_plan")
    assert plans.count() == 30
    assert set(plans.values_list("utilization_percent", "unused_commitment")) == {(None, None)}
    assert plans.first().on_demand_spend == Decimal(10)  # the gap a plan could cover
    assert any("no utilization in Cost Explorer" in note for note in run.notes)


def test_a_refused_utilization_permission_is_named(aws_faults, acme_account):
    answer_inventory(aws_faults)
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(WINDOW))
    aws_faults.fail("GetSavingsPlansUtilization", "AccessDeniedException", "not authorized")
    aws_faults.answer("GetReservationCoverage", ri_coverage(WINDOW))
    aws_faults.answer("GetReservationUtilization", ri_utilization(WINDOW))

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert list(run.problems) == ["ce:GetSavingsPlansUtilization"]
    assert run.problems["ce:GetSavingsPlansUtilization"].startswith(
        "ce:GetSavingsPlansUtilization is not allowed by the role"
    )
    # Coverage alone would be half a picture: nothing of that kind is stored.
    assert not days_of(acme_account, "savings_plan").exists()
    assert days_of(acme_account, "reservation").count() == 30


def test_resync_replaces_the_days_without_double_rows(aws_faults, acme_account):
    answer_inventory(aws_faults)
    answer_explorer(aws_faults)
    sync_account(acme_account, today=TODAY)

    # A later sync reads the trailing days, revised by Cost Explorer.
    trailing = [TODAY - timedelta(days=n) for n in (3, 2, 1)]
    answer_inventory(aws_faults)
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(trailing, percent="85"))
    aws_faults.answer("GetSavingsPlansUtilization", sp_utilization(trailing))
    aws_faults.answer("GetReservationCoverage", ri_coverage(trailing))
    aws_faults.answer("GetReservationUtilization", ri_utilization(trailing))
    run = sync_account(acme_account, today=TODAY)

    assert (run.window_start, run.window_end) == (trailing[0], TODAY)
    plans = days_of(acme_account, "savings_plan")
    assert plans.count() == 30
    assert plans.filter(coverage_percent=Decimal(85)).count() == 3
    assert CommitmentDay.objects.count() == 60


def test_a_sync_already_running_is_skipped(aws_faults, acme_account):
    CommitmentSync.objects.create(account=acme_account)  # running

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.SKIPPED
    assert not aws_faults.requests


def test_a_page_token_handed_back_again_is_a_problem_not_an_endless_loop(aws_faults, acme_account):
    answer_inventory(aws_faults)
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(WINDOW[:10], token="same"))
    aws_faults.answer("GetSavingsPlansCoverage", sp_coverage(WINDOW[10:20], token="same"))
    aws_faults.answer("GetReservationCoverage", ri_coverage(WINDOW))
    aws_faults.answer("GetReservationUtilization", ri_utilization(WINDOW))

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert "repeated the page token 'same'" in run.problems["ce (Savings Plans)"]
    assert not days_of(acme_account, "savings_plan").exists()
    assert days_of(acme_account, "reservation").count() == 30
