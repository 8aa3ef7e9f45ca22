"""Inventory: EC2 instances, EBS volumes and Elastic IPs in every configured region, then the
other services (fleet/inventory_services.py: snapshots, NAT gateways, RDS, load balancers).

Each region is read completely (every DescribeInstances/DescribeVolumes page) before anything
is written; then rows are upserted and the ones AWS no longer lists are marked gone (never
deleted: their recommendations, actions and cost history still point at them). A region that
fails to answer is reported and left exactly as it was; so is each other service of a region,
on its own (a role without the RDS permission still gets its EC2 inventory).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.db import transaction
from django.utils import timezone

from accounts import aws
from accounts.connection import describe, error_code
from fleet.models import ElasticIP, Instance, Volume

logger = logging.getLogger(__name__)

# Every error an inventory records on the account starts with this.
ERROR_PREFIX = "Inventory"

ASG_TAG = "aws:autoscaling:groupName"
# "User initiated (2026-10-01 12:34:56 GMT)": the only place EC2 says when a stop happened.
TRANSITION_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT\)")


@dataclass
class RegionResult:
    region: str
    instances: int = 0
    volumes: int = 0
    addresses: int = 0
    snapshots: int = 0
    nat_gateways: int = 0
    databases: int = 0
    load_balancers: int = 0
    marked_gone: int = 0
    error: str = ""  # EC2 instances, volumes and addresses
    # Another service that failed here: {"RDS": "AccessDenied: ..."}; its rows were left as is.
    service_errors: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """Each failure of the region as the account's last error names it."""
        found = [f"{self.region}: {self.error}"] if self.error else []
        return found + [f"{self.region} {name}: {e}" for name, e in self.service_errors.items()]


@dataclass
class InventoryResult:
    account_id: str
    regions: list[RegionResult] = field(default_factory=list)
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return all(not r.problems for r in self.regions)


def tags_of(resource: dict) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags", []) or []}


def state_since(raw: dict, previous: Instance | None, now: datetime) -> datetime | None:
    match = TRANSITION_TIME.search(raw.get("StateTransitionReason", "") or "")
    if match:
        return datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    state = raw["State"]["Name"]
    # EC2 resets LaunchTime at every start, so for a running instance it is exactly when the
    # current run began, whether or not Spendlens saw it start (or saw it pending first).
    if state == "running" and raw.get("LaunchTime"):
        return raw["LaunchTime"]
    if previous is not None and previous.state == state and previous.state_since:
        return previous.state_since
    return now


def instance_fields(raw: dict, previous: Instance | None, now: datetime) -> dict:
    tags = tags_of(raw)
    return {
        "name": tags.get("Name", "")[:256],
        "instance_type": raw["InstanceType"],
        "state": raw["State"]["Name"],
        "state_since": state_since(raw, previous, now),
        "launch_time": raw.get("LaunchTime"),
        "platform": raw.get("PlatformDetails") or raw.get("Platform") or "Linux/UNIX",
        "lifecycle": raw.get("InstanceLifecycle") or Instance.Lifecycle.ON_DEMAND,
        "root_device_type": raw.get("RootDeviceType", ""),
        "auto_scaling_group": tags.get(ASG_TAG, ""),
        "tags": tags,
    }


def volume_fields(raw: dict) -> dict:
    attachments = raw.get("Attachments") or []
    return {
        "volume_type": raw["VolumeType"],
        "size_gib": raw["Size"],
        "iops": raw.get("Iops"),
        "state": raw["State"],
        "attached_instance_id": attachments[0]["InstanceId"] if attachments else "",
        "created_at": raw.get("CreateTime"),
        "tags": tags_of(raw),
    }


def address_fields(raw: dict) -> dict:
    return {
        "public_ip": raw["PublicIp"],
        "association_id": raw.get("AssociationId", ""),
        "instance_id": raw.get("InstanceId", ""),
        "tags": tags_of(raw),
    }


def _paginate(client, operation: str, key: str, counter: list[int], **params):
    for page in client.get_paginator(operation).paginate(**params):
        counter[0] += 1
        yield from page[key]


def _upsert(model, id_field: str, account, region: str, fresh: dict[str, dict], now) -> int:
    """Write FRESH (id -> fields) for one account and region; mark the rest gone."""
    existing = {
        getattr(row, id_field): row
        for row in model.objects.select_for_update().filter(account=account, region=region)
    }
    to_create, to_update = [], []
    for resource_id, values in fresh.items():
        row = existing.get(resource_id)
        if row is None:
            to_create.append(
                model(
                    account=account,
                    region=region,
                    first_seen_at=now,
                    last_seen_at=now,
                    **{id_field: resource_id},
                    **values,
                )
            )
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.last_seen_at, row.gone_at = now, None
        to_update.append(row)
    model.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        fields = [*next(iter(fresh.values())).keys(), "last_seen_at", "gone_at"]
        model.objects.bulk_update(to_update, fields, batch_size=1000)
    gone = [row.pk for key, row in existing.items() if key not in fresh and row.gone_at is None]
    model.objects.filter(pk__in=gone).update(gone_at=now)
    return len(gone)


