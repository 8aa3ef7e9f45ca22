"""Estimated monthly savings, and the figures behind each estimate.

A resource's own billed cost comes first: it already reflects its region, platform, discounts
and how many hours it really ran. The cost store has it when a FOCUS export (or resource-level
Cost Explorer data) carries the resource's ID, either bare (i-0abc) or as an ARN ending in
/i-0abc. Otherwise the region's on-demand price (costs/prices.py): the AWS Price List figure
cached for that region, else the dated us-east-1 table, each marked with its source, region and
date; the basis is PRICE_LIST only when every price used came from the cache. Every helper
returns (saving, basis, evidence) so the recommendation can say which basis it used and show
the figures; money in evidence is a string, because JSON has no decimal type.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import reduce

from django.db.models import Count, Q, Sum

from costs import prices, pricing
from costs.models import PRIMARY_METRIC, CostRecord, CostSource
from costs.money import money
from costs.prices import Price
from findings.models import Recommendation

BILLED_WINDOW_DAYS = 30
BILLED = Recommendation.SavingBasis.BILLED
PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE
PRICE_LIST = Recommendation.SavingBasis.PRICE_LIST
# Both sources can hold the same resource's cost; summing them would count it twice. The
# billing export is the invoice, so it wins over Cost Explorer.
SOURCE_PREFERENCE = (CostSource.FOCUS, CostSource.EXPLORER)

Saving = tuple[Decimal, str, dict]


@dataclass(frozen=True)
class BilledCost:
    amount: Decimal
    source: str
    days_billed: int
    start: date
    end: date  # exclusive

    def evidence(self, resource_id: str) -> dict:
        return {
            "basis": "billed cost, last 30 days",
            "resource_id": resource_id,
            "billed_cost_30_days": money(self.amount),
            "billed_source": self.source,
            "billed_metric": PRIMARY_METRIC[self.source],
            "days_billed": self.days_billed,
            "window_start": self.start.isoformat(),
            "window_end_exclusive": self.end.isoformat(),
        }


def _matches(resource_id: str) -> Q:
    return Q(resource_id=resource_id) | Q(resource_id__endswith=f"/{resource_id}")


def _billed_queryset(account, today: date):
    start = today - timedelta(days=BILLED_WINDOW_DAYS)
    return (
        CostRecord.objects.primary()
        .filter(
            organization_id=account.organization_id,
            usage_date__gte=start,
            usage_date__lt=today,
            # The price table and every other saving are in USD.
            currency="USD",
        )
        .filter(Q(account=account) | Q(sub_account_id=account.account_id))
    )


def _query_billed_cost(account, ids: list[str], today: date) -> BilledCost | None:
    start = today - timedelta(days=BILLED_WINDOW_DAYS)
    totals = {
        row["source"]: row
        for row in _billed_queryset(account, today)
        .filter(reduce(operator.or_, (_matches(resource_id) for resource_id in ids)))
        .values("source")
        .annotate(amount=Sum("amount"), days=Count("usage_date", distinct=True))
        .order_by()
    }
    for source in SOURCE_PREFERENCE:
        if source in totals:
            row = totals[source]
            return BilledCost(row["amount"], source, row["days"], start, today)
    return None


class BilledCostIndex:
    """Every resource's 30-day billed cost in one account, from one grouped query.

    Answers exactly what _query_billed_cost would: when several stored resource ids match
    (bare and ARN forms, or an address's two ids), distinct days cannot be added up, so that
    rare case falls back to the query.
    """

    def __init__(self, account, today: date):
        self.account, self.today = account, today
        self.start = today - timedelta(days=BILLED_WINDOW_DAYS)
        self.rows: dict[str, dict[str, tuple[Decimal, int]]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.loaded = False

    def _load(self) -> None:
        self.loaded = True
        grouped = (
            _billed_queryset(self.account, self.today)
            .exclude(resource_id="")
            .values("resource_id", "source")
            .annotate(amount=Sum("amount"), days=Count("usage_date", distinct=True))
            .order_by()
        )
        for row in grouped:
            resource = row["resource_id"]
            self.rows.setdefault(resource, {})[row["source"]] = (row["amount"], row["days"])
            # An ARN ending in /i-0abc answers for i-0abc too.
            for name in {resource, resource.rsplit("/", 1)[-1]}:
                self.by_name.setdefault(name, set()).add(resource)

    def lookup(self, ids: list[str]) -> BilledCost | None:
        if not self.loaded:
            self._load()
        matched = set().union(*(self.by_name.get(i, set()) for i in ids))
        if not matched:
            return None
        if len(matched) > 1:
            return _query_billed_cost(self.account, ids, self.today)
        totals = self.rows[matched.pop()]
        for source in SOURCE_PREFERENCE:
            if source in totals:
                amount, days = totals[source]
                return BilledCost(amount, source, days, self.start, self.today)
        return None


_index: ContextVar[BilledCostIndex | None] = ContextVar("billed_cost_index", default=None)


@contextmanager
def billed_costs(account, today: date) -> Iterator[BilledCostIndex]:
    """Within this block, billed_cost() for ACCOUNT answers from one grouped query, run lazily.

    A detection run asks for thousands of resources' costs; the savings helpers keep their
    simple (account, resource, today) signatures and need not pass the index along.
    """
    token = _index.set(BilledCostIndex(account, today))
    try:
        yield _index.get()
    finally:
        _index.reset(token)


def billed_cost(account, resource_ids: list[str], today: date) -> BilledCost | None:
    """The resource's cost over the 30 days before TODAY, from one source's primary metric."""
    ids = [resource_id for resource_id in resource_ids if resource_id]
    if not ids:
        return None
    index = _index.get()
    if index is not None and index.account.pk == account.pk and index.today == today:
        return index.lookup(ids)
    return _query_billed_cost(account, ids, today)


def billed_monthly_cost(account, resource_id: str, today: date) -> Decimal | None:
    billed = billed_cost(account, [resource_id], today)
    return None if billed is None else billed.amount


def _instance_caveats(instance) -> dict:
    """Why an on-demand Linux price may be off for this instance."""
    notes = []
    if instance.platform and instance.platform != "Linux/UNIX":
        notes.append(
            f"prices are Linux/UNIX; this instance runs {instance.platform}, "
            "so its real cost (and saving) is higher"
        )
    if instance.lifecycle != "on-demand":
        notes.append(f"prices are on-demand; this is a {instance.lifecycle} instance")
    return {"price_notes": notes} if notes else {}


def price_basis(region: str, today: date, *, table_parts: bool = False, **used: Price) -> tuple:
    """(saving basis, evidence) naming the prices USED (by name) for a resource in REGION.

    PRICE_LIST when every price came from the cache; TABLE_PARTS says some figure (provisioned
    IOPS) always comes from the table, so the basis is the table's then too.
    """
    evidence: dict = {"hours_per_month": int(pricing.HOURS_PER_MONTH)}
    for name, price in used.items():
        evidence.update(price.evidence(name))
    listed = [p for p in used.values() if p.source == prices.PRICE_LIST]
    if listed and len(listed) == len(used) and not table_parts:
        return PRICE_LIST, {"basis": prices.basis_label(listed[0], region, today), **evidence}
    table = pricing.table_evidence(region)
    if listed:
        table["basis"] += " and " + prices.basis_label(listed[0], region, today)
    return PRICE_TABLE, {**table, **evidence}


def _same_source(lookup) -> tuple:
    """LOOKUP()'s prices, from the table for all of them unless the cache has every one."""
    found = lookup()
    if None not in found and len({p.source for p in found}) == 1:
        return found
    with prices.table_only():
        return lookup()


def _no_price(evidence: dict, region: str, found: dict[str, Price | None]) -> Saving:
    missing = ", ".join(name for name, price in found.items() if price is None)
    evidence["note"] = (
        f"no on-demand price for {missing} in the price table or the AWS Price List "
        f"({region}): saving not estimated"
    )
    return Decimal(0), PRICE_TABLE, evidence


def instance_stop_saving(account, instance, today: date) -> Saving:
    """Stopping ends the compute charge; the instance's EBS volumes are billed separately."""
    billed = billed_cost(account, [instance.instance_id], today)
    if billed is not None:
        saving = max(billed.amount, Decimal(0))
        evidence = billed.evidence(instance.instance_id)
        return saving, BILLED, {**evidence, "monthly_saving": money(saving)}
    hourly = prices.ec2_hourly(instance.instance_type, instance.region)
    figures = {"instance_type": instance.instance_type, **_instance_caveats(instance)}
    if hourly is None:
        evidence = {**pricing.table_evidence(instance.region), **figures}
        return _no_price(evidence, instance.region, {instance.instance_type: None})
    basis, evidence = price_basis(instance.region, today, instance=hourly)
    monthly = hourly.amount * pricing.HOURS_PER_MONTH
    evidence.update(
        figures,
        hourly=str(hourly.amount),
        monthly=money(monthly),
        monthly_saving=money(monthly),
    )
    return monthly, basis, evidence


def resize_saving(account, instance, target_type: str, today: date) -> Saving:
    """Current minus target on-demand price, or the billed cost scaled by their ratio."""
    current, target = _same_source(
        lambda: (
            prices.ec2_hourly(instance.instance_type, instance.region),
            prices.ec2_hourly(target_type, instance.region),
        )
    )
    billed = billed_cost(account, [instance.instance_id], today)
    figures = {
        "current_type": instance.instance_type,
        "current_hourly": None if current is None else str(current.amount),
        "target_type": target_type,
        "target_hourly": None if target is None else str(target.amount),
    }
    if current is None or target is None:
        if billed is not None:
            evidence = billed.evidence(instance.instance_id)
        else:
            evidence = {**pricing.table_evidence(instance.region), **_instance_caveats(instance)}
        found = {instance.instance_type: current, target_type: target}
        return _no_price({**evidence, **figures}, instance.region, found)
    basis, evidence = price_basis(instance.region, today, current=current, target=target)
    evidence.update(figures)
    if billed is not None:
        # The billed cost already carries the real rate (region, platform, spot, discounts);
        # within one family the price ratio between sizes holds for all of them.
        ratio = target.amount / current.amount
        saving = max(billed.amount, Decimal(0)) * (1 - ratio)
        evidence = {
            **evidence,
            **billed.evidence(instance.instance_id),
            "price_ratio": str(ratio.quantize(Decimal("0.0001"))),
            "monthly_saving": money(saving),
        }
        return saving, BILLED, evidence
    evidence.update(_instance_caveats(instance))
    current_monthly = current.amount * pricing.HOURS_PER_MONTH
    target_monthly = target.amount * pricing.HOURS_PER_MONTH
    saving = current_monthly - target_monthly
    evidence.update(
        current_monthly=money(current_monthly),
        target_monthly=money(target_monthly),
        monthly_saving=money(saving),
    )
    return saving, basis, evidence


def _volume_figures(volume) -> dict:
    return {"volume_type": volume.volume_type, "size_gib": volume.size_gib, "iops": volume.iops}


def volume_saving(account, volume, today: date) -> Saving:
    """Deleting a volume saves its whole monthly cost."""
    billed = billed_cost(account, [volume.volume_id], today)
    if billed is not None:
        saving = max(billed.amount, Decimal(0))
        return (
            saving,
            BILLED,
            {**billed.evidence(volume.volume_id), "monthly_saving": money(saving)},
        )
    storage = prices.ebs_gb_month(volume.volume_type, volume.region)
    if storage is None:
        evidence = {**pricing.table_evidence(volume.region), **_volume_figures(volume)}
        evidence["note"] = f"no price for volume type {volume.volume_type}: saving not estimated"
        return Decimal(0), PRICE_TABLE, evidence
    # Provisioned IOPS are priced from the table (us-east-1) wherever the volume is.
    iops = pricing.provisioned_iops_monthly(volume.volume_type, volume.iops)
    basis, evidence = price_basis(volume.region, today, table_parts=iops > 0, storage=storage)
    monthly = storage.amount * volume.size_gib + iops
    evidence.update(
        _volume_figures(volume),
        storage_monthly=money(storage.amount * volume.size_gib),
        iops_monthly=money(iops),
        monthly=money(monthly),
        monthly_saving=money(monthly),
    )
    return monthly, basis, evidence


def gp2_to_gp3_saving(account, volume, today: date) -> Saving:
    """gp2 minus gp3 with the same size and baseline IOPS, or the billed cost by that ratio."""
    gp2_price, gp3_price = _same_source(
        lambda: (
            prices.ebs_gb_month("gp2", volume.region),
            prices.ebs_gb_month("gp3", volume.region),
        )
    )
    gp3_iops = pricing.gp3_equivalent_iops(volume.size_gib)
    iops = pricing.provisioned_iops_monthly("gp3", gp3_iops)
    gp2 = gp2_price.amount * volume.size_gib
    gp3 = gp3_price.amount * volume.size_gib + iops
    basis, evidence = price_basis(
        volume.region, today, table_parts=iops > 0, gp2=gp2_price, gp3=gp3_price
    )
    evidence.update(
        gp2_monthly=money(gp2),
        gp3_monthly=money(gp3),
        gp3_iops=gp3_iops,
        gp3_throughput_mibps=pricing.GP3_INCLUDED_THROUGHPUT,
    )
    billed = billed_cost(account, [volume.volume_id], today)
    if billed is not None:
        ratio = gp3 / gp2
        saving = max(billed.amount, Decimal(0)) * (1 - ratio)
        evidence = {
            **evidence,
            **billed.evidence(volume.volume_id),
            "price_ratio": str(ratio.quantize(Decimal("0.0001"))),
            "monthly_saving": money(saving),
        }
        return saving, BILLED, evidence
    saving = gp2 - gp3
    evidence.update(_volume_figures(volume), monthly_saving=money(saving))
    return saving, basis, evidence


def eip_saving(account, address, today: date) -> Saving:
    """Releasing the address ends its hourly public IPv4 charge."""
    # Billing exports name an address by its allocation (ARN .../eipalloc-...) or by its IP.
    billed = billed_cost(account, [address.allocation_id, address.public_ip], today)
    if billed is not None:
        saving = max(billed.amount, Decimal(0))
        evidence = billed.evidence(address.allocation_id)
        return saving, BILLED, {**evidence, "monthly_saving": money(saving)}
    hourly = prices.public_ipv4_hourly(address.region)
    basis, evidence = price_basis(address.region, today, address=hourly)
    monthly = hourly.amount * pricing.HOURS_PER_MONTH
    evidence.update(
        hourly=str(hourly.amount), monthly=money(monthly), monthly_saving=money(monthly)
    )
    return monthly, basis, evidence
