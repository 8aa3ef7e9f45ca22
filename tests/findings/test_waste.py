"""Waste: unattached and gp2 volumes, idle addresses, volumes of long-stopped instances."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from costs.models import CostRecord
from findings.models import DetectionSettings, Recommendation
from findings.recommendations import reconcile
from findings.waste import find_waste
from fleet.models import ElasticIP, Instance, Volume

TODAY = date(2026, 11, 23)
Kind = Recommendation.Kind
PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def volume(account, volume_id="vol-01", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "volume_id": volume_id,
        "volume_type": "gp3",
        "size_gib": 50,
        "state": "in-use",
        **fields,
    }
    return Volume.objects.create(**values)


def address(account, allocation_id="eipalloc-01", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "allocation_id": allocation_id,
        "public_ip": "203.0.113.7",
        **fields,
    }
    return ElasticIP.objects.create(**values)


def instance(account, instance_id="i-0abc", state="running", stopped_days_ago=None, **fields):
    since = None
    if stopped_days_ago is not None:
        since = datetime(2026, 11, 23, 9, 30, tzinfo=UTC) - timedelta(days=stopped_days_ago)
    return Instance.objects.create(
        account=account,
        region="us-east-1",
        instance_id=instance_id,
        instance_type="t3.large",
        state=state,
        state_since=since,
        **fields,
    )


def waste(account, settings_row, volumes=(), addresses=(), instances=()):
    return find_waste(account, list(volumes), list(addresses), list(instances), settings_row, TODAY)


def kinds(findings):
    return sorted((f.kind, f.resource_id) for f in findings)


def test_an_unattached_volume_saves_its_whole_monthly_cost(acme_account, settings_row):
    orphan = volume(acme_account, state="available", volume_type="gp3", size_gib=50)

    [finding] = waste(acme_account, settings_row, [orphan])

    assert finding.kind == Kind.UNATTACHED_VOLUME
    assert finding.resource_id == "vol-01"
    assert finding.monthly_saving == Decimal("4.00")
    assert finding.saving_basis == PRICE_TABLE
    assert finding.evidence["state"] == "available"
    assert finding.evidence["saving"]["monthly"] == "4.00"
    assert "delete" in finding.action


def test_an_unattached_gp2_volume_gets_only_the_delete_advice(acme_account, settings_row):
    orphan = volume(acme_account, state="available", volume_type="gp2", size_gib=100)

    findings = waste(acme_account, settings_row, [orphan])

    assert kinds(findings) == [(Kind.UNATTACHED_VOLUME, "vol-01")]
    assert findings[0].monthly_saving == Decimal("10.00")


def test_an_attached_gp2_volume_should_move_to_gp3(acme_account, settings_row):
    box = instance(acme_account)
    data = volume(acme_account, volume_type="gp2", size_gib=200, attached_instance_id="i-0abc")

    [finding] = waste(acme_account, settings_row, [data], instances=[box])

    assert finding.kind == Kind.GP2_VOLUME
    assert finding.monthly_saving == Decimal("4.00")  # 200 GiB x (0.10 - 0.08)
    assert finding.evidence["saving"]["gp2_monthly"] == "20.00"
    assert finding.evidence["saving"]["gp3_monthly"] == "16.00"
    assert "gp3 with 3000 IOPS" in finding.action


def test_attached_gp3_volumes_of_running_instances_are_not_waste(acme_account, settings_row):
    box = instance(acme_account)
    data = volume(acme_account, attached_instance_id="i-0abc")

    assert waste(acme_account, settings_row, [data], instances=[box]) == []


def test_an_unassociated_elastic_ip_costs_its_hourly_charge(acme_account, settings_row):
    idle = address(acme_account)
    used = address(
        acme_account,
        allocation_id="eipalloc-02",
        public_ip="203.0.113.8",
        association_id="eipassoc-02",
        instance_id="i-0abc",
    )

    [finding] = waste(acme_account, settings_row, addresses=[idle, used])

    assert finding.kind == Kind.UNASSOCIATED_EIP
    assert finding.resource_id == "eipalloc-01"
    assert finding.monthly_saving == Decimal("3.65")
    assert "203.0.113.7" in finding.summary
    assert finding.evidence["saving"]["hourly"] == "0.005"


def test_a_volume_of_an_instance_stopped_31_days_ago_is_flagged(acme_account, settings_row):
    box = instance(acme_account, state="stopped", stopped_days_ago=31)
    root = volume(acme_account, size_gib=50, attached_instance_id="i-0abc")

    [finding] = waste(acme_account, settings_row, [root], instances=[box])

    assert finding.kind == Kind.STOPPED_INSTANCE_VOLUME
    assert finding.monthly_saving == Decimal("4.00")
    assert finding.instance_pk == box.pk
    assert finding.evidence["stopped_days"] == 31
    assert finding.evidence["stopped_volume_days"] == 30
    assert "snapshot" in finding.action


@pytest.mark.parametrize("stopped_days_ago", [29, 30])
def test_a_volume_of_an_instance_stopped_30_days_or_less_is_not(
    acme_account, settings_row, stopped_days_ago
):
    box = instance(acme_account, state="stopped", stopped_days_ago=stopped_days_ago)
    root = volume(acme_account, attached_instance_id="i-0abc")

    assert waste(acme_account, settings_row, [root], instances=[box]) == []


def test_the_stopped_period_is_per_organisation(acme_account, settings_row):
    settings_row.stopped_volume_days = 7
    box = instance(acme_account, state="stopped", stopped_days_ago=8)
    root = volume(acme_account, attached_instance_id="i-0abc")

    assert kinds(waste(acme_account, settings_row, [root], instances=[box])) == [
        (Kind.STOPPED_INSTANCE_VOLUME, "vol-01")
    ]


def test_a_stopped_instance_with_no_known_stop_time_is_not_judged(acme_account, settings_row):
    box = instance(acme_account, state="stopped")
    root = volume(acme_account, attached_instance_id="i-0abc")

    assert waste(acme_account, settings_row, [root], instances=[box]) == []


def test_a_gp2_volume_of_a_long_stopped_instance_gets_only_the_delete_advice(
    acme_account, settings_row
):
    box = instance(acme_account, state="stopped", stopped_days_ago=45)
    root = volume(acme_account, volume_type="gp2", size_gib=100, attached_instance_id="i-0abc")

    findings = waste(acme_account, settings_row, [root], instances=[box])

    assert kinds(findings) == [(Kind.STOPPED_INSTANCE_VOLUME, "vol-01")]
    assert findings[0].monthly_saving == Decimal("10.00")


def test_a_gp2_volume_of_a_recently_stopped_instance_still_moves_to_gp3(acme_account, settings_row):
    box = instance(acme_account, state="stopped", stopped_days_ago=29)
    root = volume(acme_account, volume_type="gp2", size_gib=100, attached_instance_id="i-0abc")

    assert kinds(waste(acme_account, settings_row, [root], instances=[box])) == [
        (Kind.GP2_VOLUME, "vol-01")
    ]


def test_resources_gone_from_aws_are_ignored(acme_account, settings_row):
    gone = datetime(2026, 11, 20, tzinfo=UTC)
    orphan = volume(acme_account, state="available", gone_at=gone)
    old_gp2 = volume(acme_account, "vol-02", volume_type="gp2", gone_at=gone)
    idle = address(acme_account, gone_at=gone)

    assert waste(acme_account, settings_row, [orphan, old_gp2], [idle]) == []


def test_billed_cost_is_the_basis_when_the_store_has_it(acme_account, settings_row):
    orphan = volume(acme_account, state="available")
    for days_ago in range(1, 31):
        CostRecord.objects.create(
            organization=acme_account.organization,
            account=acme_account,
            source="focus",
            metric="billed",
            sub_account_id=acme_account.account_id,
            usage_date=TODAY - timedelta(days=days_ago),
            service="Amazon Elastic Compute Cloud",
            region="us-east-1",
            resource_id="vol-01",
            amount=Decimal("0.15"),
        )

    [finding] = waste(acme_account, settings_row, [orphan])

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    assert finding.monthly_saving == Decimal("4.50")


def test_the_demo_shaped_account_reconciles_into_recommendations(acme_account, settings_row):
    box = instance(acme_account)
    resources = [
        volume(acme_account, "vol-orphan", state="available", volume_type="gp2", size_gib=100),
        volume(
            acme_account, "vol-data", volume_type="gp2", size_gib=200, attached_instance_id="i-0abc"
        ),
    ]
    findings = waste(acme_account, settings_row, resources, [address(acme_account)], [box])

    reconcile(acme_account, [choice.value for choice in Kind], findings)

    stored = {
        (rec.kind, rec.resource_id): rec.monthly_saving
        for rec in Recommendation.objects.filter(account=acme_account)
    }
    assert stored == {
        (Kind.UNATTACHED_VOLUME, "vol-orphan"): Decimal("10.00"),
        (Kind.GP2_VOLUME, "vol-data"): Decimal("4.00"),
        (Kind.UNASSOCIATED_EIP, "eipalloc-01"): Decimal("3.65"),
    }
