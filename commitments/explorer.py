"""Daily coverage and utilization of Savings Plans and reservations, from Cost Explorer.

Four requests families ($0.01 each, every page counted): GetSavingsPlansCoverage and
GetSavingsPlansUtilization, GetReservationCoverage and GetReservationUtilization, DAILY over
the sync window. The first sync reads WINDOW_DAYS; later ones the last TRAILING_DAYS (Cost
Explorer revises recent days), or from the oldest day of the window not stored yet.

A day is stored only with complete figures: a day Cost Explorer left out, or gave without its
totals, is not stored (never as zero) and the run says which. Utilization of an account with no
commitment of a kind is not a zero either: Cost Explorer has none (DataUnavailableException or
no entries at all), and the day is stored with its coverage and no utilization figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from django.db import transaction

from accounts import aws
from accounts.connection import describe, error_code, is_denied
from commitments.models import CommitmentDay

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
TRAILING_DAYS = 3
CE_REGION = "us-east-1"  # Cost Explorer's only endpoint
NO_DATA = "DataUnavailableException"
# How many skipped days a note lists before it says "and N more".
NOTE_DAYS = 10

Kind = CommitmentDay.Kind


class Incomplete(ValueError):
    """A day's entry lacks a figure: the day is not stored."""


class RepeatedToken(RuntimeError):
    """Cost Explorer handed back a page token it gave before: following it would never end."""


@dataclass
class ExplorerResult:
    stored: int = 0
    requests: int = 0
    parts_ok: int = 0
    days_skipped: int = 0
    problems: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sync_window(account, today: date, days: int | None = None) -> tuple[date, date]:
    """[start, end) to request; end is today, whose figures are still coming in."""
    earliest = today - timedelta(days=days or WINDOW_DAYS)
    if days is not None:
        return earliest, today
    stored = set(
        CommitmentDay.objects.filter(
            account=account, source=CommitmentDay.Source.EXPLORER, day__gte=earliest
        ).values_list("day", "kind")
    )
    expected = {
        (earliest + timedelta(days=n), kind)
        for n in range((today - earliest).days)
        for kind in Kind.values
    }
    missing = [day for day, _ in expected - stored]
    start = today - timedelta(days=TRAILING_DAYS)
    return (min(start, *missing) if missing else start), today


# --- Requests ----------------------------------------------------------------------------------


def _period(start: date, end: date) -> dict:
    return {"Start": start.isoformat(), "End": end.isoformat()}


def _pages(call: Callable, list_key: str, token_in: str, token_out: str, count, **params):
    """Every entry of LIST_KEY over the pages of CALL, following its token."""
    token, seen = None, set()
    while True:
        count()
        page = call(**params, **({token_in: token} if token else {}))
        yield from page.get(list_key) or []
        token = page.get(token_out) if token_out else None
        if not token:
            return
        if token in seen:
            raise RepeatedToken(f"{call.__name__} repeated the page token {token[:40]!r}")
        seen.add(token)


# What each kind asks for: (operation, list key, request token, response token).
COVERAGE = {
    Kind.SAVINGS_PLAN: (
        "get_savings_plans_coverage",
        "SavingsPlansCoverages",
        "NextToken",
        "NextToken",
    ),
    Kind.RESERVATION: (
        "get_reservation_coverage",
        "CoveragesByTime",
        "NextPageToken",
        "NextPageToken",
    ),
}
UTILIZATION = {
    # GetSavingsPlansUtilization answers in one page: no token.
    Kind.SAVINGS_PLAN: ("get_savings_plans_utilization", "SavingsPlansUtilizationsByTime", "", ""),
    Kind.RESERVATION: (
        "get_reservation_utilization",
        "UtilizationsByTime",
        "NextPageToken",
        "NextPageToken",
    ),
}


def fetch(ce, operations, kind: str, start: date, end: date, count) -> list:
    operation, list_key, token_in, token_out = operations[kind]
    params = {"TimePeriod": _period(start, end), "Granularity": "DAILY"}
    return list(_pages(getattr(ce, operation), list_key, token_in, token_out, count, **params))


def fetch_kind(ce, kind: str, start: date, end: date, count) -> tuple[list, list | None]:
    """Coverage and utilization entries; utilization None when Cost Explorer has none."""
    coverage = fetch(ce, COVERAGE, kind, start, end, count)
    try:
        utilization = fetch(ce, UTILIZATION, kind, start, end, count)
    except ClientError as exc:
        if error_code(exc) != NO_DATA:
            raise
        return coverage, None
    return coverage, utilization or None


# --- Reading the entries -----------------------------------------------------------------------


def _day(entry: dict) -> date:
    return date.fromisoformat(entry["TimePeriod"]["Start"][:10])


def _figure(group: dict | None, key: str) -> Decimal:
    if not isinstance(group, dict) or key not in group:
        raise Incomplete(f"no {key}")
    try:
        return Decimal(str(group[key]))
    except InvalidOperation:
        raise Incomplete(f"unreadable {key} {group[key]!r}") from None


def savings_plans_coverage(entry: dict) -> dict:
    coverage = entry.get("Coverage")
    return {
        "coverage_percent": _figure(coverage, "CoveragePercentage"),
        "covered_spend": _figure(coverage, "SpendCoveredBySavingsPlans"),
        "on_demand_spend": _figure(coverage, "OnDemandCost"),
    }


