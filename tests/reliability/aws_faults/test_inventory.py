"""EC2 faults in the inventory sync: instances, volumes and addresses, region by region."""

from __future__ import annotations

import time

import pytest
from botocore.config import Config

from accounts import aws as aws_module
from fleet import inventory
from fleet.models import ElasticIP, Instance, Volume
from tests.fleet.emulator import AMI, launch
from tests.reliability.aws_faults.faults import (
    ASSUME_ROLE_DENIED,
    MAX_ATTEMPTS,
    REFUSED,
    Fault,
    assert_one_clean_line,
    calls,
    measured,
)

# --- Inventory ---------------------------------------------------------------------------------


def ec2_of(account, region="us-east-1"):
    """EC2 for setting the scene: not under test, so not held to the injector's 1 s read
    timeout (the emulator's first RunInstances can take longer, and a retried one launches a
    second instance)."""
    session = aws_module.assumed_session(account.role_arn, account.external_id, label="test")
    return aws_module.client(session, "ec2", region, config=Config(read_timeout=60))


def inventory_rows(account) -> list[tuple]:
    """Every inventory row of ACCOUNT, with its primary key and every field."""
    rows = []
    for model in (Instance, Volume, ElasticIP):
        for values in model.objects.filter(account=account).order_by("pk").values():
            rows.append((model.__name__, tuple(sorted(values.items(), key=lambda kv: kv[0]))))
    return rows


def inventory_store(account) -> set[tuple]:
    """The inventory as a user sees it, comparable across accounts (no keys, no clocks)."""
    unstable = {"id", "account_id", "first_seen_at", "last_seen_at", "gone_at", "tags"}
    rows = set()
    for model in (Instance, Volume, ElasticIP):
        for values in model.objects.filter(account=account).values():
            fields = tuple(sorted((k, str(v)) for k, v in values.items() if k not in unstable))
            rows.add((model.__name__, values["gone_at"] is None, str(values["tags"]), fields))
    return rows


@pytest.fixture
def fleet(aws_faults, acme_account):
    """Two instances, an extra volume and an Elastic IP; returns a function that changes
    the fleet in AWS after the first sync (one instance terminated, one launched, a volume
    created, the address released)."""
    ec2 = ec2_of(acme_account)
    kept = launch(ec2, "kept")
    doomed = launch(ec2, "doomed")
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]

    def change():
        ec2.terminate_instances(InstanceIds=[doomed])
        ec2.run_instances(ImageId=AMI, InstanceType="m5.large", MinCount=1, MaxCount=1)
        ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, VolumeType="gp3")
        ec2.release_address(AllocationId=allocation)

    change.kept = kept
    return change


