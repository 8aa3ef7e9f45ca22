"""The demo fleet through the real pipeline against the emulator: every member's outcome.

seed_demo -> sync_inventory -> collect_utilization -> detect_idle, all over HTTP to moto, and
each fleet member of DESIGN.md ends with the verdict and recommendation it was built for.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts import aws as aws_module
from demo import seed as demo
from findings.models import Recommendation
from fleet.models import Instance, UtilizationDay

VERDICT_FOR = {
    demo.IDLE: "idle",
    demo.NOT_IDLE: "not_idle",
    demo.RIGHTSIZE: "not_idle",
    demo.NOT_ENOUGH_DATA: "not_enough_data",
    demo.PROTECTED: "protected",
    demo.ASG_MEMBER: "asg_member",
}
RECOMMENDATION_FOR = {
    demo.IDLE: {Recommendation.Kind.IDLE_INSTANCE},
    demo.ASG_MEMBER: {Recommendation.Kind.IDLE_ASG_MEMBER},
    demo.RIGHTSIZE: {Recommendation.Kind.RIGHTSIZE},
}


@pytest.fixture
def pipeline(aws, db):
    aws_module.clear_credential_cache()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("sync_inventory", stdout=out, verbosity=0)
    call_command("collect_utilization", stdout=out, verbosity=0)
    call_command("detect_idle", stdout=out, verbosity=0)
    yield {
        "out": out.getvalue(),
        "instances": {
            i.tags.get(demo.DEMO_KEY_TAG): i for i in Instance.objects.select_related("account")
        },
        "recommendations": list(Recommendation.objects.open()),
        "utilization_days": UtilizationDay.objects.count(),
    }
    aws_module.clear_credential_cache()


def test_the_demo_fleet_ends_as_designed(pipeline):
    """One pipeline run (seeding and moto's GetMetricData are slow), every outcome checked."""
    outcomes, expected = {}, {}
    for member in demo.DEMO_INSTANCES:
        instance = pipeline["instances"][member.key]
        kinds = {
            r.kind for r in pipeline["recommendations"] if r.resource_id == instance.instance_id
        }
        outcomes[member.key] = (instance.verdict, kinds)
        expected[member.key] = (
            VERDICT_FOR[member.expected],
            RECOMMENDATION_FOR.get(member.expected, set()) | set(member.recommends),
        )
    assert outcomes == expected

    # The oversized server moves down one size, with a saving and its evidence.
    oversized = pipeline["instances"]["oversized"]
    resize = next(r for r in pipeline["recommendations"] if r.resource_id == oversized.instance_id)
    assert (oversized.instance_type, resize.target_type) == ("m5.2xlarge", "m5.xlarge")
    assert resize.monthly_saving > 0

    # Waste: two unattached volumes, the attached gp2 one, the loose Elastic IP.
    waste = sorted(
        r.kind for r in pipeline["recommendations"] if not r.resource_id.startswith("i-")
    )
    assert waste == sorted(
        [
            Recommendation.Kind.UNATTACHED_VOLUME,
            Recommendation.Kind.UNATTACHED_VOLUME,
            Recommendation.Kind.GP2_VOLUME,
            Recommendation.Kind.UNASSOCIATED_EIP,
        ]
    )
    assert all(r.monthly_saving > 0 for r in pipeline["recommendations"])

    # The evidence says why.
    idle_box = pipeline["instances"]["idle-dev-box"]
    nightly = pipeline["instances"]["nightly-batch"]
    assert idle_box.verdict_evidence["idle_days"] == idle_box.verdict_evidence["days"]
    assert nightly.verdict_evidence["max_hourly_cpu_avg"] >= 85
    assert pipeline["utilization_days"] > 0


def test_the_demo_evidence_shows_the_seeded_network_traffic(pipeline):
    """Read from the plain NetworkIn/NetworkOut series: never the 0.0 MB of an unread one."""
    for member in demo.DEMO_INSTANCES:
        evidence = pipeline["instances"][member.key].verdict_evidence
        if member.expected == demo.NOT_ENOUGH_DATA:
            continue
        assert evidence["network_hours_with_data"] >= evidence["required_hours"], member.key
        assert evidence["days"] == evidence["thresholds"]["lookback_days"], member.key

    # Idle hours move 3-14 KiB in and out: 0.07-0.33 MB a day.
    idle_box = pipeline["instances"]["idle-dev-box"]
    assert 0.07 <= idle_box.verdict_evidence["max_daily_network_mb"] <= 0.33
    # A weekday's nine business hours move at least 500 MB each.
    business = pipeline["instances"]["business-hours"]
    assert business.verdict_evidence["max_daily_network_mb"] >= 9 * 500
    stop = next(r for r in pipeline["recommendations"] if r.resource_id == idle_box.instance_id)
    assert " 0.0 MB/day" not in stop.summary
    shown = stop.evidence["max_daily_network_mb"]
    assert f"at most {shown} MB/day of network over 14 days" in stop.summary


def test_the_business_hours_server_runs_on_its_proposed_schedule(pipeline, django_user_model):
    """Applying the demo's schedule recommendation, then three simulated days of the every-few-
    minutes run: the stops and starts land in the action log at the schedule's boundaries."""
    from datetime import UTC, datetime, timedelta

    from accounts.models import Membership, Organization
    from actions import schedule_attach, schedules
    from actions.models import InstanceAction, ScheduleEvent

    box = pipeline["instances"]["business-hours"]
    (rec,) = [
        r
        for r in pipeline["recommendations"]
        if r.resource_id == box.instance_id and r.kind == Recommendation.Kind.SCHEDULE
    ]
    operator = django_user_model.objects.create_user("ops", email="ops@demo.example")
    organization = Organization.objects.get(slug=demo.DEMO_ORG_SLUG)
    Membership.objects.create(user=operator, organization=organization, role="operator")
    schedule = schedule_attach.apply_recommendation(rec, operator).schedule

    # A simulated Monday 05:00 UTC to Thursday 05:00, every 15 minutes.
    start = datetime(2030, 1, 7, 5, tzinfo=UTC)
    for tick in range(3 * 24 * 4):
        schedules.run(now=start + timedelta(minutes=15 * tick))

    log = InstanceAction.objects.filter(aws_instance_id=box.instance_id).order_by("pk")
    done = [(a.action, a.result) for a in log]
    assert ("stop", InstanceAction.Result.SUCCEEDED) in done
    assert ("start", InstanceAction.Result.SUCCEEDED) in done
    assert all(a.actor_label == f"schedule {schedule.name}" for a in log)
    # Each stop and start at its boundary, once: never inside the running hours.
    for event in ScheduleEvent.objects.filter(instance=box).exclude(status="skipped"):
        running = schedules.running_at(schedule, event.occurrence + timedelta(minutes=1))
        assert running == (event.action == "start"), (event.action, event.occurrence)
    stops = ScheduleEvent.objects.filter(instance=box, action="stop", status="succeeded")
    assert stops.count() == len(set(stops.values_list("occurrence", flat=True))) >= 2
