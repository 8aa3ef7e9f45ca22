"""CloudWatch figures of RDS instances, NAT gateways and load balancers.

The batching is tested with a real boto3 client answered by botocore's Stubber, each answer
built from the queries the code actually sent; the figures end to end against the emulator's
CloudWatch (real HTTP), fed with put_metric_data.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from fleet import resource_metrics
from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, ResourceMetricDay
from fleet.resource_metrics import LB, NAT, RDS, Resource
from tests.fleet.emulator import client

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 23, tzinfo=UTC)
START = END - timedelta(days=14)


class StubCloudWatch:
    """Answers GetMetricData from HOURLY[(dimension value, metric name)] = hourly values from
    START (None: no datapoint), PAGE_SIZE datapoints a page linked by NextToken."""

    def __init__(self, hourly: dict, page_size: int | None = None):
        self.client = boto3.client(
            "cloudwatch",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.hourly, self.page_size = hourly, page_size
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.calls: list[dict] = []
        self.pending: list[list] = []
        self.client.meta.events.register(
            "provide-client-params.cloudwatch.GetMetricData", self.answer
        )

    def answer(self, params, **_):
        self.calls.append(params)
        if "NextToken" not in params:
            points = []
            for query in params["MetricDataQueries"]:
                metric = query["MetricStat"]["Metric"]
                key = (metric["Dimensions"][0]["Value"], metric["MetricName"])
                for hour, value in enumerate(self.hourly.get(key, [])):
                    if value is not None:
                        points.append((query["Id"], START + timedelta(hours=hour), value))
            size = self.page_size or max(1, len(points))
            self.pending = [points[i : i + size] for i in range(0, len(points), size)] or [[]]
        page = self.pending.pop(0)
        results: dict[str, dict] = {}
        for query_id, timestamp, value in page:
            result = results.setdefault(
                query_id, {"Id": query_id, "Timestamps": [], "Values": [], "StatusCode": "Complete"}
            )
            result["Timestamps"].append(timestamp)
            result["Values"].append(value)
        response = {"MetricDataResults": list(results.values()), "Messages": []}
        if self.pending:
            response["NextToken"] = f"page-{len(self.calls)}"
        self.stubber.add_response("get_metric_data", response)


def fleet(databases=0, nats=0, lbs=0) -> dict[str, list[Resource]]:
    return {
        RDS: [
            Resource(RDS, f"db-{n}", "AWS/RDS", "DBInstanceIdentifier") for n in range(databases)
        ],
        NAT: [Resource(NAT, f"nat-{n}", "AWS/NATGateway", "NatGatewayId") for n in range(nats)],
        LB: [
            Resource(LB, f"app/lb-{n}/0123", "AWS/ApplicationELB", "LoadBalancer")
            for n in range(lbs)
        ],
    }


# --- How many calls ----------------------------------------------------------------------------


def test_the_issues_fleet_needs_a_hundredth_of_the_calls():
    counts = {"ec2": 1000, "rds": 200, "nat": 50, "lb": 50}

    ours = resource_metrics.calls_needed(counts, 14)
    one_per_metric = resource_metrics.calls_one_per_metric(counts)

    # 8 EC2 calls (125 instances each) + 700 hourly queries at 300 a call.
    assert ours == 8 + 3
    # EC2: CPUUtilization (average and maximum in one call), NetworkIn, NetworkOut.
    assert one_per_metric == 3000 + 400 + 150 + 150
    assert ours <= one_per_metric / 100


def test_queries_per_call_respects_both_limits():
    assert resource_metrics.queries_per_call(1) == 500  # the query limit
    assert resource_metrics.queries_per_call(14) == 300  # 300 * 336 = 100,800 datapoints
    assert resource_metrics.queries_per_call(30) == 140
    for days in (1, 7, 14, 30, 90):
        per_call = resource_metrics.queries_per_call(days)
        assert per_call <= 500 and per_call * 24 * days <= 100_800


def test_kinds_are_packed_into_the_same_calls(acme_account):
    resources = fleet(databases=200, nats=50, lbs=50)
    stub = StubCloudWatch({})

    result, rows = resource_metrics.collect(stub.client, resources, START, END)

    sizes = [len(call["MetricDataQueries"]) for call in stub.calls]
    assert sizes == [300, 298, 102]  # the 67th NAT gateway would not fit the second
    assert (
        result.api_calls
        == 3
        == resource_metrics.calls_needed({"rds": 200, "nat": 50, "lb": 50}, 14)
    )
    second = {q["MetricStat"]["Metric"]["Namespace"] for q in stub.calls[1]["MetricDataQueries"]}
    assert second == {"AWS/RDS", "AWS/NATGateway", "AWS/ApplicationELB"}  # kinds share calls
    for call in stub.calls:
        ids = [q["Id"] for q in call["MetricDataQueries"]]
        assert len(ids) == len(set(ids))
        assert call["ScanBy"] == "TimestampAscending"
        assert {q["MetricStat"]["Period"] for q in call["MetricDataQueries"]} == {3600}
    # A row per resource and lookback day, even without any datapoint.
    assert len(rows) == 300 * 14
    assert result.by_kind == {"rds": 200, "nat": 50, "lb": 50}


def test_a_resources_queries_are_never_split_across_calls():
    resources = fleet(databases=1, nats=100)  # 2 + 300 queries: the NAT at 299-301 moves on
    stub = StubCloudWatch({})

    resource_metrics.collect(stub.client, resources, START, END)

    sizes = [len(call["MetricDataQueries"]) for call in stub.calls]
    assert sizes == [299, 3]


# --- Figures -----------------------------------------------------------------------------------

HOURS = 14 * 24


def test_figures_from_hourly_datapoints_and_next_token_pages():
    idle_db = [0.0] * HOURS
    cpu = [float(h % 24) for h in range(HOURS)]  # 0..23 each day: mean 11.5, peak 23
    hourly = {
        ("db-0", "DatabaseConnections"): idle_db,
        ("db-0", "CPUUtilization"): cpu,
        ("nat-0", "BytesOutToDestination"): [100.0] * HOURS,
        ("nat-0", "BytesInFromSource"): [10.0] * HOURS,
        ("nat-0", "BytesInFromDestination"): [1.0] * 24 + [None] * (HOURS - 24),
        ("app/lb-0/0123", "RequestCount"): [None] * 12 + [5.0] * (HOURS - 12),
        ("app/lb-0/0123", "ConsumedLCUs"): [0.5] * HOURS,
    }
    resources = fleet(databases=1, nats=1, lbs=1)
    whole = StubCloudWatch(hourly)
    paged = StubCloudWatch(hourly, page_size=50)

    _, rows = resource_metrics.collect(whole.client, resources, START, END)
    result, paged_rows = resource_metrics.collect(paged.client, resources, START, END)

    assert len(paged.calls) > 1 and "NextToken" in paged.calls[-1]
    assert paged_rows == rows
    assert result.datapoints == sum(1 for v in hourly.values() for x in v if x is not None)
    by_key = {(kind, rid, day): (hours, figures) for kind, rid, day, hours, figures in rows}
    first = START.date()
    assert by_key[(RDS, "db-0", first)] == (
        24,
        {"connections_max": 0.0, "cpu_avg": 11.5, "cpu_peak_hour_avg": 23.0},
    )
    assert by_key[(NAT, "nat-0", first)] == (
        24,
        {"bytes_out_to_destination": 2400, "bytes_processed": 240 + 24},
    )
    assert by_key[(NAT, "nat-0", first + timedelta(days=1))][1]["bytes_processed"] == 240
    # The LB's first day: requests in 12 hours, LCUs in all 24; no ProcessedBytes reported.
    assert by_key[(LB, "app/lb-0/0123", first)] == (24, {"requests": 60, "lcu_hours": 12.0})


def test_an_unreported_figure_is_absent_not_zero():
    hourly = {("db-0", "CPUUtilization"): [3.0] * HOURS}
    resources = fleet(databases=1, nats=1, lbs=1)
    stub = StubCloudWatch(hourly)

    _, rows = resource_metrics.collect(stub.client, resources, START, END)

    by_kind = {kind: (hours, figures) for kind, _, day, hours, figures in rows}
    # No DatabaseConnections datapoint: no connections figure, and no hours of data.
    assert by_kind[RDS] == (0, {"cpu_avg": 3.0, "cpu_peak_hour_avg": 3.0})
    assert by_kind[NAT] == (0, {})
    assert by_kind[LB] == (0, {})


def test_a_network_load_balancer_counts_new_flows():
    lb = Resource(LB, "net/tcp/0456", "AWS/NetworkELB", "LoadBalancer", network=True)
    stub = StubCloudWatch({("net/tcp/0456", "NewFlowCount"): [2.0] * HOURS})

    _, rows = resource_metrics.collect(stub.client, {LB: [lb]}, START, END)

    names = {q["MetricStat"]["Metric"]["MetricName"] for q in stub.calls[0]["MetricDataQueries"]}
    assert names == {"NewFlowCount", "ProcessedBytes", "ConsumedLCUs"}
    assert rows[0][3:] == (24, {"requests": 48})


def test_inventory_rows_are_taken_as_they_are():
    nlb = LoadBalancer(dimension="net/tcp/0456", lb_type="network", name="tcp")
    nat = NatGateway(nat_gateway_id="nat-0a")
    stub = StubCloudWatch({("net/tcp/0456", "NewFlowCount"): [1.0] * HOURS})

    result, rows = resource_metrics.collect(stub.client, {LB: [nlb], NAT: [nat]}, START, END)

    namespaces = {
        q["MetricStat"]["Metric"]["Namespace"] for q in stub.calls[0]["MetricDataQueries"]
    }
    assert namespaces == {"AWS/NetworkELB", "AWS/NATGateway"}
    assert result.by_kind == {NAT: 1, LB: 1}
    assert [row[3:] for row in rows if row[0] == LB] == [(24, {"requests": 24})] * 14


def test_days_before_a_resource_existed_get_no_row():
    created = END - timedelta(days=2, hours=5)  # during the third-to-last day
    db = Resource(RDS, "db-new", "AWS/RDS", "DBInstanceIdentifier", created_at=created)

    _, rows = resource_metrics.collect(StubCloudWatch({}).client, {RDS: [db]}, START, END)

    assert [row[2] for row in rows] == [created.date(), (END - timedelta(days=2)).date(),
                                        (END - timedelta(days=1)).date()]  # fmt: skip


def test_partial_days_are_refused():
    with pytest.raises(ValueError, match="whole UTC days"):
        resource_metrics.collect(None, {}, START + timedelta(hours=1), END)


# --- Against the emulator ----------------------------------------------------------------------

NOW = datetime.now(UTC)
DAYS = 2


def seed_inventory(account):
    common = {"account": account, "region": "us-east-1"}
    DatabaseInstance.objects.create(
        **common, db_instance_id="orders", engine="postgres", instance_class="db.m5.large",
        status="available",
    )  # fmt: skip
    DatabaseInstance.objects.create(
        **common, db_instance_id="old", engine="postgres", instance_class="db.m5.large",
        status="available", gone_at=NOW,
    )  # fmt: skip
    NatGateway.objects.create(**common, nat_gateway_id="nat-0quiet", state="available")
    NatGateway.objects.create(**common, nat_gateway_id="nat-0pending", state="pending")
    LoadBalancer.objects.create(
        **common, dimension="app/web/0123", arn="arn:app", name="web", lb_type="application",
        state="active",
    )  # fmt: skip


def put_metrics(account, connections: float):
    cloudwatch = client(account, "cloudwatch")
    start, _ = resource_metrics.lookback_window(NOW, DAYS)
    hours = [start + timedelta(hours=h, minutes=20) for h in range(DAYS * 24)]

    def points(metric, dimension, value, value_at=lambda n: None):
        return [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": dimension, "Value": value}],
                "Timestamp": when,
                "Value": value_at(n),
            }
            for n, when in enumerate(hours)
        ]

    rds = points("DatabaseConnections", "DBInstanceIdentifier", "orders", lambda n: connections)
    rds += points("CPUUtilization", "DBInstanceIdentifier", "orders", lambda n: 2.0 + n % 2)
    cloudwatch.put_metric_data(Namespace="AWS/RDS", MetricData=rds)
    nat = points("BytesOutToDestination", "NatGatewayId", "nat-0quiet", lambda n: 0.0)
    cloudwatch.put_metric_data(Namespace="AWS/NATGateway", MetricData=nat)
    lb = points("RequestCount", "LoadBalancer", "app/web/0123", lambda n: 10.0)
    cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=lb)


def stored(account) -> dict:
    return {
        (row.resource_kind, row.resource_id, row.day): (row.hours, row.figures)
        for row in ResourceMetricDay.objects.filter(account=account)
    }


def test_collect_account_against_the_emulator(aws, acme_account):
    seed_inventory(acme_account)
    put_metrics(acme_account, connections=0.0)

    result, errors = resource_metrics.collect_account(acme_account, DAYS, now=NOW)

    assert errors == []
    assert result.api_calls == 1 and result.resources == 3  # gone and pending ones left out
    rows = stored(acme_account)
    assert len(rows) == 3 * DAYS == result.days_written
    day = resource_metrics.lookback_window(NOW, DAYS)[0].date()
    assert rows[(RDS, "orders", day)] == (
        24,
        {"connections_max": 0.0, "cpu_avg": 2.5, "cpu_peak_hour_avg": 3.0},
    )
    # Zero bytes reported is a figure of 0; inbound bytes were never reported: absent.
    assert rows[(NAT, "nat-0quiet", day)] == (24, {"bytes_out_to_destination": 0})
    assert rows[(LB, "app/web/0123", day)] == (24, {"requests": 240})


def test_collecting_again_updates_the_same_rows(aws, acme_account):
    seed_inventory(acme_account)
    put_metrics(acme_account, connections=0.0)
    resource_metrics.collect_account(acme_account, DAYS, now=NOW)
    first = {r.pk for r in ResourceMetricDay.objects.filter(account=acme_account)}

    put_metrics(acme_account, connections=7.0)  # a higher maximum in every hour
    resource_metrics.collect_account(acme_account, DAYS, now=NOW)

    rows = ResourceMetricDay.objects.filter(account=acme_account, resource_kind=RDS)
    assert {r.pk for r in ResourceMetricDay.objects.filter(account=acme_account)} == first
    assert {r.figures["connections_max"] for r in rows} == {7.0}


def test_a_cloudwatch_failure_is_recorded_and_stores_nothing(aws_faults, acme_account):
    seed_inventory(acme_account)
    message = "User is not authorized to perform: cloudwatch:GetMetricData"
    aws_faults.fail("GetMetricData", "AccessDenied", message, status=403)

    result, errors = resource_metrics.collect_account(acme_account, DAYS, now=NOW)

    assert errors == [f"us-east-1: AccessDenied: {message}"]
    assert result.days_written == 0
    assert not ResourceMetricDay.objects.filter(account=acme_account).exists()
    acme_account.refresh_from_db()
    assert acme_account.last_error == f"Resource metrics: us-east-1: AccessDenied: {message}"

    resource_metrics.collect_account(acme_account, DAYS, now=NOW)

    acme_account.refresh_from_db()
    assert acme_account.last_error == ""
    assert ResourceMetricDay.objects.filter(account=acme_account).count() == 3 * DAYS


def test_math_of_the_benchmark_target_is_met_for_larger_fleets():
    for scale in (1, 5, 10):
        counts = {"ec2": 1000 * scale, "rds": 200 * scale, "nat": 50 * scale, "lb": 50 * scale}
        ours = resource_metrics.calls_needed(counts, 14)
        assert ours == math.ceil(1000 * scale / 125) + math.ceil(700 * scale / 300)
        assert ours <= resource_metrics.calls_one_per_metric(counts) / 100
