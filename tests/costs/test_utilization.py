"""Utilization collection: batching, pages, the daily rollup and the memory pass.

CloudWatch is a real boto3 client answered by botocore's Stubber; each answer is built from
the queries the code actually sent, so the batching is what is under test.
"""

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from costs import utilization
from costs.models import DetectionSettings, Instance, UtilizationDay

END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
START = END - timedelta(days=14)
HOURS = [START + timedelta(hours=h) for h in range(14 * 24)]


class FakeCloudWatch:
    """Answers GetMetricData from SERIES[instance_id][metric] = hourly values (oldest first).

    metric: "cpu" (Average and Maximum), "net_in", "net_out", "memory". With PAGE_SIZE set,
    each answer is cut into pages of that many datapoints, linked by NextToken, splitting
    series across pages as CloudWatch does.
    """

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

    def values(self, query: dict, by_id: dict) -> list[float]:
        if "Expression" in query:
            left, right = (by_id[part.strip()] for part in query["Expression"].split("+"))
            return [
                a + b
                for a, b in zip(self.values(left, by_id), self.values(right, by_id), strict=True)
            ]
        stat = query["MetricStat"]
        iid = stat["Metric"]["Dimensions"][0]["Value"]
        metric = {
            "CPUUtilization": "cpu",
            "NetworkIn": "net_in",
            "NetworkOut": "net_out",
            "mem_used_percent": "memory",
        }[stat["Metric"]["MetricName"]]
        values = self.series.get(iid, {}).get(metric, [])
        if metric == "cpu" and stat["Stat"] == "Maximum":
            return [v + 5 for v in values]
        return values

    def answer(self, params, **_):
        self.calls.append(params)
        if "NextToken" not in params:
            by_id = {q["Id"]: q for q in params["MetricDataQueries"]}
            points = []
            for query in params["MetricDataQueries"]:
                if query.get("ReturnData", True):
                    values = self.values(query, by_id)
                    points += [(query["Id"], HOURS[h], v) for h, v in enumerate(values)]
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
    return utilization.collect(fake.client, boxes, START, END, settings_row)


def test_one_call_carries_100_instances(acme_account, settings_row):
    boxes = instances(acme_account, 101)
    fake = FakeCloudWatch({box.instance_id: busy() for box in boxes})

    result = collect(fake, boxes, settings_row)

    assert [len(call["MetricDataQueries"]) for call in fake.calls] == [500, 5]
    assert result.api_calls == 2
    assert result.datapoints == 101 * 3 * 336
    assert UtilizationDay.objects.filter(instance__account=acme_account).count() == 101 * 14


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

    # 3 x 3 x 336 datapoints in pages of 500: 7 calls, then one memory call (low p95, not idle).
    assert result.api_calls == len(paged.calls) == 8
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