def _read_region(ec2, counter: list[int]) -> tuple[list, list, list]:
    """Every instance (but terminated ones), volume and Elastic IP of one region."""
    raw_instances = [
        instance
        for reservation in _paginate(ec2, "describe_instances", "Reservations", counter)
        for instance in reservation["Instances"]
        if instance["State"]["Name"] != "terminated"
    ]
    raw_volumes = list(_paginate(ec2, "describe_volumes", "Volumes", counter))
    counter[0] += 1
    raw_addresses = ec2.describe_addresses()["Addresses"]
    return raw_instances, raw_volumes, raw_addresses


def sync_region(account, role: aws.RoleSession, region: str, result: InventoryResult):
    outcome = RegionResult(region=region)
    counter = [0]
    now = timezone.now()
    try:
        # Read-only: if AWS refuses expired credentials, the region is read again from the
        # start with renewed ones.
        raw_instances, raw_volumes, raw_addresses = role.run(
            lambda session: _read_region(aws.client(session, "ec2", region), counter)
        )
    except (ClientError, BotoCoreError) as exc:
        result.api_calls += counter[0]
        outcome.error = describe(exc)
        logger.warning("inventory of %s/%s failed: %s", account.account_id, region, outcome.error)
        if not region_unreachable(exc):
            sync_services(account, role, region, outcome, result)
        return outcome
    result.api_calls += counter[0]

    with transaction.atomic():
        previous = {
            i.instance_id: i for i in Instance.objects.filter(account=account, region=region)
        }
        instances = {
            raw["InstanceId"]: instance_fields(raw, previous.get(raw["InstanceId"]), now)
            for raw in raw_instances
        }
        volumes = {raw["VolumeId"]: volume_fields(raw) for raw in raw_volumes}
        addresses = {
            raw["AllocationId"]: address_fields(raw)
            for raw in raw_addresses
            if raw.get("AllocationId")  # EC2-Classic addresses have none and are long gone
        }
        outcome.marked_gone = (
            _upsert(Instance, "instance_id", account, region, instances, now)
            + _upsert(Volume, "volume_id", account, region, volumes, now)
            + _upsert(ElasticIP, "allocation_id", account, region, addresses, now)
        )
    outcome.instances, outcome.volumes, outcome.addresses = (
        len(instances),
        len(volumes),
        len(addresses),
    )
    sync_services(account, role, region, outcome, result)
    return outcome


# The region as a whole does not answer (not enabled for the account, or not reachable): the
# other services would only fail the same way, each after its own retries.
REGION_UNREACHABLE_CODES = frozenset(
    {"OptInRequired", "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId"}
)


def region_unreachable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return error_code(exc) in REGION_UNREACHABLE_CODES
    return isinstance(exc, EndpointConnectionError)


def sync_services(account, role, region: str, outcome: RegionResult, result: InventoryResult):
    """Read and store each other service of REGION on its own (inventory_services.SERVICES)."""
    # Imported here: inventory_services builds on this module's helpers.
    from fleet.inventory_services import SERVICES

    for service in SERVICES:
        counter = [0]
        now = timezone.now()
        try:
            fresh = role.run(
                lambda session, service=service, counter=counter: service.read(
                    session, region, counter, account.account_id
                )
            )
        except (ClientError, BotoCoreError) as exc:
            outcome.service_errors[service.name] = describe(exc)
            logger.warning(
                "inventory of %s in %s/%s failed: %s",
                service.name,
                account.account_id,
                region,
                outcome.service_errors[service.name],
            )
            continue
        finally:
            result.api_calls += counter[0]
        with transaction.atomic():
            outcome.marked_gone += _upsert(
                service.model, service.id_field, account, region, fresh, now
            )
        setattr(outcome, service.counter_field, len(fresh))


def sync_inventory(account) -> InventoryResult:
    result = InventoryResult(account_id=account.account_id)
    try:
        role = aws.RoleSession(account.role_arn, account.external_id, label="inventory")
    except (ClientError, BotoCoreError) as exc:
        message = f"AssumeRole failed: {describe(exc)}"
        account.record_error(f"{ERROR_PREFIX}: {message}", timezone.now())
        result.regions.append(RegionResult(region="*", error=message))
        return result
    for region in account.regions:
        result.regions.append(sync_region(account, role, region, result))
    if not result.ok:
        errors = "; ".join(problem for r in result.regions for problem in r.problems)
        account.record_error(f"{ERROR_PREFIX}: {errors}", timezone.now())
    else:
        # The failure an earlier inventory recorded is over (other pipelines' errors stay).
        account.clear_error(ERROR_PREFIX)
    return result
