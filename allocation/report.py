"""What the admin's "Cost by <dimension>" and tag coverage pages show, as plain data.

Everything comes from allocation/summary.py and allocation/coverage.py; this only arranges it
per page: a month's values with their share, the trend of the last months, the drill-down.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from allocation import coverage, summary
from allocation.models import Dimension
from allocation.periods import month_end, months_back

TREND_MONTHS = 6
TREND_SERIES = 8  # the biggest values drawn; the rest is one "Other" series
OTHER = "Other"


@dataclass(frozen=True)
class ValueRow:
    value: str
    direct: Decimal
    shared: Decimal
    total: Decimal
    share: float | None  # % of the month's total


def value_rows(dimension: Dimension, month: date) -> tuple[list[ValueRow], Decimal]:
    """The month's values, biggest first, and the month's total."""
    found = summary.breakdown(dimension, month, month_end(month))
    total = sum((b.total for b in found.values()), Decimal(0))
    rows = [
        ValueRow(
            value,
            b.direct,
            b.shared,
            b.total,
            round(float(100 * b.total / total), 1) if total else None,
        )
        for value, b in found.items()
    ]
    return rows, total


def trend(dimension: Dimension, month: date, count: int = TREND_MONTHS) -> dict:
    """The last COUNT months up to MONTH, per value: the chart's labels and series (dollars as
    text, so the page's JSON keeps the cents exact)."""
    months = months_back(month, count)
    per_value: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for value, days in summary.daily(dimension, months[0], month_end(month)).items():
        for day, amount in days.items():
            per_value[value][day.replace(day=1)] += amount
    ranked = sorted(per_value, key=lambda v: (-sum(per_value[v].values()), v))
    shown, rest = ranked[:TREND_SERIES], ranked[TREND_SERIES:]
    series = [(value, per_value[value]) for value in shown]
    if rest:
        other: dict[date, Decimal] = defaultdict(Decimal)
        for value in rest:
            for first, amount in per_value[value].items():
                other[first] += amount
        series.append((OTHER, other))
    return {
        "labels": [f"{m:%b %Y}" for m in months],
        "months": [f"{m:%Y-%m}" for m in months],
        "datasets": [
            {"label": value, "data": [f"{amounts.get(m, Decimal(0)):.2f}" for m in months]}
            for value, amounts in series
        ],
        "totals": [
            f"{sum((amounts.get(m, Decimal(0)) for _, amounts in series), Decimal(0)):.2f}"
            for m in months
        ],
    }


def drill_down(dimension: Dimension, month: date, value: str, service: str | None) -> dict:
    """VALUE's services in the month and its biggest resources (of SERVICE, if given)."""
    end = month_end(month)
    return {
        "services": list(summary.services(dimension, value, month, end).items()),
        "resources": summary.resources(dimension, value, month, end, service=service or None),
    }


@dataclass(frozen=True)
class CoverageReport:
    rows: list[coverage.Coverage]
    total: Decimal
    tagged: Decimal
    untagged: list[tuple]

    @property
    def percent(self) -> float | None:
        return round(float(100 * self.tagged / self.total), 1) if self.total else None


def tag_coverage(organization, key: str, month: date) -> CoverageReport:
    end = month_end(month)
    rows = coverage.coverage(organization, key, month, end)
    return CoverageReport(
        rows=rows,
        total=sum((r.total for r in rows), Decimal(0)),
        tagged=sum((r.tagged for r in rows), Decimal(0)),
        untagged=coverage.untagged_resources(organization, key, month, end),
    )
