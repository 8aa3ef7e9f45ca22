"""How a recommendation reads to a person: what kind of resource it is about, and its evidence
with each price it used on one line (figure, source, region, date) instead of five raw keys.

Shared by the admin and the dashboard; the API keeps the raw evidence, which is for programs.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from findings.models import Recommendation

Kind = Recommendation.Kind

RESOURCE_TYPES = {
    Kind.IDLE_INSTANCE: "EC2 instance",
    Kind.IDLE_ASG_MEMBER: "EC2 instance",
    Kind.RIGHTSIZE: "EC2 instance",
    Kind.SCHEDULE: "EC2 instance",
    Kind.OLD_GENERATION: "EC2 instance",
    Kind.GRAVITON: "EC2 instance",
    Kind.UNATTACHED_VOLUME: "EBS volume",
    Kind.GP2_VOLUME: "EBS volume",
    Kind.STOPPED_INSTANCE_VOLUME: "EBS volume",
    Kind.UNASSOCIATED_EIP: "Elastic IP",
    Kind.OLD_SNAPSHOT: "EBS snapshot",
    Kind.IDLE_DATABASE: "RDS instance",
    Kind.IDLE_NAT_GATEWAY: "NAT gateway",
    Kind.IDLE_LOAD_BALANCER: "Load balancer",
}

# The provenance keys costs.prices.Price.evidence(name) writes next to "<name>_price".
_PRICE_PARTS = ("_unit", "_price_source", "_price_region", "_price_as_of")
SOURCES = {"price_list": "AWS Price List", "price_table": "price table"}


def resource_type(kind: str) -> str:
    return RESOURCE_TYPES.get(kind, "resource")


def _amount(value) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    # 0.0450 -> 0.045, 5E+1 -> 50: a price as a person writes it.
    return format(amount.normalize(), "f")


def price_line(evidence: dict, name: str) -> str:
    """ "$0.045/hour, AWS Price List eu-west-1, 2026-12-01" from NAME's price keys."""
    unit = evidence.get(f"{name}_unit")
    line = f"${_amount(evidence[f'{name}_price'])}" + (f"/{unit}" if unit else "")
    source = evidence.get(f"{name}_price_source")
    region = evidence.get(f"{name}_price_region")
    if source == "price_table":
        where = f"price table ({region})" if region else "price table"
    elif source:
        where = " ".join(part for part in (SOURCES.get(source, source), region) if part)
    else:
        where = region or ""
    as_of = evidence.get(f"{name}_price_as_of")
    return ", ".join(part for part in (line, where, as_of) if part)


def readable_evidence(evidence: dict | None) -> dict:
    """EVIDENCE in its own order, each "<name>_price" group folded into one "<name> price" line.

    A "<name>_price" without its provenance is left as it is: it may be a detector's own figure.
    Nested figures (a finding's "saving") are read the same way.
    """
    evidence = dict(evidence or {})
    names = [
        key[: -len("_price")]
        for key in evidence
        if key.endswith("_price") and f"{key}_source" in evidence
    ]
    folded = {f"{name}{part}" for name in names for part in _PRICE_PARTS}
    shown = {}
    for key, value in evidence.items():
        if key in folded:
            continue
        name = key[: -len("_price")] if key.endswith("_price") else None
        if name in names:
            shown[f"{name} price"] = price_line(evidence, name)
        else:
            shown[key] = readable_evidence(value) if isinstance(value, dict) else value
    return shown
