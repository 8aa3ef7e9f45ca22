"""Office-hours schedule detection from hourly figures: proposals, refusals and the safety rule."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from findings.schedule_profile import (
    MB,
    HourFigures,
    NoSchedule,
    Period,
    Proposal,
    Thresholds,
    days_label,
    detect_schedule,
)

START = datetime(2026, 11, 9, tzinfo=UTC)  # a Monday
WEEKDAYS = (0, 1, 2, 3, 4)
QUIET = HourFigures(cpu=2.0, network_bytes=3 * MB)
BUSY = HourFigures(cpu=45.0, network_bytes=400 * MB)


def office(local: datetime) -> bool:
    return local.weekday() in WEEKDAYS and 8 <= local.hour < 19


def hours(zone: str, busy=office, days: int = 28, start: datetime = START) -> dict:
    """DAYS of UTC hours from START, busy where BUSY(local time) says so."""
    tz = ZoneInfo(zone)
    series = {}
    for i in range(days * 24):
        moment = start + timedelta(hours=i)
        series[moment] = BUSY if busy(moment.astimezone(tz)) else QUIET
    return series


def office_hours_berlin(proposal: Proposal, zone: str) -> None:
    assert isinstance(proposal, Proposal), proposal
    assert proposal.periods == [Period(WEEKDAYS, time(7, 30), time(19, 30))]
    assert proposal.label == f"Mon\u2013Fri 07:30\u201319:30 {zone}"
    assert proposal.running_hours_per_week == 60
    assert proposal.removed_hours_per_week == 108
    assert proposal.saving_fraction == pytest.approx((168 - 60) / 168)


def test_office_hours_in_berlin_from_utc_data():
    result = detect_schedule(hours("Europe/Berlin"), "Europe/Berlin")

    office_hours_berlin(result, "Europe/Berlin")
    evidence = result.evidence
    assert evidence["checks"] == [
        "lookback",
        "coverage",
        "busy_hours_found",
        "not_always_busy",
        "every_busy_hour_inside",
        "off_days_observed",
        "saving",
    ]
    heat = evidence["heat_map"]
    # Local cells, not UTC ones: Monday 08:00 Berlin is busy, 07:00 is not (07:00 UTC is).
    assert heat["max_cpu"][0][8] == 45.0 and heat["max_cpu"][0][7] == 2.0
    assert heat["busy_hours"][0][8] == 4 and heat["busy_hours"][5][12] == 0
    # UTC Monday 00:00 is Berlin Monday 01:00, and the last UTC hour still a Berlin Monday.
    assert heat["days_observed"] == [5, 4, 4, 4, 4, 4, 4]
    assert evidence["busy_windows"][0] == {
        "day": "Mon",
        "first_busy": "08:00",
        "last_busy_end": "19:00",
        "busy_hours": 44.0,
    }


def test_same_load_in_new_york():
    result = detect_schedule(hours("America/New_York"), "America/New_York")

    office_hours_berlin(result, "America/New_York")


def test_the_zone_matters_utc_reading_of_berlin_load_is_shifted():
    # The detector told the wrong zone still finds a window, just not the local one.
    result = detect_schedule(hours("Europe/Berlin"), "UTC")

    assert result.periods == [Period(WEEKDAYS, time(6, 30), time(18, 30))]


def test_nightly_batch_is_not_a_schedule():
    result = detect_schedule(hours("UTC", busy=lambda t: t.hour == 2), "UTC")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("busy hour outside the window")
    assert "short bursts" in result.reason
    assert result.evidence["busy_outside"][0] == "Mon 02:00\u201303:00"


def test_office_hours_plus_a_nightly_job_is_not_a_schedule():
    result = detect_schedule(hours("UTC", busy=lambda t: office(t) or t.hour == 2), "UTC")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("busy hour outside the window")
    assert "07:30\u201319:30" in result.reason


def test_always_on_is_not_a_schedule():
    result = detect_schedule(hours("UTC", busy=lambda t: True), "UTC")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("busy around the clock")


def test_idle_is_left_to_the_idle_detector():
    result = detect_schedule(hours("UTC", busy=lambda t: False), "UTC")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("idle, not scheduled")


def test_thirteen_days_are_not_enough():
    result = detect_schedule(hours("Europe/Berlin", days=13), "Europe/Berlin")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("not enough data: 13.0 days")
    assert isinstance(detect_schedule(hours("Europe/Berlin", days=14), "Europe/Berlin"), Proposal)


def test_missing_hours_are_not_quiet_hours():
    series = hours("Europe/Berlin")
    # Every night's data lost: the quiet hours are the ones missing, 12 % of the lookback.
    for moment in list(series)[::8]:
        series[moment] = HourFigures(cpu=None, network_bytes=None)

    result = detect_schedule(series, "Europe/Berlin")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("not enough data: CPU data for 87.5 %")


def test_network_alone_makes_an_hour_busy():
    def figures(local):
        if office(local):
            return BUSY
        if local.weekday() == 2 and local.hour == 23:  # a backup copy at low CPU
            return HourFigures(cpu=1.0, network_bytes=900 * MB)
        return QUIET

    tz = ZoneInfo("UTC")
    series = {
        START + timedelta(hours=i): figures((START + timedelta(hours=i)).astimezone(tz))
        for i in range(28 * 24)
    }

    result = detect_schedule(series, "UTC")

    assert isinstance(result, NoSchedule)
    assert result.evidence["busy_outside"] == ["Wed 23:00\u201324:00"]


def test_spring_forward_in_berlin():
    # 4 weeks from Monday 2026-03-16: Berlin moves to summer time on Sunday 2026-03-29.
    series = hours("Europe/Berlin", start=datetime(2026, 3, 16, tzinfo=UTC))

    result = detect_schedule(series, "Europe/Berlin")

    office_hours_berlin(result, "Europe/Berlin")
    heat = result.evidence["heat_map"]
    # Local 02:00 on Sunday 29 March did not exist: that cell has 3 hours, not 4.
    assert heat["hours_observed"][6][2] == 3 and heat["hours_observed"][6][3] == 4
    assert heat["max_cpu"][6][2] == 2.0


def test_fall_back_in_new_york():
    # 4 weeks from Monday 2026-10-19: New York goes back to standard time on 2026-11-01.
    series = hours("America/New_York", start=datetime(2026, 10, 19, tzinfo=UTC))

    result = detect_schedule(series, "America/New_York")

    office_hours_berlin(result, "America/New_York")
    # Local 01:00 on Sunday 1 November happened twice: 5 hours in that cell.
    assert result.evidence["heat_map"]["hours_observed"][6][1] == 5


def test_dst_nights_that_are_busy_do_not_crash():
    # Busy at every local 01:00-03:00 across both transitions: cells with 0 and 2 hours.
    for zone, start in (
        ("Europe/Berlin", datetime(2026, 3, 16, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 10, 19, tzinfo=UTC)),
    ):
        series = hours(zone, busy=lambda t: 1 <= t.hour < 3 or office(t), start=start)
        result = detect_schedule(series, zone)
        assert isinstance(result, NoSchedule)
        assert result.reason.startswith("busy hour outside the window")


def test_saturday_on_call_hour_is_never_stopped():
    # One Saturday 03:00 page in four weeks.
    page = datetime(2026, 11, 21, 3, tzinfo=UTC)
    series = hours("UTC")
    series[page] = BUSY

    result = detect_schedule(series, "UTC")

    assert isinstance(result, NoSchedule)
    assert "Sat 03:00" in result.reason


def test_saturday_daytime_page_is_not_a_working_saturday():
    # A one-off hour says the box may be needed at any time, not that Saturday is a workday.
    page = datetime(2026, 11, 21, 11, tzinfo=UTC)
    series = hours("UTC")
    series[page] = BUSY

    result = detect_schedule(series, "UTC")

    assert isinstance(result, NoSchedule)
    assert result.evidence["busy_outside"] == ["Sat 11:00\u201312:00"]


def test_working_saturdays_join_the_window():
    saturdays = lambda t: office(t) or (t.weekday() == 5 and 9 <= t.hour < 14)  # noqa: E731
    result = detect_schedule(hours("UTC", busy=saturdays), "UTC")

    # One window for every working day: the weekday one holds Saturday's morning.
    assert result.periods == [Period((0, 1, 2, 3, 4, 5), time(7, 30), time(19, 30))]
    assert result.label == "Mon\u2013Sat 07:30\u201319:30 UTC"
    assert result.saving_fraction == pytest.approx((168 - 72) / 168)


def test_a_late_night_once_is_outside_the_window():
    series = hours("UTC")
    series[datetime(2026, 11, 18, 21, tzinfo=UTC)] = BUSY  # Wednesday 21:00, once

    result = detect_schedule(series, "UTC")

    assert isinstance(result, NoSchedule)
    assert result.evidence["busy_outside"] == ["Wed 21:00\u201322:00"]


def test_a_late_hour_every_week_widens_the_window_for_all_days():
    late_fridays = lambda t: office(t) or (t.weekday() == 4 and t.hour == 19)  # noqa: E731
    result = detect_schedule(hours("UTC", busy=late_fridays), "UTC")

    assert result.periods == [Period(WEEKDAYS, time(7, 30), time(20, 30))]


def test_holidays_do_not_make_a_weekday_an_off_day():
    # Three of four Wednesdays are holidays; the fourth is a full working day.
    holidays = {datetime(2026, 11, d).date() for d in (11, 18, 25)}
    result = detect_schedule(
        hours("UTC", busy=lambda t: office(t) and t.date() not in holidays), "UTC"
    )

    assert result.periods == [Period(WEEKDAYS, time(7, 30), time(19, 30))]


def test_long_day_saves_too_little():
    long_day = lambda t: t.weekday() < 6 and t.hour >= 2  # noqa: E731
    result = detect_schedule(hours("UTC", busy=long_day), "UTC")

    assert isinstance(result, NoSchedule)
    assert result.reason.startswith("saving below the minimum")
    # 6 days x 22.5 h (01:30-24:00) run = 135 h: 19.6 % saved, enough at a lower bar.
    lower = detect_schedule(hours("UTC", busy=long_day), "UTC", Thresholds(min_saving_fraction=0.1))
    assert lower.running_hours_per_week == 135
    assert lower.periods[0].end == time(0)  # midnight, the end of the day


def test_margin_and_half_hour_zone():
    # India is UTC+5:30: UTC hours are local half hours; the window still rounds to 30 minutes.
    result = detect_schedule(hours("Asia/Kolkata"), "Asia/Kolkata", Thresholds(margin_minutes=0))

    # Busy UTC hours are those starting at local 08:30..18:30 (the local rule sees :30 starts).
    assert result.periods == [Period(WEEKDAYS, time(8, 30), time(19, 30))]


def test_lunch_dip_is_bridged():
    lunch = lambda t: office(t) and t.hour != 12  # noqa: E731
    result = detect_schedule(hours("UTC", busy=lunch), "UTC")

    assert result.periods == [Period(WEEKDAYS, time(7, 30), time(19, 30))]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown time zone"):
        detect_schedule(hours("UTC", days=14), "Mars/Olympus")
    with pytest.raises(ValueError, match="no time zone"):
        detect_schedule({datetime(2026, 11, 9, 8): BUSY}, "UTC")
    with pytest.raises(ValueError, match="not on the hour"):
        detect_schedule({datetime(2026, 11, 9, 8, 15, tzinfo=UTC): BUSY}, "UTC")
    with pytest.raises(ValueError, match="not on the hour"):
        # 08:30 UTC is 14:00 in India: on the local hour, but not an hour of CloudWatch's.
        detect_schedule({datetime(2026, 11, 9, 8, 30, tzinfo=UTC): BUSY}, "Asia/Kolkata")


def test_days_label():
    assert days_label((0, 1, 2, 3, 4, 6)) == "Mon\u2013Fri, Sun"
    assert days_label((2,)) == "Wed"
