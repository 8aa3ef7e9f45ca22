"""When alerts are raised: budgets, spikes, idle instances, the savings digest, failing syncs."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import CloudAccount
from alerts import rules
from alerts.models import AlertEvent, AlertKind, Budget, BudgetThreshold
from costs.models import CostRecord, SyncRun
from findings.models import Recommendation

TODAY = date(2026, 11, 23)


def spend(
    account,
    day,
    amount,
    service="Amazon EC2",
    source="explorer",
    metric="unblended",
    estimated=False,
):
    CostRecord.objects.create(
        estimated=estimated,
        organization=account.organization,
        account=account,
        source=source,
        metric=metric,
        sub_account_id=account.account_id,
        usage_date=day,
        service=service,
        region="us-east-1",
        amount=Decimal(amount),
    )


def month_of_spend(account, per_day, until=TODAY):
    for n in range(until.day):
        spend(account, until.replace(day=n + 1), per_day)


def other_account(organization, account_id):
    return CloudAccount.objects.create(
        organization=organization,
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/SpendlensAccess",
        regions=["us-east-1"],
    )


@pytest.fixture
def budget(acme):
    budget = Budget.objects.create(organization=acme, name="Acme total", monthly_amount=1000)
    budget.ensure_thresholds()
    return budget


class TestBudgets:
    def test_default_thresholds(self, budget):
        assert [(t.percent, t.basis) for t in budget.thresholds.all()] == [
            (50, "actual"),
            (80, "actual"),
            (100, "actual"),
            (100, "forecast"),
        ]

    def test_crossed_thresholds_alert_once_per_month(self, alice, acme, acme_account, budget):
        # 23 days x $30 = $690 actual (50% crossed, not 80%); forecast 22 x 30 + 30 x 8 = 900.
        month_of_spend(acme_account, "30")

        alerts = rules.budget_alerts(acme, TODAY)

        assert [a.subject for a in alerts] == [f"budget:{budget.pk}:2026-11:50:actual"]
        assert alerts[0].evidence["actual_month_to_date"] == "690.00"
        assert alerts[0].evidence["forecast_month_end"] == "900.00"
        rules.check_budgets(acme, TODAY)
        assert rules.budget_alerts(acme, TODAY) == []

    def test_forecast_threshold(self, alice, acme, acme_account, budget):
        # $40/day: actual 920 (50% and 80%), forecast 22 x 40 + 40 x 8 = 1200 (100% forecast).
        month_of_spend(acme_account, "40")

        subjects = {a.subject for a in rules.budget_alerts(acme, TODAY)}

        assert subjects == {
            f"budget:{budget.pk}:2026-11:50:actual",
            f"budget:{budget.pk}:2026-11:80:actual",
            f"budget:{budget.pk}:2026-11:100:forecast",
        }

    def test_the_forecast_threshold_counts_each_day_at_its_weekday_rate(self, acme, acme_account):
        # Monday 23 November 2026. The 28 complete days before it (26 October - 22 November) cost
        # $40 on weekdays and $10 at weekends.
        day = date(2026, 10, 26)
        while day < TODAY:
            spend(acme_account, day, "10" if day.weekday() >= 5 else "40")
            day += timedelta(days=1)
        budget = Budget.objects.create(organization=acme, name="Acme", monthly_amount=920)
        budget.ensure_thresholds()

        alerts = rules.budget_alerts(acme, TODAY)

        # 1-22 November: 15 weekdays x 40 + 7 weekend days x 10 = 670 spent (past 50% of 920).
        # 23-30 November: 6 weekdays and 2 weekend days: 670 + 6 x 40 + 2 x 10 = 930, past
        # 100% of 920. (The run rate, 670 / 22 x 30 = 913.64, would not be.)
        assert sorted(a.subject for a in alerts) == [
            f"budget:{budget.pk}:2026-11:100:forecast",
            f"budget:{budget.pk}:2026-11:50:actual",
        ]
        assert alerts[0].evidence["forecast_month_end"] == "930.00"
        assert alerts[0].evidence["weekday_rates"].startswith("Mon $40.00, Tue $40.00")

    def test_an_account_budget_counts_only_that_account(self, acme, acme_account, globex):
        other = other_account(acme, "222222222222")
        month_of_spend(other, "100")
        budget = Budget.objects.create(
            organization=acme, account=acme_account, name="prod", monthly_amount=10
        )
        BudgetThreshold.objects.create(budget=budget, percent=100)

        assert rules.budget_alerts(acme, TODAY) == []

    def test_the_billing_export_is_not_added_to_cost_explorer(self, acme, acme_account, budget):
        month_of_spend(acme_account, "30")
        for n in range(TODAY.day):
            spend(acme_account, TODAY.replace(day=n + 1), "30", source="focus", metric="billed")

        # Counted twice it would be $1,380 and cross 80% and 100% too.
        (alert,) = rules.budget_alerts(acme, TODAY)

        assert alert.evidence["actual_month_to_date"] == "690.00"

    def test_another_organisations_costs_do_not_count(self, acme, globex, budget):
        theirs = other_account(globex, "333333333333")
        month_of_spend(theirs, "1000")

        assert rules.budget_alerts(acme, TODAY) == []

    def test_budget_for_an_account_of_another_organisation_is_invalid(self, acme, globex):
        theirs = other_account(globex, "333333333333")
        budget = Budget(organization=acme, account=theirs, name="x", monthly_amount=5)

        with pytest.raises(ValidationError, match="another organisation"):
            budget.full_clean()


def test_spike_rule_reads_yesterday_against_two_weeks(alice, acme, acme_account):
    yesterday = TODAY - timedelta(days=1)
    for n in range(1, 15):
        spend(acme_account, yesterday - timedelta(days=n), "100", service="Amazon RDS")
    spend(acme_account, yesterday, "260", service="Amazon RDS")
    spend(acme_account, yesterday, "101", service="Amazon EC2")
    for n in range(1, 15):
        spend(acme_account, yesterday - timedelta(days=n), "100", service="Amazon EC2")

    (alert,) = rules.spike_alerts(acme, TODAY)

    assert alert.subject == "spike:111111111111:Amazon RDS:2026-11-22"
    assert alert.evidence["increase"] == "160.00"
    rules.check_alerts(acme, TODAY)
    assert rules.spike_alerts(acme, TODAY) == []


def steady(account, first, last, amount="100", service="Amazon RDS", spikes=None):
    """ACCOUNT's SERVICE at AMOUNT a day FIRST..LAST, but SPIKES {day: amount} on those days."""
    day = first
    while day <= last:
        spend(account, day, (spikes or {}).get(day, amount), service=service)
        day += timedelta(days=1)


