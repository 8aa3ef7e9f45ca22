"""Commitment alerts (issue 18): a Savings Plan or reservation expiring, an account's commitments
of a kind underused, its coverage dropping. Each is raised once per occurrence:

- expiring: once per (commitment, threshold) of COMMITMENT_EXPIRY_ALERT_DAYS, only the nearest
  threshold crossed (a commitment first seen 5 days before its end alerts at 7, not 90 and 30);
- underused: once per streak of COMMITMENT_UNDERUSED_DAYS or more days in a row with
  utilization below COMMITMENT_UTILIZATION_ALERT_PERCENT (Cost Explorer's figures, per account
  and kind). A day without a utilization figure is skipped: it neither counts nor breaks it;
- coverage dropping: once per stretch of days on which the last 3 days' coverage averages more
  than COVERAGE_DROP_ALERT_POINTS below the 7 days before them.

The subjects name the occurrence (the commitment and threshold, the first day of the streak), so
they are ONCE_PER_SUBJECT kinds (alerts/delivery.py): a second run raises nothing again, and the
per-user cooldown then rate-limits the e-mails as for every other alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.delivery import Alert, already_raised, raise_alert, raising
from alerts.models import AlertEvent, AlertKind, ChannelDelivery
from commitments import report
from commitments.models import BASE_CURRENCY, Commitment, CommitmentDay

# How far back the daily figures are read. A streak reaching past it has been going on for
# weeks: it is alerted once, when nothing about that account and kind was raised before.
LOOKBACK_DAYS = 60
RECENT_DAYS, PREVIOUS_DAYS = 3, 7
# A window judged on fewer figures than these (days without coverage are skipped) is no basis.
MIN_RECENT, MIN_PREVIOUS = 2, 4
COMMITMENT_PERMISSION = "commitments.view_commitment"


def check_commitments(organization, today: date | None = None) -> int:
    """Raise ORGANIZATION's commitment alerts in its raising() turn; returns the events raised."""
    today = today or timezone.localdate()
    with raising(organization):
        found = commitment_alerts(organization, today)
        return sum(len(raise_alert(a)) for a in found)


def commitment_alerts(organization, today: date) -> list[Alert]:
    days = _days_by_series(organization, today)
    return (
        expiring_alerts(organization, today)
        + underused_alerts(organization, days)
        + coverage_alerts(organization, days)
    )


# --- Expiring -----------------------------------------------------------------------------------


def expiring_alerts(organization, today: date) -> list[Alert]:
    thresholds = sorted(settings.COMMITMENT_EXPIRY_ALERT_DAYS)
    horizon = today + timedelta(days=max(thresholds))
    commitments = Commitment.objects.filter(
        account__organization=organization,
        account__is_active=True,
        state__iexact="active",
        end__date__gte=today,
        end__date__lte=horizon,
    ).select_related("account")
    alerts = []
    for commitment in commitments.order_by("end", "pk"):
        left = (commitment.end.date() - today).days
        threshold = next(t for t in thresholds if left <= t)
        subject = f"expiring:{commitment.account.account_id}:{commitment.commitment_id}:{threshold}"
        if already_raised(organization, AlertKind.COMMITMENT_EXPIRING, subject):
            continue
        alerts.append(_expiring(organization, commitment, left, threshold, subject, today))
    return alerts


def _expiring(
    organization, commitment: Commitment, left: int, threshold: int, subject, today: date
) -> Alert:
    c = commitment
    what = f"{c.get_kind_display()} {c.commitment_id}"
    ends = f"{c.end:%d %b %Y}"
    lines = [
        f"{what} in {c.account.name} ({c.account.account_id}) ends on {ends}, in {left} "
        f"day{'s' if left != 1 else ''}.",
        *_renewal(c, today),
    ]
    return Alert(
        organization,
        AlertKind.COMMITMENT_EXPIRING,
        subject,
        f"{what} expires in {left} day{'s' if left != 1 else ''} ({c.account.name})",
        lines,
        {
            "commitment": c.commitment_id,
            "commitment_kind": c.get_kind_display(),
            "account": c.account.account_id,
            "region": c.region or "all regions",
            "ends": c.end.date().isoformat(),
            "days_left": left,
            "threshold_days": threshold,
            "term_years": c.term_years,
            "payment_option": c.get_payment_option_display(),
            "hourly_commitment": _money(c.hourly_commitment, c.currency),
            "recurring_hourly": _money(c.recurring_hourly, c.currency),
            "upfront_fee": _money(c.upfront_fee, c.currency),
            "currency": c.currency,
        },
        link=reverse("dashboard"),
        admin_link=reverse("admin:commitments_commitment_change", args=[c.pk]),
        admin_permission=COMMITMENT_PERMISSION,
        account_ids=frozenset({c.account_id}),
    )


