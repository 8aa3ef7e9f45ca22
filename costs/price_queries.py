"""What to ask the AWS Price List Query API for each price key, and how to recognise the answer.

Plain data, no Django: the demo's recorded Price List (demo/pricing.py) answers from it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# RDS engine names as the RDS API reports them -> the Price List's databaseEngine.
RDS_ENGINES = {
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "aurora-postgresql": "Aurora PostgreSQL",
    "aurora-mysql": "Aurora MySQL",
}
# RDS storage type -> usage type (after the region prefix).
RDS_STORAGE_USAGE = {
    "gp2": "RDS:GP2-Storage",
    "gp3": "RDS:GP3-Storage",
    "io1": "RDS:PIOPS-Storage",
    "standard": "RDS:StorageUsage",
    "aurora": "Aurora:StorageUsage",
}
LB_FAMILIES = {
    "application": "Load Balancer-Application",
    "network": "Load Balancer-Network",
    "gateway": "Load Balancer-Gateway",
}
SNAPSHOT_USAGE = {"standard": "EBS:SnapshotUsage", "archive": "EBS:SnapshotArchiveStorage"}
# The Price List's units -> those of costs/prices.py.
UNITS = {
    "hrs": "hour",
    "hours": "hour",
    "hour": "hour",
    "lcu-hrs": "hour",
    "nlcu-hrs": "hour",
    "glcu-hrs": "hour",
    "gb-mo": "GB-month",
    "gb-month": "GB-month",
    "gb": "GB",
}
REGION_PREFIX = re.compile(r"^[A-Z]{3}\d-")


@dataclass(frozen=True)
class Query:
    """A GetProducts call, and how to recognise KEY's product among its answers."""

    service: str
    filters: tuple[tuple[str, str], ...]
    usage: Callable[[str], bool]  # the usage type, region prefix removed
    unit: str  # costs/prices.py's unit for the key


def _exact(name: str) -> Callable[[str], bool]:
    return lambda usage: usage == name


def query_for(key: str, region: str) -> Query | None:
    """The query answering KEY in REGION, or None for a key the Price List is not asked for."""
    kind, _, rest = key.partition(":")
    where = (("regionCode", region),)
    if kind == "ec2" and rest:
        filters = (
            ("instanceType", rest),
            ("operatingSystem", "Linux"),
            ("tenancy", "Shared"),
            ("preInstalledSw", "NA"),
            ("capacitystatus", "Used"),
        )
        return Query("AmazonEC2", where + filters, _exact(f"BoxUsage:{rest}"), "hour")
    if kind == "ebs" and rest:
        filters = (("productFamily", "Storage"), ("volumeApiName", rest))
        # gp2 is EBS:VolumeUsage.gp2, io1 EBS:VolumeUsage.piops, magnetic EBS:VolumeUsage.
        usage = lambda u: u.startswith("EBS:VolumeUsage")  # noqa: E731
        return Query("AmazonEC2", where + filters, usage, "GB-month")
    if kind == "snapshot" and rest in SNAPSHOT_USAGE:
        filters = (("productFamily", "Storage Snapshot"),)
        return Query("AmazonEC2", where + filters, _exact(SNAPSHOT_USAGE[rest]), "GB-month")
    if key == "ipv4:hour":
        # Since February 2024 every public IPv4 address bills hourly, idle (an unassociated
        # Elastic IP, what Spendlens prices) or in use, under Amazon VPC.
        filters = (("productFamily", "VPC Public IPv4 Address"),)
        return Query("AmazonVPC", where + filters, _exact("PublicIPv4:IdleAddress"), "hour")
    if kind == "rds":
        engine, _, instance_class = rest.partition(":")
        if engine not in RDS_ENGINES or not instance_class:
            return None
        filters = (("instanceType", instance_class), ("databaseEngine", RDS_ENGINES[engine]))
        if not engine.startswith("aurora"):
            filters += (("deploymentOption", "Single-AZ"),)
        # Aurora I/O-Optimized is InstanceUsageIOOptimized:<class>: not this price.
        usage = _exact(f"InstanceUsage:{instance_class}")
        return Query("AmazonRDS", where + filters, usage, "hour")
    if kind == "rds-storage" and rest in RDS_STORAGE_USAGE:
        filters = (("productFamily", "Database Storage"),)
        if rest != "aurora":
            # Storage is listed per engine; MySQL's is the one PostgreSQL and MariaDB share.
            filters += (("deploymentOption", "Single-AZ"), ("databaseEngine", "MySQL"))
        return Query("AmazonRDS", where + filters, _exact(RDS_STORAGE_USAGE[rest]), "GB-month")
    if kind == "nat":
        usage = {"hour": "NatGateway-Hours", "gb": "NatGateway-Bytes"}.get(rest)
        if usage is None:
            return None
        filters = (("productFamily", "NAT Gateway"),)
        unit = "hour" if rest == "hour" else "GB"
        return Query("AmazonEC2", where + filters, _exact(usage), unit)
    if kind == "lb":
        lb_type, _, part = rest.partition(":")
        usage = {"hour": "LoadBalancerUsage", "lcu": "LCUUsage"}.get(part)
        if lb_type not in LB_FAMILIES or usage is None:
            return None
        filters = (("productFamily", LB_FAMILIES[lb_type]),)
        return Query("AWSELB", where + filters, _exact(usage), "hour")
    return None
