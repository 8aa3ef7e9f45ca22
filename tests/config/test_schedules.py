import pytest
from django_q.models import Schedule

from config.schedules import ScheduleSpec, ensure_schedules


@pytest.mark.django_db
def test_schedules_are_created_once_and_updated_in_place_on_redeploy():
    specs = [ScheduleSpec("sync-costs", "costs.tasks.sync_all", minutes=360)]
    ensure_schedules(specs)
    first = Schedule.objects.get(name="sync-costs")

    changed = [ScheduleSpec("sync-costs", "costs.tasks.sync_all", minutes=180)]
    ensure_schedules(changed)
    ensure_schedules(changed)

    assert Schedule.objects.filter(name="sync-costs").count() == 1
    again = Schedule.objects.get(name="sync-costs")
    assert again.pk == first.pk
    assert again.minutes == 180
    assert again.next_run == first.next_run


def test_missed_runs_are_not_replayed_after_downtime():
    from django_q.conf import Conf

    assert Conf.CATCH_UP is False


@pytest.mark.django_db
def test_migrate_leaves_every_declared_schedule_in_place_exactly_once():
    # migrate already ran ensure_schedules() through post_migrate; a redeploy runs it again.
    names = ensure_schedules()

    assert "sync-costs" in names
    for name in names:
        assert Schedule.objects.filter(name=name).count() == 1