def _renewal(c: Commitment, today: date) -> list[str]:
    """What renewing means, with the renewal sized by the purchase engine where the account's
    figures allow it (commitments.report.renewal says when they do not)."""
    term = f"{c.term_years}-year {c.get_payment_option_display()}"
    if c.kind == Commitment.Kind.SAVINGS_PLAN:
        plan = f"{c.plan_type} " if c.plan_type else ""
        family = f" ({c.instance_family})" if c.instance_family else ""
        lines = [
            f"It is a {term} {plan}Savings Plan{family} committing "
            f"{_money(c.hourly_commitment, c.currency)} an hour."
        ]
        return lines + _sized_renewal(c, today)
    count = f"{c.instance_count} x " if c.instance_count else ""
    where = c.region or "its region"
    return [
        f"It is a {term} reservation of {count}{c.instance_type or 'instances'}"
        f"{f' ({c.platform})' if c.platform else ''} in {where}, "
        f"{_money(c.recurring_hourly, c.currency)} an hour recurring.",
        "Renew the same reservation or review the account's coverage in the admin before it ends.",
    ]


def _money(amount, currency: str) -> str:
    if amount is None:
        return "—"
    value = Decimal(amount).quantize(Decimal("0.001"))
    return f"${value:,}" if currency == BASE_CURRENCY else f"{value:,} {currency}"


def _sized_renewal(c: Commitment, today: date) -> list[str]:
    sized = report.renewal(c, today)
    if sized is None:
        return [
            "Renew at the same hourly commitment or review the recommendation in the admin: no "
            "renewal size could be computed (another Savings Plan shares the account's coverage, "
            "fewer than a week of coverage figures, or a plan type the engine does not price)."
        ]
    basis = "hourly FOCUS figures" if sized.hourly else "daily coverage figures spread flat"
    best = sized.recommendation.best
    if best is None:
        return [
            f"Sized on {sized.days_with_data} days of {basis}: buying nothing is best "
            f"({sized.recommendation.reason}).",
        ]
    return [
        f"Sized on {sized.days_with_data} days of {basis}, with what this plan covers counted "
        f"as on demand: renew with a {best.plan.label} of ${best.hourly_commitment:,.3f} an hour, "
        f"${best.monthly_net_savings:,.2f} a month net savings at "
        f"{best.utilization:.1%} expected utilization "
        f"(break-even in month {best.break_even_month or 1}).",
    ]


# --- Daily figures: underused, coverage dropping ------------------------------------------------


def _days_by_series(organization, today: date) -> dict[tuple, dict[date, CommitmentDay]]:
    """Cost Explorer's daily figures of the last LOOKBACK_DAYS, per (account, kind)."""
    rows = CommitmentDay.objects.filter(
        account__organization=organization,
        account__is_active=True,
        source=CommitmentDay.Source.EXPLORER,
        day__gt=today - timedelta(days=LOOKBACK_DAYS),
        day__lte=today,
    ).select_related("account")
    series: dict[tuple, dict[date, CommitmentDay]] = defaultdict(dict)
    for row in rows.order_by("account_id", "kind", "day"):
        series[(row.account, row.kind)][row.day] = row
    return series


def _episode(days: list[date], judge: Callable[[date], bool | None]) -> tuple[list[date], bool]:
    """The days, newest first, on which JUDGE holds in a row up to the newest judged one.

    A day JUDGE cannot judge (None) is skipped. Also says whether the run reached the oldest day
    without being broken (it may have begun before the figures read).
    """
    run = []
    for day in sorted(days, reverse=True):
        verdict = judge(day)
        if verdict is None:
            continue
        if not verdict:
            return run, False
        run.append(day)
    return run, True


def _new_episode(organization, kind, prefix: str, start: date, unbroken: bool) -> str | None:
    """The subject of an episode starting on START, or None when it was alerted already."""
    subject = f"{prefix}:{start.isoformat()}"
    if already_raised(organization, kind, subject):
        return None
    same = {"organization": organization, "kind": kind, "subject__startswith": prefix + ":"}
    if unbroken and (
        AlertEvent.objects.filter(**same).exists()
        or ChannelDelivery.objects.filter(**same).exists()
    ):
        # Its start lies before the figures read, so START moves on each day: the same episode.
        return None
    return subject


