"""Rows for the detectors beyond EC2: RDS instances, snapshots, NAT gateways, load balancers
and their daily CloudWatch figures, as the inventory and the collector store them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from costs.models import CostRecord
from fleet.models import (
    DatabaseInstance,
    LoadBalancer,
    NatGateway,
    ResourceMetricDay,
    Snapshot,
    Volume,
)

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def database(account, db_instance_id="orders-db", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "db_instance_id": db_instance_id,
        "arn": f"arn:aws:rds:us-east-1:{account.account_id}:db:{db_instance_id}",
        "engine": "postgres",
        "instance_class": "db.m5.large",
        "status": "available",
        "storage_type": "gp3",
        "allocated_gib": 100,
        "created_at": LONG_AGO,
        **fields,
    }
    return DatabaseInstance.objects.create(**values)


def snapshot(account, snapshot_id="snap-01", days_old=120, **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "snapshot_id": snapshot_id,
        "volume_id": "vol-gone",
        "size_gib": 100,
        "state": "completed",
        "started_at": NOW - timedelta(days=days_old),
        **fields,
    }
    return Snapshot.objects.create(**values)


def volume(account, volume_id="vol-01", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "volume_id": volume_id,
        "volume_type": "gp3",
        "size_gib": 100,
        "state": "in-use",
        **fields,
    }
    return Volume.objects.create(**values)


def nat(account, nat_gateway_id="nat-01", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "nat_gateway_id": nat_gateway_id,
        "state": "available",
        "vpc_id": "vpc-01",
        "subnet_id": "subnet-01",
        "created_at": LONG_AGO,
        **fields,
    }
    return NatGateway.objects.create(**values)


def balancer(account, name="web", lb_type="application", **fields):
    prefix = {"application": "app", "network": "net", "gateway": "gwy"}[lb_type]
    dimension = f"{prefix}/{name}/50dc6c495c0c9188"
    values = {
        "account": account,
        "region": "us-east-1",
        "dimension": dimension,
        "arn": f"arn:aws:elasticloadbalancing:us-east-1:{account.account_id}:"
        f"loadbalancer/{dimension}",
        "name": name,
        "lb_type": lb_type,
        "scheme": "internet-facing",
        "state": "active",
        "created_at": LONG_AGO,
        "target_groups": 1,
        "registered_targets": 2,
        "healthy_targets": 2,
        **fields,
    }
    return LoadBalancer.objects.create(**values)


def metric_days(account, kind, resource_id, n=14, hours=24, **figures):
    """N days before TODAY, each with FIGURES (a callable gets the day's index)."""
    rows = []
    for i in range(n):
        values = {k: (v(i) if callable(v) else v) for k, v in figures.items()}
        rows.append(
            ResourceMetricDay.objects.create(
                account=account,
                resource_kind=kind,
                resource_id=resource_id,
                day=TODAY - timedelta(days=n - i),
                hours=hours,
                figures={k: v for k, v in values.items() if v is not None},
            )
        )
    return rows


def rows_of(account, kind, resource_id):
    """The rows as detection reads them (day, hours, figures)."""
    return list(
        ResourceMetricDay.objects.filter(
            account=account, resource_kind=kind, resource_id=resource_id
        ).order_by("day")
    )


def billed(account, resource_id, per_day, days=30):
    for days_ago in range(1, days + 1):
        CostRecord.objects.create(
            organization=account.organization,
            account=account,
            source="focus",
            metric="billed",
            sub_account_id=account.account_id,
            usage_date=TODAY - timedelta(days=days_ago),
            service="AWS",
            region="us-east-1",
            resource_id=resource_id,
            amount=Decimal(per_day),
        )