def savings_plans_utilization(entry: dict) -> dict:
    utilization = entry.get("Utilization")
    return {
        "utilization_percent": _figure(utilization, "UtilizationPercentage"),
        "used_commitment": _figure(utilization, "UsedCommitment"),
        "unused_commitment": _figure(utilization, "UnusedCommitment"),
        "net_savings": _figure(entry.get("Savings"), "NetSavings"),
    }


def reservation_coverage(entry: dict) -> dict:
    total = entry.get("Total")
    if not isinstance(total, dict):
        raise Incomplete("no Total")
    return {
        "coverage_percent": _figure(total.get("CoverageHours"), "CoverageHoursPercentage"),
        # Reservation coverage is counted in hours: Cost Explorer gives no covered spend.
        "covered_spend": None,
        "on_demand_spend": _figure(total.get("CoverageCost"), "OnDemandCost"),
    }


def reservation_utilization(entry: dict) -> dict:
    total = entry.get("Total")
    if not isinstance(total, dict):
        raise Incomplete("no Total")
    fee = _figure(total, "TotalAmortizedFee")
    unused = _figure(total, "RICostForUnusedHours")
    return {
        "utilization_percent": _figure(total, "UtilizationPercentage"),
        "used_commitment": fee - unused,
        "unused_commitment": unused,
        "net_savings": _figure(total, "NetRISavings"),
    }


READERS = {
    Kind.SAVINGS_PLAN: (savings_plans_coverage, savings_plans_utilization),
    Kind.RESERVATION: (reservation_coverage, reservation_utilization),
}


def _by_day(entries: list, read) -> dict[date, dict | str]:
    """Day -> its figures, or why they are incomplete."""
    days: dict[date, dict | str] = {}
    for entry in entries:
        try:
            day = _day(entry)
        except (KeyError, TypeError, ValueError):
            continue  # an entry without a day names no day to store
        try:
            days[day] = read(entry)
        except Incomplete as exc:
            days[day] = str(exc)
    return days


def complete_days(
    kind: str, coverage: list, utilization: list | None, start: date, end: date
) -> tuple[dict[date, dict], dict[date, str]]:
    """The days with every figure, and the others with the reason they are skipped.

    UTILIZATION None: Cost Explorer has none for the account (no commitment of the kind).
    """
    read_coverage, read_utilization = READERS[kind]
    covered = _by_day(coverage, read_coverage)
    used = _by_day(utilization, read_utilization) if utilization is not None else None
    stored, skipped = {}, {}
    for n in range((end - start).days):
        day = start + timedelta(days=n)
        figures = covered.get(day, "no coverage entry")
        if isinstance(figures, str):
            skipped[day] = f"coverage: {figures}"
            continue
        if used is not None:
            usage = used.get(day, "no utilization entry")
            if isinstance(usage, str):
                skipped[day] = f"utilization: {usage}"
                continue
            figures = {**figures, **usage}
        stored[day] = figures
    return stored, skipped


def _skipped_note(kind: str, skipped: dict[date, str]) -> str:
    listed = [f"{day} ({why})" for day, why in sorted(skipped.items())[:NOTE_DAYS]]
    more = len(skipped) - NOTE_DAYS
    tail = f" and {more} more" if more > 0 else ""
    return (
        f"{Kind(kind).label}: {len(skipped)} day(s) not stored, Cost Explorer's answer was "
        f"incomplete: {', '.join(listed)}{tail}."
    )


def _store(account, kind: str, days: dict[date, dict]) -> int:
    with transaction.atomic():
        CommitmentDay.objects.filter(
            account=account, source=CommitmentDay.Source.EXPLORER, kind=kind, day__in=list(days)
        ).delete()
        CommitmentDay.objects.bulk_create(
            CommitmentDay(
                account=account, day=day, kind=kind, source=CommitmentDay.Source.EXPLORER, **f
            )
            for day, f in days.items()
        )
    return len(days)


def sync_explorer(account, role: aws.RoleSession, start: date, end: date) -> ExplorerResult:
    result = ExplorerResult()

    def count() -> None:
        result.requests += 1

    for kind in Kind.values:
        try:
            coverage, utilization = role.run(
                lambda session, kind=kind: fetch_kind(
                    aws.client(session, "ce", CE_REGION), kind, start, end, count
                )
            )
        except ClientError as exc:
            if error_code(exc) == NO_DATA:
                result.parts_ok += 1
                result.notes.append(
                    f"{Kind(kind).label}: Cost Explorer has no coverage data for this account "
                    "(new, or Cost Explorer not enabled)."
                )
                continue
            permission = f"ce:{exc.operation_name}"
            if is_denied(exc):
                message = f"{permission} is not allowed by the role: add it to the role's policy"
            else:
                message = f"{permission} failed"
            result.problems[permission] = f"{message} (AWS said {describe(exc)})."
            continue
        except (BotoCoreError, ResponseParserError, RepeatedToken) as exc:
            # ResponseParserError: an answer that is not AWS's (a proxy's error page).
            first_line = str(exc).splitlines()[0]
            result.problems[f"ce ({Kind(kind).label})"] = f"Cost Explorer failed: {first_line}"
            continue
        days, skipped = complete_days(kind, coverage, utilization, start, end)
        if utilization is None and days:
            result.notes.append(
                f"{Kind(kind).label}: no utilization in Cost Explorer (no commitment of this "
                "kind in the window): coverage stored without utilization figures."
            )
        if skipped:
            result.days_skipped += len(skipped)
            result.notes.append(_skipped_note(kind, skipped))
        result.stored += _store(account, kind, days)
        result.parts_ok += 1
    return result
