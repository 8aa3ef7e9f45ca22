"""Inventory of RDS instances, EBS snapshots, NAT gateways and load balancers, from the emulator
(real HTTP), and what happens when one service fails or a resource vanishes mid-run."""

from __future__ import annotations

import pytest

from fleet import inventory
from fleet.inventory_services import images_by_snapshot, lb_dimension
from fleet.models import DatabaseInstance, Instance, LoadBalancer, NatGateway, Snapshot
from tests.fleet.emulator import client, ec2_client, launch, subnets

pytestmark = pytest.mark.django_db


def sync_ok(account):
    result = inventory.sync_inventory(account)
    assert result.ok, result.regions
    return result


def create_database(rds, name, **extra):
    params = {
        "DBInstanceIdentifier": name,
        "Engine": "postgres",
        "DBInstanceClass": "db.m5.large",
        "AllocatedStorage": 100,
        "MasterUsername": "admin",
        "MasterUserPassword": "password-123",
        **extra,
    }
    return rds.create_db_instance(**params)["DBInstance"]


# --- RDS ---------------------------------------------------------------------------------------


def test_rds_instances_multi_az_and_aurora_member(aws, acme_account):
    rds = client(acme_account, "rds")
    create_database(rds, "orders", MultiAZ=True, Tags=[{"Key": "team", "Value": "shop"}])
    rds.create_db_cluster(
        DBClusterIdentifier="analytics",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="password-123",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="analytics-1",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        DBClusterIdentifier="analytics",
    )

    result = sync_ok(acme_account)

    assert result.regions[0].databases == 2
    orders = DatabaseInstance.objects.get(account=acme_account, db_instance_id="orders")
    assert (orders.engine, orders.instance_class, orders.status) == (
        "postgres",
        "db.m5.large",
        "available",
    )
    assert orders.multi_az and not orders.is_aurora
    assert (orders.allocated_gib, orders.storage_type, orders.cluster_id) == (100, "gp2", "")
    assert orders.tags == {"team": "shop"}
    assert orders.arn.endswith(":db:orders") and orders.created_at is not None
    member = DatabaseInstance.objects.get(account=acme_account, db_instance_id="analytics-1")
    assert member.is_aurora and member.cluster_id == "analytics"
    assert member.instance_class == "db.r6g.large"


def test_a_deleted_database_is_marked_gone_not_deleted(aws, acme_account):
    rds = client(acme_account, "rds")
    create_database(rds, "kept")
    create_database(rds, "doomed")
    sync_ok(acme_account)

    rds.delete_db_instance(DBInstanceIdentifier="doomed", SkipFinalSnapshot=True)
    result = sync_ok(acme_account)

    rows = DatabaseInstance.objects.filter(account=acme_account)
    assert rows.count() == 2
    assert list(rows.present().values_list("db_instance_id", flat=True)) == ["kept"]
    assert rows.get(db_instance_id="doomed").gone_at is not None
    assert result.regions[0].marked_gone == 1


# --- Snapshots ---------------------------------------------------------------------------------


def test_snapshots_with_their_ami_and_gone_volume(aws, acme_account):
    ec2 = ec2_client(acme_account)
    kept_volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=50)["VolumeId"]
    gone_volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20)["VolumeId"]
    nightly = ec2.create_snapshot(VolumeId=kept_volume, Description="nightly")["SnapshotId"]
    orphan = ec2.create_snapshot(
        VolumeId=gone_volume,
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "old"}]}],
    )["SnapshotId"]
    ec2.delete_volume(VolumeId=gone_volume)
    # An AMI made from an instance: the emulator snapshots its root volume for it.
    image = ec2.create_image(InstanceId=launch(ec2, "golden"), Name="golden")["ImageId"]
    mappings = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"]
    ami_snapshot = mappings[0]["Ebs"]["SnapshotId"]

    result = sync_ok(acme_account)

    snapshots = {s.snapshot_id: s for s in Snapshot.objects.filter(account=acme_account)}
    # Only the account's own: the emulator's public AMI snapshots are not the customer's.
    assert set(snapshots) == {nightly, orphan, ami_snapshot}
    assert result.regions[0].snapshots == 3
    assert snapshots[ami_snapshot].image_ids == [image]
    assert snapshots[nightly].image_ids == []
    assert (snapshots[nightly].size_gib, snapshots[nightly].volume_id) == (50, kept_volume)
    assert snapshots[nightly].description == "nightly"
    assert snapshots[nightly].storage_tier == "standard"
    assert snapshots[nightly].started_at is not None
    assert snapshots[orphan].image_ids == []
    assert snapshots[orphan].volume_id == gone_volume
    assert snapshots[orphan].tags == {"Name": "old"}

    ec2.delete_snapshot(SnapshotId=orphan)
    sync_ok(acme_account)

    assert Snapshot.objects.get(snapshot_id=orphan).gone_at is not None
    assert Snapshot.objects.get(snapshot_id=nightly).gone_at is None


