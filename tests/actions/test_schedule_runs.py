"""Schedules running against the emulator's EC2: time is passed in (`now`), every stop and
start goes over HTTP to moto through actions.stop_start."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from actions import schedules
from actions.models import InstanceAction, Schedule, ScheduledInstance, ScheduleEvent
from tests.fleet.emulator import PROTECT, ec2_client, launch, state_in_aws, synced

pytestmark = pytest.mark.usefixtures("fresh_credentials")

Status = ScheduleEvent.Status
FIVE = timedelta(minutes=5)
# Europe/Berlin office hours; Monday 2026-03-23 to Sunday 2026-04-05 crosses the change to
# summer time (2026-03-29), and Good Friday is a holiday.
OFFICE = [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]
HOLIDAY = "2026-04-03"
MONDAY = datetime(2026, 3, 23, tzinfo=UTC)
# Tuesday 2026-03-24: the period runs 07:00-17:00 UTC (CET).
TUESDAY_START = datetime(2026, 3, 24, 7, tzinfo=UTC)
TUESDAY_END = datetime(2026, 3, 24, 17, tzinfo=UTC)


@pytest.fixture
def ec2(aws, acme_account):
    return ec2_client(acme_account)


@pytest.fixture
def office(acme, alice):
    return Schedule.objects.create(
        organization=acme,
        name="office",
        time_zone="Europe/Berlin",
        periods=OFFICE,
        holidays=[HOLIDAY],
        owner=alice,
    )


def attach(schedule, instance, noticed=True):
    return ScheduledInstance.objects.create(
        schedule=schedule,
        instance=instance,
        notice_sent_at=MONDAY - timedelta(days=1) if noticed else None,
    )


@pytest.fixture
def box(ec2, acme_account, office):
    instance = synced(acme_account, launch(ec2, "dev-box"))
    attach(office, instance)
    return instance


def stop_in_aws(ec2, instance):
    ec2.stop_instances(InstanceIds=[instance.instance_id])
    instance.state = "stopped"
    instance.save(update_fields=["state"])


def actions_of(instance, action=None):
    rows = InstanceAction.objects.filter(instance=instance)
    return rows.filter(action=action) if action else rows


@pytest.mark.django_db
class TestRun:
    def test_a_stop_at_the_end_and_a_start_at_the_beginning(self, box, ec2):
        report = schedules.run(TUESDAY_END)

        assert [(e.action, e.status) for e in report.events] == [("stop", Status.SUCCEEDED)]
        assert state_in_aws(ec2, box.instance_id) == "stopped"
        [action] = actions_of(box)
        assert action.actor_label == "schedule office"
        assert action.result == InstanceAction.Result.SUCCEEDED
        event = ScheduleEvent.objects.get()
        assert (event.occurrence, event.instance_action) == (TUESDAY_END, action)

        schedules.run(TUESDAY_END + FIVE)  # the same boundary is never executed twice
        assert actions_of(box).count() == 1

        report = schedules.run(TUESDAY_START + timedelta(days=1))
        assert [(e.action, e.status) for e in report.events] == [("start", Status.SUCCEEDED)]
        assert state_in_aws(ec2, box.instance_id) == "running"

    def test_a_failed_stop_is_tried_again_while_it_is_due(self, box, ec2, aws_faults):
        # The DryRun passes, the real stop fails once (AWS's answer for an instance between
        # states); the next run, five minutes on, stops it.
        aws_faults.fail("StopInstances", "IncorrectInstanceState", "pending", skip=1)

        first = schedules.run(TUESDAY_END)
        assert [(e.action, e.status) for e in first.events] == [("stop", Status.FAILED)]
        assert state_in_aws(ec2, box.instance_id) == "running"

        second = schedules.run(TUESDAY_END + FIVE)
        assert [(e.status, e.attempts) for e in second.events] == [(Status.SUCCEEDED, 2)]
        assert state_in_aws(ec2, box.instance_id) == "stopped"
        assert ScheduleEvent.objects.count() == 1  # one boundary, one row: its attempts

    def test_a_stop_that_keeps_failing_is_given_up_after_three_attempts(self, box, ec2, aws_faults):
        for _ in range(3):
            aws_faults.fail("StopInstances", "IncorrectInstanceState", "pending", skip=1)

        for n in range(5):
            schedules.run(TUESDAY_END + n * FIVE)

        event = ScheduleEvent.objects.get()
        assert (event.status, event.attempts) == (Status.FAILED, 3)
        assert aws_faults.calls["StopInstances"] == 6  # three DryRuns, three real calls
        assert actions_of(box, "stop").count() == 3  # each attempt in the action log

    def test_a_missed_start_is_caught_up_inside_the_period(self, box, ec2):
        stop_in_aws(ec2, box)

        schedules.run(TUESDAY_START + timedelta(hours=2, minutes=10))  # worker down at 08:00

        event = ScheduleEvent.objects.get()
        assert (event.action, event.occurrence, event.status) == (
            "start",
            TUESDAY_START,
            Status.SUCCEEDED,
        )
        assert state_in_aws(ec2, box.instance_id) == "running"

    def test_a_missed_stop_is_not_replayed_into_working_hours(self, box, ec2):
        # Down from Tuesday 17:55 UTC to Wednesday 08:00 UTC (09:00 in Berlin, working hours).
        schedules.run(TUESDAY_END - FIVE)
        schedules.run(TUESDAY_START + timedelta(days=1, hours=1))

        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not actions_of(box, "stop").exists()
        assert not ScheduleEvent.objects.filter(action="stop").exists()

    def test_a_stop_missed_by_more_than_a_day_waits_for_the_next_end(self, box, ec2, office):
        office.periods = [{"days": [1], "start": "08:00", "end": "18:00"}]  # Tuesdays only
        office.save()

        schedules.run(TUESDAY_END + timedelta(hours=25))

        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not actions_of(box).exists()

    def test_a_person_stopping_it_at_noon_is_not_overruled(self, box, ec2):
        schedules.run(TUESDAY_START)  # already running: claimed, nothing sent to AWS
        stop_in_aws(ec2, box)

        schedules.run(TUESDAY_START + timedelta(hours=4))

        assert state_in_aws(ec2, box.instance_id) == "stopped"
        assert ScheduleEvent.objects.get().status == Status.SKIPPED
        assert not actions_of(box).exists()

    def test_keep_running_until(self, box, ec2, olivia):
        until = TUESDAY_END + timedelta(hours=3)
        with pytest.raises(ValidationError):
            schedules.keep_running_until(box, TUESDAY_END - FIVE, olivia, now=TUESDAY_END)
        schedules.keep_running_until(box, until, olivia, now=TUESDAY_END - FIVE)

        schedules.run(TUESDAY_END)
        schedules.run(until - FIVE)
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not actions_of(box).exists()

        schedules.run(until + FIVE)

        assert state_in_aws(ec2, box.instance_id) == "stopped"
        event = ScheduleEvent.objects.get()
        assert (event.action, event.occurrence) == ("stop", TUESDAY_END)

    def test_an_override_past_the_lookback_still_stops_once_it_expires(self, box, ec2, olivia):
        until = TUESDAY_END + timedelta(hours=30)  # Thursday 01:00 Berlin, outside the periods
        schedules.keep_running_until(box, until, olivia, now=TUESDAY_END - FIVE)
        schedules.run(until + FIVE)
        # Wednesday's 18:00 end is the last one; it is the one executed.
        assert state_in_aws(ec2, box.instance_id) == "stopped"

    def test_a_viewer_cannot_override(self, box, bob):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            schedules.keep_running_until(box, TUESDAY_END, bob, now=TUESDAY_START)

    @pytest.mark.parametrize(
        "change, reason",
        [
            ({"auto_scaling_group": "web-asg"}, "Auto Scaling group web-asg"),
            ({"lifecycle": "spot"}, "Spot Instance"),
            ({"root_device_type": "instance-store"}, "instance-store"),
        ],
    )
    def test_never_touched(self, box, ec2, change, reason):
        for name, value in change.items():
            setattr(box, name, value)
        box.save()

        schedules.run(TUESDAY_END)

        event = ScheduleEvent.objects.get()
        assert event.status == Status.SKIPPED and reason in event.message
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not actions_of(box).exists()

    def test_protected_instances_are_skipped(self, ec2, acme_account, office):
        protected = synced(acme_account, launch(ec2, "db", tags=PROTECT))
        attach(office, protected)
        stop_in_aws(ec2, protected)

        schedules.run(TUESDAY_END)
        schedules.run(TUESDAY_START + timedelta(days=1))

        assert [e.status for e in ScheduleEvent.objects.all()] == [Status.SKIPPED] * 2
        assert all("protect tag" in e.message for e in ScheduleEvent.objects.all())
        assert not actions_of(protected).exists()

    def test_disabled_schedules_do_nothing(self, box, ec2, office):
        office.enabled = False
        office.save()
        schedules.run(TUESDAY_END)
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not ScheduleEvent.objects.exists()

    def test_tag_attached_instances_follow_the_schedule(self, ec2, acme_account, office):
        tagged = synced(acme_account, launch(ec2, "tagged", tags={"Schedule": "office"}))
        ScheduledInstance.objects.filter(instance=tagged).delete()
        schedules.run(MONDAY)  # attaches it and sends the notice
        schedules.run(TUESDAY_END)
        assert state_in_aws(ec2, tagged.instance_id) == "stopped"
        assert ScheduledInstance.objects.get(instance=tagged).source == "tag"

    def test_dry_run_changes_nothing(self, box, ec2):
        out = StringIO()
        call_command("run_schedules", "--dry-run", "--now", TUESDAY_END.isoformat(), stdout=out)
        assert "would stop dev-box" in out.getvalue()
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not ScheduleEvent.objects.exists()

    def test_the_command_runs_at_the_given_moment(self, box, ec2):
        out = StringIO()
        call_command("run_schedules", "--now", "2026-03-24T18:00:00+01:00", stdout=out)
        assert "1 stopped" in out.getvalue()
        assert state_in_aws(ec2, box.instance_id) == "stopped"

    def test_a_bad_now_is_a_clear_error(self):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="not an ISO 8601"):
            call_command("run_schedules", "--now", "tomorrow")


@pytest.mark.django_db
class TestNotice:
    def test_sent_once_and_the_first_stop_waits_for_it(
        self, ec2, acme_account, office, olivia, bob, mailoutbox, settings
    ):
        settings.SCHEDULE_NOTICE_HOURS = 12
        instance = synced(acme_account, launch(ec2, "new-box"))
        attach(office, instance, noticed=False)
        attached_at = TUESDAY_END - timedelta(hours=3)

        schedules.run(attached_at)

        [mail] = mailoutbox
        # The owner (alice, an admin) and the operators; not bob, a viewer.
        assert sorted(mail.to) == ["alice@example.com", "olivia@example.com"]
        assert "new-box" in mail.body and "first scheduled stop is not before" in mail.body

        schedules.run(TUESDAY_END)  # only three hours of notice: not yet
        assert state_in_aws(ec2, instance.instance_id) == "running"
        schedules.run(attached_at + timedelta(hours=12))  # still outside the periods
        assert state_in_aws(ec2, instance.instance_id) == "stopped"

        for hours in (13, 40, 60):
            schedules.run(attached_at + timedelta(hours=hours))
        assert len(mailoutbox) == 1

    def test_a_failed_e_mail_is_not_a_notice(self, ec2, acme_account, office, settings):
        settings.EMAIL_BACKEND = "tests.actions.test_autostop.BrokenMail"
        instance = synced(acme_account, launch(ec2, "new-box"))
        row = attach(office, instance, noticed=False)

        report = schedules.run(TUESDAY_END - timedelta(days=1))
        schedules.run(TUESDAY_END)

        assert "notice e-mail failed (relay unavailable)" in report.notes[0]
        row.refresh_from_db()
        assert row.notice_sent_at is None
        assert state_in_aws(ec2, instance.instance_id) == "running"

    def test_nobody_to_tell_means_no_stop(self, ec2, acme_account, acme, mailoutbox):
        lonely = Schedule.objects.create(
            organization=acme, name="lonely", time_zone="UTC", periods=OFFICE
        )
        instance = synced(acme_account, launch(ec2, "box"))
        attach(lonely, instance, noticed=False)

        report = schedules.run(TUESDAY_END - timedelta(days=1))
        schedules.run(TUESDAY_END + timedelta(hours=1))

        assert mailoutbox == []
        assert "nobody to notify" in report.notes[0]
        assert state_in_aws(ec2, instance.instance_id) == "running"


@pytest.mark.django_db
def test_fourteen_days_every_five_minutes(ec2, acme_account, office):
    boxes = [synced(acme_account, launch(ec2, f"box-{n}")) for n in range(2)]
    for instance in boxes:
        attach(office, instance)
    moment, end = MONDAY, MONDAY + timedelta(days=14)
    first_start = datetime(2026, 3, 23, 7, tzinfo=UTC)  # launched running before it
    missed_starts = stops_inside = missed_stops = 0
    while moment < end:
        # Two workers on every tick, the second a few seconds behind the first: whatever the
        # first did, the second finds claimed (the PostgreSQL race test runs them at once).
        schedules.run(moment)
        schedules.run(moment + timedelta(seconds=20))
        running = schedules.running_at(office, moment)
        for instance in boxes:
            instance.refresh_from_db(fields=["state"])
            if running:
                missed_starts += instance.state != "running"
                stops_inside += instance.state == "stopped"
            elif moment >= first_start:
                missed_stops += instance.state != "stopped"
        moment += FIVE

    assert (missed_starts, stops_inside, missed_stops) == (0, 0, 0)
    # Nine working days (Good Friday off) of one start and one stop per box; Monday's start
    # finds it running (launched so), so it is skipped, not sent.
    for instance in boxes:
        starts = actions_of(instance, "start")
        stops = actions_of(instance, "stop")
        assert starts.count() == 8 and stops.count() == 9
        assert {a.result for a in [*starts, *stops]} == {InstanceAction.Result.SUCCEEDED}
        occurrences = list(
            ScheduleEvent.objects.filter(instance=instance).values_list("action", "occurrence")
        )
        assert len(occurrences) == len(set(occurrences)) == 18
        assert state_in_aws(ec2, instance.instance_id) == "stopped"
    # Summer time from 2026-03-29: Monday 30th starts at 06:00 UTC, not 07:00.
    assert (
        ScheduleEvent.objects.filter(
            action="start", occurrence=datetime(2026, 3, 30, 6, tzinfo=UTC)
        ).count()
        == 2
    )


@pytest.mark.django_db
def test_the_task_reports_what_it_did(box, ec2, monkeypatch):
    from django.utils import timezone

    from actions import tasks

    monkeypatch.setattr(timezone, "now", lambda: TUESDAY_END)
    assert (
        tasks.run_schedules() == "schedules: 0 started, 1 stopped, 0 skipped, 0 failed, 0 notice(s)"
    )
    assert state_in_aws(ec2, box.instance_id) == "stopped"
