"""Idle verdicts from daily rollups: each rule, each threshold, each guard."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from findings.idle import MB, Verdict, assess
from findings.models import DetectionSettings

START = date(2026, 11, 9)


def days(
    n=14, hours=24, cpu_avg=1.0, cpu_max=3.0, peak=2.0, network=200 * 1024, network_hours=None
):
    """N days of rollups; NETWORK None means no network datapoints (network_hours 0)."""
    if network_hours is None:
        network_hours = 0 if network is None else hours
    rows = []
    for i in range(n):
        values = {
            "day": START + timedelta(days=i),
            "hours": hours,
            "cpu_avg": cpu_avg,
            "cpu_max": cpu_max,
            "cpu_p95": peak,
            "cpu_peak_hour_avg": peak,
            "network_hours": network_hours,
            "network_bytes": network,
        }
        rows.append(SimpleNamespace(**values))
    return rows


def instance(**fields):
    return SimpleNamespace(**{"state": "running", "tags": {}, "auto_scaling_group": "", **fields})


@pytest.fixture
def settings_row():
    return DetectionSettings()  # the defaults, unsaved


def test_a_quiet_box_is_idle_with_its_evidence(settings_row):
    result = assess(instance(), days(), settings_row)

    assert result.verdict == Verdict.IDLE
    assert result.evidence["rules_met"] == ["trusted_advisor_daily_with_hourly_peak"]
    assert result.evidence["idle_days"] == 14
    assert result.evidence["thresholds"]["daily_cpu_avg_percent"] == 10.0


def test_nightly_one_hour_job_at_90_percent_is_not_idle(settings_row):
    # Daily average stays low (23 h at 1% + 1 h at 90% = 4.7%), but the busy hour is real work.
    nightly = days(cpu_avg=4.7, cpu_max=95.0, peak=90.0, network=3 * MB)

    result = assess(instance(), nightly, settings_row)

    assert result.verdict == Verdict.NOT_IDLE
    assert result.evidence["max_hourly_cpu_avg"] == 90.0
    assert result.evidence["rules_met"] == []


def test_network_above_5_mb_a_day_is_not_idle(settings_row):
    result = assess(instance(), days(network=6 * MB), settings_row)
    assert result.verdict == Verdict.NOT_IDLE


def test_one_busy_day_in_fourteen_is_not_idle(settings_row):
    rows = days()
    rows[3].cpu_avg = 35.0

    result = assess(instance(), rows, settings_row)
    assert result.verdict == Verdict.NOT_IDLE
    assert result.evidence["idle_days"] == 13


def test_cost_explorer_rule_max_cpu_at_most_1_percent_is_idle_with_quiet_network(settings_row):
    # Stricter daily CPU thresholds keep Trusted Advisor's rule out: Cost Explorer's alone.
    settings_row.idle_cpu_avg_percent = 0.1
    result = assess(
        instance(), days(cpu_avg=0.2, cpu_max=0.9, peak=0.5, network=1 * MB), settings_row
    )

    assert result.verdict == Verdict.IDLE
    assert result.evidence["rules_met"] == ["cost_explorer_max_cpu"]


def test_max_cpu_under_1_percent_with_real_traffic_is_not_idle(settings_row):
    # A NAT or proxy instance: 0.8% CPU at most, 24 GB a day through it.
    router = days(cpu_avg=0.5, cpu_max=0.8, peak=0.6, network=24 * 1024 * MB)

    result = assess(instance(), router, settings_row)

    assert result.verdict == Verdict.NOT_IDLE
    assert result.evidence["rules_met"] == []
    assert result.evidence["max_daily_network_mb"] == 24 * 1024


def test_no_network_data_is_not_enough_data_never_idle(settings_row):
    result = assess(instance(), days(cpu_avg=0.5, cpu_max=0.8, network=None), settings_row)

    assert result.verdict == Verdict.NOT_ENOUGH_DATA
    assert not result.idle
    assert result.evidence["network_hours_with_data"] == 0
    assert result.evidence["days_without_network_data"] == 14
    assert result.evidence["max_daily_network_mb"] is None
    assert result.evidence["rules_met"] == []
    assert result.evidence["not_enough_data"].startswith("network data for 0 of the 302 hours")


def test_network_gaps_below_the_coverage_threshold_are_not_enough_data(settings_row):
    result = assess(instance(), days(network_hours=20), settings_row)  # 83% of the hours
    assert result.verdict == Verdict.NOT_ENOUGH_DATA


def test_rows_from_before_network_coverage_was_tracked_prove_nothing(settings_row):
    legacy = days(network=0)
    for row in legacy:
        row.network_hours = None  # the migration's value for rows it found

    assert assess(instance(), legacy, settings_row).verdict == Verdict.NOT_ENOUGH_DATA


def test_busy_cpu_without_network_data_is_not_idle(settings_row):
    result = assess(instance(), days(cpu_avg=40.0, peak=70.0, network=None), settings_row)
    assert result.verdict == Verdict.NOT_IDLE


def test_measured_traffic_over_the_threshold_is_not_idle_despite_gaps(settings_row):
    # Network data on 5 days of 14 only, but each of them moved 24 GiB.
    rows = days(cpu_avg=0.5, cpu_max=0.8, peak=0.6, network=None)
    for row in rows[:5]:
        row.network_hours, row.network_bytes = 24, 24 * 1024 * MB

    result = assess(instance(), rows, settings_row)

    assert result.verdict == Verdict.NOT_IDLE
    assert result.evidence["max_daily_network_mb"] == 24 * 1024


def test_a_partly_covered_day_counts_at_its_daily_rate(settings_row):
    rows = days()
    rows[5].network_hours, rows[5].network_bytes = 12, 3 * MB  # 3 MB in half a day: 6 MB/day

    result = assess(instance(), rows, settings_row)

    assert result.verdict == Verdict.NOT_IDLE
    assert result.evidence["idle_days"] == 13
    assert result.evidence["max_daily_network_mb"] == 6.0


def test_a_day_without_network_data_is_left_out_when_coverage_is_enough(settings_row):
    rows = days()
    rows[5].network_hours, rows[5].network_bytes = 0, None  # 312 of 336 hours: 92.9%

    result = assess(instance(), rows, settings_row)

    assert result.verdict == Verdict.IDLE
    assert (result.evidence["idle_days"], result.evidence["days"]) == (13, 14)
    assert result.evidence["days_without_network_data"] == 1


def test_less_than_the_required_data_is_not_enough_data_never_idle(settings_row):
    two_days = days(n=2)

    result = assess(instance(), two_days, settings_row)

    assert result.verdict == Verdict.NOT_ENOUGH_DATA
    assert result.evidence["hours_with_data"] == 48
    assert result.evidence["required_hours"] == 302


def test_gaps_below_the_coverage_threshold_are_not_enough_data(settings_row):
    result = assess(instance(), days(hours=21), settings_row)  # 87.5% of the hours
    assert result.verdict == Verdict.NOT_ENOUGH_DATA


def test_protected_instances_are_reported_not_recommended(settings_row):
    protected = instance(tags={"spendlens:protect": "true"})

    result = assess(protected, days(), settings_row)

    assert result.verdict == Verdict.PROTECTED
    assert result.idle


def test_the_protect_tag_is_configurable(settings_row):
    settings_row.protect_tag = "finops:keep=yes"
    assert assess(instance(tags={"finops:keep": "yes"}), days(), settings_row).verdict == (
        Verdict.PROTECTED
    )
    assert assess(instance(tags={"spendlens:protect": "true"}), days(), settings_row).verdict == (
        Verdict.IDLE
    )


def test_auto_scaling_members_get_group_advice(settings_row):
    result = assess(instance(auto_scaling_group="web-asg"), days(), settings_row)

    assert result.verdict == Verdict.ASG_MEMBER
    assert result.evidence["auto_scaling_group"] == "web-asg"


def test_thresholds_are_per_organisation(settings_row):
    settings_row.idle_cpu_avg_percent = 0.5
    assert assess(instance(), days(), settings_row).verdict == Verdict.NOT_IDLE


def test_stopped_instances_are_not_assessed(settings_row):
    assert assess(instance(state="stopped"), days(), settings_row).verdict == Verdict.NOT_RUNNING
