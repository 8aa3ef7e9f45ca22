"""Savings for the resources beyond EC2 instances and volumes, from regional prices.

Same order as findings/savings.py: the resource's own billed cost first (savings.billed_cost,
over every name billing may give it), else the regional price (costs/prices.py), whose
evidence says where each figure came from and as of when. The basis is "billed", else
"price_list" when every price used came from the cached Price List, else "price_table". A
price that is not known is never guessed: the figure it would have priced is 0 with a note
saying so.

Every helper returns (saving, basis, evidence) like findings/savings.py.
"""

from __future__ import annotations

from decimal import Decimal

from costs import prices, pricing
from costs.money import money
from findings import savings
from findings.models import Recommendation

HOURS_PER_MONTH = pricing.HOURS_PER_MONTH
# AWS bills data processing per GB of 2^30 bytes.
BYTES_PER_GB = Decimal(1024**3)
BILLED = Recommendation.SavingBasis.BILLED
PRICE_LIST = Recommendation.SavingBasis.PRICE_LIST
PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE

Saving = savings.Saving


def basis_of(used: list) -> str:
    """price_list only when every price used came from the Price List cache."""
    if used and all(price.source == prices.PRICE_LIST for price in used):
        return PRICE_LIST
    return PRICE_TABLE


def _price_evidence(named: dict) -> dict:
    evidence = {}
    for name, price in named.items():
        if price is not None:
            evidence.update(price.evidence(name))
    return evidence


def _missing(named: dict) -> list[str]:
    return [name for name, price in named.items() if price is None]


def _no_price_note(what: str, region: str) -> str:
    return f"no price for {what} in {region}: saving not estimated"


def _billed(account, ids: list[str], today, resource_id: str) -> Saving | None:
    billed = savings.billed_cost(account, ids, today)
    if billed is None:
        return None
    saving = max(billed.amount, Decimal(0))
    return saving, BILLED, {**billed.evidence(resource_id), "monthly_saving": money(saving)}


# --- EC2 type changes (old generation, Graviton) ---


def ec2_prices(instance, target_type: str):
    return (
        prices.ec2_hourly(instance.instance_type, instance.region),
        prices.ec2_hourly(target_type, instance.region),
    )


def type_change_saving(account, instance, target_type: str, today) -> Saving:
    """Current minus target hourly price x 730, or the billed cost scaled by their ratio."""
    current, target = ec2_prices(instance, target_type)
    named = {"current": current, "target": target}
    evidence = {
        "current_type": instance.instance_type,
        "target_type": target_type,
        **_price_evidence(named),
    }
    if instance.platform and instance.platform != "Linux/UNIX":
        evidence["price_notes"] = [
            f"prices are Linux/UNIX; this instance runs {instance.platform}, so its real cost "
            "(and saving) is higher"
        ]
    missing = _missing(named)
    if missing:
        types = {"current": instance.instance_type, "target": target_type}
        what = ", ".join(types[name] for name in missing)
        evidence["note"] = _no_price_note(what, instance.region)
        return Decimal(0), PRICE_TABLE, evidence
    billed = savings.billed_cost(account, [instance.instance_id], today)
    ratio = target.amount / current.amount
    if billed is not None:
        # The billed cost carries the real rate (platform, discounts, hours run); the price
        # ratio between the two types carries over to it.
        saving = max(billed.amount, Decimal(0)) * (1 - ratio)
        evidence.update(billed.evidence(instance.instance_id))
        evidence.update(
            price_ratio=str(ratio.quantize(Decimal("0.0001"))), monthly_saving=money(saving)
        )
        return saving, BILLED, evidence
    current_monthly = current.amount * HOURS_PER_MONTH
    target_monthly = target.amount * HOURS_PER_MONTH
    saving = current_monthly - target_monthly
    evidence.update(
        current_monthly=money(current_monthly),
        target_monthly=money(target_monthly),
        monthly_saving=money(saving),
    )
    return saving, basis_of([current, target]), evidence


# --- EBS snapshots ---