def test_images_by_snapshot_lists_every_ami_once():
    images = [
        {
            "ImageId": "ami-b",
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1"}},
                {"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": "snap-2"}},
                {"DeviceName": "/dev/xvdc", "VirtualName": "ephemeral0"},
            ],
        },
        {"ImageId": "ami-a", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}]},
        {"ImageId": "ami-c"},
    ]

    assert images_by_snapshot(images) == {"snap-1": ["ami-a", "ami-b"], "snap-2": ["ami-b"]}


# --- NAT gateways ------------------------------------------------------------------------------


def test_nat_gateways_and_a_deleted_one_marked_gone(aws, acme_account):
    ec2 = ec2_client(acme_account)
    vpc, (subnet, _) = subnets(ec2)
    nats = [
        ec2.create_nat_gateway(
            SubnetId=subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"]
        )["NatGateway"]["NatGatewayId"]
        for _ in range(2)
    ]
    sync_ok(acme_account)

    row = NatGateway.objects.get(account=acme_account, nat_gateway_id=nats[0])
    assert (row.state, row.vpc_id, row.subnet_id) == ("available", vpc, subnet)
    assert row.connectivity_type == "public" and row.created_at is not None

    # A deleted gateway stays listed (state "deleted"): it is no longer inventoried.
    ec2.delete_nat_gateway(NatGatewayId=nats[1])
    result = sync_ok(acme_account)

    assert result.regions[0].nat_gateways == 1
    assert NatGateway.objects.get(nat_gateway_id=nats[1]).gone_at is not None
    assert NatGateway.objects.get(nat_gateway_id=nats[0]).gone_at is None


# --- Load balancers ----------------------------------------------------------------------------


def load_balancers(account):
    """An ALB with one healthy and one stopped target, an NLB with no target group."""
    ec2 = ec2_client(account)
    elbv2 = client(account, "elbv2")
    vpc, subnet_ids = subnets(ec2)
    alb = elbv2.create_load_balancer(
        Name="web", Subnets=subnet_ids, Type="application", Tags=[{"Key": "env", "Value": "prod"}]
    )["LoadBalancers"][0]
    nlb = elbv2.create_load_balancer(Name="tcp", Subnets=subnet_ids, Type="network")[
        "LoadBalancers"
    ][0]
    group = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    up, down = launch(ec2, "web-1"), launch(ec2, "web-2")
    elbv2.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": up}, {"Id": down}]
    )
    ec2.stop_instances(InstanceIds=[down])
    return alb, nlb


def test_load_balancers_with_their_targets_health(aws, acme_account):
    alb, nlb = load_balancers(acme_account)

    result = sync_ok(acme_account)

    assert result.regions[0].load_balancers == 2
    web = LoadBalancer.objects.get(account=acme_account, name="web")
    assert web.dimension == lb_dimension(alb["LoadBalancerArn"])
    assert web.dimension.startswith("app/web/")
    assert (web.lb_type, web.arn, web.tags) == (
        "application",
        alb["LoadBalancerArn"],
        {"env": "prod"},
    )
    assert (web.target_groups, web.registered_targets, web.healthy_targets) == (1, 2, 1)
    assert web.created_at is not None and web.state
    tcp = LoadBalancer.objects.get(account=acme_account, name="tcp")
    assert tcp.lb_type == "network"
    assert (tcp.target_groups, tcp.registered_targets, tcp.healthy_targets) == (0, 0, 0)

    client(acme_account, "elbv2").delete_load_balancer(LoadBalancerArn=nlb["LoadBalancerArn"])
    sync_ok(acme_account)

    assert LoadBalancer.objects.get(name="tcp").gone_at is not None
    assert LoadBalancer.objects.get(name="web").gone_at is None


