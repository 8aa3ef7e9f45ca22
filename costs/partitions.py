"""The cost store's monthly partitions (PostgreSQL) and its retention (every database).

On PostgreSQL costs_costrecord is range-partitioned by month on usage_date (migration 0012):
one table per month, named costs_costrecord_pYYYY_MM, and a DEFAULT partition that catches any
date without its month's table, so that an odd date never fails a write. The daily schedule
(config/schedules.py "cost-partitions") creates the current month and the
COST_PARTITIONS_AHEAD_MONTHS after it before any row of theirs arrives; an import creates the
months it writes (ensure_months) before its transaction starts. A month created while the
DEFAULT partition holds rows of it takes them over in the same transaction.

Retention (COST_RETENTION_MONTHS, 0 = keep forever) keeps the current month and that many
months before it. On PostgreSQL an expired month's partition is detached and dropped, which
costs the same whatever it holds; on SQLite (the demo) the rows are deleted by date. Either way
the derived rows of those days go with them: the daily rollups, Cost Explorer's tag spend and
the hourly commitment usage here, and what later stages derived (the allocation rollups, the
commitment days) through costs.signals.store_expired, in the same transaction.

DDL here runs under one transaction-scoped advisory lock, so two workers (or the schedule and
an import) never create or drop the same table at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization
from costs.models import CommitmentUsageHour, CostRecord, CostRollup, TagSpend
from costs.signals import store_expired

logger = logging.getLogger(__name__)

TABLE = CostRecord._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
# Months further ahead than this (or the schedule's horizon, if longer) get no partition of
# their own when an import writes them: a mistyped year stays in the DEFAULT partition instead
# of leaving a table behind.
MAX_MONTHS_AHEAD = 12
_LOCK_KEY = 0x5C0575  # pg_advisory_xact_lock key of the partition DDL
_BOUNDS = re.compile(r"FOR VALUES FROM \('([0-9-]+)'\) TO \('([0-9-]+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: date | None  # None: the DEFAULT partition
    end: date | None  # exclusive
    rows: int  # the planner's estimate (pg_class.reltuples), -1 before the first ANALYZE

    @property
    def is_default(self) -> bool:
        return self.start is None


@dataclass
class Dropped:
    """What a retention run removed (or would remove, in a dry run)."""

    cutoff: date | None
    partitions: list[Partition] = field(default_factory=list)
    records_deleted: int = 0  # rows deleted by date (SQLite; the DEFAULT partition)
    rollups_deleted: int = 0
    tag_spend_deleted: int = 0
    usage_hours_deleted: int = 0
    derived: dict[str, int] = field(default_factory=dict)  # later stages' rows, by what they are
    dry_run: bool = False


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def month_of(day: date) -> date:
    return day.replace(day=1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def _lock(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # The foreign keys are checked at commit; PostgreSQL alters no table with such checks
    # pending (rows written earlier in the same transaction), so they run now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def list_partitions() -> list[Partition]:
    """The store's partitions, months in order then DEFAULT; [] on SQLite."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound, tuples in rows:
        match = _BOUNDS.search(bound)
        start, end = (
            (date.fromisoformat(match[1]), date.fromisoformat(match[2])) if match else (None, None)
        )
        partitions.append(Partition(name, start, end, tuples))
    return sorted(partitions, key=lambda p: (p.is_default, p.start or date.min))


def retention_cutoff(today: date | None = None) -> date | None:
    """The first day kept under COST_RETENTION_MONTHS, or None when everything is kept."""
    months = settings.COST_RETENTION_MONTHS
    if not months:
        return None
    today = today or timezone.localdate()
    return month_of(today) - relativedelta(months=months)


def _columns() -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(f.column) for f in CostRecord._meta.concrete_fields)


def _create(cursor, month: date) -> int:
    """Create MONTH's partition, taking over the DEFAULT partition's rows of that month; returns
    the rows moved. PostgreSQL refuses to create a partition while DEFAULT holds rows of its
    range, so they wait in a temporary table meanwhile (all in the caller's transaction)."""
    start, end = month, month + relativedelta(months=1)
    name = partition_name(month)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "  # noqa: S608
        "WHERE usage_date >= %s AND usage_date < %s)",
        [start, end],
    )
    moved = 0
    if cursor.fetchone()[0]:
        columns = _columns()
        cursor.execute(
            f"CREATE TEMPORARY TABLE costs_moving_records (LIKE {DEFAULT_PARTITION}) ON COMMIT DROP"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608
            f"WHERE usage_date >= %s AND usage_date < %s RETURNING {columns}) "
            f"INSERT INTO costs_moving_records ({columns}) SELECT {columns} FROM moved",
            [start, end],
        )
        moved = cursor.rowcount
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    if moved:
        cursor.execute(
            f"INSERT INTO {TABLE} ({columns}) "  # noqa: S608
            f"SELECT {columns} FROM costs_moving_records"
        )
        cursor.execute("DROP TABLE costs_moving_records")
        logger.info("Moved %s cost records of %s out of the default partition", moved, name)
    return moved


def _missing(months) -> list[date]:
    covered = {p.start for p in list_partitions() if not p.is_default}
    return sorted({month_of(m) for m in months} - covered)


