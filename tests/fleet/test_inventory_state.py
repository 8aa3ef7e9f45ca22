"""When an instance entered its state: what the Instances page's "running for" reads."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fleet.inventory import state_since
from fleet.models import Instance

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LAUNCHED = NOW - timedelta(days=15, hours=3)


def raw(state, **extra):
    return {"State": {"Name": state}, "LaunchTime": LAUNCHED, **extra}


def test_a_running_instance_has_run_since_its_launch_time():
    assert state_since(raw("running"), None, NOW) == LAUNCHED


def test_first_seen_pending_then_running_still_reads_the_launch_time():
    """The reported case: seen 'pending' at one sync, 'running' at the next, 15 days of data."""
    pending = Instance(state="pending", state_since=NOW - timedelta(minutes=5))

    assert state_since(raw("running"), pending, NOW) == LAUNCHED


def test_a_stopped_instance_reads_the_transition_time():
    stopped = raw("stopped", StateTransitionReason="User initiated (2026-12-01 08:30:00 GMT)")

    assert state_since(stopped, None, NOW) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_without_a_transition_time_a_known_state_keeps_its_date():
    earlier = NOW - timedelta(days=3)
    previous = Instance(state="stopped", state_since=earlier)

    assert state_since(raw("stopped"), previous, NOW) == earlier


@pytest.mark.django_db
def test_the_admin_list_says_running_for_two_weeks(client, django_user_model, acme_account):
    Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0busy",
        name="web-1",
        instance_type="t3.large",
        state="running",
        state_since=state_since(
            {"State": {"Name": "running"}, "LaunchTime": timezone.now() - timedelta(days=15)},
            None,
            timezone.now(),
        ),
    )
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)

    body = client.get(reverse("admin:fleet_instance_changelist")).content.decode()

    assert "<small>for 2\xa0weeks</small>" in body  # not "0\xa0minutes": the launch time