EC2_FAULTS = [
    Fault(
        "DescribeInstances throttled, persistently",
        "DescribeInstances",
        "RequestLimitExceeded",
        "Request limit exceeded.",
        status=503,
        times=MAX_ATTEMPTS,
        expect="Inventory: us-east-1: RequestLimitExceeded: Request limit exceeded.",
    ),
    Fault(
        "DescribeInstances throttled twice",
        "DescribeInstances",
        "RequestLimitExceeded",
        "Request limit exceeded.",
        status=503,
        times=2,
        recovers_in_run=True,
    ),
    Fault(
        "DescribeInstances denied",
        "DescribeInstances",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        status=403,
        expect="Inventory: us-east-1: UnauthorizedOperation: You are not authorized",
    ),
    Fault(
        "DescribeVolumes denied after DescribeInstances succeeded",
        "DescribeVolumes",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        status=403,
        expect="Inventory: us-east-1: UnauthorizedOperation",
    ),
    Fault(
        "credentials expired on DescribeAddresses",
        "DescribeAddresses",
        "RequestExpired",
        "Request has expired.",
        recovers_in_run=True,
    ),
    Fault(
        "credentials expired on DescribeAddresses, and again after renewal",
        "DescribeAddresses",
        "RequestExpired",
        "Request has expired.",
        times=2,
        expect="Inventory: us-east-1: RequestExpired: Request has expired.",
    ),
    Fault(
        "read timeout on DescribeVolumes",
        "DescribeVolumes",
        hang=True,
        times=MAX_ATTEMPTS,
        expect="Inventory: us-east-1: Read timeout on endpoint URL",
    ),
    REFUSED,
    ASSUME_ROLE_DENIED,
]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", EC2_FAULTS, ids=str)
def test_inventory_fault(fault, injector, aws_faults, acme_account, twin, fleet):
    assert inventory.sync_inventory(acme_account).ok
    assert inventory.sync_inventory(twin).ok
    fleet()  # AWS changes: the failed run must not apply any of it, the next run all of it
    before = inventory_rows(acme_account)
    aws_faults.requests.clear()

    injector.apply(fault)
    started = time.monotonic()
    result = inventory.sync_inventory(acme_account)
    elapsed = time.monotonic() - started
    attempts = sum(1 for r in aws_faults.requests if r.service == "ec2")
    failing_attempts = calls(aws_faults, fault.operation) if fault.operation else attempts
    injector.remove()
    acme_account.refresh_from_db()
    recorded = acme_account.last_error

    if fault.recovers_in_run:
        assert result.ok, result.regions
        assert acme_account.last_error == ""
    else:
        assert not result.ok
        assert_one_clean_line(acme_account.last_error, fault.expect.replace("Inventory: ", ""))
        assert acme_account.last_error.startswith("Inventory: ")
        assert acme_account.last_error_at is not None
        assert inventory_rows(acme_account) == before, "a failed inventory changed the rows"
        assert inventory.sync_inventory(acme_account).ok
        acme_account.refresh_from_db()
        assert (acme_account.last_error, acme_account.last_error_at) == ("", None)

    assert inventory.sync_inventory(twin).ok
    assert inventory_store(acme_account) == inventory_store(twin)
    present = Instance.objects.present().filter(account=acme_account)
    assert present.count() == 2 and present.filter(instance_id=fleet.kept).exists()
    measured(
        "inventory sync",
        fault,
        f"{failing_attempts} attempts of the failing call, {attempts} EC2 calls in all",
        f"{elapsed:.1f} s",
        "ok" if result.ok else f"recorded: {recorded}",
        f"rows {len(before)} before, {len(inventory_rows(acme_account))} after the next run "
        "(same as the twin's)",
    )


@pytest.mark.django_db
def test_a_failing_region_leaves_its_rows_and_the_others_sync(
    aws_faults, acme_account, twin, fleet
):
    for account in (acme_account, twin):
        account.regions = ["us-east-1", "eu-west-1"]
        account.save()
    launch(ec2_of(acme_account, "eu-west-1"), "europe")
    inventory.sync_inventory(acme_account)
    inventory.sync_inventory(twin)
    launch(ec2_of(acme_account, "eu-west-1"), "europe-2")
    fleet()
    europe_before = [r for r in inventory_rows(acme_account) if ("region", "eu-west-1") in r[1]]
    # us-east-1 is read first; its DescribeInstances goes through, eu-west-1's is denied.
    aws_faults.fail("DescribeInstances", "UnauthorizedOperation", "denied", status=403, skip=1)

    result = inventory.sync_inventory(acme_account)

    assert [(r.region, bool(r.error)) for r in result.regions] == [
        ("us-east-1", False),
        ("eu-west-1", True),
    ]
    after = inventory_rows(acme_account)
    assert [r for r in after if ("region", "eu-west-1") in r[1]] == europe_before
    us = Instance.objects.present().filter(account=acme_account, region="us-east-1")
    assert us.count() == 2  # the change was applied where AWS answered
    acme_account.refresh_from_db()
    assert acme_account.last_error == "Inventory: eu-west-1: UnauthorizedOperation: denied"

    assert inventory.sync_inventory(acme_account).ok
    inventory.sync_inventory(twin)
    assert inventory_store(acme_account) == inventory_store(twin)