def ensure_months(months, today: date | None = None) -> list[str]:
    """Create the partitions of MONTHS (first days, or any day of them) that do not exist yet;
    returns their names. Months already expired under retention, or far ahead, are left to the
    DEFAULT partition. Nothing to do (and no lock taken) when every month exists."""
    if not partitioned():
        return []
    today = today or timezone.localdate()
    horizon = month_of(today) + relativedelta(
        months=max(MAX_MONTHS_AHEAD, settings.COST_PARTITIONS_AHEAD_MONTHS)
    )
    cutoff = retention_cutoff(today)
    wanted = [m for m in _missing(months) if m <= horizon and (cutoff is None or m >= cutoff)]
    if not wanted:
        return []
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor)
        for month in _missing(wanted):  # again, under the lock: another worker may have won
            _create(cursor, month)
            created.append(partition_name(month))
    if created:
        logger.info("Created cost partitions %s", ", ".join(created))
    return created


def ensure_ahead(today: date | None = None) -> list[str]:
    """The current month's partition and the COST_PARTITIONS_AHEAD_MONTHS after it."""
    today = today or timezone.localdate()
    first = month_of(today)
    months = [
        first + relativedelta(months=n) for n in range(settings.COST_PARTITIONS_AHEAD_MONTHS + 1)
    ]
    return ensure_months(months, today)


def months_between(low: date, high: date) -> list[date]:
    """Every month from LOW's to HIGH's, inclusive."""
    months, month = [], month_of(low)
    while month <= high:
        months.append(month)
        month += relativedelta(months=1)
    return months


def drop_expired(today: date | None = None, dry_run: bool = False) -> Dropped:
    """Remove what COST_RETENTION_MONTHS no longer keeps (see the module's docstring)."""
    cutoff = retention_cutoff(today)
    result = Dropped(cutoff=cutoff, dry_run=dry_run)
    if cutoff is None:
        return result
    result.partitions = [
        p for p in list_partitions() if not p.is_default and p.end is not None and p.end <= cutoff
    ]
    if dry_run:
        if not partitioned():
            result.records_deleted = CostRecord.objects.filter(usage_date__lt=cutoff).count()
        _expire_derived(result)
        return result
    hour = datetime.combine(cutoff, datetime.min.time(), tzinfo=UTC)
    with transaction.atomic():
        if partitioned():
            with connection.cursor() as cursor:
                _lock(cursor)
                for partition in result.partitions:
                    # DETACH first: DROP of an attached partition locks the parent for longer.
                    cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {partition.name}")
                    cursor.execute(f"DROP TABLE {partition.name}")
                    logger.info(
                        "Dropped cost partition %s (%s to %s, about %s rows)",
                        partition.name,
                        partition.start,
                        partition.end,
                        max(partition.rows, 0),
                    )
        # SQLite's whole store, or what PostgreSQL's DEFAULT partition holds of those days.
        result.records_deleted = CostRecord.objects.filter(usage_date__lt=cutoff).delete()[0]
        # Named organisations and dimensions let both tables' (organization, [dimension,]
        # usage_date) indexes find the old days, instead of a scan of every rollup.
        orgs = list(Organization.objects.values_list("pk", flat=True))
        result.rollups_deleted = CostRollup.objects.filter(
            organization__in=orgs,
            dimension__in=CostRollup.Dimension.values,
            usage_date__lt=cutoff,
        ).delete()[0]
        result.tag_spend_deleted = TagSpend.objects.filter(
            organization__in=orgs, usage_date__lt=cutoff
        ).delete()[0]
        result.usage_hours_deleted = CommitmentUsageHour.objects.filter(hour__lt=hour).delete()[0]
        _expire_derived(result)
    if result.records_deleted or result.partitions:
        logger.info(
            "Cost retention (%s months, before %s): %s partitions dropped, %s records, "
            "%s rollups, %s tag spend rows, %s commitment usage hours deleted; derived: %s",
            settings.COST_RETENTION_MONTHS,
            cutoff,
            len(result.partitions),
            result.records_deleted,
            result.rollups_deleted,
            result.tag_spend_deleted,
            result.usage_hours_deleted,
            result.derived,
        )
    return result


def _expire_derived(result: Dropped) -> None:
    for _, counts in store_expired.send(
        sender=CostRecord, before=result.cutoff, dry_run=result.dry_run
    ):
        result.derived.update(counts)


def describe(dropped: Dropped) -> list[str]:
    """Human lines about a retention run, for the command and the task's result."""
    if dropped.cutoff is None:
        return ["COST_RETENTION_MONTHS is 0: every month is kept."]
    verb = "would drop" if dropped.dry_run else "dropped"
    lines = [f"Retention {settings.COST_RETENTION_MONTHS} months: data before {dropped.cutoff}."]
    for p in dropped.partitions:
        lines.append(f"  {verb} {p.name} ({p.start} to {p.end}, about {max(p.rows, 0):,} rows)")
    if dropped.dry_run:
        if not partitioned():
            lines.append(
                f"  would delete {dropped.records_deleted:,} cost records by date, with the "
                "rollups, tag spend and commitment usage hours of those days"
            )
        elif not dropped.partitions:
            lines.append("  no partition to drop")
        lines.extend(f"  would delete {n:,} {what}" for what, n in dropped.derived.items())
    else:
        lines.append(
            f"  deleted by date: {dropped.records_deleted:,} cost records, "
            f"{dropped.rollups_deleted:,} rollups, {dropped.tag_spend_deleted:,} tag spend rows, "
            f"{dropped.usage_hours_deleted:,} commitment usage hours"
            + "".join(f", {n:,} {what}" for what, n in dropped.derived.items())
        )
    return lines
