"""Month-end forecast from daily costs: by day of the week when the history allows it.

Only complete days count, i.e. days before TODAY (today's figures are still arriving), and a
day without any data (a sync gap, or Cost Explorer not there yet) is unknown, not zero, so a gap
does not drag the forecast down.

Day of week (the method whenever there is enough history): most bills have a weekly shape
(instances stopped at weekends, batch jobs on Mondays), and a month is not made of equal days:
projecting four weekdays over a month that still has its weekends overstates it. So each day of
the week gets its own rate, the mean of that weekday's days with data among the last
HISTORY_DAYS (28: four of each) complete days, which may reach into the previous month. Then

    forecast = sum of this month's complete days with data
             + the rate of its weekday for every other day of the month

(missing days, today and the rest of the month). The method needs at least MIN_WEEKS (2)
days with data of every weekday in those 28 days, i.e. two full weeks; on the 1st it forecasts
from the weeks before.

Run rate (the fallback with less history, e.g. an account connected last week): the mean of
this month's complete days with data is the daily rate, and

    forecast = sum of the complete days with data
             + rate x (days in the month - complete days with data)

On the 1st without two full weeks of history there is no forecast ("not enough data").

Callers pass daily costs from history_start(today) to today.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HISTORY_DAYS = 28
MIN_WEEKS = 2
DAY_OF_WEEK = "day of week"
RUN_RATE = "run rate"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
METHODS = {
    DAY_OF_WEEK: "day of week: complete days + each other day at its weekday's mean over the "
    "last 4 weeks",
    RUN_RATE: "run rate: complete days + their mean x the other days of the month",
}


@dataclass(frozen=True)
class Forecast:
    month_start: date
    actual: Decimal  # month to date, today included
    forecast: Decimal | None  # month end; None without enough data for either method
    complete_days: int  # this month's complete days with data
    days_in_month: int
    daily_rate: Decimal | None  # the run rate's
    method: str = RUN_RATE
    weekday_rates: tuple[Decimal, ...] | None = None  # Monday first; the day-of-week method's

    def evidence(self) -> dict:
        evidence = {
            "month": self.month_start.strftime("%Y-%m"),
            "actual_month_to_date": str(self.actual.quantize(CENT)),
            "forecast_month_end": None
            if self.forecast is None
            else str(self.forecast.quantize(CENT)),
            "complete_days_with_data": self.complete_days,
            "days_in_month": self.days_in_month,
        }
        if self.weekday_rates is not None:
            evidence["weekday_rates"] = ", ".join(
                f"{name} ${rate.quantize(CENT, ROUND_HALF_UP):,}"
                for name, rate in zip(WEEKDAY_NAMES, self.weekday_rates, strict=True)
            )
        else:
            evidence["daily_rate"] = (
                None if self.daily_rate is None else str(self.daily_rate.quantize(CENT))
            )
        evidence["method"] = METHODS[self.method]
        return evidence


def history_start(today: date) -> date:
    """The first day month_end_forecast() reads: the month's 1st or 4 weeks back if earlier."""
    return min(today.replace(day=1), today - timedelta(days=HISTORY_DAYS))


def weekday_rates(daily: dict[date, Decimal], today: date) -> tuple[Decimal, ...] | None:
    """Mean spend of each weekday (Monday first) over the last 4 complete weeks, or None when
    any weekday has fewer than MIN_WEEKS days with data."""
    by_weekday: list[list[Decimal]] = [[] for _ in WEEKDAY_NAMES]
    first = today - timedelta(days=HISTORY_DAYS)
    for day, amount in daily.items():
        if first <= day < today:
            by_weekday[day.weekday()].append(amount)
    if any(len(amounts) < MIN_WEEKS for amounts in by_weekday):
        return None
    return tuple(sum(amounts, Decimal(0)) / len(amounts) for amounts in by_weekday)


def month_end_forecast(daily: dict[date, Decimal], today: date) -> Forecast:
    """DAILY maps days from history_start(TODAY) to TODAY to their spend (others are ignored)."""
    month_start = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    in_month = {d: amount for d, amount in daily.items() if month_start <= d <= today}
    actual = sum(in_month.values(), Decimal("0"))
    complete = {d: amount for d, amount in in_month.items() if d < today}
    spent = sum(complete.values(), Decimal("0"))
    rates = weekday_rates(daily, today)
    if rates is not None:
        month = (month_start + timedelta(days=n) for n in range(days_in_month))
        rest = sum((rates[d.weekday()] for d in month if d not in complete), Decimal(0))
        return Forecast(
            month_start,
            actual,
            (spent + rest).quantize(CENT, ROUND_HALF_UP),
            len(complete),
            days_in_month,
            None,
            DAY_OF_WEEK,
            rates,
        )
    if not complete:
        return Forecast(month_start, actual, None, 0, days_in_month, None)
    rate = spent / len(complete)
    forecast = spent + rate * (days_in_month - len(complete))
    return Forecast(
        month_start,
        actual,
        forecast.quantize(CENT, ROUND_HALF_UP),
        len(complete),
        days_in_month,
        rate,
    )
