"""Schedule recommendations from the stored hourly utilization: found in the account's time
zone, priced from the stop saving, never for what a schedule must not stop."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from findings import detection, savings
from findings.models import Recommendation
from fleet.models import Instance, UtilizationDay

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)
NOW = datetime.combine(TODAY, time(6), UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def office_day(day: date, zone=BERLIN, busy=60.0, quiet=1.5) -> list[float]:
    """24 UTC hours of a box busy Monday to Friday, 08:00 to 18:59 local time."""
    values = []
    for hour in range(24):
        local = datetime.combine(day, time(hour), UTC).astimezone(zone)
        working = local.weekday() < 5 and 8 <= local.hour < 19
        values.append(busy if working else quiet)
    return values


def box(account, instance_id="i-office", **fields):
    return Instance.objects.create(
        account=account,
        region="us-east-1",
        instance_id=instance_id,
        instance_type="m5.xlarge",
        state="running",
        **fields,
    )


def history(instance, days=28, hourly=office_day):
    for n in range(days, 0, -1):
        day = TODAY - timedelta(days=n)
        cpu = hourly(day)
        UtilizationDay.objects.create(
            instance=instance,
            day=day,
            hours=24,
            cpu_avg=sum(cpu) / 24,
            cpu_max=max(cpu) + 5,
            cpu_p95=max(cpu),
            cpu_peak_hour_avg=max(cpu),
            network_hours=24,
            network_bytes=12 * 1_000_000,
            cpu_hourly=cpu,
            network_2h=[1_000_000] * 12,
        )


def schedules(account):
    return Recommendation.objects.filter(account=account, kind=Recommendation.Kind.SCHEDULE)


@pytest.fixture
def berlin_account(acme_account):
    acme_account.time_zone = "Europe/Berlin"
    acme_account.save()
    return acme_account


def test_an_office_hours_box_gets_a_schedule_with_its_saving(berlin_account):
    instance = box(berlin_account)
    history(instance)

    detection.detect(berlin_account, now=NOW, specs={})

    (rec,) = schedules(berlin_account)
    assert rec.evidence["schedule"] == "Mon\u2013Fri 07:30\u201319:30 Europe/Berlin"
    stopped = rec.evidence["stopped_hours_per_week"]
    assert stopped == 168 - 5 * 12
    full, _, _ = savings.instance_stop_saving(berlin_account, instance, TODAY)
    assert rec.monthly_saving == (full * Decimal(stopped) / 168).quantize(Decimal("0.01"))
    assert rec.monthly_saving > 0
    assert len(rec.evidence["heat_map"]["max_cpu"]) == 7  # the weekly heat map, as evidence
    # Busy in working hours: not idle, so no stop recommendation competes with it.
    assert not Recommendation.objects.filter(kind=Recommendation.Kind.IDLE_INSTANCE).exists()


def test_the_schedule_follows_the_accounts_time_zone(acme, acme_account):
    acme.time_zone = "America/New_York"
    acme.save()
    instance = box(acme_account)
    history(instance, hourly=lambda day: office_day(day, ZoneInfo("America/New_York")))

    detection.detect(acme_account, now=NOW, specs={})

    (rec,) = schedules(acme_account)
    assert rec.evidence["schedule"] == "Mon\u2013Fri 07:30\u201319:30 America/New_York"


@pytest.mark.parametrize(
    "fields",
    [
        {"tags": {"spendlens:protect": "true"}},
        {"lifecycle": "spot"},
        {"root_device_type": "instance-store"},
    ],
)
def test_never_for_what_a_schedule_must_not_stop(berlin_account, fields):
    history(box(berlin_account, **fields))

    detection.detect(berlin_account, now=NOW, specs={})

    assert not schedules(berlin_account).exists()


def test_an_auto_scaling_member_gets_scheduled_scaling_advice(berlin_account):
    history(box(berlin_account, auto_scaling_group="web-asg"))

    detection.detect(berlin_account, now=NOW, specs={})

    (rec,) = schedules(berlin_account)
    assert "scheduled actions to Auto Scaling group web-asg" in rec.action


def test_a_nightly_job_outside_office_hours_gets_none(berlin_account):
    def with_batch(day):
        values = office_day(day)
        values[1] = 90.0  # 02:00 Berlin in winter: every night
        return values

    history(box(berlin_account), hourly=with_batch)

    detection.detect(berlin_account, now=NOW, specs={})

    assert not schedules(berlin_account).exists()


def test_two_weeks_are_the_minimum_and_a_gap_is_missing_data_not_quiet(berlin_account):
    history(box(berlin_account), days=13)

    detection.detect(berlin_account, now=NOW, specs={})

    assert not schedules(berlin_account).exists()


def test_once_the_pattern_is_gone_the_recommendation_resolves(berlin_account):
    instance = box(berlin_account)
    history(instance)
    detection.detect(berlin_account, now=NOW, specs={})
    UtilizationDay.objects.filter(instance=instance).update(
        cpu_hourly=[60.0] * 24, cpu_avg=60.0, cpu_p95=60.0
    )

    detection.detect(berlin_account, now=NOW, specs={})

    assert schedules(berlin_account).get().status == Recommendation.Status.RESOLVED


def test_the_admin_shows_the_weekly_heat_map(client, alice, berlin_account):
    from django.urls import reverse

    history(box(berlin_account))
    detection.detect(berlin_account, now=NOW, specs={})
    rec = schedules(berlin_account).get()
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)

    page = client.get(reverse("admin:findings_recommendation_change", args=[rec.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert 'class="sl-heat-map"' in body
    assert body.count("sl-busy") >= 5 * 11  # eleven busy office hours a weekday, outlined
    assert "css/admin-pages.css" in body
