"""AWS faults at the network edge: what each does to the cost store, the inventory and the
utilization rollups, what gets recorded, and what the next run does.

Faults travel over real HTTP. The FaultProxy (tests/aws_faults.py) in front of the moto server
answers chosen calls with AWS errors, or holds them past botocore's read timeout; for a refused
connection the endpoint is pointed at a closed port. botocore's standard retry mode, its error
parsing and our code run unchanged. (tests/costs/test_explorer.py already covers a throttled
first page that then succeeds, DataUnavailableException, and an AccessDeniedException on page 2;
this file does not repeat them.)

Every scenario checks the same things:
1. the failed run leaves the store exactly as it was (same rows, primary keys and values);
2. the failure is recorded on the run (SyncRun, for costs) and on the account, in one line
   naming AWS's error code, without a traceback;
3. the next run, fault removed, succeeds and clears the account's error;
4. the store then equals that of a twin: the same AWS account connected by another
   organisation, whose runs never failed.
Where a fault is recovered inside the run (expired credentials, short throttling), 3 and 4
apply to that run itself.

Each test prints one "MEASURED |" line (attempts on the wire, seconds, rows before/after):
`pytest tests/reliability/test_aws_faults.py -s | grep MEASURED` gives the table in
docs/reliability.md.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from botocore.config import Config

from accounts import aws as aws_module
from accounts.models import CloudAccount
from costs import explorer, inventory, utilization
from costs.models import (
    CostRecord,
    CostRollup,
    DetectionSettings,
    ElasticIP,
    Instance,
    SyncRun,
    UtilizationDay,
    Volume,
)
from tests.conftest import queue_cost_explorer
from tests.costs.fleet import AMI, launch

ACCOUNT = "111111111111"
TODAY = date(2026, 11, 23)
# botocore waits 60 s for an answer in production; the tests wait one second per attempt so a
# hung call times out quickly. Only the wait is shortened: the retries and the code are the same.
READ_TIMEOUT = 1
# botocore's max_attempts counts retries: 5 means six requests in all.
MAX_ATTEMPTS = aws_module.BOTO_CONFIG.retries["max_attempts"] + 1


# --- Shared helpers ----------------------------------------------------------------------------


@pytest.fixture
def twin(globex, acme_account):
    """The same AWS account connected by another organisation: its runs never fail."""
    return CloudAccount.objects.create(
        organization=globex,
        name="Twin of Acme production",
        account_id=acme_account.account_id,
        role_arn=acme_account.role_arn,
        regions=acme_account.regions,
    )


@pytest.fixture
def short_read_timeout(monkeypatch):
    config = aws_module.BOTO_CONFIG.merge(Config(read_timeout=READ_TIMEOUT))
    monkeypatch.setattr(aws_module, "BOTO_CONFIG", config)


def closed_port_url() -> str:
    """An endpoint nothing listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Fault:
    """One way to break AWS for a test, and what the recorded error must say."""

    name: str
    operation: str = ""
    code: str = ""
    message: str = ""
    status: int = 400
    times: int = 1
    skip: int = 0
    hang: bool = False
    refuse: bool = False
    forget_credentials: bool = False  # the cached credentials ran out: AssumeRole is called
    expect: str = ""  # in the recorded error
    recovers_in_run: bool = False  # the run itself succeeds (renewal, short throttling)

    def __str__(self) -> str:
        return self.name


class Injector:
    def __init__(self, proxy, settings, monkeypatch):
        self.proxy, self.settings, self.monkeypatch = proxy, settings, monkeypatch

    def apply(self, fault: Fault) -> None:
        if fault.forget_credentials:
            aws_module.clear_credential_cache()
        if fault.refuse:
            url = closed_port_url()
            self.settings.AWS_ENDPOINT_URL = url
            self.monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        elif fault.hang:
            self.proxy.hang(fault.operation, seconds=30, times=fault.times, skip=fault.skip)
        else:
            self.proxy.fail(
                fault.operation,
                fault.code,
                fault.message,
                status=fault.status,
                times=fault.times,
                skip=fault.skip,
            )

    def remove(self) -> None:
        self.settings.AWS_ENDPOINT_URL = self.proxy.url
        self.monkeypatch.setenv("AWS_ENDPOINT_URL", self.proxy.url)
        self.proxy.scripts.clear()


