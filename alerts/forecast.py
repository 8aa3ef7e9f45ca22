"""Month-end forecast from month-to-date daily costs.

Method (a run rate): only complete days count, i.e. days before TODAY (today's figures are
still arriving). The daily rate is the mean of the complete days that have data; a day without
any data (a sync gap, or Cost Explorer not there yet) is unknown, not zero, so a gap does not
drag the forecast down. Then

    forecast = sum of the complete days with data
             + rate x (days in the month - complete days with data)

so missing days, today and the rest of the month are each counted at the rate.

On the 1st there is no complete day yet: no forecast ("not enough data").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Forecast:
    month_start: date
    actual: Decimal  # month to date, today included
    forecast: Decimal | None  # month end; None without a complete day of data
    complete_days: int  # complete days with data
    days_in_month: int
    daily_rate: Decimal | None

    def evidence(self) -> dict:
        return {
            "month": self.month_start.strftime("%Y-%m"),
            "actual_month_to_date": str(self.actual.quantize(CENT)),
            "forecast_month_end": None
            if self.forecast is None
            else str(self.forecast.quantize(CENT)),
            "complete_days_with_data": self.complete_days,
            "days_in_month": self.days_in_month,
            "daily_rate": None if self.daily_rate is None else str(self.daily_rate.quantize(CENT)),
            "method": "complete days + their mean x the other days of the month",
        }


def month_end_forecast(daily: dict[date, Decimal], today: date) -> Forecast:
    """DAILY maps days of TODAY's month to their spend (other days are ignored)."""
    month_start = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    in_month = {d: amount for d, amount in daily.items() if month_start <= d <= today}
    actual = sum(in_month.values(), Decimal("0"))
    complete = [amount for d, amount in in_month.items() if d < today]
    if not complete:
        return Forecast(month_start, actual, None, 0, days_in_month, None)
    spent = sum(complete, Decimal("0"))
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
