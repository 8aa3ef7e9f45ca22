"""From clean rows to daily groups to CostRecord rows.

Tags travel through grouping as small numbers (TagNumbers); DailyTotals keeps the running
daily sums in bounded memory; cost_records() turns the final groups into one row per group
and metric, named after CostRecord's fields.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from costs.models import BillingImport, CostMetric, CostSource

from .columns import AMOUNT_LIMIT, KEY_COLUMNS
from .errors import ImportFailed
from .source import CHUNK_ROWS

STORED_AMOUNT_TYPE = pa.decimal128(38, 10)


class TagNumbers:
    """Numbers for the distinct Tags values that are JSON objects (others get none).

    Daily groups keep their first Tags object; grouping carries a small integer instead of
    the JSON text, which is several times cheaper, and each distinct text is parsed once.
    """

    def __init__(self):
        self._numbers: dict[str, int | None] = {}
        self.texts: list[str] = []
        self.objects: list[dict] = []

    def number(self, tags: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(tags)
        numbers = pa.array([self._number(t) for t in encoded.dictionary.to_pylist()], pa.int32())
        return pc.take(numbers, encoded.indices)

    def _number(self, text: str) -> int | None:
        if text not in self._numbers:
            try:
                value = json.loads(text)
                # jsonb refuses \u0000 and lone surrogates ("\ud800"), which json accepts:
                # one such Tags value failed the whole import on PostgreSQL. Ignore it.
                if "\\u0000" in json.dumps(value):
                    value = None
                else:
                    json.dumps(value, ensure_ascii=False).encode("utf-8")
            except (ValueError, RecursionError):
                value = None
            self._numbers[text] = len(self.objects) if isinstance(value, dict) else None
            if isinstance(value, dict):
                self.texts.append(text)
                self.objects.append(value)
        return self._numbers[text]


NATURAL_KEY = list(KEY_COLUMNS)
# Currency and period ride along in the key while reading (cheaper than min/max aggregates);
# the final pass folds them into the natural key.
CHUNK_KEY = [*NATURAL_KEY, "currency", "billing_period"]
SUMS = [("billed", "sum"), ("effective", "sum"), ("tag_id", "first")]
FINAL = [
    *SUMS,
    ("currency", "min"),
    ("currency", "max"),
    ("billing_period", "min"),
]
SCOPE_KEY = ["billing_period", "provider", "sub_account_id"]


def _aggregate(table: pa.Table, keys, aggregates) -> pa.Table:
    # Single-threaded grouping keeps the order of rows, which "first" (the Tags) relies on;
    # re-aggregating partial results this way equals aggregating the rows at once.
    grouped = table.group_by(keys, use_threads=False).aggregate(aggregates)
    names = {f"{c}_{f}": c for c, f in aggregates if (c, f) in SUMS}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


class DailyTotals:
    """Daily groups of the rows added so far. Per-chunk results are merged whenever they
    outgrow the merged ones, so memory follows the number of groups, not of rows."""

    def __init__(self):
        self._merged: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        # (billing period, provider, sub-account) -> its first SubAccountName
        self.scopes: dict[tuple, str | None] = {}

    def add(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        self._pending.append(_aggregate(rows, CHUNK_KEY, SUMS))
        self._pending_rows += self._pending[-1].num_rows
        for scope in _aggregate(rows, SCOPE_KEY, [("sub_account_name", "first")]).to_pylist():
            key = tuple(scope[k] for k in SCOPE_KEY)
            if self.scopes.get(key) is None:
                self.scopes[key] = scope["sub_account_name_first"]
        merged_rows = self._merged.num_rows if self._merged is not None else 0
        if self._pending_rows > max(CHUNK_ROWS, merged_rows):
            self._merge()

    def _merge(self) -> None:
        parts = ([self._merged] if self._merged is not None else []) + self._pending
        if parts:
            self._merged = _aggregate(pa.concat_tables(parts), CHUNK_KEY, SUMS)
        self._pending, self._pending_rows = [], 0

    def groups(self) -> pa.Table | None:
        """One row per natural key, with its currency (min and max) and billing period."""
        self._merge()
        if self._merged is None:
            return None
        return _aggregate(self._merged, NATURAL_KEY, FINAL)


def cost_records(groups: pa.Table, billing_import: BillingImport, accounts, tags: TagNumbers):
    """The CostRecord rows for GROUPS, one per group and metric, as an Arrow table named
    after the model's fields."""
    mixed = pc.not_equal(groups["currency_min"], groups["currency_max"])
    if pc.any(mixed).as_py():
        example = groups.filter(mixed).slice(0, 1).to_pylist()[0]
        raise ImportFailed(
            "rows of one daily group are billed in different currencies "
            f"({example['currency_min']} and {example['currency_max']}: "
            f"{example['provider']} {example['sub_account_id']} {example['service']} "
            f"on {example['usage_date']}); import each currency separately"
        )
    account = pc.if_else(
        pc.equal(groups["provider"], "AWS"),
        pc.take(
            pa.array(list(accounts.values()), pa.int64()),
            pc.index_in(groups["sub_account_id"], pa.array(list(accounts), pa.string())),
        ),
        pa.scalar(None, pa.int64()),
    )

    def constant(value, type_):
        return pa.repeat(pa.scalar(value, type_), groups.num_rows)

    tables = []
    for metric, column in ((CostMetric.BILLED, "billed"), (CostMetric.EFFECTIVE, "effective")):
        rounded = pc.round(groups[column], ndigits=10, round_mode="half_towards_infinity")
        amount = pc.cast(rounded, STORED_AMOUNT_TYPE)
        if pc.any(pc.greater_equal(pc.abs(pc.cast(amount, pa.float64())), AMOUNT_LIMIT)).as_py():
            raise ImportFailed(f"a daily {column} total exceeds what the cost store can hold")
        tables.append(
            pa.table(
                {
                    "organization": constant(billing_import.organization_id, pa.int64()),
                    "account": account,
                    "source": constant(CostSource.FOCUS.value, pa.string()),
                    "metric": constant(metric.value, pa.string()),
                    "provider": groups["provider"],
                    "sub_account_id": groups["sub_account_id"],
                    "usage_date": groups["usage_date"],
                    "service": groups["service"],
                    "region": groups["region"],
                    "resource_id": groups["resource_id"],
                    "usage_type": constant("", pa.string()),
                    "charge_category": groups["charge_category"],
                    "amount": amount,
                    "currency": groups["currency_min"],
                    "estimated": constant(False, pa.bool_()),
                    "billing_import": constant(billing_import.pk, pa.int64()),
                    "billing_period": groups["billing_period_min"],
                    "tags": pc.take(pa.array(tags.texts, pa.string()), groups["tag_id"]),
                }
            )
        )
    return pa.concat_tables(tables)