@pytest.fixture
def injector(aws_faults, settings, monkeypatch, short_read_timeout):
    return Injector(aws_faults, settings, monkeypatch)


def calls(proxy, operation: str) -> int:
    return sum(1 for r in proxy.requests if r.operation == operation)


def assert_one_clean_line(error: str, expect: str) -> None:
    assert expect in error, error
    assert "Traceback" not in error and "\n" not in error and 'File "' not in error, error
    assert len(error) < 500, error


def measured(*columns) -> None:
    print("\nMEASURED | " + " | ".join(str(c) for c in columns))


DENIED = "is not authorized to perform: {action} because no identity-based policy allows it"
ASSUME_ROLE_DENIED = Fault(
    "AssumeRole denied",
    "AssumeRole",
    "AccessDenied",
    "User: arn:aws:iam::123456789012:user/spendlens is not authorized to perform: sts:AssumeRole",
    status=403,
    forget_credentials=True,
    expect="AssumeRole failed: AccessDenied: User: arn:aws:iam::123456789012:user/spendlens",
)
REFUSED = Fault("connection refused", refuse=True, expect="Could not connect to the endpoint URL")


# --- Cost Explorer -----------------------------------------------------------------------------


def ce_day(when: date, groups: dict, estimated=False) -> dict:
    return {
        "TimePeriod": {"Start": when.isoformat(), "End": (when + timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {
                "Keys": list(keys),
                "Metrics": {
                    "UnblendedCost": {"Amount": str(amount), "Unit": "USD"},
                    "AmortizedCost": {"Amount": str(amount * 2), "Unit": "USD"},
                },
            }
            for keys, amount in groups.items()
        ],
        "Estimated": estimated,
    }


def ce_page(days: list, token: str | None = None) -> dict:
    page = {"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": []}
    if token:
        page["NextPageToken"] = token
    return page


EC2 = ("Amazon Elastic Compute Cloud - Compute", "us-east-1")
S3 = ("Amazon Simple Storage Service", "NoRegion")
LAMBDA = ("AWS Lambda", "eu-west-1")


def first_answer() -> list[dict]:
    """Run 1 (since TODAY-5): six days on two pages, the last two estimated."""
    days = [
        ce_day(TODAY - timedelta(days=n), {EC2: Decimal(10 + n), S3: Decimal("1.25")}, n < 2)
        for n in range(5, -1, -1)
    ]
    return [ce_page(days[:3], token="run1-page2"), ce_page(days[3:])]


def second_answer() -> list[dict]:
    """Run 2 (since TODAY-3): final figures for the formerly estimated days, S3 gone from one
    day, Lambda new on another; two pages."""
    days = [
        ce_day(TODAY - timedelta(days=3), {EC2: Decimal(13), S3: Decimal("1.25")}),
        ce_day(TODAY - timedelta(days=2), {EC2: Decimal("12.5")}),
        ce_day(TODAY - timedelta(days=1), {EC2: Decimal(11), S3: Decimal(1), LAMBDA: 3}),
        ce_day(TODAY, {EC2: Decimal(7), S3: Decimal("0.5")}, estimated=True),
    ]
    return [ce_page(days[:2], token="run2-page2"), ce_page(days[2:])]


def cost_rows(account) -> list[tuple]:
    """Every stored cost record of ACCOUNT with its primary key: identity and value."""
    return list(
        CostRecord.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "metric", "usage_date", "service", "region", "amount", "estimated")
    )


def cost_store(account) -> set[tuple]:
    """The store as a user sees it, comparable across accounts: records and rollups."""
    records = CostRecord.objects.filter(account=account).values_list(
        "source", "metric", "provider", "sub_account_id", "usage_date", "service", "region",
        "resource_id", "usage_type", "charge_category", "amount", "currency", "estimated",
    )  # fmt: skip
    rollups = CostRollup.objects.filter(organization=account.organization).values_list(
        "dimension", "usage_date", "key", "amount"
    )
    return {("record", *r) for r in records} | {("rollup", *r) for r in rollups}


