"""Schedules without AWS: validation, the periods' UTC instants across DST, holidays, tags."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from actions import schedules
from actions.models import Schedule, ScheduledInstance
from fleet.models import Instance

WEEKDAYS = [0, 1, 2, 3, 4]
OFFICE = [{"days": WEEKDAYS, "start": "08:00", "end": "18:00"}]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(org=None, **fields) -> Schedule:
    """An unsaved schedule (the time functions need no database)."""
    values = {"name": "office", "time_zone": "Europe/Berlin", "periods": OFFICE, "holidays": []}
    return Schedule(organization=org, **{**values, **fields})


def errors_of(**fields) -> dict:
    with pytest.raises(ValidationError) as caught:
        schedule(**fields).clean()
    return caught.value.message_dict


class TestValidation:
    def test_a_good_schedule_is_valid(self):
        schedule(holidays=["2026-12-25"]).clean()

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/Berlin ", "CEST+2"])
    def test_an_unknown_time_zone(self, zone):
        assert "is not an IANA time zone" in errors_of(time_zone=zone)["time_zone"][0]

    @pytest.mark.parametrize("value", ["8:00", "25:00", "08:60", "0800", "ab:cd", 800, "24:00"])
    def test_a_malformed_start(self, value):
        [message] = errors_of(periods=[{"days": [0], "start": value, "end": "23:00"}])["periods"]
        assert "is not a time of day written HH:MM" in message

    def test_24_00_is_a_valid_end(self):
        schedule(periods=[{"days": [0], "start": "20:00", "end": "24:00"}]).clean()

    def test_end_before_start_explains_overnight(self):
        [message] = errors_of(periods=[{"days": [0], "start": "22:00", "end": "06:00"}])["periods"]
        assert "must be after the start" in message and "Overnight periods" in message

    def test_end_equal_to_start(self):
        [message] = errors_of(periods=[{"days": [0], "start": "08:00", "end": "08:00"}])["periods"]
        assert "must be after the start" in message

    def test_overlapping_periods_on_a_same_day(self):
        periods = [
            {"days": [0, 1], "start": "08:00", "end": "12:00"},
            {"days": [1], "start": "11:00", "end": "18:00"},
        ]
        [message] = errors_of(periods=periods)["periods"]
        assert message == "Periods 1 and 2 overlap on Tuesday: merge them into one period."

    def test_touching_periods_do_not_overlap(self):
        periods = [
            {"days": [1], "start": "08:00", "end": "12:00"},
            {"days": [1], "start": "12:00", "end": "18:00"},
        ]
        schedule(periods=periods).clean()

    @pytest.mark.parametrize("periods", [[], None, {}])
    def test_an_empty_schedule(self, periods):
        assert "at least one running period" in errors_of(periods=periods)["periods"][0]

    @pytest.mark.parametrize(
        "period",
        [
            {"days": [], "start": "08:00", "end": "18:00"},
            {"days": [7], "start": "08:00", "end": "18:00"},
            {"days": [1, 1], "start": "08:00", "end": "18:00"},
            {"days": "mon", "start": "08:00", "end": "18:00"},
        ],
    )
    def test_bad_days(self, period):
        assert "days must be a non-empty list" in errors_of(periods=[period])["periods"][0]

    def test_a_period_with_missing_keys(self):
        [message] = errors_of(periods=[{"start": "08:00"}])["periods"]
        assert message.startswith("Period 1: write it as")

    @pytest.mark.parametrize("holidays", [["2026-02-30"], ["25/12/2026"], [20261225], "x"])
    def test_bad_holidays(self, holidays):
        assert errors_of(holidays=holidays)["holidays"]

    @pytest.mark.django_db
    def test_nothing_invalid_is_saved_and_names_are_unique_per_organisation(self, acme, globex):
        with pytest.raises(ValidationError):
            schedule(acme, time_zone="Nowhere/Town").save()
        assert not Schedule.objects.exists()
        schedule(acme).save()
        schedule(globex).save()  # the same name in another organisation is fine
        with pytest.raises(ValidationError) as caught:
            schedule(acme).save()
        assert "__all__" in caught.value.message_dict
        assert Schedule.objects.count() == 2


# Sundays with a DST change, a period in the small hours of each.
SMALL_HOURS = [{"days": [6], "start": "02:30", "end": "06:00"}]


class TestDaylightSaving:
    def test_berlin_spring_a_start_in_the_gap_is_the_end_of_the_gap(self):
        berlin = schedule(periods=SMALL_HOURS)
        [(start, end)] = schedules.periods_on(berlin, date(2026, 3, 29))
        # 02:30 does not exist: the clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
        assert start == utc(2026, 3, 29, 1, 0)
        assert end == utc(2026, 3, 29, 4, 0)  # 06:00 CEST
        assert not schedules.running_at(berlin, utc(2026, 3, 29, 0, 59))
        assert schedules.running_at(berlin, utc(2026, 3, 29, 1, 0))
        assert schedules.running_at(berlin, utc(2026, 3, 29, 3, 59))
        assert not schedules.running_at(berlin, utc(2026, 3, 29, 4, 0))

    def test_berlin_office_hours_move_in_utc_across_the_spring_change(self):
        berlin = schedule()
        assert schedules.periods_on(berlin, date(2026, 3, 27)) == [
            (utc(2026, 3, 27, 7), utc(2026, 3, 27, 17))
        ]
        assert schedules.periods_on(berlin, date(2026, 3, 30)) == [
            (utc(2026, 3, 30, 6), utc(2026, 3, 30, 16))
        ]
        assert schedules.running_at(berlin, utc(2026, 3, 30, 6, 0))
        assert not schedules.running_at(berlin, utc(2026, 3, 30, 5, 59))

    def test_berlin_autumn_a_repeated_time_is_its_first_occurrence(self):
        berlin = schedule(periods=SMALL_HOURS)
        [(start, end)] = schedules.periods_on(berlin, date(2026, 10, 25))
        assert start == utc(2026, 10, 25, 0, 30)  # the first 02:30, still CEST
        assert end == utc(2026, 10, 25, 5, 0)  # 06:00 CET
        assert not schedules.running_at(berlin, utc(2026, 10, 25, 0, 29))
        assert schedules.running_at(berlin, utc(2026, 10, 25, 1, 30))  # the second 02:30

    def test_new_york_spring(self):
        ny = schedule(time_zone="America/New_York", periods=SMALL_HOURS)
        [(start, end)] = schedules.periods_on(ny, date(2026, 3, 8))
        assert start == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the end of the gap
        assert end == utc(2026, 3, 8, 10, 0)
        assert not schedules.running_at(ny, utc(2026, 3, 8, 6, 59))
        assert schedules.running_at(ny, utc(2026, 3, 8, 7, 0))

    def test_new_york_autumn(self):
        ny = schedule(
            time_zone="America/New_York",
            periods=[{"days": [6], "start": "01:30", "end": "03:00"}],
        )
        [(start, end)] = schedules.periods_on(ny, date(2026, 11, 1))
        assert start == utc(2026, 11, 1, 5, 30)  # the first 01:30, EDT
        assert end == utc(2026, 11, 1, 8, 0)  # 03:00 EST
        assert schedules.running_at(ny, utc(2026, 11, 1, 6, 45))  # the second 01:30 EST
        assert not schedules.running_at(ny, utc(2026, 11, 1, 5, 29))

    def test_an_end_in_the_gap_is_the_end_of_the_gap(self):
        berlin = schedule(periods=[{"days": [6], "start": "01:00", "end": "02:30"}])
        assert schedules.periods_on(berlin, date(2026, 3, 29)) == [
            (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0))
        ]

    def test_next_change(self):
        berlin = schedule()
        assert schedules.next_change(berlin, utc(2026, 3, 27, 12)) == ("stop", utc(2026, 3, 27, 17))
        # Friday evening: the next start is Monday, after the change to summer time.
        assert schedules.next_change(berlin, utc(2026, 3, 27, 18)) == (
            "start",
            utc(2026, 3, 30, 6),
        )


class TestHolidays:
    def test_a_holiday_has_no_running_period(self):
        berlin = schedule(holidays=["2026-12-24"])
        assert schedules.periods_on(berlin, date(2026, 12, 24)) == []
        assert not schedules.running_at(berlin, utc(2026, 12, 24, 10))
        assert schedules.running_at(berlin, utc(2026, 12, 23, 10))

    def test_holidays_are_local_dates(self):
        # 23:30 UTC on the 23rd is already the 24th in Tokyo.
        tokyo = schedule(
            time_zone="Asia/Tokyo",
            periods=[{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}],
            holidays=["2026-12-24"],
        )
        assert not schedules.running_at(tokyo, utc(2026, 12, 23, 16))
        assert schedules.running_at(tokyo, utc(2026, 12, 23, 14, 59))


@pytest.mark.django_db
class TestAttachment:
    def make(self, account, instance_id, tags=None, **extra):
        return Instance.objects.create(
            account=account,
            region="us-east-1",
            instance_id=instance_id,
            instance_type="t3.micro",
            state="running",
            tags=tags or {},
            **extra,
        )

    def test_both_tags_attach_and_manual_wins(self, acme, acme_account, globex, globex_account):
        office = schedule(acme)
        office.save()
        night = schedule(acme, name="night-shift")
        night.save()
        schedule(globex, name="globex-only").save()
        ours = self.make(acme_account, "i-ours", {"spendlens:schedule": "office"})
        aws_tag = self.make(acme_account, "i-aws", {"Schedule": "office"})
        both = self.make(
            acme_account, "i-both", {"spendlens:schedule": "night-shift", "Schedule": "office"}
        )
        manual = self.make(acme_account, "i-manual", {"spendlens:schedule": "office"})
        ScheduledInstance.objects.create(schedule=night, instance=manual)
        self.make(acme_account, "i-unknown", {"spendlens:schedule": "globex-only"})
        self.make(acme_account, "i-gone", {"Schedule": "office"}, gone_at=utc(2026, 1, 1))

        found = {
            a.instance.instance_id: (a.schedule.name, a.source)
            for a in schedules.attached_instances(acme)
        }

        assert found == {
            ours.instance_id: ("office", "tag"),
            aws_tag.instance_id: ("office", "tag"),
            both.instance_id: ("night-shift", "tag"),  # ours before AWS's
            manual.instance_id: ("night-shift", "manual"),
        }

    def test_tag_rows_follow_the_tags(self, acme, acme_account):
        office = schedule(acme)
        office.save()
        box = self.make(acme_account, "i-box", {"spendlens:schedule": "office"})

        [row] = schedules.sync_attachments(acme)
        assert (row.instance, row.schedule, row.source) == (box, office, "tag")

        box.tags = {}
        box.save()
        assert schedules.sync_attachments(acme) == []
        assert not ScheduledInstance.objects.exists()

    def test_an_instance_of_another_organisation_cannot_be_attached(self, acme, globex_account):
        office = schedule(acme)
        office.save()
        theirs = self.make(globex_account, "i-theirs")
        with pytest.raises(ValidationError):
            ScheduledInstance(schedule=office, instance=theirs).full_clean()


def test_every_few_minutes_in_the_task_schedule(settings):
    from config.schedules import _declared

    [spec] = [s for s in _declared() if s.name == "instance-schedules"]
    assert (spec.func, spec.minutes) == ("actions.tasks.run_schedules", 5)
    assert settings.SCHEDULE_NOTICE_HOURS == 12
    assert timedelta(hours=settings.SCHEDULE_NOTICE_HOURS) == timedelta(hours=12)