def spike_subjects(organization, today):
    return [a.subject for a in rules.spike_alerts(organization, today)]


def raised_spikes():
    events = AlertEvent.objects.filter(kind=AlertKind.COST_SPIKE)
    return sorted(set(events.values_list("subject", flat=True)))


class TestSpikeChecks:
    """Each check judges the complete days since the last one, 7 at most."""

    def test_a_first_check_judges_the_last_seven_complete_days(self, acme, acme_account):
        # A runaway job five days ago, and an older one eight days ago (outside the 7 days).
        spikes = {date(2026, 11, 18): "400", date(2026, 11, 15): "400"}
        steady(acme_account, date(2026, 10, 20), date(2026, 11, 22), spikes=spikes)

        assert spike_subjects(acme, TODAY) == ["spike:111111111111:Amazon RDS:2026-11-18"]

    def test_a_check_after_a_pause_judges_every_day_since_the_last(self, alice, acme, acme_account):
        steady(acme_account, date(2026, 10, 20), date(2026, 11, 22))
        assert rules.check_alerts(acme, TODAY) == 0  # judged 16-22 November: nothing
        # The worker was down for three days; meanwhile two spikes.
        spikes = {date(2026, 11, 23): "400", date(2026, 11, 25): "300"}
        steady(acme_account, date(2026, 11, 23), date(2026, 11, 26), spikes=spikes)

        rules.check_alerts(acme, date(2026, 11, 27))

        assert raised_spikes() == [
            "spike:111111111111:Amazon RDS:2026-11-23",
            "spike:111111111111:Amazon RDS:2026-11-25",
        ]
        # Judging again raises nothing twice.
        assert rules.check_alerts(acme, date(2026, 11, 27)) == 0
        assert rules.check_alerts(acme, date(2026, 11, 28)) == 0

    def test_days_judged_on_final_figures_are_not_judged_again(self, alice, acme, acme_account):
        steady(acme_account, date(2026, 10, 20), date(2026, 11, 22))
        rules.check_alerts(acme, TODAY)
        # A billing correction lands on 20 November, a day judged on final figures.
        CostRecord.objects.filter(usage_date=date(2026, 11, 20)).update(amount=Decimal(400))
        steady(acme_account, date(2026, 11, 23), date(2026, 11, 23))

        assert spike_subjects(acme, date(2026, 11, 24)) == []

    def test_estimated_days_are_judged_again_until_final(self, alice, acme, acme_account):
        steady(acme_account, date(2026, 10, 20), date(2026, 11, 20))
        # Cost Explorer's figures for the 21st and 22nd are still estimates (partial).
        for day in (date(2026, 11, 21), date(2026, 11, 22)):
            spend(acme_account, day, "100", service="Amazon RDS", estimated=True)
        rules.check_alerts(acme, TODAY)
        # The final figure for the 21st is four times the estimate.
        CostRecord.objects.filter(usage_date=date(2026, 11, 21)).update(
            amount=Decimal(400), estimated=False
        )
        CostRecord.objects.filter(usage_date=date(2026, 11, 22)).update(estimated=False)
        steady(acme_account, date(2026, 11, 23), date(2026, 11, 23))

        rules.check_alerts(acme, date(2026, 11, 24))

        assert raised_spikes() == ["spike:111111111111:Amazon RDS:2026-11-21"]

    def test_an_account_that_reports_late_is_judged_when_its_costs_arrive(
        self, alice, acme, acme_account
    ):
        late = other_account(acme, "222222222222")
        steady(acme_account, date(2026, 10, 20), date(2026, 11, 22), service="Amazon EC2")
        # The second account's sync has been failing since the 19th.
        steady(late, date(2026, 10, 20), date(2026, 11, 19))
        rules.check_alerts(acme, TODAY)
        # Its sync recovers: 20-23 November arrive, with a spike on the 21st.
        steady(late, date(2026, 11, 20), date(2026, 11, 23), spikes={date(2026, 11, 21): "400"})
        steady(acme_account, date(2026, 11, 23), date(2026, 11, 23), service="Amazon EC2")

        rules.check_alerts(acme, date(2026, 11, 24))

        assert raised_spikes() == ["spike:222222222222:Amazon RDS:2026-11-21"]

    def test_a_long_pause_looks_back_seven_days_at_most(self, alice, acme, acme_account):
        steady(acme_account, date(2026, 10, 1), date(2026, 11, 1))
        rules.check_alerts(acme, date(2026, 11, 2))
        spikes = {date(2026, 11, 10): "400", date(2026, 11, 20): "400"}
        steady(acme_account, date(2026, 11, 2), date(2026, 11, 22), spikes=spikes)

        rules.check_alerts(acme, TODAY)

        # 16-22 November were judged; the 10th is too old to alert about now.
        assert raised_spikes() == ["spike:111111111111:Amazon RDS:2026-11-20"]

    def test_each_organisation_keeps_its_own_checks(self, alice, charlie, acme, globex):
        ours = other_account(acme, "111111111111")
        theirs = other_account(globex, "333333333333")
        steady(ours, date(2026, 10, 20), date(2026, 11, 22))
        steady(theirs, date(2026, 10, 20), date(2026, 11, 22), spikes={date(2026, 11, 18): "400"})
        rules.check_alerts(acme, TODAY)  # acme's check says nothing of globex's days

        rules.check_alerts(globex, TODAY)

        assert raised_spikes() == ["spike:333333333333:Amazon RDS:2026-11-18"]
        assert set(AlertEvent.objects.values_list("organization", flat=True)) == {globex.pk}


