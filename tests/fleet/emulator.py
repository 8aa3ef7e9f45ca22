"""A few real instances in the emulator's EC2, seen through the account's assumed role."""

from __future__ import annotations

from accounts import aws
from fleet import inventory
from fleet.models import Instance

REGION = "us-east-1"
PROTECT = {"spendlens:protect": "true"}
# An EBS-backed image from moto's bundled list: looking one up costs a second per call.
AMI = "ami-12c6146b"


def ec2_client(account, region: str = REGION):
    session = aws.assumed_session(account.role_arn, account.external_id, label="test")
    return aws.client(session, "ec2", region)


def launch(ec2, name: str, tags: dict | None = None, **extra) -> str:
    all_tags = {"Name": name, **(tags or {})}
    reservation = ec2.run_instances(
        ImageId=AMI,
        InstanceType="t3.large",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()],
            }
        ],
        **extra,
    )
    return reservation["Instances"][0]["InstanceId"]


def state_in_aws(ec2, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def synced(account, instance_id: str) -> Instance:
    """The inventory's row for INSTANCE_ID, after a real inventory sync."""
    result = inventory.sync_inventory(account)
    assert result.ok, result.regions
    return Instance.objects.select_related("account__organization").get(
        account=account, instance_id=instance_id
    )


def ec2_calls(proxy) -> list[tuple[str, bool]]:
    """(operation, DryRun?) of every EC2 request the fault proxy saw, in order."""
    return [(r.operation, r.dry_run) for r in proxy.seen("ec2")]


def client(account, service: str, region: str = REGION):
    """Any service's client as the account's assumed role, to set a scene in the emulator."""
    session = aws.assumed_session(account.role_arn, account.external_id, label="test")
    return aws.client(session, service, region)


def subnets(ec2) -> tuple[str, list[str]]:
    """A VPC with two subnets in two zones (what a load balancer needs)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for n, zone in enumerate(["us-east-1a", "us-east-1b"])
    ]
    return vpc, ids
