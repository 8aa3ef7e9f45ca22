"""When to raise which alert. Each rule raises an alert once per occurrence of its condition:

- budget: once per (budget, month, threshold, basis) crossed;
- cost spike: once per (account, service, day) judged a spike (alerts/spikes.py), judging
  every complete day since the last check, 7 at most;
- idle instance: once per idle recommendation opened (again if it reopens later);
- savings digest: the rightsizing and waste recommendations opened since the last digest;
- sync failing: once per streak of SYNC_FAILURES failed cost syncs in a row.

The per-user cooldown (alerts/delivery.py) then rate-limits e-mails about the same subject.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import CloudAccount
from alerts import forecast, spikes
from alerts.delivery import Alert, already_raised, raise_alert, raising
from alerts.models import AlertEvent, AlertKind, Budget, BudgetThreshold, SpikeCheck
from allocation import summary as allocation_summary
from allocation.models import Dimension
from costs import spend
from costs.models import SyncRun
from findings.models import Recommendation

SYNC_FAILURES = 3
DIGEST_LINES = 10
CENT = Decimal("0.01")


def usd(amount: Decimal) -> str:
    return f"${amount.quantize(CENT):,}"


def _admin(model, pk) -> dict:
    """The admin change page of MODEL's row PK, and the permission it needs."""
    opts = model._meta
    return {
        "admin_link": reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]),
        "admin_permission": f"{opts.app_label}.view_{opts.model_name}",
    }


def budget_outlook(budget, today: date) -> forecast.Forecast:
    """BUDGET's month so far and its month-end forecast, each cost counted once (a budget
    scoped to a dimension value: what the allocation rollups give that value)."""
    start = forecast.history_start(today)
    if budget.dimension_id:
        daily = allocation_summary.value_daily(
            budget.dimension, budget.dimension_value, start, today
        )
    else:
        daily = spend.daily_totals(
            budget.organization_id, start, today + timedelta(days=1), budget.account
        )
    return forecast.month_end_forecast(daily, today)


def crossed_thresholds(budget, outlook: forecast.Forecast) -> list[BudgetThreshold]:
    """BUDGET's thresholds that the month's actual spend or forecast has reached."""
    crossed = []
    for threshold in budget.thresholds.all():
        actual = threshold.basis == BudgetThreshold.Basis.ACTUAL
        value = outlook.actual if actual else outlook.forecast
        if value is not None and value >= budget.monthly_amount * threshold.percent / 100:
            crossed.append(threshold)
    return crossed


def budget_alerts(organization, today: date) -> list[Alert]:
    alerts = []
    month_start = today.replace(day=1)
    budgets = Budget.objects.filter(organization=organization, active=True).select_related(
        "account", "dimension"
    )
    for budget in budgets.prefetch_related("thresholds"):
        outlook = budget_outlook(budget, today)
        for threshold in crossed_thresholds(budget, outlook):
            limit = budget.monthly_amount * threshold.percent / 100
            basis = threshold.basis
            value = outlook.actual if basis == BudgetThreshold.Basis.ACTUAL else outlook.forecast
            subject = f"budget:{budget.pk}:{month_start:%Y-%m}:{threshold.percent}:{basis}"
            if already_raised(organization, AlertKind.BUDGET, subject):
                continue
            scope = budget.scope_label
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
                    link=reverse("budget-detail", args=[budget.pk]),
                    **_admin(Budget, budget.pk),
                    **_budget_routing(budget),
                )
            )
    return alerts


def _budget_routing(budget) -> dict:
    """The account or dimension value a budget covers, for the channels' routing."""
    if budget.dimension_id:
        return {"allocation": (budget.dimension_id, budget.dimension_value)}
    return {"account_ids": frozenset({budget.account_id})} if budget.account_id else {}


def _accounts_by_aws_id(organization) -> dict[str, int]:
    return dict(
        CloudAccount.objects.filter(organization=organization).values_list("account_id", "pk")
    )


def spike_alerts(organization, today: date) -> list[Alert]:
    """Spikes on the complete days since the last check (alerts/spikes.py), 7 days at most.

    It records how far the figures it judged were final (SpikeCheck) and the next check starts
    there: call it in the organisation's raising() turn and raise what it returns in that turn,
    as check_alerts() does, so that checks take turns and a failure undoes both.
    """
    last = today - timedelta(days=1)
    first = today - timedelta(days=spikes.LOOKBACK_DAYS)
    check = SpikeCheck.objects.filter(organization=organization).first()
    if check is not None:
        first = min(max(first, check.settled_through), last)
    settled = spikes.settled_through(organization, first, last)
    if settled is not None:
        SpikeCheck.objects.update_or_create(
            organization=organization,
            defaults={"settled_through": settled, "checked_at": timezone.now()},
        )
    alerts = []
    connected = _accounts_by_aws_id(organization)
    for spike in spikes.detect([organization], first, last):
        spikes.record(organization, spike)
        day = spike.day
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
                link=reverse("dashboard") + "#cost-chart-title",
                admin_link=reverse("admin:costs_costrecord_changelist")
                + "?"
                + urlencode({"service": spike.service, "usage_date": day.isoformat()}),
                admin_permission="costs.view_costrecord",
                # A member account of a consolidated bill may not be connected itself: then
                # the spike names no account (it reaches channels without an account filter).
                account_ids=(
                    frozenset({connected[spike.sub_account_id]})
                    if spike.sub_account_id in connected
                    else None
                ),
            )
        )
    return alerts + value_spike_alerts(organization, first, last)