def sync(account, since_days: int) -> SyncRun:
    return explorer.sync_account(account, since=TODAY - timedelta(days=since_days), today=TODAY)


@pytest.fixture
def cost_explorer_answers(aws):
    # moto answers each distinct request with the next queued page (and the same request with
    # the same page again): run 1's two pages, then run 2's two pages.
    queue_cost_explorer(aws, ACCOUNT, [*first_answer(), *second_answer()])


CE = "GetCostAndUsage"
CE_FAULTS = [
    Fault(
        "throttled on page 2, persistently",
        CE,
        "ThrottlingException",
        "Rate exceeded",
        times=MAX_ATTEMPTS,
        skip=1,
        expect="Cost Explorer: ThrottlingException: Rate exceeded",
    ),
    Fault(
        "throttled on page 2, twice",
        CE,
        "ThrottlingException",
        "Rate exceeded",
        times=2,
        skip=1,
        recovers_in_run=True,
    ),
    Fault(
        "GetCostAndUsage denied",
        CE,
        "AccessDeniedException",
        DENIED.format(action="ce:GetCostAndUsage"),
        expect="Cost Explorer: AccessDeniedException: is not authorized to perform: ce:",
    ),
    Fault(
        "credentials expired on page 2",
        CE,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        skip=1,
        recovers_in_run=True,
    ),
    Fault(
        "credentials expired on page 2, and again after renewal",
        CE,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        times=2,
        skip=1,
        expect="Cost Explorer: ExpiredTokenException: The security token included",
    ),
    Fault(
        "read timeout on page 2",
        CE,
        hang=True,
        times=MAX_ATTEMPTS,
        skip=1,
        expect="Cost Explorer: Read timeout on endpoint URL",
    ),
    REFUSED,
    ASSUME_ROLE_DENIED,
]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", CE_FAULTS, ids=str)
def test_cost_explorer_fault(
    fault, injector, aws_faults, acme_account, twin, cost_explorer_answers
):
    first = sync(acme_account, since_days=5)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    before = cost_rows(acme_account)
    aws_faults.requests.clear()

    injector.apply(fault)
    started = time.monotonic()
    run = sync(acme_account, since_days=3)
    elapsed = time.monotonic() - started
    attempts = calls(aws_faults, CE)
    renewals = calls(aws_faults, "AssumeRole")
    injector.remove()
    acme_account.refresh_from_db()

    # Every request that reached Cost Explorer is counted ($0.01 each), timed-out ones too.
    assert run.requests_made == attempts
    if fault.recovers_in_run:
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert acme_account.last_error == ""
        next_run = run
    else:
        assert run.status == SyncRun.Status.FAILED
        assert_one_clean_line(run.error, fault.expect)
        assert run.finished_at is not None
        assert acme_account.last_error == run.error
        assert acme_account.last_error_at is not None
        assert cost_rows(acme_account) == before, "a failed sync changed the store"
        next_run = sync(acme_account, since_days=3)
        assert next_run.status == SyncRun.Status.SUCCEEDED, next_run.error
        acme_account.refresh_from_db()
        assert (acme_account.last_error, acme_account.last_error_at) == ("", None)
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()

    for since_days in (5, 3):
        assert sync(twin, since_days).status == SyncRun.Status.SUCCEEDED
    assert cost_store(acme_account) == cost_store(twin)
    measured(
        "Cost Explorer sync",
        fault,
        f"{attempts} GetCostAndUsage attempts, {renewals} AssumeRole, "
        f"run.requests_made={run.requests_made}",
        f"{elapsed:.1f} s",
        f"{run.status}: {run.error or '-'}",
        f"records {len(before)} before, {len(cost_rows(acme_account))} after the next run "
        f"(+{next_run.rows_inserted} ~{next_run.rows_updated} -{next_run.rows_deleted})",
    )


