"""Inventory beyond EC2 instances: RDS instances, EBS snapshots, NAT gateways, load balancers.

Each service of each region is read on its own (all its pages first, under the role's
credential renewal) and written on its own: a customer role that lacks one service's new
permission, or a service that fails, leaves that service's rows exactly as they were while the
others are stored. A resource listed and then gone before its details were read (a load
balancer or target group deleted mid-run) is left out of the fresh list, so it is marked gone
like any resource AWS no longer lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from accounts import aws
from fleet import inventory as core
from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, Snapshot

# DescribeTags of elbv2 takes at most 20 ARNs.
LB_TAG_BATCH = 20
LB_GONE_CODES = frozenset({"LoadBalancerNotFound", "LoadBalancerNotFoundException"})
TG_GONE_CODES = frozenset({"TargetGroupNotFound", "TargetGroupNotFoundException"})


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _tags(pairs) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in pairs or []}


# --- RDS ---------------------------------------------------------------------------------------


def database_fields(raw: dict) -> dict:
    return {
        "arn": raw.get("DBInstanceArn", "")[:256],
        "engine": raw["Engine"],
        "engine_version": (raw.get("EngineVersion") or "")[:32],
        "instance_class": raw["DBInstanceClass"],
        "status": raw["DBInstanceStatus"],
        "multi_az": bool(raw.get("MultiAZ")),
        "storage_type": raw.get("StorageType") or "",
        "allocated_gib": raw.get("AllocatedStorage") or 0,
        "cluster_id": raw.get("DBClusterIdentifier") or "",
        "license_model": raw.get("LicenseModel") or "",
        "created_at": raw.get("InstanceCreateTime"),
        "tags": _tags(raw.get("TagList")),
    }


def read_databases(session, region: str, counter: list[int], account_id: str = ""):
    rds = aws.client(session, "rds", region)
    return {
        raw["DBInstanceIdentifier"]: database_fields(raw)
        for raw in core._paginate(rds, "describe_db_instances", "DBInstances", counter)
    }


# --- EBS snapshots -----------------------------------------------------------------------------


def snapshot_fields(raw: dict, image_ids: list[str]) -> dict:
    return {
        "volume_id": raw.get("VolumeId") or "",
        "size_gib": raw.get("VolumeSize") or 0,
        "storage_tier": raw.get("StorageTier") or "standard",
        "state": raw.get("State", ""),
        "started_at": raw.get("StartTime"),
        "description": (raw.get("Description") or "")[:256],
        "image_ids": image_ids,
        "tags": core.tags_of(raw),
    }


def images_by_snapshot(images: list[dict]) -> dict[str, list[str]]:
    """{snapshot ID: sorted IDs of the AMIs whose block devices were made from it}."""
    users: dict[str, set[str]] = {}
    for image in images:
        for mapping in image.get("BlockDeviceMappings") or []:
            snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
            if snapshot_id:
                users.setdefault(snapshot_id, set()).add(image["ImageId"])
    return {snapshot_id: sorted(ids) for snapshot_id, ids in users.items()}


def read_snapshots(session, region: str, counter: list[int], account_id: str = ""):
    ec2 = aws.client(session, "ec2", region)
    # The owner-id filter says OwnerIds=self again: an endpoint that ignores OwnerIds (the
    # emulator does) would list every public snapshot, none of them the customer's to pay for.
    owner = {"Filters": [{"Name": "owner-id", "Values": [account_id]}]} if account_id else {}
    raw_snapshots = list(
        core._paginate(ec2, "describe_snapshots", "Snapshots", counter, OwnerIds=["self"], **owner)
    )
    images = list(core._paginate(ec2, "describe_images", "Images", counter, Owners=["self"]))
    used = images_by_snapshot(images)
    return {
        raw["SnapshotId"]: snapshot_fields(raw, used.get(raw["SnapshotId"], []))
        for raw in raw_snapshots
    }


# --- NAT gateways ------------------------------------------------------------------------------


def nat_fields(raw: dict) -> dict:
    return {
        "state": raw.get("State", ""),
        "connectivity_type": raw.get("ConnectivityType") or "public",
        "vpc_id": raw.get("VpcId") or "",
        "subnet_id": raw.get("SubnetId") or "",
        "created_at": raw.get("CreateTime"),
        "tags": core.tags_of(raw),
    }


def read_nat_gateways(session, region: str, counter: list[int], account_id: str = ""):
    ec2 = aws.client(session, "ec2", region)
    return {
        raw["NatGatewayId"]: nat_fields(raw)
        for raw in core._paginate(ec2, "describe_nat_gateways", "NatGateways", counter)
        # A deleted gateway stays listed for about an hour; it no longer costs anything.
        if raw.get("State") != "deleted"
    }


# --- Load balancers ----------------------------------------------------------------------------


def lb_dimension(arn: str) -> str:
    """CloudWatch's LoadBalancer dimension: 'app/<name>/<id>' from the ARN."""
    return arn.split(":loadbalancer/", 1)[-1]


