"""Idle RDS instances: connections and CPU over the lookback, coverage, Multi-AZ and Aurora."""

from datetime import timedelta
from decimal import Decimal

import pytest

from costs.prices import Price
from findings import databases
from findings.models import DetectionSettings, Recommendation
from findings.resource_savings import basis_of
from tests.findings.resources import NOW, TODAY, billed, database, metric_days, rows_of

RDS = "rds"


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def run(account, settings_row, *dbs, states=None):
    metrics = {db.db_instance_id: rows_of(account, RDS, db.db_instance_id) for db in dbs}
    return databases.find_idle_databases(account, list(dbs), metrics, settings_row, TODAY, states)


def test_no_connections_for_the_whole_lookback_is_idle(acme_account, settings_row):
    db = database(acme_account)
    metric_days(acme_account, RDS, db.db_instance_id, connections_max=0, cpu_avg=30.0)

    [finding] = run(acme_account, settings_row, db)

    assert finding.kind == Recommendation.Kind.IDLE_DATABASE
    assert finding.resource_id == "orders-db"
    assert finding.evidence["rule"] == "no connections on any day"
    assert finding.evidence["days_with_data"] == 14
    # Stop saves compute only: $0.178/h x 730.
    assert finding.monthly_saving == Decimal("129.94")
    assert finding.saving_basis == Recommendation.SavingBasis.PRICE_TABLE
    saving = finding.evidence["saving"]
    assert saving["instance_price"] == "0.178"
    assert saving["stop_monthly_saving"] == "129.94"
    # Deleting also ends 100 GiB of gp3 storage at $0.115.
    assert saving["delete_monthly_saving"] == "141.44"
    assert "7 days" in finding.action
    assert "final snapshot" in finding.action
    assert finding.instance_pk is None


def test_multi_az_doubles_compute_and_storage(acme_account, settings_row):
    db = database(acme_account, multi_az=True)
    metric_days(acme_account, RDS, db.db_instance_id, connections_max=0)

    [finding] = run(acme_account, settings_row, db)

    assert finding.monthly_saving == Decimal("259.88")
    assert finding.evidence["saving"]["delete_monthly_saving"] == "282.88"
    assert finding.evidence["saving"]["price_multiplier"] == 2


def test_aurora_is_not_doubled_and_its_cluster_storage_is_not_counted(acme_account, settings_row):
    db = database(
        acme_account,
        engine="aurora-postgresql",
        instance_class="db.r6g.large",
        multi_az=True,
        cluster_id="orders-cluster",
        storage_type="aurora",
    )
    metric_days(acme_account, RDS, db.db_instance_id, connections_max=0)

    [finding] = run(acme_account, settings_row, db)

    # $0.26/h x 730, once: each Aurora member is its own instance.
    assert finding.monthly_saving == Decimal("189.80")
    assert finding.evidence["saving"]["delete_monthly_saving"] == "189.80"
    assert "storage_price" not in finding.evidence["saving"]
    assert "cluster" in finding.evidence["saving"]["storage_note"]
    assert "Stop Aurora cluster orders-cluster" in finding.action
    assert "not single instances" in finding.action


@pytest.mark.parametrize(
    ("cpu", "connections", "idle"),
    [(5.0, 1, True), (5.1, 1, False), (2.0, 2, False), (0.5, 0, True)],
)
def test_low_cpu_with_few_connections_boundaries(
    acme_account, settings_row, cpu, connections, idle
):
    db = database(acme_account)
    # One busy-ish day is enough to not be "no connections at all".
    metric_days(
        acme_account,
        RDS,
        db.db_instance_id,
        connections_max=lambda i: connections if i else 1,
        cpu_avg=cpu,
    )

    findings = run(acme_account, settings_row, db)

    assert bool(findings) is idle
    if idle:
        assert findings[0].evidence["rule"] == "low CPU and few connections every day"


def test_one_day_of_real_use_is_not_idle(acme_account, settings_row):
    db = database(acme_account)
    metric_days(
        acme_account,
        RDS,
        db.db_instance_id,
        connections_max=lambda i: 40 if i == 7 else 0,
        cpu_avg=lambda i: 60.0 if i == 7 else 1.0,
    )

    assert run(acme_account, settings_row, db) == []


def test_a_day_without_cpu_figures_is_not_a_low_cpu_day(acme_account, settings_row):
    db = database(acme_account)
    metric_days(
        acme_account,
        RDS,
        db.db_instance_id,
        connections_max=1,
        cpu_avg=lambda i: None if i == 3 else 1.0,
    )
    states = {}

    assert run(acme_account, settings_row, db, states=states) == []
    assert states["orders-db"]["verdict"] == databases.NOT_IDLE
    assert states["orders-db"]["days_without_cpu"] == 1


def test_too_little_data_is_no_verdict(acme_account, settings_row):
    db = database(acme_account)
    # 14 x 20 h = 280 h, below 90% of 336 h (302.4 h).
    metric_days(acme_account, RDS, db.db_instance_id, hours=20, connections_max=0)
    states = {}

    assert run(acme_account, settings_row, db, states=states) == []
    assert states["orders-db"]["verdict"] == databases.NOT_ENOUGH_DATA
    assert "no verdict" in states["orders-db"]["state"]


def test_no_rows_at_all_is_no_verdict(acme_account, settings_row):
    db = database(acme_account)
    states = {}

    assert run(acme_account, settings_row, db, states=states) == []
    assert states["orders-db"]["verdict"] == databases.NOT_ENOUGH_DATA


def test_only_available_instances_are_judged(acme_account, settings_row):
    stopped = database(acme_account, "stopped-db", status="stopped")
    gone = database(acme_account, "gone-db", gone_at=NOW - timedelta(hours=2))
    for db in (stopped, gone):
        metric_days(acme_account, RDS, db.db_instance_id, connections_max=0)

    assert run(acme_account, settings_row, stopped, gone) == []


def test_an_unpriced_class_saves_nothing_and_says_so(acme_account, settings_row):
    db = database(acme_account, instance_class="db.x2g.16xlarge")
    metric_days(acme_account, RDS, db.db_instance_id, connections_max=0)

    [finding] = run(acme_account, settings_row, db)

    assert finding.monthly_saving == Decimal(0)
    assert "no price for RDS postgres db.x2g.16xlarge" in finding.evidence["saving"]["note"]
    assert finding.evidence["saving"]["delete_monthly_saving"] == "0.00"


def test_billed_cost_by_arn_comes_first_and_stop_keeps_the_compute_share(
    acme_account, settings_row
):
    db = database(acme_account)
    metric_days(acme_account, RDS, db.db_instance_id, connections_max=0)
    billed(acme_account, db.arn, "5.00")  # $150 over 30 days

    [finding] = run(acme_account, settings_row, db)

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    # Compute is 129.94 of 141.44 at list prices: the stop saving is that share of $150.
    assert finding.monthly_saving.quantize(Decimal("0.01")) == Decimal("137.80")
    assert finding.evidence["saving"]["delete_monthly_saving"] == "150.00"


def test_price_list_basis_only_when_every_price_came_from_it():
    listed = Price(Decimal(1), "hour", "eu-west-1", "price_list", TODAY)
    table = Price(Decimal(1), "hour", "us-east-1", "price_table", TODAY)

    assert basis_of([listed, listed]) == Recommendation.SavingBasis.PRICE_LIST
    assert basis_of([listed, table]) == Recommendation.SavingBasis.PRICE_TABLE
    assert basis_of([]) == Recommendation.SavingBasis.PRICE_TABLE
