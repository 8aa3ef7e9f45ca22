"""On-demand prices from the dated table shipped in costs/data/aws_prices.json.

The table is a transcription of AWS's public us-east-1 price list (Linux/UNIX, shared tenancy),
not a live fetch: Spendlens must estimate savings without internet access or the Pricing API.
It is only the fallback: a resource's own billed cost, where the cost store has it, comes first
(see findings/savings.py). Other regions use the same figures, marked as us-east-1 prices.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

PRICE_TABLE_PATH = Path(__file__).resolve().parent / "data" / "aws_prices.json"


def _load(path: Path = PRICE_TABLE_PATH) -> dict:
    # Decimal from the start: a float would turn 0.0058 into 0.00579999...
    with path.open(encoding="utf-8") as handle:
        return json.load(handle, parse_float=Decimal)


_TABLE = _load()
_INSTANCES: dict[str, Decimal] = {
    name: Decimal(price) for name, price in _TABLE["ec2_on_demand_hourly"]["prices"].items()
}
_EBS: dict[str, Decimal] = {
    name: Decimal(price) for name, price in _TABLE["ebs_per_gb_month"].items()
}
_PROVISIONED = _TABLE["ebs_provisioned"]

HOURS_PER_MONTH = Decimal(_TABLE["hours_per_month"])
PRICE_TABLE_AS_OF: date = date.fromisoformat(_TABLE["as_of"])
PRICE_TABLE_SOURCE: str = _TABLE["source"]
PRICE_TABLE_REGION: str = _TABLE["region"]
PUBLIC_IPV4_HOURLY = Decimal(_TABLE["public_ipv4_hourly"])

GP3_INCLUDED_IOPS = int(_PROVISIONED["gp3_included_iops"])
GP3_INCLUDED_THROUGHPUT = int(_PROVISIONED["gp3_included_throughput_mibps"])
GP3_IOPS_MONTH = Decimal(_PROVISIONED["gp3_iops_month"])
GP3_THROUGHPUT_MONTH = Decimal(_PROVISIONED["gp3_throughput_mibps_month"])
IO1_IOPS_MONTH = Decimal(_PROVISIONED["io1_iops_month"])
IO2_IOPS_TIERS: list[tuple[int | None, Decimal]] = [
    (tier["up_to_iops"], Decimal(tier["price"])) for tier in _PROVISIONED["io2_iops_month_tiers"]
]


def table(section: str) -> dict:
    """A raw section of the shipped table (costs/prices.py reads the newer sections here)."""
    return _TABLE[section]


def known_instance_types() -> list[str]:
    return sorted(_INSTANCES)


def instance_hourly(instance_type: str) -> Decimal | None:
    return _INSTANCES.get(instance_type)


def instance_monthly(instance_type: str) -> Decimal | None:
    hourly = instance_hourly(instance_type)
    return None if hourly is None else hourly * HOURS_PER_MONTH


def _io2_iops_monthly(iops: int) -> Decimal:
    # io2 IOPS are priced in tiers: each tier's rate applies only to the IOPS inside it.
    total, floor = Decimal(0), 0
    for ceiling, price in IO2_IOPS_TIERS:
        top = iops if ceiling is None else min(iops, ceiling)
        if top > floor:
            total += (top - floor) * price
        if ceiling is None or iops <= ceiling:
            break
        floor = ceiling
    return total


def provisioned_iops_monthly(volume_type: str, iops: int | None) -> Decimal:
    """What the volume's provisioned IOPS add to its storage price (gp3 includes 3,000)."""
    if not iops:
        return Decimal(0)
    if volume_type == "gp3":
        return max(0, iops - GP3_INCLUDED_IOPS) * GP3_IOPS_MONTH
    if volume_type == "io1":
        return iops * IO1_IOPS_MONTH
    if volume_type == "io2":
        return _io2_iops_monthly(iops)
    return Decimal(0)  # gp2, st1, sc1 and standard do not bill IOPS separately


def volume_monthly(volume_type: str, size_gib: int, iops: int | None = None) -> Decimal | None:
    """Storage plus provisioned IOPS; gp3 throughput above 125 MiB/s is not in the inventory."""
    per_gb = _EBS.get(volume_type)
    if per_gb is None:
        return None
    return per_gb * size_gib + provisioned_iops_monthly(volume_type, iops)


def gp2_baseline_iops(size_gib: int) -> int:
    """gp2 earns 3 IOPS per GiB, at least 100 and at most 16,000."""
    per_gib = int(_PROVISIONED["gp2_iops_per_gib"])
    return max(
        int(_PROVISIONED["gp2_min_iops"]),
        min(int(_PROVISIONED["gp2_max_iops"]), per_gib * size_gib),
    )


def gp3_equivalent_iops(size_gib: int) -> int:
    """IOPS to provision on gp3 so it keeps the gp2 volume's baseline (never below 3,000)."""
    return max(GP3_INCLUDED_IOPS, gp2_baseline_iops(size_gib))


def gp3_equivalent_monthly(size_gib: int) -> Decimal:
    return volume_monthly("gp3", size_gib, gp3_equivalent_iops(size_gib))


def gp3_saving_monthly(size_gib: int) -> Decimal:
    """gp2 minus a gp3 volume with the same size and baseline IOPS.

    Above 1,000 GiB a gp2 volume's baseline exceeds gp3's included 3,000 IOPS; leaving those
    IOPS out would promise a saving that comes with a slower disk.
    """
    return volume_monthly("gp2", size_gib) - gp3_equivalent_monthly(size_gib)


def eip_monthly() -> Decimal:
    """An idle Elastic IP, like every public IPv4 address since February 2024, bills hourly."""
    return PUBLIC_IPV4_HOURLY * HOURS_PER_MONTH


def basis_label(region: str) -> str:
    if region == PRICE_TABLE_REGION:
        return "price table"
    return f"price table ({PRICE_TABLE_REGION} prices)"


def table_evidence(region: str) -> dict:
    """Where a price-table figure came from, for a recommendation's evidence."""
    return {
        "basis": basis_label(region),
        "price_table_as_of": PRICE_TABLE_AS_OF.isoformat(),
        "price_table_source": PRICE_TABLE_SOURCE,
        "price_table_region": PRICE_TABLE_REGION,
        "hours_per_month": int(HOURS_PER_MONTH),
    }