def underused_alerts(organization, series) -> list[Alert]:
    floor = Decimal(str(settings.COMMITMENT_UTILIZATION_ALERT_PERCENT))
    needed = settings.COMMITMENT_UNDERUSED_DAYS
    alerts = []
    for (account, kind), by_day in series.items():

        def low(day, by_day=by_day):
            value = by_day[day].utilization_percent
            return None if value is None else value < floor

        run, unbroken = _episode(list(by_day), low)
        if len(run) < needed:
            continue
        prefix = f"underused:{account.account_id}:{kind}"
        subject = _new_episode(
            organization, AlertKind.COMMITMENT_UNDERUSED, prefix, run[-1], unbroken
        )
        if subject is None:
            continue
        figures = [by_day[d].utilization_percent for d in reversed(run)]
        unused = sum((by_day[d].unused_commitment or 0 for d in run), Decimal(0))
        label = CommitmentDay.Kind(kind).label
        alerts.append(
            Alert(
                organization,
                AlertKind.COMMITMENT_UNDERUSED,
                subject,
                f"{label} underused in {account.name}: {len(run)} days below {floor}%",
                [
                    f"Utilization of the {label} of {account.name} ({account.account_id}) was "
                    f"below {floor}% on {len(run)} days in a row with figures, "
                    f"{run[-1].isoformat()} to {run[0].isoformat()}: "
                    + ", ".join(f"{v.quantize(Decimal('0.1'))}%" for v in figures)
                    + ".",
                    f"Commitment paid for and not used over those days: {_money(unused, 'USD')}. "
                    "Usage moved away from what the commitments cover, or they are larger than "
                    "the usage: check the instance families and regions before buying more.",
                ],
                {
                    "account": account.account_id,
                    "commitment_kind": label,
                    "days_below": len(run),
                    "first_day": run[-1].isoformat(),
                    "last_day": run[0].isoformat(),
                    "threshold_percent": str(floor),
                    "unused_commitment": _money(unused, "USD"),
                },
                link=reverse("dashboard"),
                admin_link=_changelist(account, kind),
                admin_permission=COMMITMENT_PERMISSION,
                account_ids=frozenset({account.pk}),
            )
        )
    return alerts


def _average(by_day, first: date, last: date, least: int) -> Decimal | None:
    values = []
    day = first
    while day <= last:
        row = by_day.get(day)
        if row is not None and row.coverage_percent is not None:
            values.append(row.coverage_percent)
        day += timedelta(days=1)
    return sum(values) / len(values) if len(values) >= least else None


def _drop(by_day, day: date) -> tuple[Decimal, Decimal] | None:
    """(previous 7-day average, last 3 days' average) of coverage for the 3 days ending on DAY."""
    recent_start = day - timedelta(days=RECENT_DAYS - 1)
    recent = _average(by_day, recent_start, day, MIN_RECENT)
    previous = _average(
        by_day,
        recent_start - timedelta(days=PREVIOUS_DAYS),
        recent_start - timedelta(days=1),
        MIN_PREVIOUS,
    )
    return None if recent is None or previous is None else (previous, recent)


def coverage_alerts(organization, series) -> list[Alert]:
    points = Decimal(str(settings.COVERAGE_DROP_ALERT_POINTS))
    alerts = []
    for (account, kind), by_day in series.items():

        def dropped(day, by_day=by_day):
            if day not in by_day or by_day[day].coverage_percent is None:
                return None
            figures = _drop(by_day, day)
            return None if figures is None else figures[0] - figures[1] > points

        run, unbroken = _episode(list(by_day), dropped)
        if not run:
            continue
        prefix = f"coverage:{account.account_id}:{kind}"
        subject = _new_episode(organization, AlertKind.COVERAGE_DROPPING, prefix, run[-1], unbroken)
        if subject is None:
            continue
        previous, recent = _drop(by_day, run[0])
        label = CommitmentDay.Kind(kind).label
        fell = (previous - recent).quantize(Decimal("0.1"))
        alerts.append(
            Alert(
                organization,
                AlertKind.COVERAGE_DROPPING,
                subject,
                f"{label} coverage dropping in {account.name}: -{fell} points",
                [
                    f"Coverage by {label} of {account.name} ({account.account_id}) averaged "
                    f"{recent.quantize(Decimal('0.1'))}% over the 3 days to {run[0].isoformat()}, "
                    f"against {previous.quantize(Decimal('0.1'))}% over the 7 days before: "
                    f"down {fell} points (the alert is at {points}).",
                    "New on-demand usage the commitments do not cover, or a commitment that "
                    "ended: see the commitments and the purchase recommendation in the admin.",
                ],
                {
                    "account": account.account_id,
                    "commitment_kind": label,
                    "coverage_percent": str(recent.quantize(Decimal("0.1"))),
                    "previous_7_day_coverage_percent": str(previous.quantize(Decimal("0.1"))),
                    "drop_points": str(fell),
                    "last_day": run[0].isoformat(),
                },
                link=reverse("dashboard"),
                admin_link=_changelist(account, kind),
                admin_permission=COMMITMENT_PERMISSION,
                account_ids=frozenset({account.pk}),
            )
        )
    return alerts


def _changelist(account, day_kind: str) -> str:
    """The account's commitments of that kind in the admin (the figures are per kind)."""
    url = reverse("admin:commitments_commitment_changelist") + f"?account={account.pk}"
    if day_kind == CommitmentDay.Kind.SAVINGS_PLAN:
        url += f"&kind__exact={Commitment.Kind.SAVINGS_PLAN}"
    return url