@pytest.mark.django_db
def test_expired_credentials_are_renewed_and_the_fetch_restarts(
    aws_faults, acme_account, cost_explorer_answers
):
    sync(acme_account, since_days=5)
    aws_faults.requests.clear()
    aws_faults.fail(CE, "ExpiredTokenException", "The security token is expired", skip=1)

    run = sync(acme_account, since_days=3)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    wire = [(r.operation, r.access_key) for r in aws_faults.requests]
    old_key = wire[0][1]
    # Page 1, page 2 refused; the role assumed again; both pages fetched with the new key.
    assert [op for op, _ in wire] == [CE, CE, "AssumeRole", CE, CE]
    assert wire[1][1] == old_key
    assert wire[3][1] == wire[4][1] != old_key
    assert run.requests_made == 4
    # The dead credentials are gone from the cache: the next sync uses the renewed ones.
    aws_faults.requests.clear()
    sync(acme_account, since_days=3)
    assert [(r.operation, r.access_key) for r in aws_faults.requests] == [(CE, wire[3][1])] * 2


@pytest.mark.django_db
def test_a_successful_cost_sync_does_not_clear_an_inventory_failure(
    aws_faults, acme_account, cost_explorer_answers
):
    aws_faults.fail("DescribeInstances", "UnauthorizedOperation", "not authorized", status=403)
    assert not inventory.sync_inventory(acme_account).ok
    acme_account.refresh_from_db()
    inventory_error = acme_account.last_error
    assert inventory_error.startswith("Inventory: us-east-1: UnauthorizedOperation")

    assert sync(acme_account, since_days=5).status == SyncRun.Status.SUCCEEDED

    acme_account.refresh_from_db()
    assert acme_account.last_error == inventory_error
    assert acme_account.last_synced_at is not None
    # ...and the inventory clears its own error once it works again.
    assert inventory.sync_inventory(acme_account).ok
    acme_account.refresh_from_db()
    assert acme_account.last_error == ""


# --- Inventory ---------------------------------------------------------------------------------


def ec2_of(account, region="us-east-1"):
    session = aws_module.assumed_session(account.role_arn, account.external_id, label="test")
    return aws_module.client(session, "ec2", region)


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


# --- Utilization -------------------------------------------------------------------------------

NOW = datetime.now(UTC)
LOOKBACK_DAYS = 2
# i-busy is busy (no rightsizing, no memory pass); i-half idles at 20 % CPU, so it is a
# rightsizing candidate and gets the second, memory GetMetricData pass.
CPU = {"i-0000000000000b05e": 70.0, "i-0000000000000ha1f": 20.0}


def put_metrics(account, cpu_offset: float) -> None:
    session = aws_module.assumed_session(account.role_arn, account.external_id, label="test")
    cloudwatch = aws_module.client(session, "cloudwatch", "us-east-1")
    start, _ = utilization.lookback_window(NOW, LOOKBACK_DAYS)
    hours = [start + timedelta(hours=h, minutes=30) for h in range(LOOKBACK_DAYS * 24)]
    for instance_id, cpu in CPU.items():
        data = []
        for n, when in enumerate(hours):
            dimensions = [{"Name": "InstanceId", "Value": instance_id}]
            for name, value in (
                ("CPUUtilization", cpu + cpu_offset + n % 3),
                ("NetworkIn", 4e6),
                ("NetworkOut", 1e6),
            ):
                point = {"MetricName": name, "Dimensions": dimensions, "Value": value}
                data.append({**point, "Timestamp": when})
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data)
        memory = [
            {
                "MetricName": "mem_used_percent",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": when,
                "Value": 40.0 + cpu_offset,
            }
            for when in hours
        ]
        cloudwatch.put_metric_data(Namespace="CWAgent", MetricData=memory)


def utilization_rows(account) -> list[tuple]:
    return list(
        UtilizationDay.objects.filter(instance__account=account)
        .order_by("pk")
        .values_list("pk", "instance__instance_id", "day", "hours", "cpu_avg", "cpu_max",
                     "cpu_p95", "cpu_peak_hour_avg", "network_bytes", "memory_max")
    )  # fmt: skip


def utilization_store(account) -> set[tuple]:
    return {row[1:] for row in utilization_rows(account)}


def collect(account):
    return utilization.collect_account(account, days=LOOKBACK_DAYS, now=NOW)


