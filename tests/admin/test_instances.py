"""The instances page: 14-day CPU figures, the on-demand price, the open recommendation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from findings.models import Recommendation
from fleet.models import Instance, UtilizationDay

PAGE = "admin:fleet_instance_changelist"
pytestmark = pytest.mark.django_db


def instance(account, instance_id, instance_type="m5.large"):
    return Instance.objects.create(
        account=account,
        region="us-east-1",
        instance_id=instance_id,
        name=instance_id.replace("i-", "box-"),
        instance_type=instance_type,
        state="running",
    )


def day(box, back, hours, avg, peak, p95):
    UtilizationDay.objects.create(
        instance=box,
        day=timezone.localdate() - timedelta(days=back),
        hours=hours,
        cpu_avg=avg,
        cpu_max=peak,
        cpu_p95=p95,
        network_hours=hours,
        network_bytes=0,
    )


@pytest.fixture
def busy(acme_account):
    box = instance(acme_account, "i-0busy")
    day(box, 1, hours=24, avg=10.0, peak=50.0, p95=20.0)
    day(box, 2, hours=12, avg=40.0, peak=90.0, p95=60.0)
    day(box, 20, hours=24, avg=99.0, peak=100.0, p95=99.0)  # before the window
    return box


def test_cpu_figures_follow_the_rightsizing_rules(client, olivia_staff, busy):
    client.force_login(olivia_staff)

    response = client.get(reverse(PAGE))

    row = response.context["cl"].result_list[0]
    # Hours-weighted mean, highest hour, highest daily p95; the old day is left out.
    assert row.cpu_avg_14d == pytest.approx((10 * 24 + 40 * 12) / 36)
    assert (row.cpu_max_14d, row.cpu_p95_14d) == (90.0, 60.0)
    body = response.content.decode()
    assert '<td class="field-cpu_avg_pct">20.0%</td>' in body
    assert '<td class="field-cpu_max_pct">90.0%</td>' in body


def test_unknowns_read_as_a_dash(client, olivia_staff, acme_account):
    instance(acme_account, "i-0new", instance_type="x9.unknown")
    client.force_login(olivia_staff)

    body = client.get(reverse(PAGE)).content.decode()

    assert '<td class="field-cpu_avg_pct">—</td>' in body
    assert '<td class="field-monthly_cost_money">—</td>' in body
    assert '<td class="field-recommendation">—</td>' in body


def test_monthly_cost_and_the_open_recommendation(client, olivia_staff, busy):
    rec = Recommendation.objects.create(
        account=busy.account,
        kind=Recommendation.Kind.RIGHTSIZE,
        resource_id=busy.instance_id,
        region=busy.region,
        instance=busy,
        summary="busy is oversized",
        action="Move to m5.medium",
        monthly_saving=Decimal("35.04"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    Recommendation.objects.create(
        account=busy.account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=busy.instance_id,
        region=busy.region,
        instance=busy,
        status=Recommendation.Status.RESOLVED,
        summary="busy was idle once",
        action="Stop it",
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    client.force_login(olivia_staff)

    body = client.get(reverse(PAGE)).content.decode()

    assert "$70.08/month" in body  # m5.large on demand, 730 hours
    rec_url = reverse("admin:findings_recommendation_change", args=[rec.pk])
    label = "Oversized instance: move to a smaller type"
    assert f'<a href="{rec_url}" title="{label}">Oversized instance</a>' in body
    assert "($35.04/month)" in body
    assert "Idle instance" not in body  # resolved: not open


def test_sorting_by_a_cpu_figure(client, olivia_staff, busy, acme_account):
    quiet = instance(acme_account, "i-0quiet")
    day(quiet, 1, hours=24, avg=1.0, peak=3.0, p95=2.0)
    client.force_login(olivia_staff)
    column = client.get(reverse(PAGE)).context["cl"].list_display.index("cpu_avg_pct")

    ascending = client.get(reverse(PAGE), {"o": str(column)}).context["cl"].result_list

    assert [box.instance_id for box in ascending] == ["i-0quiet", "i-0busy"]


def test_the_detail_page_shows_the_figures_and_evidence(client, olivia_staff, busy):
    busy.verdict = "not_idle"
    busy.verdict_evidence = {"max_cpu": 90.0, "rules_met": []}
    busy.save()
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:fleet_instance_change", args=[busy.pk])).content.decode()

    assert "CPU, last 14 days" in body and "90.0%" in body
    assert '<table class="evidence"><tr><th scope="row">max cpu</th><td>90.0</td>' in body
    assert "$70.08/month" in body


def test_missing_network_data_reads_as_unknown_never_as_zero(client, olivia_staff, acme_account):
    from findings import idle
    from findings.models import DetectionSettings

    box = instance(acme_account, "i-0nonet")
    for back in range(1, 15):
        UtilizationDay.objects.create(
            instance=box,
            day=timezone.localdate() - timedelta(days=back),
            hours=24,
            cpu_avg=0.5,
            cpu_max=0.8,
            cpu_p95=0.6,
            cpu_peak_hour_avg=0.6,
            network_hours=0,
            network_bytes=None,
        )
    settings_row = DetectionSettings.for_organization(acme_account.organization)
    assessment = idle.assess(box, list(box.utilization.all()), settings_row)
    box.verdict, box.verdict_evidence = assessment.verdict, assessment.evidence
    box.save()
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:fleet_instance_change", args=[box.pk])).content.decode()

    assert box.verdict == "not_enough_data"
    assert '<th scope="row">max daily network mb</th><td>—</td>' in body
    assert (
        '<th scope="row">not enough data</th><td>network data for 0 of the 302 hours '
        "required: CPU alone never makes a box idle</td>"
    ) in body
    assert '<th scope="row">network hours with data</th><td>0</td>' in body
