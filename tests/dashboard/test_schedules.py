"""The instance list's schedule controls: follow, keep running until HH:MM today, remove;
operators only, scoped to the instance's organisation, bad input said, never a 500."""

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import Schedule, ScheduledInstance, ScheduleOverride
from fleet.models import Instance

pytestmark = pytest.mark.django_db
OFFICE = [{"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "19:30"}]


@pytest.fixture
def box(acme_account):
    return Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-office",
        instance_type="m5.large",
        state="running",
    )


@pytest.fixture
def office(acme):
    return Schedule.objects.create(
        organization=acme, name="office", time_zone="UTC", periods=OFFICE
    )


def post(client, box, **data):
    return client.post(reverse("instance-schedule", args=[box.pk]), data, follow=True)


def test_an_operator_follows_keeps_running_and_removes(client, alice, box, office):
    # 23:59 today must still be ahead in the schedule's zone whenever the test runs.
    if timezone.now().hour >= 22:
        office.time_zone = "Etc/GMT+6"
        office.save()
    client.force_login(alice)
    listed = client.get(reverse("instance-list")).content.decode()
    assert 'name="schedule"' in listed and "office" in listed

    post(client, box, do="attach", schedule=office.pk)
    assert ScheduledInstance.objects.get(instance=box).schedule == office
    post(client, box, do="keep", until="23:59")
    until = ScheduleOverride.objects.get(instance=box).until
    assert until.astimezone(ZoneInfo(office.time_zone)).strftime("%H:%M") == "23:59"
    assert "Keep running until" in client.get(reverse("instance-list")).content.decode()

    post(client, box, do="detach")
    assert not ScheduledInstance.objects.exists()


def test_bad_input_is_said_not_a_500(client, alice, box, office):
    client.force_login(alice)
    ScheduledInstance.objects.create(schedule=office, instance=box)

    said = {
        "Give the time as HH:MM.": {"do": "keep", "until": "25:99"},
        "Choose one of the organisation&#x27;s schedules.": {"do": "attach", "schedule": "x"},
        "Unknown schedule change.": {},
    }
    for message, data in said.items():
        response = post(client, box, **data)
        assert response.status_code == 200
        assert f'<li class="error">{message}</li>' in response.content.decode()
    assert not ScheduleOverride.objects.exists()


def test_a_viewer_cannot_change_it(client, bob, box, office):
    client.force_login(bob)

    post(client, box, do="attach", schedule=office.pk)

    assert not ScheduledInstance.objects.exists()


def test_another_organisations_instance_or_schedule_is_out_of_reach(
    client, charlie, alice, box, office, globex
):
    client.force_login(charlie)
    assert post(client, box, do="attach", schedule=office.pk).status_code == 404

    theirs = Schedule.objects.create(
        organization=globex, name="theirs", time_zone="UTC", periods=OFFICE
    )
    client.force_login(alice)
    post(client, box, do="attach", schedule=theirs.pk)
    assert not ScheduledInstance.objects.exists()


def schedule_rec(account, box):
    from findings.models import Recommendation

    return Recommendation.objects.create(
        account=account,
        kind=Recommendation.Kind.SCHEDULE,
        resource_id=box.instance_id,
        region=box.region,
        instance=box,
        summary="works office hours",
        action="run it on a schedule",
        monthly_saving=40,
        saving_basis="price_table",
        evidence={
            "schedule": "Mon\u2013Fri 07:30\u201319:30 UTC",
            "time_zone": "UTC",
            "periods": OFFICE,
            "heat_map": {"max_cpu": [[50.0] * 24] * 7, "busy_hours": [[1] * 24] * 7},
        },
    )


def test_a_schedule_recommendation_is_run_from_its_page_never_stopped(
    client, alice, acme_account, box
):
    rec = schedule_rec(acme_account, box)
    client.force_login(alice)

    listed = client.get(reverse("recommendation-list")).content.decode()
    assert f"Stop {box.instance_id}" not in listed  # stopping it in working hours is no fix
    page = client.get(reverse("recommendation-detail", args=[rec.pk])).content.decode()
    assert "Run this schedule" in page and 'class="sl-heat-map"' in page
    assert f"Stop {box.instance_id}" not in page

    done = client.post(reverse("recommendation-apply-schedule", args=[rec.pk]), follow=True)

    assert "now follows the schedule" in done.content.decode()
    assert ScheduledInstance.objects.get(instance=box).schedule.periods == OFFICE
    again = client.post(reverse("recommendation-apply-schedule", args=[rec.pk]), follow=True)
    assert '<li class="error">' in again.content.decode()


def test_a_viewer_cannot_run_it(client, bob, acme_account, box):
    rec = schedule_rec(acme_account, box)
    client.force_login(bob)

    client.post(reverse("recommendation-apply-schedule", args=[rec.pk]))

    assert not ScheduledInstance.objects.exists()