def recommendation(account, kind, resource, saving="50.00", **extra):
    return Recommendation.objects.create(
        account=account,
        kind=kind,
        resource_id=resource,
        region="us-east-1",
        summary=f"{resource} summary",
        action="Do it.",
        monthly_saving=Decimal(saving),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        evidence={"avg_cpu": 0.4},
        **extra,
    )


def test_an_idle_instance_is_alerted_once(alice, acme, acme_account):
    recommendation(acme_account, Recommendation.Kind.IDLE_INSTANCE, "i-0idle", "60.74")

    assert rules.check_alerts(acme, TODAY) == 1
    assert rules.check_alerts(acme, TODAY) == 0
    call_command("send_alerts", "--org", "acme")
    (message,) = mail.outbox
    assert "i-0idle" in message.subject and "$60.74" in message.subject


def test_savings_digest_lists_new_recommendations_since_the_last_one(alice, acme, acme_account):
    recommendation(acme_account, Recommendation.Kind.RIGHTSIZE, "i-0big", "140.16")
    recommendation(acme_account, Recommendation.Kind.GP2_VOLUME, "vol-0gp2", "2.00")

    (digest,) = rules.savings_digest(acme)
    assert digest.title == "2 new savings worth $142.16/month"
    assert digest.lines[0].startswith("$140.16/month")
    rules.check_alerts(acme, TODAY)

    assert rules.savings_digest(acme) == []


def test_three_failed_syncs_in_a_row_alert_once(alice, acme, acme_account):
    for n in range(3):
        SyncRun.objects.create(account=acme_account, status="failed", error=f"AccessDenied {n}")

    (alert,) = rules.sync_failure_alerts(acme)
    assert "AccessDenied 2" in alert.lines[0]
    rules.check_alerts(acme, TODAY)
    assert rules.sync_failure_alerts(acme) == []


def test_a_success_in_between_means_no_alert(alice, acme, acme_account):
    for status in ("failed", "succeeded", "failed", "failed"):
        SyncRun.objects.create(account=acme_account, status=status, finished_at=None)

    assert rules.sync_failure_alerts(acme) == []


def test_commands_reject_an_unknown_organisation(db):
    for command in ("check_budgets", "send_alerts"):
        with pytest.raises(CommandError, match="No organisation"):
            call_command(command, "--org", "nope")


@time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=False)
def test_check_budgets_command_sends(alice, acme, acme_account, budget, capsys):
    month_of_spend(acme_account, "30")

    call_command("check_budgets")

    assert AlertEvent.objects.filter(kind=AlertKind.BUDGET, status="sent").exists()
    assert "budget alert(s) raised" in capsys.readouterr().out
