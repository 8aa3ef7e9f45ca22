"""The demo's AWS Price List: GetProducts answered the way AWS answers it (PriceList JSON
strings, region-prefixed usage types, OnDemand price dimensions), so `make demo` fills the
price cache through the real refresh (costs/price_queries.py) and its savings show Price List
figures.

Figures: the shipped us-east-1 table (costs/data/aws_prices.json), times each region's usual
premium over us-east-1 (eu-west-1 lists m5.large at $0.107 against $0.096: about 11% more).
A query is answered with the products of every key whose own query it is, so the filters the
refresh sends are exactly what picks the answer, as with AWS.
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

from werkzeug.wrappers import Response

from costs import price_queries, pricing

REGION_PREMIUM = {"us-east-1": Decimal("1"), "eu-west-1": Decimal("1.115")}
USAGE_PREFIX = {"us-east-1": "", "eu-west-1": "EUW1-"}
API_UNITS = {"hour": "Hrs", "GB-month": "GB-Mo", "GB": "GB"}
PUBLIC_OPERATIONS = ("GetProducts",)


def _table() -> dict[str, tuple[Decimal, str]]:
    """Every key the shipped table prices: its us-east-1 figure and the usage type."""
    figures: dict[str, tuple[Decimal, str]] = {}
    for instance_type in pricing.known_instance_types():
        figures[f"ec2:{instance_type}"] = (
            pricing.instance_hourly(instance_type),
            f"BoxUsage:{instance_type}",
        )
    for volume_type, price in pricing.table("ebs_per_gb_month").items():
        figures[f"ebs:{volume_type}"] = (price, f"EBS:VolumeUsage.{volume_type}")
    for tier, price in pricing.table("ebs_snapshot_per_gb_month").items():
        figures[f"snapshot:{tier}"] = (price, price_queries.SNAPSHOT_USAGE[tier])
    figures["ipv4:hour"] = (pricing.PUBLIC_IPV4_HOURLY, "PublicIPv4:IdleAddress")
    for engine, classes in pricing.table("rds_on_demand_hourly")["prices"].items():
        for instance_class, price in classes.items():
            figures[f"rds:{engine}:{instance_class}"] = (price, f"InstanceUsage:{instance_class}")
    for storage, price in pricing.table("rds_storage_per_gb_month").items():
        figures[f"rds-storage:{storage}"] = (price, price_queries.RDS_STORAGE_USAGE[storage])
    nat = pricing.table("nat_gateway")
    figures["nat:hour"] = (nat["hourly"], "NatGateway-Hours")
    figures["nat:gb"] = (nat["per_gb_processed"], "NatGateway-Bytes")
    for lb_type, lb in pricing.table("load_balancer").items():
        figures[f"lb:{lb_type}:hour"] = (lb["hourly"], "LoadBalancerUsage")
        figures[f"lb:{lb_type}:lcu"] = (lb["capacity_unit_hourly"], "LCUUsage")
    return figures


def product_json(sku: str, usage_type: str, amount: Decimal, unit: str, attributes=None) -> str:
    """One PriceList entry as AWS writes it: a JSON string."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "sku": sku,
                "attributes": {"usagetype": usage_type, **(attributes or {})},
            },
            "serviceCode": "demo",
            "terms": {
                "OnDemand": {
                    term: {
                        "sku": sku,
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": unit,
                                "beginRange": "0",
                                "endRange": "Inf",
                                "pricePerUnit": {"USD": f"{amount:.10f}"},
                            }
                        },
                    }
                }
            },
            "version": "20261201000000",
        }
    )


def get_products(body: dict) -> dict:
    filters = {(f["Field"], f["Value"]) for f in body.get("Filters", [])}
    region = dict(filters).get("regionCode", "")
    if region not in REGION_PREMIUM:
        return {"FormatVersion": "aws_v1", "PriceList": []}
    answer = []
    for key, (amount, usage_type) in sorted(_table().items()):
        query = price_queries.query_for(key, region)
        if query is None or query.service != body.get("ServiceCode"):
            continue
        if set(query.filters) != filters:
            continue
        price = (Decimal(amount) * REGION_PREMIUM[region]).quantize(Decimal("0.0001"))
        sku = f"DEMO{zlib.crc32(f'{key} {region}'.encode()):010d}"
        answer.append(
            product_json(sku, USAGE_PREFIX[region] + usage_type, price, API_UNITS[query.unit])
        )
    return {"FormatVersion": "aws_v1", "PriceList": answer}


def recorded_answer(operation: str, body: dict) -> Response | None:
    """The Price List's answer to OPERATION, or None to let the emulator answer."""
    if operation != "GetProducts":
        return None
    return Response(json.dumps(get_products(body)), content_type="application/x-amz-json-1.1")
