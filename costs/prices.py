"""Regional on-demand prices: the cached AWS Price List figure first, else the shipped table.

Every lookup returns a Price that says where its figure came from (source), for which region
(a table figure outside us-east-1 is us-east-1's, and says so) and as of when, so a saving can
show exactly which price it used. None means no price is known: no saving may be invented
from nothing.

The cache (costs.PriceQuote, filled weekly by costs/price_list.py) is read through
_cached(); the shipped table through costs/pricing.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from costs import pricing
from costs.models import PriceQuote

PRICE_LIST = "price_list"
PRICE_TABLE = "price_table"


@dataclass(frozen=True)
class Price:
    amount: Decimal  # USD per unit
    unit: str  # "hour", "GB-month" or "GB"
    region: str  # the region the figure is for (the table's is us-east-1)
    source: str  # PRICE_LIST or PRICE_TABLE
    as_of: date  # when the Price List figure was fetched, or the table's date

    def evidence(self, name: str) -> dict:
        """The figure and its provenance under NAME, for a recommendation's evidence."""
        return {
            f"{name}_price": str(self.amount),
            f"{name}_unit": self.unit,
            f"{name}_price_source": self.source,
            f"{name}_price_region": self.region,
            f"{name}_price_as_of": self.as_of.isoformat(),
        }


def _table(amount, unit: str) -> Price | None:
    if amount is None:
        return None
    return Price(
        Decimal(amount), unit, pricing.PRICE_TABLE_REGION, PRICE_TABLE, pricing.PRICE_TABLE_AS_OF
    )


# A detection run prices thousands of resources: each process holds the whole (small) table
# in memory and reloads it when this marker, kept in Django's cache, has expired or been
# dropped. The refresh drops it in its own process; the others see a refresh within
# SNAPSHOT_SECONDS, which for weekly figures is soon enough.
SNAPSHOT_MARKER = "costs:price-quotes-snapshot"
SNAPSHOT_SECONDS = 300
# Figures older than this are still used (AWS prices rarely change) but the basis says so.
STALE_AFTER = timedelta(days=35)

_snapshot: dict[tuple[str, str], Price] | None = None


_table_only: ContextVar[bool] = ContextVar("prices_table_only", default=False)


@contextmanager
def table_only() -> Iterator[None]:
    """Within this block, lookups answer from the shipped table only.

    A difference between two prices (a resize, gp2 -> gp3) must take both from one source:
    a regional figure minus a us-east-1 one is no saving at all.
    """
    token = _table_only.set(True)
    try:
        yield
    finally:
        _table_only.reset(token)


def plain(amount: Decimal) -> Decimal:
    """0.1070000000 as 0.107 (the API and the database pad to ten places), never as 1E+1."""
    return amount.quantize(Decimal(1)) if amount == amount.to_integral() else amount.normalize()


def _load() -> dict[tuple[str, str], Price]:
    rows = PriceQuote.objects.filter(status=PriceQuote.Status.OK).values_list(
        "key", "region", "amount", "unit", "fetched_at"
    )
    return {
        (key, region): Price(
            plain(amount), unit, region, PRICE_LIST, timezone.localdate(fetched_at)
        )
        for key, region, amount, unit, fetched_at in rows
    }


def forget_snapshot() -> None:
    """Make this process's next lookup read the cache table again."""
    global _snapshot
    _snapshot = None
    cache.delete(SNAPSHOT_MARKER)


def _cached(key: str, region: str) -> Price | None:
    """The Price List figure for KEY in REGION, if the cache has one (see costs/price_list.py)."""
    global _snapshot
    if _table_only.get():
        return None
    snapshot = _snapshot
    if snapshot is None or cache.get(SNAPSHOT_MARKER) is None:
        snapshot = _snapshot = _load()
        cache.set(SNAPSHOT_MARKER, True, SNAPSHOT_SECONDS)
    return snapshot.get((key, region))


def is_stale(price: Price, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return price.source == PRICE_LIST and today - price.as_of > STALE_AFTER


def basis_label(price: Price, region: str, today: date | None = None) -> str:
    """How a saving names its price: "AWS Price List (eu-west-1, fetched 2026-12-01)"."""
    if price.source == PRICE_LIST:
        stale = f", over {STALE_AFTER.days} days old" if is_stale(price, today) else ""
        return f"AWS Price List ({price.region}, fetched {price.as_of.isoformat()}{stale})"
    return pricing.basis_label(region)


def _lookup(key: str, region: str, table_amount, unit: str) -> Price | None:
    return _cached(key, region) or _table(table_amount, unit)


def ec2_hourly(instance_type: str, region: str) -> Price | None:
    """Linux/UNIX, shared tenancy, on demand."""
    return _lookup(f"ec2:{instance_type}", region, pricing.instance_hourly(instance_type), "hour")


def ebs_gb_month(volume_type: str, region: str) -> Price | None:
    return _lookup(
        f"ebs:{volume_type}", region, pricing.table("ebs_per_gb_month").get(volume_type), "GB-month"
    )


def snapshot_gb_month(tier: str, region: str) -> Price | None:
    """EBS snapshot storage, tier "standard" or "archive"."""
    return _lookup(
        f"snapshot:{tier}",
        region,
        pricing.table("ebs_snapshot_per_gb_month").get(tier),
        "GB-month",
    )


def public_ipv4_hourly(region: str) -> Price | None:
    return _lookup("ipv4:hour", region, pricing.PUBLIC_IPV4_HOURLY, "hour")


def rds_hourly(instance_class: str, engine: str, region: str) -> Price | None:
    """One Single-AZ instance (Multi-AZ doubling is the caller's: Aurora does not double)."""
    by_engine = pricing.table("rds_on_demand_hourly")["prices"].get(engine, {})
    return _lookup(f"rds:{engine}:{instance_class}", region, by_engine.get(instance_class), "hour")


def rds_storage_gb_month(storage_type: str, region: str) -> Price | None:
    """Single-AZ storage; Multi-AZ storage costs twice this."""
    return _lookup(
        f"rds-storage:{storage_type}",
        region,
        pricing.table("rds_storage_per_gb_month").get(storage_type),
        "GB-month",
    )


def nat_hourly(region: str) -> Price | None:
    return _lookup("nat:hour", region, pricing.table("nat_gateway")["hourly"], "hour")


def nat_per_gb(region: str) -> Price | None:
    return _lookup("nat:gb", region, pricing.table("nat_gateway")["per_gb_processed"], "GB")


def lb_hourly(lb_type: str, region: str) -> Price | None:
    prices = pricing.table("load_balancer").get(lb_type, {})
    return _lookup(f"lb:{lb_type}:hour", region, prices.get("hourly"), "hour")


def lb_capacity_unit_hourly(lb_type: str, region: str) -> Price | None:
    """An LCU (application), NLCU (network) or GLCU (gateway) hour."""
    prices = pricing.table("load_balancer").get(lb_type, {})
    return _lookup(f"lb:{lb_type}:lcu", region, prices.get("capacity_unit_hourly"), "hour")
