"""Two workers running the same tick of the schedules: exactly one acts (PostgreSQL)."""

from datetime import timedelta

import pytest

from actions import schedules
from actions.models import InstanceAction, ScheduleEvent
from tests.actions.test_schedule_runs import (
    TUESDAY_END,
    TUESDAY_START,
    attach,
    stop_in_aws,
)
from tests.fleet.emulator import ec2_client, launch, state_in_aws, synced
from tests.marks import postgresql_only
from tests.reliability.test_races import race

pytestmark = [
    postgresql_only("concurrent writers on real connections"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_credentials"),
]


@pytest.fixture
def setup(aws, acme_account, acme, alice):
    from actions.models import Schedule

    office = Schedule.objects.create(
        organization=acme,
        name="office",
        time_zone="Europe/Berlin",
        periods=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        owner=alice,
    )
    ec2 = ec2_client(acme_account)
    boxes = [synced(acme_account, launch(ec2, f"box-{n}")) for n in range(3)]
    for box in boxes:
        attach(office, box)
    return ec2, boxes


def test_one_stop_and_one_start_per_boundary(setup):
    ec2, boxes = setup

    race(lambda: schedules.run(TUESDAY_END), lambda: schedules.run(TUESDAY_END))

    for box in boxes:
        assert state_in_aws(ec2, box.instance_id) == "stopped"
        assert InstanceAction.objects.filter(instance=box, action="stop").count() == 1
    assert ScheduleEvent.objects.filter(status="succeeded").count() == len(boxes)

    morning = TUESDAY_START + timedelta(days=1)
    race(lambda: schedules.run(morning), lambda: schedules.run(morning))

    for box in boxes:
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert InstanceAction.objects.filter(instance=box, action="start").count() == 1
    assert ScheduleEvent.objects.count() == 2 * len(boxes)


def test_the_notice_goes_out_once(setup, mailoutbox):
    ec2, boxes = setup
    from actions.models import ScheduledInstance

    ScheduledInstance.objects.update(notice_sent_at=None)
    stop_in_aws(ec2, boxes[0])

    race(lambda: schedules.run(TUESDAY_START), lambda: schedules.run(TUESDAY_START))

    assert len(mailoutbox) == 1
    assert not ScheduledInstance.objects.filter(notice_sent_at__isnull=True).exists()
