"""CloudWatch faults in the utilization collection: the daily rollups, CPU and memory."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from accounts import aws as aws_module
from findings import detection
from findings.models import DetectionSettings
from fleet import utilization
from fleet.models import Instance, UtilizationDay
from tests.reliability.aws_faults.faults import (
    DENIED,
    MAX_ATTEMPTS,
    Fault,
    assert_one_clean_line,
    calls,
    measured,
)

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
    return detection.collect_utilization(account, days=LOOKBACK_DAYS, now=NOW)


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