def snapshot_saving(account, snapshot, today) -> Saving:
    """Deleting a snapshot saves its storage; its size is an upper bound (see the note)."""
    found = _billed(account, [snapshot.snapshot_id], today, snapshot.snapshot_id)
    if found is not None:
        return found
    tier = snapshot.storage_tier or "standard"
    price = prices.snapshot_gb_month(tier, snapshot.region)
    evidence = {"storage_tier": tier, "size_gib": snapshot.size_gib}
    if tier == "archive":
        evidence["size_note"] = (
            "an archived snapshot is a full copy of its volume's data, billed on that size "
            "(the volume size is the upper bound); deleting it within 90 days of archiving "
            "still bills the rest of the 90-day minimum"
        )
    else:
        evidence["size_note"] = (
            "standard snapshots are incremental: deleting one frees only the blocks no other "
            "snapshot shares, so the volume size is an upper bound of the saving"
        )
    if price is None:
        evidence["note"] = _no_price_note(f"{tier} snapshot storage", snapshot.region)
        return Decimal(0), PRICE_TABLE, evidence
    monthly = price.amount * snapshot.size_gib
    evidence.update(
        price.evidence("snapshot"),
        monthly_upper_bound=money(monthly),
        monthly_saving=money(monthly),
    )
    return monthly, basis_of([price]), evidence


# --- RDS ---


def database_savings(account, database, today) -> tuple[Saving, Saving]:
    """(stop, snapshot-and-delete) savings of one RDS instance.

    A stopped instance keeps its storage, so stopping saves compute only; deleting saves
    compute and storage. A non-Aurora Multi-AZ instance bills both twice (the standby);
    each Aurora cluster member is billed as its own instance, never doubled, and Aurora
    storage belongs to the cluster, so deleting one member does not save it.
    """
    region = database.region
    doubled = database.multi_az and not database.is_aurora
    factor = Decimal(2) if doubled else Decimal(1)
    hourly = prices.rds_hourly(database.instance_class, database.engine, region)
    storage = None
    if not database.is_aurora:
        storage = prices.rds_storage_gb_month(database.storage_type or "gp2", region)
    base = {
        "instance_class": database.instance_class,
        "engine": database.engine,
        "multi_az": database.multi_az,
        "aurora": database.is_aurora,
        "price_multiplier": int(factor),
        **_price_evidence({"instance": hourly, "storage": storage}),
    }
    if database.is_aurora:
        base["storage_note"] = "Aurora storage belongs to the cluster: not counted per instance"
    else:
        base.update(storage_type=database.storage_type, allocated_gib=database.allocated_gib)
    compute = None if hourly is None else hourly.amount * HOURS_PER_MONTH * factor
    storage_monthly = None
    if storage is not None:
        storage_monthly = storage.amount * database.allocated_gib * factor
    if compute is not None:
        base["compute_monthly"] = money(compute)
    if storage_monthly is not None:
        base["storage_monthly"] = money(storage_monthly)

    billed = savings.billed_cost(account, [database.arn], today) if database.arn else None
    if billed is not None:
        return _database_billed(database, billed, base, compute, storage_monthly)

    no_compute = _no_price_note(f"RDS {database.engine} {database.instance_class}", region)
    if compute is None:
        stop = (Decimal(0), PRICE_TABLE, {**base, "note": no_compute})
        delete = (Decimal(0), PRICE_TABLE, {**base, "note": no_compute})
        return stop, delete
    stop_evidence = {**base, "monthly_saving": money(compute)}
    stop = (compute, basis_of([hourly]), stop_evidence)
    if database.is_aurora:
        return stop, (compute, basis_of([hourly]), {**stop_evidence})
    if storage_monthly is None:
        note = (
            f"no price for RDS {database.storage_type} storage in {region}: the delete saving "
            "counts compute only"
        )
        return stop, (compute, basis_of([hourly]), {**stop_evidence, "note": note})
    total = compute + storage_monthly
    delete = (total, basis_of([hourly, storage]), {**base, "monthly_saving": money(total)})
    return stop, delete


