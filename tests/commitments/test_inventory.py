"""The commitments inventory over real HTTP: AssumeRole in the emulator, the commitments APIs
answered by the fault proxy with recorded responses (the emulator serves none of them)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commitments.models import Commitment, CommitmentSync
from commitments.sync import sync_account
from tests.commitments.recorded import (
    TODAY,
    answer_explorer,
    answer_inventory,
    answer_recommendations,
    ec2_reservations_xml,
    no_explorer_data,
    rds_reservations_xml,
    savings_plan,
)

pytestmark = pytest.mark.django_db


def test_every_kind_of_commitment_is_stored(aws_faults, acme_account):
    answer_inventory(
        aws_faults,
        plans=[
            savings_plan("sp-1"),
            savings_plan(
                "sp-2",
                savingsPlanType="EC2Instance",
                ec2InstanceFamily="m5",
                region="us-east-1",
                paymentOption="Partial Upfront",
                termDurationInSeconds=94608000,
                upfrontPaymentAmount="1000",
            ),
        ],
        ec2=[{"id": "ri-1"}],
        rds=[{"id": "rds-ri-1"}],
    )
    answer_explorer(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.SUCCEEDED, run.error
    assert run.commitments == 4
    rows = {c.commitment_id: c for c in Commitment.objects.filter(account=acme_account)}
    assert set(rows) == {"sp-1", "sp-2", "ri-1", "rds-ri-1"}
    compute = rows["sp-1"]
    assert (compute.kind, compute.plan_type, compute.term_years) == ("savings_plan", "Compute", 1)
    assert compute.payment_option == "no_upfront"
    assert compute.hourly_commitment == Decimal("2.5")
    assert compute.end == datetime(2027, 1, 1, tzinfo=UTC)
    family = rows["sp-2"]
    assert (family.plan_type, family.instance_family, family.term_years) == ("EC2Instance", "m5", 3)
    assert (family.payment_option, family.upfront_fee) == ("partial_upfront", Decimal(1000))
    ec2 = rows["ri-1"]
    assert (ec2.kind, ec2.instance_type, ec2.instance_count) == ("ec2_reserved", "m5.large", 2)
    assert (ec2.region, ec2.platform, ec2.term_years) == ("us-east-1", "Linux/UNIX", 3)
    # Prices are per instance in the answer; the row holds the reservation's (2 instances).
    assert (ec2.upfront_fee, ec2.recurring_hourly) == (Decimal(1200), Decimal("0.05"))
    rds = rows["rds-ri-1"]
    assert (rds.kind, rds.instance_type, rds.payment_option) == (
        "rds_reserved",
        "db.r5.large",
        "all_upfront",
    )
    assert rds.platform == "postgresql (Multi-AZ)"
    assert rds.end == datetime(2027, 6, 1, tzinfo=UTC)  # start + 1 year: RDS states no end
    assert run.problems == {} and run.notes == []


def test_savings_plans_pages_are_followed(aws_faults, acme_account):
    aws_faults.answer(
        "DescribeSavingsPlans", {"savingsPlans": [savings_plan("sp-1")], "nextToken": "page-2"}
    )
    aws_faults.answer("DescribeSavingsPlans", {"savingsPlans": [savings_plan("sp-2")]})
    aws_faults.answer_xml("DescribeReservedInstances", ec2_reservations_xml())
    aws_faults.answer_xml(
        "DescribeReservedDBInstances", rds_reservations_xml({"id": "a"}, marker="m2")
    )
    aws_faults.answer_xml("DescribeReservedDBInstances", rds_reservations_xml({"id": "b"}))
    answer_explorer(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    ids = set(Commitment.objects.values_list("commitment_id", flat=True))
    assert ids == {"sp-1", "sp-2", "a", "b"}
    assert aws_faults.calls["DescribeSavingsPlans"] == 2
    assert aws_faults.calls["DescribeReservedDBInstances"] == 2
    assert run.requests_made == 2 + 1 + 2 + 4 + 4


def test_a_missing_permission_names_it_and_the_other_parts_still_sync(aws_faults, acme_account):
    Commitment.objects.create(
        account=acme_account,
        kind="savings_plan",
        commitment_id="sp-old",
        term_years=1,
        payment_option="no_upfront",
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 1, tzinfo=UTC),
        state="active",
    )
    aws_faults.fail(
        "DescribeSavingsPlans",
        "AccessDeniedException",
        "User is not authorized to perform: savingsplans:DescribeSavingsPlans",
        status=403,
    )
    aws_faults.answer_xml("DescribeReservedInstances", ec2_reservations_xml({"id": "ri-1"}))
    aws_faults.fail("DescribeReservedDBInstances", "AccessDenied", "not authorized", status=403)
    answer_explorer(aws_faults)
    answer_recommendations(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert set(run.problems) == {
        "savingsplans:DescribeSavingsPlans",
        "rds:DescribeReservedDBInstances",
    }
    assert run.problems["savingsplans:DescribeSavingsPlans"].startswith(
        "savingsplans:DescribeSavingsPlans is not allowed by the role"
    )
    assert (
        "rds:DescribeReservedDBInstances is not allowed by the role in us-east-1"
        in (run.problems["rds:DescribeReservedDBInstances"])
    )
    # The reservations were read; the Savings Plans the role could not read are kept as they
    # were, not dropped as if they had ended.
    assert set(Commitment.objects.values_list("commitment_id", flat=True)) == {"sp-old", "ri-1"}
    assert run.days_stored == 60
    acme_account.refresh_from_db()
    assert "savingsplans:DescribeSavingsPlans is not allowed" in acme_account.last_error


def test_every_part_refused_is_a_failed_run_not_a_crash(aws_faults, acme_account):
    aws_faults.fail("DescribeSavingsPlans", "AccessDeniedException", "denied", status=403)
    aws_faults.fail("DescribeReservedInstances", "UnauthorizedOperation", "denied", status=403)
    aws_faults.fail("DescribeReservedDBInstances", "AccessDenied", "denied", status=403)
    for operation in (
        "GetSavingsPlansCoverage",
        "GetReservationCoverage",
        "GetSavingsPlansPurchaseRecommendation",
    ):
        aws_faults.fail(operation, "AccessDeniedException", "denied")

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.FAILED
    assert set(run.problems) == {
        "savingsplans:DescribeSavingsPlans",
        "ec2:DescribeReservedInstances",
        "rds:DescribeReservedDBInstances",
        "ce:GetSavingsPlansCoverage",
        "ce:GetReservationCoverage",
        "ce:GetSavingsPlansPurchaseRecommendation",
    }
    assert all("is not allowed by the role" in message for message in run.problems.values())
    assert run.finished_at is not None


def test_an_account_without_commitments_is_empty_and_succeeded(aws_faults, acme_account):
    answer_inventory(aws_faults)
    no_explorer_data(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.SUCCEEDED, run.problems
    assert (run.commitments, run.days_stored, run.problems) == (0, 0, {})
    assert not Commitment.objects.exists()
    assert any("no coverage data" in note for note in run.notes)


def test_a_commitment_in_another_currency_is_stored_with_it_and_flagged(aws_faults, acme_account):
    answer_inventory(
        aws_faults, plans=[savings_plan("sp-eur", currency="EUR")], ec2=[{"id": "ri-1"}]
    )
    answer_explorer(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    plan = Commitment.objects.get(commitment_id="sp-eur")
    assert plan.currency == "EUR" and plan.foreign_currency
    assert not Commitment.objects.get(commitment_id="ri-1").foreign_currency
    assert run.notes == [
        "sp-eur is billed in EUR: stored with its currency, never summed with USD figures."
    ]
    assert run.status == CommitmentSync.Status.SUCCEEDED


def test_resync_replaces_the_inventory_without_double_rows(aws_faults, acme_account):
    answer_inventory(
        aws_faults, plans=[savings_plan("sp-1"), savings_plan("sp-2")], ec2=[{"id": "ri-1"}]
    )
    answer_explorer(aws_faults)
    sync_account(acme_account, today=TODAY)

    first = Commitment.objects.get(commitment_id="sp-1")

    # sp-2 retired and dropped out of the answer; sp-1's commitment changed.
    answer_inventory(
        aws_faults, plans=[savings_plan("sp-1", commitment="3.0")], ec2=[{"id": "ri-1"}]
    )
    answer_explorer(aws_faults)
    run = sync_account(acme_account, today=TODAY)

    assert run.commitments == 2
    rows = Commitment.objects.filter(account=acme_account)
    assert sorted(rows.values_list("commitment_id", flat=True)) == ["ri-1", "sp-1"]
    again = rows.get(commitment_id="sp-1")
    assert again.hourly_commitment == Decimal("3.0")
    assert again.pk == first.pk  # updated in place: links to it stay valid


def test_an_unreadable_answer_is_a_problem_not_a_crash(aws_faults, acme_account):
    answer_inventory(aws_faults, plans=[savings_plan("sp-1", paymentOption="Pay Whenever")])
    answer_explorer(aws_faults)

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert (
        "unknown payment option 'Pay Whenever'"
        in (run.problems["savingsplans:DescribeSavingsPlans"])
    )
    assert not Commitment.objects.filter(kind="savings_plan").exists()
