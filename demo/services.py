"""The demo's waste beyond EC2 instances, in the emulator: an old snapshot of a deleted volume,
an idle RDS instance, an idle NAT gateway and a load balancer with no targets, with the
CloudWatch figures each one's detector reads (AWS/RDS, AWS/NATGateway, AWS/ApplicationELB).

Tagged like the rest of the fleet (demo key, Name, Environment). Metrics are deterministic:
flat hourly figures over the same window as the instances' (demo.metrics.metric_window).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from demo.emulator import AccountClients, DemoSeedError
from demo.fleet import demo_tags
from demo.metrics import metric_window, put_metric_data
from demo.spec import (
    DEMO_DATABASES,
    DEMO_LOAD_BALANCERS,
    DEMO_NAT_GATEWAYS,
    DEMO_SNAPSHOTS,
    METRIC_DAYS,
    DemoAccount,
    DemoDatabase,
    DemoLoadBalancer,
    DemoNatGateway,
    DemoSnapshot,
    in_place,
)

# RDS and NAT gateways publish a datapoint a minute: 60 samples make one hourly statistic.
SAMPLES_PER_MINUTE_HOUR = 60
# The emulator only checks that a password is given; nothing ever logs in.
DEMO_DB_PASSWORD = "demo-not-a-secret"  # noqa: S105


def create_snapshot(ec2, account: DemoAccount, snapshot: DemoSnapshot) -> str:
    """Snapshot a volume made for the purpose, then (volume_gone) delete the volume."""
    volume_id = ec2.create_volume(
        AvailabilityZone=f"{snapshot.region}a",
        Size=snapshot.size_gib,
        VolumeType="gp3",
        TagSpecifications=[
            {
                "ResourceType": "volume",
                "Tags": demo_tags(account, f"{snapshot.key}-source", f"{snapshot.name}-source"),
            }
        ],
    )["VolumeId"]
    snapshot_id = ec2.create_snapshot(
        VolumeId=volume_id,
        Description=f"{snapshot.name} (demo)",
        TagSpecifications=[
            {"ResourceType": "snapshot", "Tags": demo_tags(account, snapshot.key, snapshot.name)}
        ],
    )["SnapshotId"]
    if snapshot.volume_gone:
        ec2.delete_volume(VolumeId=volume_id)
    return snapshot_id


def create_database(rds, account: DemoAccount, database: DemoDatabase) -> str:
    rds.create_db_instance(
        DBInstanceIdentifier=database.name,
        Engine=database.engine,
        DBInstanceClass=database.instance_class,
        AllocatedStorage=database.allocated_gib,
        StorageType="gp3",
        MultiAZ=database.multi_az,
        MasterUsername="demo",
        MasterUserPassword=DEMO_DB_PASSWORD,
        Tags=demo_tags(account, database.key, database.name),
    )
    return database.name


def _default_subnets(ec2, region: str) -> list[dict]:
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])[
        "Subnets"
    ]
    if len(subnets) < 2:
        raise DemoSeedError(f"The emulator's default VPC in {region} has fewer than two subnets.")
    return sorted(subnets, key=lambda subnet: subnet["AvailabilityZone"])


def create_nat_gateway(ec2, account: DemoAccount, gateway: DemoNatGateway) -> str:
    # Its Elastic IP is associated with the gateway: never an "unassociated address" finding.
    allocation_id = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {
                "ResourceType": "elastic-ip",
                "Tags": demo_tags(account, f"{gateway.key}-ip", f"{gateway.name}-ip"),
            }
        ],
    )["AllocationId"]
    subnet = _default_subnets(ec2, gateway.region)[0]
    return ec2.create_nat_gateway(
        SubnetId=subnet["SubnetId"],
        AllocationId=allocation_id,
        TagSpecifications=[
            {"ResourceType": "natgateway", "Tags": demo_tags(account, gateway.key, gateway.name)}
        ],
    )["NatGateway"]["NatGatewayId"]


def create_load_balancer(
    ec2, elbv2, account: DemoAccount, balancer: DemoLoadBalancer
) -> tuple[str, str]:
    """(ARN, CloudWatch dimension "app/<name>/<id>") of a balancer whose only target group is
    empty: the service behind it was retired, the balancer was not."""
    subnets = _default_subnets(ec2, balancer.region)[:2]
    created = elbv2.create_load_balancer(
        Name=balancer.name,
        Subnets=[subnet["SubnetId"] for subnet in subnets],
        Type=balancer.lb_type,
        Scheme="internet-facing",
        Tags=demo_tags(account, balancer.key, balancer.name),
    )["LoadBalancers"][0]
    protocol = "HTTP" if balancer.lb_type == "application" else "TCP"
    group = elbv2.create_target_group(
        Name=f"{balancer.name}-tg"[:32],
        Protocol=protocol,
        Port=80,
        VpcId=subnets[0]["VpcId"],
        TargetType="instance",
        Tags=demo_tags(account, f"{balancer.key}-tg", f"{balancer.name}-tg"),
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=created["LoadBalancerArn"],
        Protocol=protocol,
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    arn = created["LoadBalancerArn"]
    return arn, arn.split(":loadbalancer/", 1)[1]


# --- CloudWatch -----------------------------------------------------------------------------


def _hours(now: datetime) -> list[datetime]:
    start, _ = metric_window(now)
    return [start + timedelta(hours=offset) for offset in range(METRIC_DAYS * 24)]


def _flat(value: float, samples: int = SAMPLES_PER_MINUTE_HOUR) -> dict:
    return {"SampleCount": samples, "Sum": value * samples, "Minimum": value, "Maximum": value}


def _sum(total: float, samples: int = SAMPLES_PER_MINUTE_HOUR) -> dict:
    per_sample = total / samples
    return {"SampleCount": samples, "Sum": total, "Minimum": per_sample, "Maximum": per_sample}


def database_metrics(database: DemoDatabase, now: datetime) -> dict[str, list[dict]]:
    dimensions = [{"Name": "DBInstanceIdentifier", "Value": database.name}]
    items = []
    for hour in _hours(now):
        common = {"Dimensions": dimensions, "Timestamp": hour}
        items.append(
            {
                **common,
                "MetricName": "DatabaseConnections",
                "StatisticValues": _flat(database.connections),
                "Unit": "Count",
            }
        )
        items.append(
            {
                **common,
                "MetricName": "CPUUtilization",
                "StatisticValues": _flat(database.cpu_percent),
                "Unit": "Percent",
            }
        )
    return {"AWS/RDS": items}


def nat_gateway_metrics(
    gateway: DemoNatGateway, gateway_id: str, now: datetime
) -> dict[str, list[dict]]:
    dimensions = [{"Name": "NatGatewayId", "Value": gateway_id}]
    items = []
    for hour in _hours(now):
        for name in ("BytesOutToDestination", "BytesInFromSource", "BytesInFromDestination"):
            items.append(
                {
                    "Dimensions": dimensions,
                    "Timestamp": hour,
                    "MetricName": name,
                    "StatisticValues": _sum(gateway.bytes_per_hour),
                    "Unit": "Bytes",
                }
            )
    return {"AWS/NATGateway": items}


def load_balancer_metrics(
    balancer: DemoLoadBalancer, dimension: str, now: datetime
) -> dict[str, list[dict]]:
    """Only ConsumedLCUs, near zero: ELB publishes request and byte counts only for traffic,
    and this balancer has none."""
    namespace = "AWS/ApplicationELB" if balancer.lb_type == "application" else "AWS/NetworkELB"
    dimensions = [{"Name": "LoadBalancer", "Value": dimension}]
    items = [
        {
            "Dimensions": dimensions,
            "Timestamp": hour,
            "MetricName": "ConsumedLCUs",
            "StatisticValues": _flat(0.0),
            "Unit": "Count",
        }
        for hour in _hours(now)
    ]
    return {namespace: items}


def seed_services(client: AccountClients, account: DemoAccount, region: str, now, report) -> None:
    """Everything beyond instances, volumes and addresses that lives in ACCOUNT's REGION."""
    ec2 = client("ec2", region)
    cloudwatch = client("cloudwatch", region)
    for snapshot in in_place(DEMO_SNAPSHOTS, account.account_id, region):
        report.snapshots[snapshot.key] = create_snapshot(ec2, account, snapshot)
    for database in in_place(DEMO_DATABASES, account.account_id, region):
        report.databases[database.key] = create_database(client("rds", region), account, database)
        report.metric_datapoints += put_metric_data(cloudwatch, database_metrics(database, now))
    for gateway in in_place(DEMO_NAT_GATEWAYS, account.account_id, region):
        gateway_id = create_nat_gateway(ec2, account, gateway)
        report.nat_gateways[gateway.key] = gateway_id
        items = nat_gateway_metrics(gateway, gateway_id, now)
        report.metric_datapoints += put_metric_data(cloudwatch, items)
    for balancer in in_place(DEMO_LOAD_BALANCERS, account.account_id, region):
        elbv2 = client("elbv2", region)
        _arn, dimension = create_load_balancer(ec2, elbv2, account, balancer)
        report.load_balancers[balancer.key] = dimension
        items = load_balancer_metrics(balancer, dimension, now)
        report.metric_datapoints += put_metric_data(cloudwatch, items)
