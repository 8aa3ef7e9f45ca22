"""The schedules' admin pages: validation shown, the next change readable, scoped, history."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from actions.models import Schedule, ScheduledInstance, ScheduleEvent
from fleet.models import Instance

EVERY_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}]


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="actions", codename__contains="schedule")
    )
    return user


def form(organization, **fields):
    data = {
        "organization": organization.pk,
        "name": "office",
        "enabled": "on",
        "time_zone": "Europe/Berlin",
        "periods": json.dumps([{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]),
        "holidays": "[]",
        "owner": "",
        "attachments-TOTAL_FORMS": "0",
        "attachments-INITIAL_FORMS": "0",
        "attachments-MIN_NUM_FORMS": "0",
        "attachments-MAX_NUM_FORMS": "1000",
    }
    return {**data, **fields}


@pytest.mark.django_db
class TestScheduleAdmin:
    def test_a_schedule_with_an_instance(self, client, alice, acme, acme_account):
        box = Instance.objects.create(
            account=acme_account,
            region="us-east-1",
            instance_id="i-1",
            instance_type="t3.micro",
            state="running",
        )
        client.force_login(staff(alice))
        data = form(
            acme,
            **{
                "attachments-TOTAL_FORMS": "1",
                "attachments-0-instance": box.pk,
            },
        )

        response = client.post(reverse("admin:actions_schedule_add"), data)

        assert response.status_code == 302, response.content.decode()[:3000]
        schedule = Schedule.objects.get()
        assert ScheduledInstance.objects.get().instance == box
        assert schedule.attachments.get().source == "manual"

    @pytest.mark.parametrize(
        "field, value, message",
        [
            ("time_zone", "Berlin", "is not an IANA time zone"),
            (
                "periods",
                json.dumps([{"days": [0], "start": "22:00", "end": "06:00"}]),
                "Overnight periods are not supported",
            ),
            ("holidays", json.dumps(["2026-13-01"]), "Not a date written YYYY-MM-DD"),
        ],
    )
    def test_validation_errors_are_shown(self, client, alice, acme, field, value, message):
        client.force_login(staff(alice))

        response = client.post(reverse("admin:actions_schedule_add"), form(acme, **{field: value}))

        assert response.status_code == 200
        assert message in response.content.decode()
        assert not Schedule.objects.exists()

    def test_the_list_shows_the_next_change_and_only_our_schedules(
        self, client, alice, acme, globex
    ):
        Schedule.objects.create(organization=acme, name="always", periods=EVERY_DAY)
        Schedule.objects.create(organization=globex, name="globex-secret", periods=EVERY_DAY)
        client.force_login(staff(alice))

        page = client.get(reverse("admin:actions_schedule_changelist")).content.decode()

        assert "always" in page and "stops " in page
        assert "globex-secret" not in page

    def test_the_history_is_read_only(self, client, alice, acme, acme_account):
        schedule = Schedule.objects.create(organization=acme, name="always", periods=EVERY_DAY)
        box = Instance.objects.create(
            account=acme_account,
            region="us-east-1",
            instance_id="i-1",
            instance_type="t3.micro",
            state="running",
        )
        event = ScheduleEvent.objects.create(
            instance=box,
            schedule=schedule,
            action="stop",
            occurrence=timezone.now() - timedelta(hours=1),
            status="skipped",
            message="Left alone: protected.",
        )
        client.force_login(staff(alice))

        page = client.get(reverse("admin:actions_scheduleevent_changelist")).content.decode()
        assert "Left alone: protected." in page
        response = client.post(
            reverse("admin:actions_scheduleevent_change", args=[event.pk]), {"status": "failed"}
        )
        assert response.status_code == 403
        event.refresh_from_db()
        assert event.status == "skipped"
