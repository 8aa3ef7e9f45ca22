"""Utilization collection: batching, pages, the daily rollup and the memory pass.

CloudWatch is a real boto3 client answered by botocore's Stubber; each answer is built from
the queries the code actually sent, so the batching is what is under test.
"""

import math
import statistics
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from findings import rightsizing
from findings.models import DetectionSettings
from findings.rightsizing import memory_wanted
from fleet import utilization
from fleet.models import Instance, UtilizationDay

END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
START = END - timedelta(days=14)
HOURS = [START + timedelta(hours=h) for h in range(14 * 24)]


class FakeCloudWatch:
    """Answers GetMetricData from SERIES[instance_id][metric] = hourly values (oldest first).

    metric: "cpu" (Average and Maximum), "net_in", "net_out", "memory"; None is an hour
    without a datapoint. Each query gets its own Period's buckets from START, aggregated by its
    Stat, as CloudWatch does. A metric-math expression gets an empty, Complete series, as the
    local emulator answers it: a fake that evaluated them hid that the emulator does not.
    With PAGE_SIZE set, each answer is cut into pages of that many datapoints, linked by
    NextToken, splitting series across pages as CloudWatch does.
    """

    AGGREGATE = {"Average": statistics.fmean, "Maximum": max, "Sum": math.fsum}

    def __init__(self, series: dict, page_size: int | None = None, descending=False):
        self.client = boto3.client(
            "cloudwatch",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.series, self.page_size, self.descending = series, page_size, descending
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.calls: list[dict] = []
        self.pending: list[dict] = []
        self.client.meta.events.register(
            "provide-client-params.cloudwatch.GetMetricData", self.answer
        )

    def hourly(self, stat: dict) -> list[float | None]:
        iid = stat["Metric"]["Dimensions"][0]["Value"]
        metric = {
            "CPUUtilization": "cpu",
            "NetworkIn": "net_in",
            "NetworkOut": "net_out",
            "mem_used_percent": "memory",
        }[stat["Metric"]["MetricName"]]
        values = self.series.get(iid, {}).get(metric, [])
        if metric == "cpu" and stat["Stat"] == "Maximum":
            return [None if v is None else v + 5 for v in values]
        return values

    def points(self, query: dict) -> list[tuple[datetime, float]]:
        if "Expression" in query:
            return []
        stat = query["MetricStat"]
        hours_per_bucket = stat["Period"] // 3600
        hourly = self.hourly(stat)
        aggregate = self.AGGREGATE[stat["Stat"]]
        points = []
        for first in range(0, len(hourly), hours_per_bucket):
            bucket = [v for v in hourly[first : first + hours_per_bucket] if v is not None]
            if bucket:
                points.append((HOURS[first], aggregate(bucket)))
        return points

    def answer(self, params, **_):
        self.calls.append(params)
        if "NextToken" not in params:
            points = []
            for query in params["MetricDataQueries"]:
                if query.get("ReturnData", True):
                    points += [(query["Id"], t, v) for t, v in self.points(query)]
            size = self.page_size or max(1, len(points))
            self.pending = [points[i : i + size] for i in range(0, len(points), size)] or [[]]
        page = self.pending.pop(0)
        results: dict[str, dict] = {}
        for qid, timestamp, value in page:
            result = results.setdefault(
                qid, {"Id": qid, "Timestamps": [], "Values": [], "StatusCode": "Complete"}
            )
            result["Timestamps"].append(timestamp)
            result["Values"].append(value)
        if self.descending:
            for result in results.values():
                result["Timestamps"].reverse()
                result["Values"].reverse()
        response = {"MetricDataResults": list(results.values()), "Messages": []}
        if self.pending:
            response["NextToken"] = f"page-{len(self.calls)}"
        self.stubber.add_response("get_metric_data", response)


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def instances(account, count: int) -> list[Instance]:
    return [
        Instance.objects.create(
            account=account,
            region="us-east-1",
            instance_id=f"i-{n:04d}",
            instance_type="m5.xlarge",
            state="running",
        )
        for n in range(count)
    ]


def busy(hours=336):
    return {"cpu": [70.0] * hours, "net_in": [5e7] * hours, "net_out": [5e7] * hours}


def collect(fake, boxes, settings_row):
    return utilization.collect(
        fake.client, boxes, START, END, rightsizing.memory_wanted(settings_row)
    )


def test_one_call_carries_125_instances(acme_account, settings_row):
    boxes = instances(acme_account, 126)
    fake = FakeCloudWatch({box.instance_id: busy() for box in boxes})

    result = collect(fake, boxes, settings_row)

    assert [len(call["MetricDataQueries"]) for call in fake.calls] == [500, 4]
    assert result.api_calls == 2
    # Per instance and day: 24 hourly CPU averages, 1 daily maximum, 12 + 12 network buckets.
    assert result.datapoints == 126 * 49 * 14
    assert utilization.MAX_DATAPOINTS_PER_RESPONSE >= 125 * 49 * 14
    assert UtilizationDay.objects.filter(instance__account=acme_account).count() == 126 * 14


def test_network_in_and_out_are_plain_queries_never_an_expression(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    fake = FakeCloudWatch({box.instance_id: busy()})

    collect(fake, [box], settings_row)

    queries = fake.calls[0]["MetricDataQueries"]
    assert not [q for q in queries if "Expression" in q]
    assert all(q["ReturnData"] for q in queries)
    stats = [q["MetricStat"] for q in queries]
    asked = [(s["Metric"]["MetricName"], s["Stat"], s["Period"]) for s in stats]
    assert asked == [
        ("CPUUtilization", "Average", 3600),
        ("CPUUtilization", "Maximum", 86400),
        ("NetworkIn", "Sum", 7200),
        ("NetworkOut", "Sum", 7200),
    ]
    day = UtilizationDay.objects.filter(instance=box).first()
    assert (day.network_hours, day.network_bytes) == (24, 24 * 10**8)


def test_daily_rollup_figures(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    # First day: 23 quiet hours at 2% and one at 90%; 1 MB in and 2 MB out each hour.
    cpu = ([2.0] * 23 + [90.0]) + [10.0] * (13 * 24)
    fake = FakeCloudWatch(
        {box.instance_id: {"cpu": cpu, "net_in": [1e6] * 336, "net_out": [2e6] * 336}}
    )

    collect(fake, [box], settings_row)

    first = UtilizationDay.objects.get(instance=box, day=date(2026, 11, 9))
    assert first.hours == 24
    assert first.cpu_avg == pytest.approx((23 * 2 + 90) / 24)
    assert first.cpu_peak_hour_avg == 90.0
    assert first.cpu_max == 95.0  # the hourly Maximum statistic
    # p95 of 24 values sits at rank 21.85 (0-based): ranks 21 and 22 are both 2.0, so one
    # busy hour in 24 does not move the daily p95.
    assert first.cpu_p95 == 2.0
    assert first.network_bytes == 24 * 3_000_000
    assert first.network_hours == 24
    assert first.memory_max is None


def test_a_series_split_across_pages_is_merged(acme_account, settings_row):
    boxes = instances(acme_account, 3)
    series = {
        box.instance_id: {
            "cpu": [float(h % 24) + n for h in range(336)],
            "net_in": [1e3] * 336,
            "net_out": [0.0] * 336,
        }
        for n, box in enumerate(boxes)
    }
    whole = FakeCloudWatch(series)
    collect(whole, boxes, settings_row)
    expected = list(UtilizationDay.objects.order_by("instance_id", "day").values())
    UtilizationDay.objects.all().delete()

    paged = FakeCloudWatch(series, page_size=500)
    result = collect(paged, boxes, settings_row)

    # 3 x 686 datapoints in pages of 500: 5 calls, then one memory call (low p95, not idle).
    assert result.api_calls == len(paged.calls) == 6
    got = list(UtilizationDay.objects.order_by("instance_id", "day").values())
    assert [{**row, "id": 0} for row in got] == [{**row, "id": 0} for row in expected]


def test_descending_answers_roll_up_the_same(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    cpu = [float(h) / 10 for h in range(336)]
    fake = FakeCloudWatch({box.instance_id: {**busy(), "cpu": cpu}}, descending=True)

    collect(fake, [box], settings_row)

    last = UtilizationDay.objects.get(instance=box, day=date(2026, 11, 22))
    assert last.cpu_peak_hour_avg == pytest.approx(33.5)
    assert last.cpu_avg == pytest.approx(sum(range(312, 336)) / 240)


def test_memory_is_asked_only_for_rightsizing_candidates(acme_account, settings_row):
    idle_box, busy_box, candidate = instances(acme_account, 3)
    quiet = {"cpu": [1.0] * 336, "net_in": [10.0] * 336, "net_out": [10.0] * 336}
    low = {"cpu": [25.0] * 336, "net_in": [5e7] * 336, "net_out": [5e7] * 336}
    fake = FakeCloudWatch(
        {
            idle_box.instance_id: {**quiet, "memory": [30.0] * 336},
            busy_box.instance_id: {**busy(), "memory": [30.0] * 336},
            candidate.instance_id: {**low, "memory": [30.0] * 335 + [61.0]},
        }
    )

    result = collect(fake, [idle_box, busy_box, candidate], settings_row)

    memory_call = fake.calls[-1]["MetricDataQueries"]
    assert [q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for q in memory_call] == [
        candidate.instance_id
    ]
    assert (result.api_calls, result.memory_candidates, result.memory_instances) == (2, 1, 1)
    peaks = dict(UtilizationDay.objects.filter(instance=candidate).values_list("day", "memory_max"))
    assert peaks[date(2026, 11, 22)] == 61.0
    assert peaks[date(2026, 11, 9)] == 30.0
    assert not UtilizationDay.objects.filter(instance=idle_box, memory_max__isnull=False).exists()


def test_collecting_again_updates_the_days_in_place(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    collect(FakeCloudWatch({box.instance_id: busy()}), [box], settings_row)

    quieter = {**busy(), "cpu": [40.0] * 336}
    collect(FakeCloudWatch({box.instance_id: quieter}), [box], settings_row)

    days = UtilizationDay.objects.filter(instance=box)
    assert days.count() == 14
    assert set(days.values_list("cpu_avg", flat=True)) == {40.0}


def test_an_instance_without_datapoints_gets_no_rows(acme_account, settings_row):
    silent, talking = instances(acme_account, 2)

    result = collect(FakeCloudWatch({talking.instance_id: busy()}), [silent, talking], settings_row)

    assert result.days_written == 14
    assert not UtilizationDay.objects.filter(instance=silent).exists()


def test_a_day_without_network_data_is_unknown_never_zero(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    # CPU for all 14 days; network only for the first 7.
    quiet = [100.0] * (7 * 24) + [None] * (7 * 24)
    series = {"cpu": [1.0] * 336, "net_in": quiet, "net_out": quiet}
    fake = FakeCloudWatch({box.instance_id: series})

    collect(fake, [box], settings_row)

    days = UtilizationDay.objects.filter(instance=box).order_by("day")
    assert [(d.network_hours, d.network_bytes) for d in days] == [(24, 4800)] * 7 + [(0, None)] * 7


def test_network_hours_count_only_buckets_where_in_and_out_both_reported(
    acme_account, settings_row
):
    (box,) = instances(acme_account, 1)
    inbound = [1e6] * 336
    outbound = [1e6] * 336
    inbound[0:4] = [None] * 4  # the first day's first two buckets: NetworkOut only
    outbound[24:30] = [None] * 6  # the second day's first three buckets: NetworkIn only
    fake = FakeCloudWatch(
        {box.instance_id: {"cpu": [1.0] * 336, "net_in": inbound, "net_out": outbound}}
    )

    collect(fake, [box], settings_row)

    first, second, third = UtilizationDay.objects.filter(instance=box).order_by("day")[:3]
    assert (first.network_hours, first.network_bytes) == (20, 44 * 10**6)
    assert (second.network_hours, second.network_bytes) == (18, 42 * 10**6)
    assert (third.network_hours, third.network_bytes) == (24, 48 * 10**6)


def test_a_14_day_lookback_is_14_whole_utc_days(acme_account, settings_row):
    start, end = utilization.lookback_window(datetime(2026, 11, 23, 10, 30, tzinfo=UTC), 14)
    assert (start, end) == (START, END)

    (box,) = instances(acme_account, 1)
    collect(FakeCloudWatch({box.instance_id: busy()}), [box], settings_row)

    days = list(UtilizationDay.objects.filter(instance=box).values_list("day", "hours"))
    assert [day for day, _ in days] == [date(2026, 11, 9) + timedelta(days=n) for n in range(14)]
    assert {hours for _, hours in days} == {24}


def test_a_window_of_partial_days_is_refused(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    fake = FakeCloudWatch({box.instance_id: busy()})

    with pytest.raises(ValueError, match="whole UTC days"):
        utilization.collect(
            fake.client, [box], START, END + timedelta(hours=10), memory_wanted(settings_row)
        )
    assert fake.calls == []


def test_datapoints_outside_the_window_are_left_out():
    # The emulator also answers a bucket that starts at EndTime.
    buckets = utilization.DayBuckets(START, END)
    stamps = [START - timedelta(hours=1), START, START + timedelta(hours=25), END]

    assert list(buckets.slices(stamps)) == [(date(2026, 11, 9), 1, 2), (date(2026, 11, 10), 2, 3)]
    assert len(buckets.days) == 14


def test_the_hours_of_each_day_are_kept_for_the_schedule_finder(acme_account, settings_row):
    (box,) = instances(acme_account, 1)
    # Office hours on the first day: 60 % from 08:00 to 18:59 UTC, 2 % otherwise; the second
    # day misses its 03:00 datapoint and its network before noon.
    office = [60.0 if 8 <= h < 19 else 2.0 for h in range(24)]
    cpu = office + [*office[:3], None, *office[4:]] + [5.0] * (12 * 24)
    net = [1e6] * 24 + [None] * 12 + [1e6] * (13 * 24 - 12)
    fake = FakeCloudWatch({box.instance_id: {"cpu": cpu, "net_in": net, "net_out": net}})

    collect(fake, [box], settings_row)

    first, second = UtilizationDay.objects.filter(instance=box).order_by("day")[:2]
    assert first.cpu_hourly == office
    assert second.cpu_hourly == [*office[:3], None, *office[4:]]
    assert first.network_2h == [4_000_000] * 12  # in + out, 1 MB an hour each, per 2 hours
    assert second.network_2h == [None] * 6 + [4_000_000] * 6