def lb_fields(raw: dict, targets: tuple[int, int, int], tags: dict) -> dict:
    groups, registered, healthy = targets
    return {
        "arn": raw["LoadBalancerArn"],
        "name": raw.get("LoadBalancerName", "")[:32],
        "lb_type": raw.get("Type", ""),
        "scheme": raw.get("Scheme") or "",
        "state": (raw.get("State") or {}).get("Code", ""),
        "created_at": raw.get("CreatedTime"),
        "target_groups": groups,
        "registered_targets": registered,
        "healthy_targets": healthy,
        "tags": tags,
    }


def _targets(elbv2, arn: str, counter: list[int]) -> tuple[int, int, int] | None:
    """(target groups, registered targets, healthy ones) of one LB; None if the LB is gone."""
    try:
        groups = list(
            core._paginate(
                elbv2, "describe_target_groups", "TargetGroups", counter, LoadBalancerArn=arn
            )
        )
    except ClientError as exc:
        if _code(exc) in LB_GONE_CODES:
            return None
        if _code(exc) not in TG_GONE_CODES:
            raise
        groups = []  # some endpoints say "not found" for a load balancer with no group
    registered = healthy = 0
    counted = 0
    for group in groups:
        counter[0] += 1
        try:
            health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        except ClientError as exc:
            if _code(exc) in TG_GONE_CODES:
                continue  # deleted since it was listed: it has no targets to count
            if _code(exc) in LB_GONE_CODES:
                return None
            raise
        counted += 1
        for target in health.get("TargetHealthDescriptions", []):
            registered += 1
            healthy += (target.get("TargetHealth") or {}).get("State") == "healthy"
    return counted, registered, healthy


def _lb_tags(elbv2, arns: list[str], counter: list[int]) -> dict[str, dict]:
    """{ARN: tags}; an ARN missing from the answer belongs to a load balancer gone mid-run."""
    tags: dict[str, dict] = {}
    for start in range(0, len(arns), LB_TAG_BATCH):
        batch = arns[start : start + LB_TAG_BATCH]
        counter[0] += 1
        try:
            described = elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]
        except ClientError as exc:
            if _code(exc) not in LB_GONE_CODES:
                raise
            # One ARN of the batch is gone and spoils it: ask for each on its own.
            described = []
            for arn in batch:
                counter[0] += 1
                try:
                    described += elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
                except ClientError as single:
                    if _code(single) not in LB_GONE_CODES:
                        raise
        for item in described:
            tags[item["ResourceArn"]] = _tags(item.get("Tags"))
    return tags


def read_load_balancers(session, region: str, counter: list[int], account_id: str = ""):
    elbv2 = aws.client(session, "elbv2", region)
    listed = list(core._paginate(elbv2, "describe_load_balancers", "LoadBalancers", counter))
    tags = _lb_tags(elbv2, [raw["LoadBalancerArn"] for raw in listed], counter)
    fresh = {}
    for raw in listed:
        arn = raw["LoadBalancerArn"]
        targets = _targets(elbv2, arn, counter)
        if targets is None or arn not in tags:
            continue  # deleted since it was listed
        fresh[lb_dimension(arn)] = lb_fields(raw, targets, tags[arn])
    return fresh


# --- The services, in the order a region is read -----------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str  # as errors and RegionResult name it
    model: type
    id_field: str
    # (session, region, API call counter, account ID) -> {resource ID: model fields}
    read: Callable[..., dict[str, dict]]
    counter_field: str  # RegionResult's count of present resources


SERVICES = (
    Service("snapshots", Snapshot, "snapshot_id", read_snapshots, "snapshots"),
    Service("NAT gateways", NatGateway, "nat_gateway_id", read_nat_gateways, "nat_gateways"),
    Service("RDS", DatabaseInstance, "db_instance_id", read_databases, "databases"),
    Service("load balancers", LoadBalancer, "dimension", read_load_balancers, "load_balancers"),
)
