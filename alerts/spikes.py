"""Daily cost spikes per service, against a robust baseline.

For each (account, service), the day judged is the latest complete day (yesterday: today's
costs are still arriving). Its baseline is the previous 14 days, a day without a record
counting as zero spend. Robust statistics, so one earlier spike does not hide the next:

    median  = median of the 14 baseline days
    spread  = 1.4826 x MAD (median absolute deviation; equals the standard deviation for
              normally distributed costs)
    spike   if cost > median + max(3 x spread, 50% of median)
            and cost - median >= the minimum increase (default $10)

The percentage floor keeps a perfectly flat service (MAD = 0) from alerting on cents, and the
dollar floor keeps small services from alerting on noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

BASELINE_DAYS = 14
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
