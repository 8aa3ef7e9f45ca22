"""The hourly commitment usage of a FOCUS file, for costs.CommitmentUsageHour.

FOCUS 1.0 says which rows commitments touched: CommitmentDiscountCategory is "Spend" for a
Savings Plan and "Usage" for a reservation, CommitmentDiscountStatus "Used" for usage a
commitment covered and "Unused" for the commitment left over. The on-demand spend a Savings Plan
could cover is the usage of its services priced "Standard" (FOCUS 1.0's on-demand; "On-Demand"
in the preview schema). Everything else (purchases, fees, spot, other services) has no bucket.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from costs.models import SAVINGS_PLAN_SERVICES, CommitmentUsageHour

from .aggregate import STORED_AMOUNT_TYPE
from .source import CHUNK_ROWS
from .validation import optional_amount

Bucket = CommitmentUsageHour.Bucket
ON_DEMAND_PRICING = ("Standard", "On-Demand")
KEY = ["sub_account_id", "billing_period", "usage_date", "hour", "bucket", "currency"]
SUMS = [("list", "sum"), ("list_missing", "sum"), ("effective", "sum")]


def _is(column, *values) -> pa.Array:
    return pc.fill_null(pc.is_in(column, pa.array(values, pa.string())), False)


def buckets(rows: pa.Table) -> pa.Array:
    """Each row's bucket, null for rows no commitment figure uses."""
    aws_usage = pc.and_(_is(rows["provider"], "AWS"), _is(rows["charge_category"], "Usage"))
    savings_plan = _is(rows["commitment_category"], "Spend")
    reservation = _is(rows["commitment_category"], "Usage")
    used = _is(rows["commitment_status"], "Used")
    unused = _is(rows["commitment_status"], "Unused")
    uncommitted = pc.invert(pc.or_(savings_plan, reservation))
    on_demand = pc.and_(
        pc.and_(_is(rows["pricing_category"], *ON_DEMAND_PRICING), uncommitted),
        _is(rows["service"], *SAVINGS_PLAN_SERVICES),
    )
    conditions = [
        (pc.and_(savings_plan, used), Bucket.SAVINGS_PLAN_USED),
        (pc.and_(savings_plan, unused), Bucket.SAVINGS_PLAN_UNUSED),
        (pc.and_(reservation, used), Bucket.RESERVATION_USED),
        (pc.and_(reservation, unused), Bucket.RESERVATION_UNUSED),
        (on_demand, Bucket.ON_DEMAND),
    ]
    chosen = pc.case_when(
        pc.make_struct(*[pc.and_(aws_usage, mask) for mask, _ in conditions]),
        *[pa.scalar(bucket.value, pa.string()) for _, bucket in conditions],
    )
    return chosen


def _group(table: pa.Table) -> pa.Table:
    grouped = table.group_by(KEY).aggregate(SUMS)
    return grouped.rename_columns([name.removesuffix("_sum") for name in grouped.column_names])


class HourlyUsage:
    """Hourly sums per sub-account and bucket of the rows added so far, merged as they grow.

    Only the connected accounts' (ACCOUNTS: AWS account ID -> CloudAccount pk): the figures
    built from these hours (coverage, utilization, what to buy) are per connected account, and
    a sub-account connected later gets them from the next import of the period.
    """

    def __init__(self, accounts: dict[str, int]):
        self._accounts = pa.array(list(accounts), pa.string())
        self._merged: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def add(self, rows: pa.Table) -> None:
        if not rows.num_rows or not len(self._accounts):
            return
        bucket = buckets(rows)
        connected = pc.fill_null(pc.is_in(rows["sub_account_id"], self._accounts), False)
        keep = pc.and_(pc.is_valid(bucket), connected)
        if not pc.any(keep).as_py():
            return
        wanted = [name for name in KEY if name != "bucket"] + ["list_text", "effective"]
        rows = rows.select(wanted).filter(keep)
        listed = optional_amount(rows["list_text"])
        part = pa.table(
            {
                **{name: rows[name] for name in KEY if name != "bucket"},
                "bucket": bucket.filter(keep),
                "list": pc.fill_null(listed, 0),
                # A group with any unusable ListCost has no list cost at all, not a partial one.
                "list_missing": pc.cast(pc.is_null(listed), pa.int64()),
                "effective": rows["effective"],
            }
        )
        self._pending.append(_group(part))
        self._pending_rows += self._pending[-1].num_rows
        merged_rows = self._merged.num_rows if self._merged is not None else 0
        if self._pending_rows > max(CHUNK_ROWS, merged_rows):
            self._merge()

    def _merge(self) -> None:
        parts = ([self._merged] if self._merged is not None else []) + self._pending
        if parts:
            self._merged = _group(pa.concat_tables(parts))
        self._pending, self._pending_rows = [], 0

    def rows(self, billing_import, accounts: dict[str, int]) -> pa.Table:
        # ACCOUNTS: the same mapping the usage was gathered for.
        """CommitmentUsageHour rows, named after the model's fields."""
        self._merge()
        groups = self._merged
        if groups is None:
            return pa.table({})
        hour = pc.add(
            pc.cast(pc.cast(groups["usage_date"], pa.timestamp("s")), pa.int64()),
            pc.multiply(pc.cast(groups["hour"], pa.int64()), 3600),
        )

        def constant(value, type_):
            return pa.repeat(pa.scalar(value, type_), groups.num_rows)

        def stored(column):
            rounded = pc.round(groups[column], ndigits=10, round_mode="half_towards_infinity")
            return pc.cast(rounded, STORED_AMOUNT_TYPE)

        return pa.table(
            {
                "organization": constant(billing_import.organization_id, pa.int64()),
                "account": pc.take(
                    pa.array(list(accounts.values()), pa.int64()),
                    pc.index_in(groups["sub_account_id"], pa.array(list(accounts), pa.string())),
                ),
                "sub_account_id": groups["sub_account_id"],
                "hour": pc.cast(pc.cast(hour, pa.timestamp("s")), pa.timestamp("s", tz="UTC")),
                "bucket": groups["bucket"],
                "list_cost": pc.if_else(
                    pc.equal(groups["list_missing"], 0),
                    stored("list"),
                    None,
                ),
                "effective_cost": stored("effective"),
                "currency": groups["currency"],
                "billing_import": constant(billing_import.pk, pa.int64()),
                "billing_period": groups["billing_period"],
            }
        )