@pytest.fixture
def metrics(aws_faults, acme_account, twin):
    for account in (acme_account, twin):
        settings_row = DetectionSettings.for_organization(account.organization)
        settings_row.lookback_days = LOOKBACK_DAYS
        settings_row.save()
        for instance_id in CPU:
            Instance.objects.create(
                account=account,
                region="us-east-1",
                instance_id=instance_id,
                instance_type="m5.xlarge",
                state="running",
            )
    put_metrics(acme_account, cpu_offset=0)
    # The second batch of datapoints lands between the first collection and the failed one.
    return lambda: put_metrics(acme_account, cpu_offset=4)


GMD = "GetMetricData"
CLOUDWATCH_FAULTS = [
    Fault(
        "GetMetricData throttled, persistently",
        GMD,
        "Throttling",
        "Rate exceeded",
        times=MAX_ATTEMPTS,
        expect="Utilization: us-east-1: Throttling: Rate exceeded",
    ),
    Fault(
        "GetMetricData throttled twice",
        GMD,
        "Throttling",
        "Rate exceeded",
        times=2,
        recovers_in_run=True,
    ),
    Fault(
        "GetMetricData denied",
        GMD,
        "AccessDenied",
        DENIED.format(action="cloudwatch:GetMetricData"),
        status=403,
        expect="Utilization: us-east-1: AccessDenied: ",
    ),
    Fault(
        "memory pass denied after the CPU pass succeeded",
        GMD,
        "AccessDenied",
        DENIED.format(action="cloudwatch:GetMetricData"),
        status=403,
        skip=1,
        expect="Utilization: us-east-1: AccessDenied: ",
    ),
    Fault(
        "credentials expired on the memory pass",
        GMD,
        "ExpiredToken",
        "The security token included in the request is expired",
        status=403,
        skip=1,
        recovers_in_run=True,
    ),
    Fault(
        "credentials expired on the memory pass, and again after renewal",
        GMD,
        "ExpiredToken",
        "The security token included in the request is expired",
        status=403,
        times=2,
        skip=1,
        expect="Utilization: us-east-1: ExpiredToken: The security token",
    ),
    Fault(
        "read timeout on GetMetricData",
        GMD,
        hang=True,
        times=MAX_ATTEMPTS,
        expect="Utilization: us-east-1: Read timeout on endpoint URL",
    ),
    Fault("connection refused", refuse=True, expect="Could not connect to the endpoint URL"),
    Fault(
        "AssumeRole denied",
        "AssumeRole",
        "AccessDenied",
        "not authorized to perform: sts:AssumeRole",
        status=403,
        forget_credentials=True,
        expect="Utilization: AssumeRole: AccessDenied: not authorized",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", CLOUDWATCH_FAULTS, ids=str)
def test_utilization_fault(fault, injector, aws_faults, acme_account, twin, metrics):
    first, errors = collect(acme_account)
    assert errors == [] and first.memory_candidates == 1, (errors, first)
    assert collect(twin)[1] == []
    metrics()
    before = utilization_rows(acme_account)
    aws_faults.requests.clear()

    injector.apply(fault)
    started = time.monotonic()
    _, errors = collect(acme_account)
    elapsed = time.monotonic() - started
    attempts = calls(aws_faults, GMD)
    injector.remove()
    acme_account.refresh_from_db()
    recorded = acme_account.last_error

    if fault.recovers_in_run:
        assert errors == []
        assert acme_account.last_error == ""
    else:
        assert len(errors) == 1
        assert_one_clean_line(acme_account.last_error, fault.expect)
        assert acme_account.last_error_at is not None
        assert utilization_rows(acme_account) == before, "a failed collection changed the rows"
        assert collect(acme_account)[1] == []
        acme_account.refresh_from_db()
        assert (acme_account.last_error, acme_account.last_error_at) == ("", None)

    assert collect(twin)[1] == []
    assert utilization_store(acme_account) == utilization_store(twin)
    assert utilization_store(acme_account) != {row[1:] for row in before}  # new data arrived
    measured(
        "utilization collection",
        fault,
        f"{attempts} GetMetricData attempts",
        f"{elapsed:.1f} s",
        "ok" if not errors else f"recorded: {recorded}",
        f"daily rows {len(before)} before, {len(utilization_rows(acme_account))} after the "
        "next run (same as the twin's)",
    )
