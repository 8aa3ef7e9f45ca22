"""Commitment alerts (issue 18): expiring at 90/30/7 days, underused for N days, coverage dropping;
raised once per occurrence, to the organisation's own members, through the usual cooldown."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Profile
from alerts import tasks
from alerts.commitments import check_commitments, commitment_alerts
from alerts.delivery import Alert, _record, deliver_pending
from alerts.models import AlertEvent, AlertKind, Cooldown
from commitments import report
from commitments.models import Commitment, CommitmentDay

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)
EXPLORER = CommitmentDay.Source.EXPLORER


def plan(account, commitment_id="sp-1", *, ends_in: int, **extra):
    end = datetime.combine(TODAY + timedelta(days=ends_in), datetime.min.time(), tzinfo=UTC)
    fields = {
        "kind": Commitment.Kind.SAVINGS_PLAN,
        "plan_type": "Compute",
        "term_years": 1,
        "payment_option": Commitment.PaymentOption.NO_UPFRONT,
        "hourly_commitment": Decimal("2.5"),
        "start": end - timedelta(days=365),
        "end": end,
        "state": "active",
        **extra,
    }
    return Commitment.objects.create(account=account, commitment_id=commitment_id, **fields)


def days(account, figures, *, field, kind=CommitmentDay.Kind.SAVINGS_PLAN, last=TODAY):
    """One CommitmentDay per figure, the last one on LAST (None: a day without that figure)."""
    first = last - timedelta(days=len(figures) - 1)
    for n, value in enumerate(figures):
        CommitmentDay.objects.create(
            account=account,
            day=first + timedelta(days=n),
            kind=kind,
            source=EXPLORER,
            unused_commitment=Decimal("1.5"),
            **{field: None if value is None else Decimal(value)},
        )


def kinds_raised(org, kind, today=TODAY):
    return [a.subject for a in commitment_alerts(org, today) if a.kind == kind]


def subjects(kind):
    return sorted(set(AlertEvent.objects.filter(kind=kind).values_list("subject", flat=True)))


class TestExpiring:
    @pytest.mark.parametrize("left, threshold", [(90, 90), (30, 30), (7, 7), (45, 90), (3, 7)])
    def test_the_nearest_threshold_crossed(self, acme, acme_account, left, threshold):
        plan(acme_account, ends_in=left)

        assert kinds_raised(acme, AlertKind.COMMITMENT_EXPIRING) == [
            f"expiring:111111111111:sp-1:{threshold}"
        ]

    def test_not_at_91_days_nor_once_ended_nor_when_retired(self, acme, acme_account):
        plan(acme_account, "sp-far", ends_in=91)
        plan(acme_account, "sp-ended", ends_in=-1)
        plan(acme_account, "sp-retired", ends_in=10, state="retired")

        assert kinds_raised(acme, AlertKind.COMMITMENT_EXPIRING) == []

    def test_once_per_threshold_over_the_commitments_last_90_days(self, alice, acme, acme_account):
        plan(acme_account, ends_in=95)
        raised = []
        for n in range(96):
            # Each day checked twice: the second run of a day raises nothing.
            today = TODAY + timedelta(days=n)
            raised.append(check_commitments(acme, today))
            assert check_commitments(acme, today) == 0

        assert subjects(AlertKind.COMMITMENT_EXPIRING) == [
            "expiring:111111111111:sp-1:30",
            "expiring:111111111111:sp-1:7",
            "expiring:111111111111:sp-1:90",
        ]
        # Day 5 (90 left), day 65 (30 left), day 88 (7 left): one event for alice each.
        assert [n for n, count in enumerate(raised) if count] == [5, 65, 88]
        assert AlertEvent.objects.count() == 3

    def test_the_message_states_the_figures_and_the_renewal(self, acme, acme_account):
        plan(acme_account, ends_in=30, instance_family="", plan_type="Compute")

        (alert,) = commitment_alerts(acme, TODAY)

        text = " ".join(alert.lines)
        assert "1-year No Upfront Compute Savings Plan committing $2.500 an hour" in text
        assert "Renew at the same hourly commitment or review the recommendation in the admin" in (
            text
        )
        assert "no renewal size could be computed" in text  # no coverage figures at all
        assert alert.evidence["days_left"] == 30
        assert alert.evidence["hourly_commitment"] == "$2.500"

    def test_the_renewal_is_sized_on_the_coverage_figures(self, acme, acme_account):
        plan(acme_account, ends_in=30, plan_type="Compute")
        # Three weeks of $40 covered and $20 on demand a day: $2.50 an hour once the plan ends.
        for n in range(21):
            CommitmentDay.objects.create(
                account=acme_account,
                day=TODAY - timedelta(days=n + 1),
                kind=CommitmentDay.Kind.SAVINGS_PLAN,
                source=EXPLORER,
                covered_spend=Decimal(40),
                on_demand_spend=Decimal(20),
            )

        (alert,) = commitment_alerts(acme, TODAY)

        text = " ".join(alert.lines)
        assert "Sized on 21 days of daily coverage figures spread flat" in text
        # A flat $2.50 an hour is covered whole, at the chosen plan's discount.
        best = report.renewal(Commitment.objects.get(commitment_id="sp-1"), TODAY).recommendation
        assert best.best.plan.plan_type == "compute"  # renewed as the same kind of plan
        assert f"renew with a {best.best.plan.label} of ${best.best.hourly_commitment:,.3f}" in text
        assert best.best.hourly_commitment == pytest.approx(2.5 * (1 - best.best.plan.discount))
        assert "100.0% expected utilization" in text

    def test_no_renewal_size_beside_another_savings_plan(self, acme, acme_account):
        plan(acme_account, ends_in=30)
        plan(acme_account, "sp-2", ends_in=400)
        for n in range(21):
            CommitmentDay.objects.create(
                account=acme_account,
                day=TODAY - timedelta(days=n + 1),
                kind=CommitmentDay.Kind.SAVINGS_PLAN,
                source=EXPLORER,
                covered_spend=Decimal(40),
                on_demand_spend=Decimal(20),
            )

        (alert,) = commitment_alerts(acme, TODAY)

        assert "another Savings Plan shares the account's coverage" in " ".join(alert.lines)

    def test_a_reservation_names_what_to_renew(self, acme, acme_account):
        plan(
            acme_account,
            "ri-1",
            ends_in=7,
            kind=Commitment.Kind.EC2_RESERVED,
            hourly_commitment=None,
            instance_type="m5.large",
            instance_count=4,
            platform="Linux/UNIX",
            region="eu-west-1",
            recurring_hourly=Decimal("0.24"),
            currency="EUR",
        )

        (alert,) = commitment_alerts(acme, TODAY)

        assert (
            "reservation of 4 x m5.large (Linux/UNIX) in eu-west-1, 0.240 EUR an hour"
            in (alert.lines[1])
        )


class TestUnderused:
    def test_three_low_days_in_a_row_alert_once(self, alice, acme, acme_account):
        days(acme_account, ["99", "80", "90", "94.9"], field="utilization_percent")

        assert check_commitments(acme, TODAY) == 1
        assert check_commitments(acme, TODAY) == 0
        assert check_commitments(acme, TODAY + timedelta(days=1)) == 0

        (event,) = AlertEvent.objects.filter(kind=AlertKind.COMMITMENT_UNDERUSED)
        assert event.subject == f"underused:111111111111:savings_plan:{TODAY - timedelta(days=2)}"
        assert event.evidence["days_below"] == 3
        assert "80.0%, 90.0%, 94.9%" in event.evidence["lines"][0]

    def test_two_low_days_are_not_enough_and_95_is_not_low(self, acme, acme_account):
        days(acme_account, ["80", "95", "80", "80"], field="utilization_percent")

        assert kinds_raised(acme, AlertKind.COMMITMENT_UNDERUSED) == []

    def test_a_day_without_figures_neither_counts_nor_breaks_the_streak(self, acme, acme_account):
        # Two low days, a day without a figure, a low day: three low days in a row with figures.
        days(acme_account, ["99", "80", "80", None, "80"], field="utilization_percent")
        assert kinds_raised(acme, AlertKind.COMMITMENT_UNDERUSED) == [
            f"underused:111111111111:savings_plan:{TODAY - timedelta(days=3)}"
        ]

    def test_a_day_without_figures_does_not_make_a_third_low_day(self, acme, acme_account):
        days(acme_account, ["99", "80", None, "80"], field="utilization_percent")

        assert kinds_raised(acme, AlertKind.COMMITMENT_UNDERUSED) == []

    def test_the_threshold_and_days_are_settings(self, acme, acme_account, settings):
        settings.COMMITMENT_UTILIZATION_ALERT_PERCENT = 85
        settings.COMMITMENT_UNDERUSED_DAYS = 2
        days(acme_account, ["99", "90", "84", "84"], field="utilization_percent")

        assert len(kinds_raised(acme, AlertKind.COMMITMENT_UNDERUSED)) == 1

    def test_a_new_streak_after_a_good_day_alerts_again(self, alice, acme, acme_account):
        days(acme_account, ["80", "80", "80"], field="utilization_percent", last=TODAY)
        check_commitments(acme, TODAY)
        for n, value in enumerate(["99", "80", "80", "80"], start=1):
            CommitmentDay.objects.create(
                account=acme_account,
                day=TODAY + timedelta(days=n),
                kind=CommitmentDay.Kind.SAVINGS_PLAN,
                source=EXPLORER,
                utilization_percent=Decimal(value),
            )

        check_commitments(acme, TODAY + timedelta(days=4))

        assert len(subjects(AlertKind.COMMITMENT_UNDERUSED)) == 2

    def test_per_kind_and_only_cost_explorer_figures(self, acme, acme_account):
        days(acme_account, ["80", "80", "80"], field="utilization_percent")
        days(
            acme_account,
            ["99", "99", "99"],
            field="utilization_percent",
            kind=CommitmentDay.Kind.RESERVATION,
        )
        for n in range(3):
            CommitmentDay.objects.create(
                account=acme_account,
                day=TODAY - timedelta(days=n),
                kind=CommitmentDay.Kind.RESERVATION,
                source=CommitmentDay.Source.FOCUS,
                utilization_percent=Decimal("10"),
            )

        assert kinds_raised(acme, AlertKind.COMMITMENT_UNDERUSED) == [
            f"underused:111111111111:savings_plan:{TODAY - timedelta(days=2)}"
        ]


class TestCoverageDropping:
    def test_a_drop_of_more_than_ten_points_alerts_once(self, alice, acme, acme_account):
        # The 7 days before average 80 %, the last 3 average 65 %: down 15 points.
        days(acme_account, ["80"] * 7 + ["70", "65", "60"], field="coverage_percent")

        assert check_commitments(acme, TODAY) == 1
        assert check_commitments(acme, TODAY) == 0

        (event,) = AlertEvent.objects.filter(kind=AlertKind.COVERAGE_DROPPING)
        assert event.subject == f"coverage:111111111111:savings_plan:{TODAY}"
        assert event.evidence["drop_points"] == "15.0"
        assert event.evidence["coverage_percent"] == "65.0"
        assert event.evidence["previous_7_day_coverage_percent"] == "80.0"

    def test_ten_points_is_not_more_than_ten(self, acme, acme_account):
        days(acme_account, ["80"] * 7 + ["70", "70", "70"], field="coverage_percent")

        assert kinds_raised(acme, AlertKind.COVERAGE_DROPPING) == []

    def test_the_same_drop_the_next_day_is_the_same_episode(self, alice, acme, acme_account):
        days(acme_account, ["80"] * 7 + ["60", "60", "60"], field="coverage_percent")
        check_commitments(acme, TODAY)
        CommitmentDay.objects.create(
            account=acme_account,
            day=TODAY + timedelta(days=1),
            kind=CommitmentDay.Kind.SAVINGS_PLAN,
            source=EXPLORER,
            coverage_percent=Decimal("60"),
        )

        assert check_commitments(acme, TODAY + timedelta(days=1)) == 0
        assert len(subjects(AlertKind.COVERAGE_DROPPING)) == 1

    def test_too_few_figures_are_no_basis(self, acme, acme_account):
        days(acme_account, [None] * 7 + ["60", "60", "60"], field="coverage_percent")

        assert kinds_raised(acme, AlertKind.COVERAGE_DROPPING) == []


class TestTenantsAndDelivery:
    def test_another_organisations_commitments_never_alert_acme(
        self, alice, charlie, acme, globex, globex_account
    ):
        plan(globex_account, ends_in=7)
        days(globex_account, ["80"] * 7 + ["10", "10", "10"], field="utilization_percent")
        days(
            globex_account,
            ["80"] * 7 + ["10", "10", "10"],
            field="coverage_percent",
            kind=CommitmentDay.Kind.RESERVATION,
        )

        assert check_commitments(acme, TODAY) == 0
        assert check_commitments(globex, TODAY) == 3
        assert set(AlertEvent.objects.values_list("recipient__username", flat=True)) == {"charlie"}
        assert set(AlertEvent.objects.values_list("organization__slug", flat=True)) == {"globex"}

    def test_delivered_once_within_the_cooldown_with_the_admin_link(
        self, alice, bob, acme, acme_account, settings
    ):
        settings.SITE_URL = "https://spendlens.example.com"
        alice.is_staff = True
        alice.save()
        alice.user_permissions.add(Permission.objects.get(codename="view_commitment"))
        commitment = plan(acme_account, ends_in=30)
        check_commitments(acme, TODAY)

        assert deliver_pending() == {"sent": 2}
        by_address = {m.to[0]: m for m in mail.outbox}
        admin = reverse("admin:commitments_commitment_change", args=[commitment.pk])
        assert f"https://spendlens.example.com{admin}" in by_address["alice@example.com"].body
        assert admin not in by_address["bob@example.com"].body
        assert Cooldown.objects.filter(kind=AlertKind.COMMITMENT_EXPIRING).count() == 2

        # The same subject raised again (a rule run that bypassed the dedup) is suppressed by
        # the cooldown, not e-mailed twice.
        _record(
            Alert(acme, AlertKind.COMMITMENT_EXPIRING, "expiring:111111111111:sp-1:30", "again"),
            now=commitment.fetched_at,
        )
        assert deliver_pending() == {"suppressed": 2}
        assert len(mail.outbox) == 2

    def test_muted_kind_is_skipped(self, alice, acme, acme_account):
        profile = Profile.for_user(alice)
        profile.muted_alert_kinds = [AlertKind.COMMITMENT_EXPIRING]
        profile.save()
        plan(acme_account, ends_in=7)

        check_commitments(acme, TODAY)

        assert AlertEvent.objects.get().status == AlertEvent.Status.SKIPPED

    @time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=False)
    def test_the_budget_schedule_and_command_check_commitments(self, alice, acme, acme_account):
        plan(acme_account, ends_in=7)

        assert tasks.check_budgets_all()["raised"] == 1
        call_command("check_budgets")

        assert AlertEvent.objects.filter(kind=AlertKind.COMMITMENT_EXPIRING).count() == 1
        assert len(mail.outbox) == 1
