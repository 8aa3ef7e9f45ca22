"""detect() end to end with the resources beyond EC2: every new kind, reconciled and resolved."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from costs import prices
from findings import detection
from findings.models import DetectionSettings, Recommendation
from findings.rightsizing import InstanceSpec
from fleet.models import (
    DatabaseInstance,
    Instance,
    LoadBalancer,
    NatGateway,
    ResourceMetricDay,
    Snapshot,
)
from tests.findings.resources import NOW, balancer, database, metric_days, nat, snapshot, volume

Kind = Recommendation.Kind
NEW_KINDS = {
    Kind.OLD_SNAPSHOT,
    Kind.IDLE_DATABASE,
    Kind.IDLE_NAT_GATEWAY,
    Kind.IDLE_LOAD_BALANCER,
    Kind.OLD_GENERATION,
    Kind.GRAVITON,
}


def busy_instance(account, instance_id, instance_type):
    from tests.findings.test_generations import days

    instance = Instance.objects.create(
        account=account,
        region="us-east-1",
        instance_id=instance_id,
        instance_type=instance_type,
        state="running",
        platform="Linux/UNIX",
    )
    days(instance, p95=70.0)
    return instance


def fleet(account, n=1):
    for i in range(n):
        snapshot(account, f"snap-{i}")
        db = database(account, f"db-{i}")
        metric_days(account, "rds", db.db_instance_id, connections_max=0, cpu_avg=1.0)
        gateway = nat(account, f"nat-{i}")
        metric_days(account, "nat", gateway.nat_gateway_id, bytes_out_to_destination=0)
        lb = balancer(account, f"web-{i}")
        metric_days(account, "lb", lb.dimension, hours=0)
        busy_instance(account, f"i-old-{i}", "m4.large")
        busy_instance(account, f"i-x86-{i}", "c5.large")


def live(account):
    return {
        (r.kind, r.resource_id)
        for r in Recommendation.objects.filter(account=account, status="open")
        if r.kind in NEW_KINDS
    }


@pytest.mark.django_db
def test_detect_opens_one_recommendation_of_each_new_kind(acme_account):
    fleet(acme_account)

    result = detection.detect(acme_account, now=NOW, specs={})

    assert live(acme_account) == {
        (Kind.OLD_SNAPSHOT, "snap-0"),
        (Kind.IDLE_DATABASE, "db-0"),
        (Kind.IDLE_NAT_GATEWAY, "nat-0"),
        (Kind.IDLE_LOAD_BALANCER, "app/web-0/50dc6c495c0c9188"),
        (Kind.OLD_GENERATION, "i-old-0"),
        (Kind.GRAVITON, "i-x86-0"),
    }
    assert result.resource_states["db-0"]["verdict"] == "idle"
    rec = Recommendation.objects.get(kind=Kind.IDLE_DATABASE)
    assert rec.monthly_saving > 0
    assert rec.saving_basis == Recommendation.SavingBasis.PRICE_TABLE
    assert rec.evidence["saving"]["instance_price_source"] == "price_table"
    assert rec.instance is None
    old_gen = Recommendation.objects.get(kind=Kind.OLD_GENERATION)
    assert old_gen.target_type == "m6i.large"
    assert old_gen.instance.instance_id == "i-old-0"


@pytest.mark.django_db
def test_vanished_resources_resolve_their_recommendations(acme_account):
    fleet(acme_account)
    detection.detect(acme_account, now=NOW, specs={})
    assert len(live(acme_account)) == 6

    later = NOW + timedelta(hours=1)
    for model in (Snapshot, DatabaseInstance, NatGateway, LoadBalancer):
        model.objects.filter(account=acme_account).update(gone_at=later)
    Instance.objects.filter(account=acme_account).update(gone_at=later)
    result = detection.detect(acme_account, now=later, specs={})

    assert live(acme_account) == set()
    assert result.reconciled.resolved >= 6
    assert "db-0" not in result.resource_states


@pytest.mark.django_db
def test_missing_metrics_state_no_verdict_and_no_finding(acme_account):
    database(acme_account, "quiet-db")
    nat(acme_account, "nat-quiet")
    balancer(acme_account, "quiet")

    result = detection.detect(acme_account, now=NOW, specs={})

    assert live(acme_account) == set()
    states = result.resource_states
    assert states["quiet-db"]["verdict"] == "not_enough_data"
    assert states["nat-quiet"]["verdict"] == "not_enough_data"
    assert states["app/quiet/50dc6c495c0c9188"]["verdict"] == "not_enough_data"


@pytest.mark.django_db
def test_a_snapshot_whose_volume_is_present_and_latest_is_left_alone(acme_account):
    volume(acme_account, "vol-live")
    snapshot(acme_account, "snap-keep", volume_id="vol-live")

    detection.detect(acme_account, now=NOW, specs={})

    assert live(acme_account) == set()


@pytest.mark.django_db
def test_metric_rows_for_today_are_not_part_of_the_lookback(acme_account):
    db = database(acme_account)
    # 12 whole days (288 h, below 90% of 336 h); today's row would make it 312 h.
    metric_days(acme_account, "rds", db.db_instance_id, n=12, connections_max=0)
    ResourceMetricDay.objects.create(
        account=acme_account,
        resource_kind="rds",
        resource_id=db.db_instance_id,
        day=NOW.date(),
        hours=24,
        figures={"connections_max": 0},
    )

    result = detection.detect(acme_account, now=NOW, specs={})

    assert result.resource_states["orders-db"]["hours_with_data"] == 288
    assert result.resource_states["orders-db"]["verdict"] == "not_enough_data"


def _queries(account, n):
    fleet(account, n)
    with CaptureQueriesContext(connection) as captured:
        detection.detect(account, now=NOW, specs={"m4.large": InstanceSpec(2, 8192)})
    return len(captured)


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_number_of_resources(acme_account, acme):
    from accounts.models import CloudAccount

    other = CloudAccount.objects.create(
        organization=acme,
        name="Acme staging",
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
        regions=["us-east-1"],
    )
    DetectionSettings.for_organization(acme)
    # The price cache is read once per process (costs/prices.py), not per detection.
    prices.ec2_hourly("m5.large", "us-east-1")
    assert _queries(acme_account, 1) == _queries(other, 5)
