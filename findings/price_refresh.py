"""Which prices the fleet needs, and the weekly task that asks the AWS Price List for them.

The cost store (costs/price_list.py) cannot look at the fleet, a higher layer; this module
can. Prices are public, so one refresh serves every organisation: the needs are those of the
whole installation's present inventory.
"""

from __future__ import annotations

from costs import price_list, pricing
from findings import generations
from fleet.models import (
    DatabaseInstance,
    ElasticIP,
    Instance,
    LoadBalancer,
    NatGateway,
    Snapshot,
    Volume,
)


def _family_sizes() -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for instance_type in pricing.known_instance_types():
        families.setdefault(instance_type.split(".")[0], []).append(instance_type)
    return families


def _pairs(model, *fields) -> set[tuple]:
    return set(model.objects.present().values_list("region", *fields).distinct().order_by())


def price_needs() -> set[tuple[str, str]]:
    """Every (price key, region) a saving for the present inventory may look up."""
    needs: set[tuple[str, str]] = set()
    families = _family_sizes()
    for region, instance_type in _pairs(Instance, "instance_type"):
        # Rightsizing prices the smaller sizes of the same family; the type moves price the
        # current-generation and Graviton equivalents of each of them.
        family = {instance_type, *families.get(instance_type.split(".")[0], [])}
        for candidate in family:
            modern = generations.current_generation(candidate)
            moves = {candidate, modern, generations.graviton_equivalent(modern or candidate)}
            needs.update((f"ec2:{t}", region) for t in moves if t)
    for region, volume_type in _pairs(Volume, "volume_type"):
        needs.add((f"ebs:{volume_type}", region))
        if volume_type == "gp2":
            needs.add(("ebs:gp3", region))  # the gp2 -> gp3 saving
    for (region,) in _pairs(ElasticIP):
        needs.add(("ipv4:hour", region))
    for region, tier in _pairs(Snapshot, "storage_tier"):
        needs.add((f"snapshot:{tier}", region))
    for region, engine, instance_class, storage in _pairs(
        DatabaseInstance, "engine", "instance_class", "storage_type"
    ):
        needs.add((f"rds:{engine}:{instance_class}", region))
        if storage:
            needs.add((f"rds-storage:{storage}", region))
    for (region,) in _pairs(NatGateway):
        needs.update({("nat:hour", region), ("nat:gb", region)})
    for region, lb_type in _pairs(LoadBalancer, "lb_type"):
        needs.update({(f"lb:{lb_type}:hour", region), (f"lb:{lb_type}:lcu", region)})
    return needs


def refresh_fleet_prices() -> str:
    """django-q2 entry point (weekly, config/schedules.py): the fleet's prices, refreshed."""
    return price_list.refresh_pairs(price_needs()).summary()
