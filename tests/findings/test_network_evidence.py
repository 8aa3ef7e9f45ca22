"""Idle evidence never invents zero traffic: the emulator's CloudWatch, end to end.

Three instances run in the emulator with 14 whole days of hourly statistics published through
PutMetricData: a NAT-like box at 0.5 % CPU moving 1 GiB of NetworkIn every hour, a box whose
CPU is published but its network is not, and a quiet box. Utilization is collected, detection
runs and the auto-stop policy looks for candidates, all over HTTP to the emulator: nothing here
evaluates a metric-math expression on the product's behalf.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import aws as aws_module
from actions import autostop
from actions.models import AutoStopPolicy
from demo import seed as demo
from findings import detection
from findings.idle import MB, Verdict
from findings.models import DetectionSettings, Recommendation
from fleet import utilization
from fleet.models import UtilizationDay
from tests.fleet.emulator import launch, synced

GIB = 1024 * MB
IDLE_KINDS = [Recommendation.Kind.IDLE_INSTANCE, Recommendation.Kind.IDLE_ASG_MEMBER]
LOOKBACK_DAYS = 14

pytestmark = pytest.mark.usefixtures("fresh_credentials")


def hourly(when, cpu, network_in, network_out=50 * 1024):
    return demo.HourlySample(when, cpu, cpu * 0.5, cpu * 1.6, network_in, network_out)


def publish(account, instance_id, samples, metrics=("CPUUtilization", "NetworkIn", "NetworkOut")):
    session = aws_module.assumed_session(account.role_arn, account.external_id, label="test")
    cloudwatch = aws_module.client(session, "cloudwatch", "us-east-1")
    items = demo.metric_data(instance_id, samples)
    items["AWS/EC2"] = [item for item in items["AWS/EC2"] if item["MetricName"] in metrics]
    demo.put_metric_data(cloudwatch, items)


@pytest.fixture
def fleet(aws, acme_account, alice):
    """The three boxes, their metrics, one collection and one detection run at NOW."""
    now = timezone.now()
    start, _ = utilization.lookback_window(now, LOOKBACK_DAYS)
    hours = [start + timedelta(hours=h) for h in range(LOOKBACK_DAYS * 24)]
    ec2 = aws_module.client(
        aws_module.assumed_session(acme_account.role_arn, acme_account.external_id), "ec2"
    )
    boxes = {name: launch(ec2, name) for name in ("nat-router", "cpu-only-box", "quiet-box")}
    publish(acme_account, boxes["nat-router"], [hourly(t, 0.5, GIB) for t in hours])
    publish(
        acme_account,
        boxes["cpu-only-box"],
        [hourly(t, 0.5, 0) for t in hours],
        metrics=("CPUUtilization",),
    )
    publish(acme_account, boxes["quiet-box"], [hourly(t, 0.5, 20 * 1024) for t in hours])
    instances = {name: synced(acme_account, iid) for name, iid in boxes.items()}

    total, errors = detection.collect_utilization(acme_account, now=now)
    assert errors == []
    detection.detect(acme_account, now=now)
    for instance in instances.values():
        instance.refresh_from_db()
    return {"now": now, "instances": instances, "collected": total}


def test_a_box_moving_1_gib_an_hour_at_half_a_percent_cpu_is_not_idle(fleet):
    nat = fleet["instances"]["nat-router"]

    assert nat.verdict == Verdict.NOT_IDLE
    evidence = nat.verdict_evidence
    assert evidence["max_cpu"] < 1  # Cost Explorer's CPU rule alone would call it idle
    assert evidence["rules_met"] == []
    # 24 GiB in, ~1.2 MB out a day, read from the plain NetworkIn/NetworkOut series.
    assert evidence["max_daily_network_mb"] == pytest.approx(24 * 1024 + 1.2, abs=0.1)
    assert evidence["network_hours_with_data"] == LOOKBACK_DAYS * 24
    idle_recommendations = Recommendation.objects.open().filter(kind__in=IDLE_KINDS)
    assert not idle_recommendations.filter(resource_id=nat.instance_id).exists()
    days = UtilizationDay.objects.filter(instance=nat)
    assert days.count() == LOOKBACK_DAYS  # whole UTC days, not 15 partial ones
    assert {day.network_hours for day in days} == {24}
    assert {day.network_bytes for day in days} == {24 * (GIB + 50 * 1024)}


def test_a_box_with_cpu_but_no_network_data_is_not_enough_data(fleet):
    box = fleet["instances"]["cpu-only-box"]

    assert box.verdict == Verdict.NOT_ENOUGH_DATA
    evidence = box.verdict_evidence
    assert evidence["hours_with_data"] == LOOKBACK_DAYS * 24
    assert evidence["network_hours_with_data"] == 0
    assert evidence["max_daily_network_mb"] is None
    assert "network data for 0 of the 302 hours" in evidence["not_enough_data"]
    assert set(
        UtilizationDay.objects.filter(instance=box).values_list("network_hours", "network_bytes")
    ) == {(0, None)}
    idle_recommendations = Recommendation.objects.open().filter(kind__in=IDLE_KINDS)
    assert not idle_recommendations.filter(resource_id=box.instance_id).exists()


def test_the_quiet_box_is_idle_with_its_real_traffic(fleet):
    quiet = fleet["instances"]["quiet-box"]

    assert quiet.verdict == Verdict.IDLE
    # (20 KiB in + 50 KiB out) x 24 hours, not 0.0.
    assert quiet.verdict_evidence["max_daily_network_mb"] == pytest.approx(70 * 24 / 1024, 0.01)
    rec = Recommendation.objects.open().get(resource_id=quiet.instance_id, kind__in=IDLE_KINDS)
    assert "at most 1.641 MB/day of network over 14 days" in rec.summary


def test_auto_stop_announces_the_quiet_box_only(fleet, acme_account, mailoutbox):
    AutoStopPolicy.objects.create(
        account=acme_account, enabled=True, dry_run=False, idle_days=7, grace_hours=24
    )
    settings_row = DetectionSettings.for_organization(acme_account.organization)
    assert settings_row.lookback_days == LOOKBACK_DAYS

    report = autostop.run(acme_account, now=fleet["now"] + timedelta(days=8))

    assert [notice.instance for notice in report.announced] == [fleet["instances"]["quiet-box"]]
    [mail] = mailoutbox
    assert "quiet-box" in mail.body
    assert "nat-router" not in mail.body and "cpu-only-box" not in mail.body