def test_lb_dimension_is_the_arn_tail():
    arn = (
        "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/net/tcp/50dc6c495c0c9188"
    )

    assert lb_dimension(arn) == "net/tcp/50dc6c495c0c9188"


def test_a_target_group_gone_mid_run_counts_no_targets(aws_faults, acme_account):
    load_balancers(acme_account)
    aws_faults.fail("DescribeTargetHealth", "TargetGroupNotFound", "One or more target groups")

    result = sync_ok(acme_account)

    web = LoadBalancer.objects.get(account=acme_account, name="web")
    assert (web.target_groups, web.registered_targets, web.healthy_targets) == (0, 0, 0)
    assert result.regions[0].load_balancers == 2


def test_a_load_balancer_gone_mid_run_is_marked_gone(aws_faults, acme_account):
    load_balancers(acme_account)
    sync_ok(acme_account)
    # Listed by DescribeLoadBalancers, deleted before its target groups were read: the
    # first LB asked about (in listing order) is the one that vanished.
    aws_faults.fail("DescribeTargetGroups", "LoadBalancerNotFound", "not found")

    result = sync_ok(acme_account)

    assert result.regions[0].load_balancers == 1
    assert LoadBalancer.objects.filter(account=acme_account).count() == 2
    assert LoadBalancer.objects.filter(account=acme_account).present().count() == 1


# --- One service failing -----------------------------------------------------------------------


def test_rds_denied_is_recorded_while_ec2_and_the_others_are_stored(aws_faults, acme_account):
    rds = client(acme_account, "rds")
    create_database(rds, "orders")
    sync_ok(acme_account)
    create_database(rds, "billing")
    ec2 = ec2_client(acme_account)
    instance = launch(ec2, "web")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    message = "User is not authorized to perform: rds:DescribeDBInstances"
    aws_faults.fail("DescribeDBInstances", "AccessDenied", message, status=403)

    result = inventory.sync_inventory(acme_account)

    assert not result.ok
    region = result.regions[0]
    assert region.error == ""
    assert region.service_errors == {"RDS": f"AccessDenied: {message}"}
    acme_account.refresh_from_db()
    assert acme_account.last_error == f"Inventory: us-east-1 RDS: AccessDenied: {message}"
    # The RDS rows are exactly as they were; EC2 and the snapshots are up to date.
    assert list(DatabaseInstance.objects.values_list("db_instance_id", "gone_at")) == [
        ("orders", None)
    ]
    assert Instance.objects.filter(account=acme_account, instance_id=instance).exists()
    assert Snapshot.objects.filter(account=acme_account, snapshot_id=snapshot).exists()

    sync_ok(acme_account)  # the role was fixed

    acme_account.refresh_from_db()
    assert acme_account.last_error == ""
    assert DatabaseInstance.objects.filter(account=acme_account).count() == 2


def test_a_region_not_enabled_is_recorded_once_and_not_asked_again(aws_faults, acme_account):
    acme_account.regions = ["us-east-1", "ap-east-1"]
    acme_account.save()
    launch(ec2_client(acme_account), "web")
    # us-east-1 answers; ap-east-1 (not opted in) refuses every call.
    aws_faults.fail(
        "DescribeInstances",
        "OptInRequired",
        "You are not subscribed to this service.",
        status=401,
        skip=1,
    )

    result = inventory.sync_inventory(acme_account)

    us, asia = result.regions
    assert not us.problems and us.instances == 1
    assert asia.error.startswith("OptInRequired") and asia.service_errors == {}
    # The other services of ap-east-1 were not asked: they would only fail the same way.
    for operation in ("DescribeSnapshots", "DescribeDBInstances", "DescribeLoadBalancers"):
        assert aws_faults.calls[operation] == 1, operation  # us-east-1's
    acme_account.refresh_from_db()
    assert acme_account.last_error == (
        "Inventory: ap-east-1: OptInRequired: You are not subscribed to this service."
    )