def value_spike_alerts(organization, first: date, last: date) -> list[Alert]:
    """Spikes of the values of dimensions with spike_alerts, for the members following them."""
    alerts = []
    dimensions = Dimension.objects.filter(organization=organization, spike_alerts=True)
    for dimension in dimensions.order_by("pk"):
        followers = defaultdict(set)
        for user_id, value in dimension.followers.values_list("user_id", "value"):
            followers[value].add(user_id)
        for spike in spikes.value_spikes(dimension, first, last):
            users = followers.get(spike.value)
            subject = f"spike:{dimension.slug}={spike.value}:{spike.day.isoformat()}"
            if not users or already_raised(organization, AlertKind.COST_SPIKE, subject):
                continue
            scope = f"{dimension.name} = {spike.value}"
            alerts.append(
                Alert(
                    organization,
                    AlertKind.COST_SPIKE,
                    subject,
                    f"Cost spike: {scope} on {spike.day:%d %b}",
                    [
                        f"{scope} cost {usd(spike.cost)} on {spike.day.isoformat()} against a "
                        f"median of {usd(spike.baseline_median)} over the previous 14 days "
                        f"(+{usd(spike.cost - spike.baseline_median)}).",
                    ],
                    {
                        "dimension": dimension.name,
                        "value": spike.value,
                        "day": spike.day.isoformat(),
                        "cost": str(spike.cost.quantize(CENT)),
                        "baseline_median": str(spike.baseline_median.quantize(CENT)),
                        "threshold": str(spike.threshold.quantize(CENT)),
                    },
                    link=reverse("dashboard"),
                    users=frozenset(users),
                    allocation=(dimension.pk, spike.value),
                )
            )
    return alerts


def idle_alerts(organization) -> list[Alert]:
    alerts = []
    recs = Recommendation.objects.filter(
        account__organization=organization,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        status=Recommendation.Status.OPEN,
    ).select_related("account", "instance")
    for rec in recs:
        subject = f"instance:{rec.account.account_id}:{rec.resource_id}"
        # People know their boxes by the Name tag; the ID tells two of a name apart.
        name = rec.instance.name if rec.instance else ""
        box = f"{name} ({rec.resource_id})" if name else rec.resource_id
        if already_raised(organization, AlertKind.IDLE_INSTANCE, subject, since=rec.created_at):
            continue
        alerts.append(
            Alert(
                organization,
                AlertKind.IDLE_INSTANCE,
                subject,
                f"Idle instance {box} in {rec.account.name}: save {usd(rec.monthly_saving)}/month",
                [
                    rec.summary,
                    rec.action,
                    f"Estimated saving: {usd(rec.monthly_saving)} a month "
                    f"({rec.get_saving_basis_display()}).",
                ],
                {
                    "instance": box,
                    "account": rec.account.account_id,
                    "region": rec.region,
                    "monthly_saving": str(rec.monthly_saving),
                    "saving_basis": rec.get_saving_basis_display(),
                    **{k: v for k, v in rec.evidence.items() if not isinstance(v, dict | list)},
                },
                link=reverse("recommendation-detail", args=[rec.pk]),
                **_admin(Recommendation, rec.pk),
                account_ids=frozenset({rec.account_id}),
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
        lines.append(f"... and {count - len(top)} more on the recommendations page.")
    return [
        Alert(
            organization,
            AlertKind.SAVINGS_DIGEST,
            subject,
            f"{count} new savings worth {usd(total or Decimal(0))}/month",
            lines,
            {
                "recommendations": count,
                "monthly_saving_total": str((total or Decimal(0)).quantize(CENT)),
            },
            link=reverse("recommendation-list"),
            admin_link=reverse("admin:findings_recommendation_changelist") + "?status__exact=open",
            admin_permission="findings.view_recommendation",
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
                link=reverse("cloud-account-detail", args=[account.pk]),
                **_admin(CloudAccount, account.pk),
                account_ids=frozenset({account.pk}),
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
