"""Allocate a window of the cost store to a dimension's values, and keep the rollups equal.

1. The store's costs of the window (each counted once, USD, as every summary counts them) are
   grouped in the database by day, sub-account, service, charge category and the values of
   the tag keys the rules read: a few rows per account, service and tag combination, however
   many resource-level rows the store holds.
2. Cost Explorer rows carry no tags: their tag values come from TagSpend, the split of each
   (day, account, service) by one tag key at a time. A cost is divided by its keys' shares;
   Cost Explorer never reports two keys together, so the shares of two keys are combined as if
   independent (a FOCUS export is exact: its rows carry their tags).
3. Each group gets its value from the rules (allocation/rules.py), or goes to a shared-cost
   split; what no rule and no split takes is the dimension's unallocated value.
4. Each day's shared costs are divided among the values (evenly, by direct spend, or by fixed
   percentages), service by service. When there is no value to divide among (no direct spend
   that day), the shared cost stays unallocated.

Every division is exact to the store's ten decimal places: the shares are rounded down and
the remainder goes to the largest, so the values of a dimension always sum to the store's
total for the window, to the cent and beyond (tests/allocation/test_invariant.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.db.models import F, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from allocation.models import AllocationRollup, Dimension, SharedCostSplit
from allocation.rules import CompiledSplit, Cost, Rules
from costs.models import CostRecord, CostSource, TagSpend
from costs.summary import counted_once

PLACES = Decimal("0.0000000001")  # the store's precision
Key = tuple[date, str, str, str]  # (day, value, service, kind)
DIRECT, SHARED = AllocationRollup.Kind.DIRECT, AllocationRollup.Kind.SHARED
BATCH = 5000


@dataclass
class Allocation:
    """A window's allocation: amount per (day, value, service, kind), and what it started from."""

    amounts: dict[Key, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    store_total: Decimal = Decimal(0)
    groups: int = 0

    def by_value(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (_, value, _, _), amount in self.amounts.items():
            totals[value] += amount
        return dict(totals)


def divide(amount: Decimal, weights: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """AMOUNT in proportion to WEIGHTS, each share rounded down to the store's precision and
    the remainder given to the largest: the shares always add up to AMOUNT exactly."""
    total = sum((w for _, w in weights), Decimal(0))
    if not weights or total == 0:
        return []
    shares = [(name, (amount * w / total).quantize(PLACES, ROUND_DOWN)) for name, w in weights]
    remainder = amount - sum((s for _, s in shares), Decimal(0))
    largest = max(range(len(shares)), key=lambda i: (weights[i][1], -i))
    name, share = shares[largest]
    shares[largest] = (name, share + remainder)
    return shares


def _window(organization, start: date, end: date):
    return CostRecord.objects.filter(
        organization=organization, currency="USD", usage_date__gte=start, usage_date__lte=end
    )


def _tag_columns(keys: list[str]) -> dict:
    """Each key's value as text, "" for none: the same expression in both of _export_costs'
    queries, so the second matches what the first found."""
    return {
        f"t{i}": Coalesce(
            Cast(KeyTextTransform(key, "tags"), TextField()), Value(""), output_field=TextField()
        )
        for i, key in enumerate(keys)
    }


def _explorer_rows(organization, start: date, end: date) -> list[tuple]:
    """Cost Explorer's (day, sub-account, service, charge category, amount) groups, those a
    billing export does not cover: a few per account, service and day."""
    records = counted_once(_window(organization, start, end).filter(source=CostSource.EXPLORER))
    fields = ("usage_date", "sub_account_id", "service", "charge_category")
    grouped = records.values(*fields).annotate(amount=Sum("amount")).order_by()
    return list(grouped.values_list(*fields, "amount"))


def _export_costs(organization, start, end, keys, classify) -> Iterator[tuple]:
    """(day, value, split, service, amount) of the billing exports' rows, in two scans.

    Ten million resource-level rows form a few thousand distinct costs (account, service,
    charge category, tag values) but millions of daily groups. So the first scan finds the
    distinct costs, Python classifies each once, and the second scan sums the rows per day,
    value and service in the database, joined to that classification in a temporary table:
    what comes back is a few thousand rows, not millions, and neither query needs a cursor,
    so PostgreSQL may run both in parallel.
    """
    columns = _tag_columns(keys)
    records = _window(organization, start, end).primary().exclude(source=CostSource.EXPLORER)
    costs = records.annotate(**columns).values_list(
        "sub_account_id", "service", "charge_category", *columns
    )
    targets = []
    for sub_account, service, charge, *tags in costs.distinct().order_by():
        value, split = classify(sub_account, service, charge, tuple(tags))
        targets.append((sub_account, service, charge, *tags, value, split.pk if split else None))
    if not targets:
        return
    # Aliases of our own, so the outer query can name the inner one's columns on any database.
    rows = records.annotate(**columns).values(
        *columns,
        day=F("usage_date"),
        sa=F("sub_account_id"),
        sv=F("service"),
        cc=F("charge_category"),
        amt=F("amount"),
    )
    inner, params = rows.order_by().query.sql_with_params()
    table = f"allocation_targets_{uuid.uuid4().hex[:12]}"  # ours: a name, not input
    matched = ("sa", "sv", "cc", *columns)
    on = " AND ".join(f"r.{name} = m.{name}" for name in matched)
    placeholders = ", ".join(["%s"] * (len(matched) + 2))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} ("
            + ", ".join(f"{name} text" for name in matched)
            + ", target_value text, target_split integer)"
        )
        try:
            cursor.executemany(f"INSERT INTO {table} VALUES ({placeholders})", targets)  # noqa: S608
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")
            cursor.execute(
                "SELECT r.day, m.target_value, m.target_split, r.sv, SUM(r.amt) "  # noqa: S608
                f"FROM ({inner}) r JOIN {table} m ON {on} "
                "GROUP BY r.day, m.target_value, m.target_split, r.sv",
                params,
            )
            for day, value, split, service, amount in cursor.fetchall():
                yield _date(day), value, split, service, _decimal(amount)
        finally:
            cursor.execute(f"DROP TABLE {table}")


def _date(raw) -> date:
    return date.fromisoformat(raw) if isinstance(raw, str) else raw  # SQLite gives text


def _decimal(raw) -> Decimal:
    """A raw SUM as the store's Decimal (SQLite sums decimals as floats)."""
    if isinstance(raw, Decimal):
        return raw
    return Decimal(repr(raw)).quantize(PLACES) if isinstance(raw, float) else Decimal(raw)


def _tag_shares(organization, start: date, end: date, keys: list[str]) -> dict:
    """(day, sub-account, service) -> {key: [(value, amount), ...]} from Cost Explorer."""
    shares: dict = defaultdict(lambda: defaultdict(list))
    if not keys:
        return shares
    rows = (
        TagSpend.objects.filter(
            organization=organization,
            usage_date__gte=start,
            usage_date__lte=end,
            tag_key__in=keys,
        )
        .values_list("usage_date", "sub_account_id", "service", "tag_key", "tag_value", "amount")
        .order_by()
    )
    for day, sub_account, service, key, value, amount in rows.iterator(chunk_size=BATCH):
        shares[(day, sub_account, service)][key].append((value, amount))
    return shares


def _explorer_costs(day, sub_account, service, amount, keys, shares) -> list[tuple[tuple, Decimal]]:
    """A Cost Explorer group divided by its tag keys' shares: [(tag values, amount)]."""
    parts = [((), amount)]
    known = shares.get((day, sub_account, service), {})
    for key in keys:
        split = [(v, a) for v, a in known.get(key, []) if a > 0]
        if not split:
            parts = [((*tags, ""), amount) for tags, amount in parts]
            continue
        parts = [
            ((*tags, value), share)
            for tags, amount in parts
            for value, share in divide(amount, split)
        ]
    return parts


def allocate(dimension: Dimension, start: date, end: date, rules: Rules | None = None):
    """The allocation of START..END (inclusive) under DIMENSION's current rules (not stored)."""
    rules = rules or Rules(dimension)
    return _allocate(dimension.organization_id, start, end, rules, dimension.unallocated_label)


def by_tag(organization_id: int, key: str, start: date, end: date, untagged: str) -> Allocation:
    """The window's spend by KEY's value (UNTAGGED for none), by the same path as a dimension."""
    return _allocate(organization_id, start, end, Rules.by_tag(key), untagged)


def _allocate(organization_id, start: date, end: date, rules: Rules, unallocated: str):
    keys = sorted(rules.tag_keys)
    result = Allocation()
    shared: dict[tuple[date, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    splits = {s.pk: s for s in rules.splits}
    amounts, classified = result.amounts, {}

    def classify(sub_account, service, charge, tags):
        found = classified.get((sub_account, service, charge, tags))
        if found is None:
            cost = Cost(sub_account, service, charge, tuple(zip(keys, tags, strict=True)))
            found = classified[(sub_account, service, charge, tags)] = rules.classify(cost)
        return found

    def add(day, value, split_pk, service, amount):
        result.store_total += amount
        if split_pk is not None:
            shared[(day, split_pk)][service] += amount
        else:
            amounts[(day, value or unallocated, service, DIRECT)] += amount

    for day, value, split_pk, service, amount in _export_costs(
        organization_id, start, end, keys, classify
    ):
        add(day, value, split_pk, service, amount)
    shares = _tag_shares(organization_id, start, end, keys)
    for day, sub_account, service, charge, total in _explorer_rows(organization_id, start, end):
        for tags, amount in _explorer_costs(day, sub_account, service, total, keys, shares):
            value, split = classify(sub_account, service, charge, tags)
            add(day, value, split.pk if split else None, service, amount)
    result.groups = len(classified)
    _divide_shared(result, shared, splits, unallocated)
    return result


def _direct_by_day(result: Allocation, unallocated: str) -> dict[date, dict[str, Decimal]]:
    direct: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (day, value, _, kind), amount in result.amounts.items():
        if kind == DIRECT and value != unallocated:
            direct[day][value] += amount
    return direct


def _weights(split: CompiledSplit, direct: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    if split.method == SharedCostSplit.Method.FIXED:
        return list(split.percentages)
    if split.method == SharedCostSplit.Method.EVEN:
        return [(value, Decimal(1)) for value, amount in sorted(direct.items()) if amount > 0]
    return [(value, amount) for value, amount in sorted(direct.items()) if amount > 0]


def _divide_shared(result: Allocation, shared, splits, unallocated: str) -> None:
    direct = _direct_by_day(result, unallocated)
    for (day, split_pk), services in shared.items():
        weights = _weights(splits[split_pk], direct.get(day, {}))
        for service, amount in services.items():
            shares = divide(amount, weights) or [(unallocated, amount)]
            for value, share in shares:
                result.amounts[(day, value, service, SHARED)] += share


def store(dimension: Dimension, start: date, end: date, allocation: Allocation) -> int:
    """Replace DIMENSION's rollups of START..END with ALLOCATION; returns the rows written."""
    rows = [
        AllocationRollup(
            dimension=dimension,
            usage_date=day,
            value=value,
            service=service,
            kind=kind,
            amount=amount,
        )
        for (day, value, service, kind), amount in allocation.amounts.items()
        if amount
    ]
    with transaction.atomic():
        AllocationRollup.objects.filter(
            dimension=dimension, usage_date__gte=start, usage_date__lte=end
        ).delete()
        AllocationRollup.objects.bulk_create(rows, batch_size=BATCH)
        Dimension.objects.filter(pk=dimension.pk).update(rollups_version=uuid.uuid4())
    return len(rows)


def refresh(organization, start: date, end: date, dimensions: Iterable | None = None) -> None:
    """Re-allocate START..END for every dimension of ORGANIZATION (after a store write)."""
    if dimensions is None:
        dimensions = Dimension.objects.filter(organization=organization)
    for dimension in dimensions:
        store(dimension, start, end, allocate(dimension, start, end))


def expire_before(before: date, dry_run: bool = False) -> int:
    """Delete (or, in a dry run, count) every dimension's rollups of the days before BEFORE:
    the cost store's retention removed the costs they were allocated from."""
    expired = AllocationRollup.objects.filter(usage_date__lt=before)
    if dry_run:
        return expired.count()
    deleted = 0
    # Dimension by dimension, so the (dimension, usage_date) index finds the old days, and each
    # dimension's cached summaries are dropped with its rows.
    for dimension_pk in Dimension.objects.values_list("pk", flat=True):
        n = expired.filter(dimension_id=dimension_pk).delete()[0]
        if n:
            Dimension.objects.filter(pk=dimension_pk).update(rollups_version=uuid.uuid4())
            deleted += n
    return deleted


def rollup_totals(dimension: Dimension, start: date, end: date) -> dict[str, Decimal]:
    rows = (
        AllocationRollup.objects.filter(
            dimension=dimension, usage_date__gte=start, usage_date__lte=end
        )
        .values("value")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    return {row["value"]: row["amount"] for row in rows}


def mark_rules_changed(dimension: Dimension) -> None:
    Dimension.objects.filter(pk=dimension.pk).update(rules_changed_at=timezone.now())


def rules_changed(dimension: Dimension) -> None:
    """DIMENSION's rules changed: this month follows them at once, and earlier months keep the
    rules they were allocated with until history is re-allocated (allocation/reallocation.py).
    Call it inside the transaction that changed the rules."""
    mark_rules_changed(dimension)
    today = timezone.localdate()
    refresh(dimension.organization, today.replace(day=1), today, [dimension])
