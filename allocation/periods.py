"""Months as the allocation pages name them: "2026-11" in a URL, the 1st to the last day."""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    """The first day of the month TEXT ("YYYY-MM") names; ValueError for anything else."""
    match = MONTH.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11.")
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        raise ValueError(f"{text!r} is not a month between 2000-01 and 2100-12.")
    return date(year, month, 1)


def month_end(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(first: date) -> date:
    return (first.replace(day=1) - timedelta(days=1)).replace(day=1)


def months_back(first: date, count: int) -> list[date]:
    """COUNT months ending with FIRST's, oldest first."""
    months = [first.replace(day=1)]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months