def _database_billed(database, billed, base, compute, storage_monthly) -> tuple[Saving, Saving]:
    amount = max(billed.amount, Decimal(0))
    evidence = {**base, **billed.evidence(database.arn)}
    delete = (amount, BILLED, {**evidence, "monthly_saving": money(amount)})
    if database.is_aurora:
        # Aurora bills storage on the cluster: the instance's billed cost is its compute.
        return (amount, BILLED, {**evidence, "monthly_saving": money(amount)}), delete
    if compute is None or storage_monthly is None or compute + storage_monthly == 0:
        note = (
            "the billed cost covers compute and storage, and without both prices it cannot be "
            "split: stop saving not estimated"
        )
        return (Decimal(0), BILLED, {**evidence, "note": note}), delete
    share = compute / (compute + storage_monthly)
    stop = amount * share
    stop_evidence = {
        **evidence,
        "compute_share": str(share.quantize(Decimal("0.0001"))),
        "compute_share_rule": "billed cost x compute / (compute + storage) at list prices",
        "monthly_saving": money(stop),
    }
    return (stop, BILLED, stop_evidence), delete


# --- NAT gateways and load balancers ---


def _monthly_from(total: Decimal, hours: int) -> Decimal:
    return Decimal(0) if hours <= 0 else total * HOURS_PER_MONTH / hours


def nat_saving(account, gateway, bytes_processed: int, hours: int, today) -> Saving:
    """Hourly charge x 730 plus the data it processed over HOURS, scaled to a month."""
    found = _billed(account, [gateway.nat_gateway_id], today, gateway.nat_gateway_id)
    if found is not None:
        return found
    hourly = prices.nat_hourly(gateway.region)
    per_gb = prices.nat_per_gb(gateway.region)
    gb_month = _monthly_from(Decimal(bytes_processed) / BYTES_PER_GB, hours)
    evidence = {
        **_price_evidence({"hourly": hourly, "per_gb": per_gb}),
        "processed_gb_month": str(gb_month.quantize(Decimal("0.001"))),
    }
    if hourly is None:
        evidence["note"] = _no_price_note("NAT gateway hours", gateway.region)
        return Decimal(0), PRICE_TABLE, evidence
    used = [hourly]
    total = hourly.amount * HOURS_PER_MONTH
    evidence["hourly_monthly"] = money(total)
    if gb_month > 0:
        if per_gb is None:
            evidence["note"] = (
                f"no price for NAT data processing in {gateway.region}: only hours counted"
            )
        else:
            used.append(per_gb)
            data = per_gb.amount * gb_month
            evidence["data_monthly"] = money(data)
            total += data
    evidence["monthly_saving"] = money(total)
    return total, basis_of(used), evidence


def lb_saving(account, balancer, lcu_hours: Decimal, hours: int, today) -> Saving:
    """Hourly charge x 730 plus its capacity-unit hours over HOURS, scaled to a month."""
    found = _billed(account, [balancer.arn, balancer.dimension], today, balancer.arn)
    if found is not None:
        return found
    hourly = prices.lb_hourly(balancer.lb_type, balancer.region)
    unit = prices.lb_capacity_unit_hourly(balancer.lb_type, balancer.region)
    units_month = _monthly_from(Decimal(lcu_hours), hours)
    evidence = {
        **_price_evidence({"hourly": hourly, "capacity_unit": unit}),
        "capacity_unit_hours_month": str(units_month.quantize(Decimal("0.001"))),
    }
    if hourly is None:
        evidence["note"] = _no_price_note(
            f"{balancer.lb_type} load balancer hours", balancer.region
        )
        return Decimal(0), PRICE_TABLE, evidence
    used = [hourly]
    total = hourly.amount * HOURS_PER_MONTH
    evidence["hourly_monthly"] = money(total)
    if units_month > 0:
        if unit is None:
            evidence["note"] = (
                f"no price for {balancer.lb_type} capacity units in {balancer.region}: only "
                "hours counted"
            )
        else:
            used.append(unit)
            capacity = unit.amount * units_month
            evidence["capacity_units_monthly"] = money(capacity)
            total += capacity
    evidence["monthly_saving"] = money(total)
    return total, basis_of(used), evidence
