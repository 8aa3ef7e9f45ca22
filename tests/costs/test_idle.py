"""Idle verdicts from daily rollups: each rule, each threshold, each guard."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from costs.idle import MB, Verdict, assess
from costs.models import DetectionSettings

START = date(2026, 11, 9)


def days(n=14, hours=24, cpu_avg=1.0, cpu_max=3.0, peak=2.0, network=200 * 1024):
    rows = []
    for i in range(n):
        values = {
            "day": START + timedelta(days=i),
            "hours": hours,
            "cpu_avg": cpu_avg,
            "cpu_max": cpu_max,
            "cpu_p95": peak,
            "cpu_peak_hour_avg": peak,
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


def test_cost_explorer_rule_max_cpu_at_most_1_percent_is_idle_whatever_the_network(settings_row):
    result = assess(
        instance(), days(cpu_avg=0.2, cpu_max=0.9, peak=0.5, network=50 * MB), settings_row
    )

    assert result.verdict == Verdict.IDLE
    assert result.evidence["rules_met"] == ["cost_explorer_max_cpu"]


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
