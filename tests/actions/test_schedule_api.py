"""The schedules API: create with the model's validation as 400s, attach and detach, keep
running until, apply a schedule recommendation, the events; scoped and operator-only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from actions.models import Schedule, ScheduledInstance, ScheduleOverride
from findings.models import Recommendation
from fleet.models import Instance

pytestmark = pytest.mark.django_db
URL = "/api/v1/schedules/"
OFFICE = [{"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "19:30"}]


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def box(acme_account):
    return Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-office",
        instance_type="m5.large",
        state="running",
    )


def office(org, **fields):
    return Schedule.objects.create(
        organization=org, name="office", time_zone="Europe/Berlin", periods=OFFICE, **fields
    )


def test_create_and_read_a_schedule(api, acme):
    body = {"organization": acme.slug, "name": "office", "time_zone": "Europe/Berlin"}

    created = api.post(URL, {**body, "periods": OFFICE, "holidays": ["2026-12-25"]}, format="json")

    assert created.status_code == 201, created.json()
    data = api.get(f"{URL}{created.json()['id']}/").json()
    assert data["periods"] == OFFICE and data["holidays"] == ["2026-12-25"]
    assert data["owner"] == "alice"
    assert data["next_change"]["action"] in ("stop", "start")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"periods": []}, "periods"),
        ({"periods": [{"days": [0], "start": "18:00", "end": "08:00"}]}, "periods"),
        ({"periods": [*OFFICE, {"days": [1], "start": "12:00", "end": "20:00"}]}, "periods"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(api, acme, fields, field):
    body = {"organization": acme.slug, "name": "x", "time_zone": "UTC", "periods": OFFICE}

    response = api.post(URL, {**body, **fields}, format="json")

    assert response.status_code == 400
    assert field in str(response.json())
    assert not Schedule.objects.exists()


def test_attach_keep_running_and_detach(api, acme, box):
    schedule = office(acme)

    attached = api.post(f"{URL}{schedule.pk}/attach/", {"instance": "i-office"}, format="json")
    assert attached.status_code == 200
    assert ScheduledInstance.objects.get(instance=box).schedule == schedule

    until = timezone.now() + timedelta(hours=3)
    kept = api.post(
        f"{URL}keep-running/", {"instance": "i-office", "until": until.isoformat()}, format="json"
    )
    assert kept.status_code == 200
    assert ScheduleOverride.objects.get(instance=box).until == until
    past = api.post(
        f"{URL}keep-running/",
        {"instance": "i-office", "until": (timezone.now() - timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert past.status_code == 400 and "until" in past.json()["error"]["fields"]

    assert api.post(f"{URL}detach/", {"instance": "i-office"}, format="json").status_code == 204
    assert not ScheduledInstance.objects.exists()


def test_another_organisation_reaches_nothing(charlie, acme, box):
    schedule = office(acme)
    client = APIClient()
    client.force_authenticate(charlie)

    assert client.get(f"{URL}{schedule.pk}/").status_code == 404
    attach = client.post(f"{URL}{schedule.pk}/attach/", {"instance": "i-office"}, format="json")
    assert attach.status_code == 404
    kept = client.post(
        f"{URL}keep-running/",
        {"instance": "i-office", "until": (timezone.now() + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert kept.status_code == 400  # no such instance, for them
    assert client.get("/api/v1/schedule-events/").json()["results"] == []


def test_a_viewer_reads_but_cannot_change(bob, acme, box):
    schedule = office(acme)
    client = APIClient()
    client.force_authenticate(bob)

    assert client.get(f"{URL}{schedule.pk}/").status_code == 200
    attach = client.post(f"{URL}{schedule.pk}/attach/", {"instance": "i-office"}, format="json")
    assert attach.status_code == 403
    assert client.delete(f"{URL}{schedule.pk}/").status_code == 403
    assert not ScheduledInstance.objects.exists()


def test_applying_a_schedule_recommendation_runs_its_schedule(api, acme, acme_account, box):
    rec = Recommendation.objects.create(
        account=acme_account,
        kind=Recommendation.Kind.SCHEDULE,
        resource_id="i-office",
        region="us-east-1",
        instance=box,
        summary="works office hours",
        action="run it on a schedule",
        monthly_saving=40,
        saving_basis="price_table",
        evidence={
            "schedule": "Mon\u2013Fri 07:30\u201319:30 Europe/Berlin",
            "time_zone": "Europe/Berlin",
            "periods": [{"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "19:30"}],
        },
    )

    applied = api.post(f"{URL}apply-recommendation/", {"recommendation": rec.pk}, format="json")

    assert applied.status_code == 200, applied.json()
    schedule = ScheduledInstance.objects.get(instance=box).schedule
    assert (schedule.name, schedule.periods) == ("Mon-Fri 07:30-19:30 Europe/Berlin", OFFICE)
    rec.refresh_from_db()
    assert rec.status == Recommendation.Status.APPLIED
    again = api.post(f"{URL}apply-recommendation/", {"recommendation": rec.pk}, format="json")
    assert again.status_code == 400  # applied already: said, not done twice
    assert Schedule.objects.count() == 1
