"""When to raise which alert. Each rule raises an alert once per occurrence of its condition:

- budget: once per (budget, month, threshold, basis) crossed;
- cost spike: once per (account, service, day) judged a spike (alerts/spikes.py);
- idle instance: once per idle recommendation opened (again if it reopens later);
- savings digest: the rightsizing and waste recommendations opened since the last digest;
- sync failing: once per streak of SYNC_FAILURES failed cost syncs in a row.

The per-user cooldown (alerts/delivery.py) then rate-limits e-mails about the same subject.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import CloudAccount
from alerts import forecast, spikes
from alerts.delivery import Alert, already_raised, raise_alert, raising
from alerts.models import AlertEvent, AlertKind, Budget, BudgetThreshold
from costs import spend
from costs.models import Recommendation, SyncRun

SYNC_FAILURES = 3
DIGEST_LINES = 10
CENT = Decimal("0.01")


def usd(amount: Decimal) -> str:
    return f"${amount.quantize(CENT):,}"


def _admin(name: str, pk) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def budget_alerts(organization, today: date) -> list[Alert]:
    alerts = []
    month_start = today.replace(day=1)
    budgets = Budget.objects.filter(organization=organization, active=True).select_related(
        "account"
    )
    for budget in budgets.prefetch_related("thresholds"):
        daily = spend.daily_totals(
            organization, month_start, today + timedelta(days=1), budget.account
        )
        outlook = forecast.month_end_forecast(daily, today)
        for threshold in budget.thresholds.all():
            limit = budget.monthly_amount * threshold.percent / 100
            basis = threshold.basis
            value = outlook.actual if basis == BudgetThreshold.Basis.ACTUAL else outlook.forecast
            if value is None or value < limit:
                continue
            subject = f"budget:{budget.pk}:{month_start:%Y-%m}:{threshold.percent}:{basis}"
            if already_raised(organization, AlertKind.BUDGET, subject):
                continue
            scope = budget.account.name if budget.account else organization.name
            what = "spent" if basis == BudgetThreshold.Basis.ACTUAL else "forecast to spend"
            alerts.append(
                Alert(
                    organization,
                    AlertKind.BUDGET,
                    subject,
                    f"Budget {budget.name}: {threshold.percent}% "
                    f"{'reached' if basis == 'actual' else 'forecast'} ({scope})",
                    [
                        f"{scope} has {what} {usd(value)} in {month_start:%B %Y}: past "
                        f"{threshold.percent}% ({usd(limit)}) of its {usd(budget.monthly_amount)} "
                        "budget.",
                    ],
                    {
                        "budget": budget.name,
                        "monthly_amount": str(budget.monthly_amount),
                        "threshold_percent": threshold.percent,
                        "basis": basis,
                        **outlook.evidence(),
                    },
                    _admin("alerts_budget", budget.pk),
                )
            )
    return alerts


def spike_alerts(organization, today: date) -> list[Alert]:
    day = today - timedelta(days=1)
    series = spend.daily_by_service(
        organization, day - timedelta(days=spikes.BASELINE_DAYS), day + timedelta(days=1)
    )
    alerts = []
    for spike in spikes.find_spikes(series, day):
        subject = f"spike:{spike.sub_account_id}:{spike.service}:{day.isoformat()}"
        if already_raised(organization, AlertKind.COST_SPIKE, subject):
            continue
        alerts.append(
            Alert(
                organization,
                AlertKind.COST_SPIKE,
                subject,
                f"Cost spike: {spike.service} in {spike.sub_account_id} on {day:%d %b}",
                [
                    f"{spike.service} cost {usd(spike.cost)} on {day.isoformat()} against a "
                    f"median of {usd(spike.baseline_median)} over the previous 14 days "
                    f"(+{usd(spike.increase)}).",
                ],
                spike.evidence(),
                reverse("admin:costs_costrecord_changelist")
                + f"?service={spike.service}&usage_date={day.isoformat()}",
            )
        )
    return alerts


def idle_alerts(organization) -> list[Alert]:
    alerts = []
    recs = Recommendation.objects.filter(
        account__organization=organization,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        status=Recommendation.Status.OPEN,
    ).select_related("account")
    for rec in recs:
        subject = f"instance:{rec.account.account_id}:{rec.resource_id}"
        if already_raised(organization, AlertKind.IDLE_INSTANCE, subject, since=rec.created_at):
            continue
        alerts.append(
            Alert(
                organization,
                AlertKind.IDLE_INSTANCE,
                subject,
                f"Idle instance {rec.resource_id} in {rec.account.name}: "
                f"save {usd(rec.monthly_saving)}/month",
                [
                    rec.summary,
                    rec.action,
                    f"Estimated saving: {usd(rec.monthly_saving)} a month "
                    f"({rec.get_saving_basis_display()}).",
                ],
                {
                    "instance": rec.resource_id,
                    "account": rec.account.account_id,
                    "region": rec.region,
                    "monthly_saving": str(rec.monthly_saving),
                    "saving_basis": rec.saving_basis,
                    **{k: v for k, v in rec.evidence.items() if not isinstance(v, dict | list)},
                },
                _admin("costs_recommendation", rec.pk),
            )
        )
    return alerts


def savings_digest(organization) -> list[Alert]:
    subject = f"digest:{organization.slug}"
    last = AlertEvent.objects.filter(
        organization=organization, kind=AlertKind.SAVINGS_DIGEST, subject=subject
    ).aggregate(last=Max("created_at"))["last"]
    recs = Recommendation.objects.filter(
        account__organization=organization, status=Recommendation.Status.OPEN
    ).exclude(kind__in=[Recommendation.Kind.IDLE_INSTANCE, Recommendation.Kind.IDLE_ASG_MEMBER])
    if last:
        recs = recs.filter(created_at__gt=last)
    recs = recs.select_related("account").order_by("-monthly_saving")
    total = recs.aggregate(total=Sum("monthly_saving"))["total"]
    if not total and not recs.exists():
        return []
    top = list(recs[:DIGEST_LINES])
    count = recs.count()
    lines = [f"{usd(r.monthly_saving)}/month: {r.summary}" for r in top]
    if count > len(top):
        lines.append(f"... and {count - len(top)} more in the admin.")
    return [
        Alert(
            organization,
            AlertKind.SAVINGS_DIGEST,
            subject,
            f"{count} new savings worth {usd(total or Decimal(0))}/month",
            lines,
            {"recommendations": count, "monthly_saving_total": str(total or Decimal(0))},
            reverse("admin:costs_recommendation_changelist") + "?status__exact=open",
        )
    ]


def sync_failure_alerts(organization) -> list[Alert]:
    alerts = []
    for account in CloudAccount.objects.filter(organization=organization, is_active=True):
        runs = list(
            SyncRun.objects.filter(account=account)
            .exclude(status__in=[SyncRun.Status.RUNNING, SyncRun.Status.SKIPPED])
            .order_by("-started_at")[:SYNC_FAILURES]
        )
        if len(runs) < SYNC_FAILURES or any(r.status != SyncRun.Status.FAILED for r in runs):
            continue
        subject = f"sync:{account.account_id}"
        if already_raised(organization, AlertKind.SYNC_FAILING, subject, since=runs[-1].started_at):
            continue
        alerts.append(
            Alert(
                organization,
                AlertKind.SYNC_FAILING,
                subject,
                f"Cost sync failing for {account.name} ({account.account_id})",
                [
                    f"The last {SYNC_FAILURES} cost syncs failed. Latest error: {runs[0].error}",
                    "Check the role and its trust policy with Test connection.",
                ],
                {
                    "account": account.account_id,
                    "failed_runs": SYNC_FAILURES,
                    "latest_error": runs[0].error[:500],
                },
                _admin("accounts_cloudaccount", account.pk),
            )
        )
    return alerts


# Both checks run in the organisation's raising() turn: two runs that overlap (the schedule and
# a command, a slow run and the next, a re-delivered task) take turns, so the second sees what
# the first raised instead of raising it again.


def check_budgets(organization, today: date | None = None) -> int:
    today = today or timezone.localdate()
    with raising(organization):
        return sum(len(raise_alert(a)) for a in budget_alerts(organization, today))


def check_alerts(organization, today: date | None = None) -> int:
    """Every rule but budgets; returns the events raised."""
    today = today or timezone.localdate()
    with raising(organization):
        found = (
            idle_alerts(organization)
            + savings_digest(organization)
            + spike_alerts(organization, today)
            + sync_failure_alerts(organization)
        )
        return sum(len(raise_alert(a)) for a in found)
