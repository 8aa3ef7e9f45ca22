"""Daily cost spikes per service, against a robust baseline.

Each (account, service)'s day is judged against the previous 14 days, a day without a record
counting as zero spend. Robust statistics, so one earlier spike does not hide the next:

    median  = median of the 14 baseline days
    spread  = 1.4826 x MAD (median absolute deviation; equals the standard deviation for
              normally distributed costs)
    spike   if cost > median + max(3 x spread, 50% of median)
            and cost - median >= the minimum increase (default $10)

The percentage floor keeps a perfectly flat service (MAD = 0) from alerting on cents, and the
dollar floor keeps small services from alerting on noise.

Which days: only complete ones (before today: today's costs are still arriving). detect() judges
a range of days from the cost store, each cost counted once; the alert rule asks it for the days
since its last check (alerts/rules.py) and records each spike it finds (CostSpike), which the
cost chart marks (dashboard/overview.py recorded()): a marked day and an alert are the same verdict
on the same figures, and a page view reads those rows instead of judging 44 days of every
(account, service) series again (6 s for 1,000 accounts x 7 services, bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from alerts.models import CostSpike
from allocation import summary as allocation_summary
from costs import spend

BASELINE_DAYS = 14
LOOKBACK_DAYS = 7  # a check judges at most the last 7 complete days
MAD_SCALE = Decimal("1.4826")
SPREADS = Decimal(3)
RELATIVE_FLOOR = Decimal("0.5")
DEFAULT_MIN_INCREASE = Decimal(10)


@dataclass(frozen=True)
class Spike:
    sub_account_id: str
    service: str
    day: date
    cost: Decimal
    baseline_median: Decimal
    threshold: Decimal

    @property
    def increase(self) -> Decimal:
        return self.cost - self.baseline_median

    def figures(self) -> dict:
        """What the cost chart's tooltip and table show."""
        cent = Decimal("0.01")
        return {
            "account": self.sub_account_id,
            "service": self.service,
            "cost": str(self.cost.quantize(cent)),
            "baseline_median": str(self.baseline_median.quantize(cent)),
            "increase": str(self.increase.quantize(cent)),
        }

    def evidence(self) -> dict:
        cent = Decimal("0.01")
        return {
            "account": self.sub_account_id,
            "service": self.service,
            "day": self.day.isoformat(),
            "cost": str(self.cost.quantize(cent)),
            "baseline_median_14_days": str(self.baseline_median.quantize(cent)),
            "threshold": str(self.threshold.quantize(cent)),
            "increase": str(self.increase.quantize(cent)),
            "method": "cost > median + max(3 x 1.4826 x MAD, 50% of median), +$10 at least",
        }


def judge(
    daily: dict[date, Decimal], day: date, min_increase: Decimal = DEFAULT_MIN_INCREASE
) -> tuple[bool, Decimal, Decimal]:
    """(is a spike, baseline median, threshold) for DAY's cost in DAILY."""
    baseline = [daily.get(day - timedelta(days=n), Decimal(0)) for n in range(1, BASELINE_DAYS + 1)]
    middle = Decimal(median(baseline))
    mad = Decimal(median(abs(value - middle) for value in baseline))
    threshold = middle + max(SPREADS * MAD_SCALE * mad, RELATIVE_FLOOR * middle)
    cost = daily.get(day, Decimal(0))
    return cost > threshold and cost - middle >= min_increase, middle, threshold


def find_spikes(
    series: dict[tuple[str, str], dict[date, Decimal]],
    day: date,
    min_increase: Decimal = DEFAULT_MIN_INCREASE,
) -> list[Spike]:
    spikes = []
    for (sub_account, service), daily in sorted(series.items()):
        spike, middle, threshold = judge(daily, day, min_increase)
        if spike:
            spikes.append(Spike(sub_account, service, day, daily[day], middle, threshold))
    return spikes


def spikes_between(
    series: dict[tuple[str, str], dict[date, Decimal]],
    first: date,
    last: date,
    min_increase: Decimal = DEFAULT_MIN_INCREASE,
) -> list[Spike]:
    found = []
    for offset in range((last - first).days + 1):
        found += find_spikes(series, first + timedelta(days=offset), min_increase)
    return found


def detect(
    organizations, first: date, last: date, min_increase: Decimal = DEFAULT_MIN_INCREASE
) -> list[Spike]:
    """The spikes of each organisation's (account, service) daily costs on FIRST..LAST, day by
    day; one query for all of ORGANIZATIONS, whose costs are judged apart."""
    by_organization = spend.daily_by_service(
        organizations, first - timedelta(days=BASELINE_DAYS), last + timedelta(days=1)
    )
    return [
        spike
        for _, series in sorted(by_organization.items())
        for spike in spikes_between(series, first, last, min_increase)
    ]


def settled_through(organization, first: date, last: date) -> date | None:
    """The newest day of FIRST..LAST up to which every account with costs on those days has
    reported figures Cost Explorer no longer estimates; None when no account has costs there.

    An account whose costs stopped coming (a failing sync) holds it back at its last day, so
    its days are judged again once they arrive.
    """
    reported = spend.reported_days(organization, first, last + timedelta(days=1))
    if not reported:
        return None
    return min(
        newest if estimated is None else estimated - timedelta(days=1)
        for newest, estimated in reported.values()
    )


def record(organization, spike: Spike) -> None:
    """Keep SPIKE for the chart; a day judged again on revised figures keeps the latest."""
    CostSpike.objects.update_or_create(
        organization=organization,
        sub_account_id=spike.sub_account_id,
        service=spike.service,
        day=spike.day,
        defaults={
            "cost": spike.cost,
            "baseline_median": spike.baseline_median,
            "threshold": spike.threshold,
        },
    )


def recorded(organizations, first: date, last: date) -> list[Spike]:
    """The spikes the checks recorded for ORGANIZATIONS on FIRST..LAST, in one query."""
    rows = CostSpike.objects.filter(
        organization__in=organizations, day__gte=first, day__lte=last
    ).order_by("day", "organization_id", "sub_account_id", "service")
    return [
        Spike(r.sub_account_id, r.service, r.day, r.cost, r.baseline_median, r.threshold)
        for r in rows
    ]


@dataclass(frozen=True)
class ValueSpike:
    """A spike of one dimension value's daily allocated spend ("Team = payments")."""

    value: str
    day: date
    cost: Decimal
    baseline_median: Decimal
    threshold: Decimal


def value_spikes(
    dimension, first: date, last: date, min_increase: Decimal = DEFAULT_MIN_INCREASE
) -> list[ValueSpike]:
    """The spikes of each of DIMENSION's values on FIRST..LAST, judged like a service's, on
    the allocation rollups (shared costs included: that is what the value is charged)."""
    series = allocation_summary.daily(dimension, first - timedelta(days=BASELINE_DAYS), last)
    found = []
    for value, daily in sorted(series.items()):
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            spike, middle, threshold = judge(daily, day, min_increase)
            if spike:
                found.append(ValueSpike(value, day, daily[day], middle, threshold))
    return found
