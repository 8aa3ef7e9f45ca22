"""The demo's waste beyond EC2 instances, seeded into the emulator and read back over HTTP the way
the inventory and metrics collection read it."""

from datetime import UTC, datetime

import pytest

from accounts import aws as aws_module
from demo import backdate
from demo import seed as demo
from tests.demo.test_seed import EXTERNAL_IDS, account_session, as_account, tag_map

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)


@pytest.fixture
def seeded(aws):
    # The emulator is reset per test: sessions cached from the last one would not exist.
    aws_module.clear_credential_cache()
    as_account.cache_clear()
    account_session.cache_clear()
    report = demo.seed_emulator(aws, external_ids=EXTERNAL_IDS, now=NOW)
    yield {key: value for a in report.accounts for key, value in _ids(a).items()}
    as_account.cache_clear()
    account_session.cache_clear()
    aws_module.clear_credential_cache()


def _ids(account_report):
    return {
        **account_report.snapshots,
        **account_report.databases,
        **account_report.nat_gateways,
        **account_report.load_balancers,
    }


def hourly(account_id, region, namespace, metric, dimension, value, stat):
    start, end = demo.metric_window(NOW)
    result = as_account(account_id, "cloudwatch", region).get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": dimension, "Value": value}],
                    },
                    "Period": 3600,
                    "Stat": stat,
                },
            }
        ],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"][0]
    return result["Values"]


def test_the_fleet_file_holds_one_of_each_waste_beyond_instances():
    assert [len(t) for t in (demo.DEMO_SNAPSHOTS, demo.DEMO_DATABASES)] == [1, 1]
    assert [len(t) for t in (demo.DEMO_NAT_GATEWAYS, demo.DEMO_LOAD_BALANCERS)] == [1, 1]
    old, graviton = demo.demo_instance("old-generation"), demo.demo_instance("graviton-candidate")
    assert (old.instance_type, old.profile, old.recommends) == (
        "m4.large",
        demo.PROFILE_STEADY_BUSY,
        ("old_generation",),
    )
    assert (graviton.instance_type, graviton.recommends) == ("m5.large", ("graviton",))
    assert backdate.AGE_DAYS > 90  # older than the snapshot rule's 90 days


def test_the_old_snapshot_outlives_its_volume(seeded):
    (spec,) = demo.DEMO_SNAPSHOTS
    ec2 = as_account(spec.account_id, "ec2", spec.region)
    (snapshot,) = ec2.describe_snapshots(SnapshotIds=[seeded[spec.key]])["Snapshots"]
    assert snapshot["VolumeSize"] == spec.size_gib
    assert tag_map(snapshot)[demo.DEMO_KEY_TAG] == spec.key
    gone = [{"Name": "volume-id", "Values": [snapshot["VolumeId"]]}]
    volumes = ec2.describe_volumes(Filters=gone)
    assert volumes["Volumes"] == []
    # No AMI is built from it, so nothing excuses it.
    images = ec2.describe_images(Owners=["self"])["Images"]
    assert not any(
        m.get("Ebs", {}).get("SnapshotId") == snapshot["SnapshotId"]
        for image in images
        for m in image.get("BlockDeviceMappings", [])
    )


def test_the_idle_database_has_no_connections_over_the_lookback(seeded):
    (spec,) = demo.DEMO_DATABASES
    rds = as_account(spec.account_id, "rds", spec.region)
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=seeded[spec.key])["DBInstances"]
    shape = (db["Engine"], db["DBInstanceClass"], db["MultiAZ"])
    assert shape == ("postgres", "db.m5.large", False)
    assert {t["Key"]: t["Value"] for t in db["TagList"]}[demo.DEMO_KEY_TAG] == spec.key
    connections = hourly(
        spec.account_id,
        spec.region,
        "AWS/RDS",
        "DatabaseConnections",
        "DBInstanceIdentifier",
        db["DBInstanceIdentifier"],
        "Maximum",
    )
    assert len(connections) == demo.METRIC_DAYS * 24
    assert set(connections) == {0.0}
    cpu = hourly(
        spec.account_id,
        spec.region,
        "AWS/RDS",
        "CPUUtilization",
        "DBInstanceIdentifier",
        db["DBInstanceIdentifier"],
        "Average",
    )
    assert len(cpu) == demo.METRIC_DAYS * 24 and max(cpu) < 5


def test_the_idle_nat_gateway_moves_no_bytes(seeded):
    (spec,) = demo.DEMO_NAT_GATEWAYS
    ec2 = as_account(spec.account_id, "ec2", spec.region)
    (gateway,) = ec2.describe_nat_gateways(NatGatewayIds=[seeded[spec.key]])["NatGateways"]
    assert gateway["State"] == "available"
    assert tag_map(gateway)[demo.DEMO_KEY_TAG] == spec.key
    # Its Elastic IP is in use by the gateway: no "unassociated address" finding to follow.
    ip = gateway["NatGatewayAddresses"][0]["AllocationId"]
    (address,) = ec2.describe_addresses(AllocationIds=[ip])["Addresses"]
    assert address.get("AssociationId")
    for metric in ("BytesOutToDestination", "BytesInFromSource", "BytesInFromDestination"):
        values = hourly(
            spec.account_id,
            spec.region,
            "AWS/NATGateway",
            metric,
            "NatGatewayId",
            gateway["NatGatewayId"],
            "Sum",
        )
        assert len(values) == demo.METRIC_DAYS * 24, metric
        assert set(values) == {0.0}, metric


def test_the_idle_load_balancer_has_no_targets_and_no_requests(seeded):
    (spec,) = demo.DEMO_LOAD_BALANCERS
    elbv2 = as_account(spec.account_id, "elbv2", spec.region)
    (balancer,) = elbv2.describe_load_balancers(Names=[spec.name])["LoadBalancers"]
    assert balancer["Type"] == "application"
    assert balancer["LoadBalancerArn"].endswith(seeded[spec.key])
    assert seeded[spec.key].startswith(f"app/{spec.name}/")
    tags = elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]
    assert tag_map(tags)[demo.DEMO_KEY_TAG] == spec.key
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=balancer["LoadBalancerArn"])[
        "TargetGroups"
    ]
    health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
    assert health["TargetHealthDescriptions"] == []
    args = (spec.account_id, spec.region, "AWS/ApplicationELB")
    assert hourly(*args, "RequestCount", "LoadBalancer", seeded[spec.key], "Sum") == []
    lcus = hourly(*args, "ConsumedLCUs", "LoadBalancer", seeded[spec.key], "Average")
    assert len(lcus) == demo.METRIC_DAYS * 24


def test_the_new_instances_are_launched_as_specified(seeded):
    for key in ("old-generation", "graviton-candidate"):
        member = demo.demo_instance(key)
        ec2 = as_account(member.account_id, "ec2", member.region)
        reservations = ec2.describe_instances(
            Filters=[{"Name": f"tag:{demo.DEMO_KEY_TAG}", "Values": [key]}]
        )["Reservations"]
        (instance,) = [i for r in reservations for i in r["Instances"]]
        assert instance["InstanceType"] == member.instance_type
        assert instance["Architecture"] == "x86_64"
