"""Idle NAT gateways and load balancers: traffic over the lookback, targets, age, coverage."""

from datetime import timedelta
from decimal import Decimal

import pytest

from findings import network_waste
from findings.models import DetectionSettings, Recommendation
from tests.findings.resources import NOW, TODAY, balancer, billed, metric_days, nat, rows_of

GB = 1024**3
PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def run_nat(account, settings_row, *gateways, states=None):
    metrics = {g.nat_gateway_id: rows_of(account, "nat", g.nat_gateway_id) for g in gateways}
    return network_waste.find_idle_nat_gateways(
        account, list(gateways), metrics, settings_row, TODAY, states
    )


def run_lb(account, settings_row, *balancers, states=None):
    metrics = {b.dimension: rows_of(account, "lb", b.dimension) for b in balancers}
    return network_waste.find_idle_load_balancers(
        account, list(balancers), metrics, settings_row, TODAY, states
    )


# --- NAT gateways ---


def test_a_nat_gateway_sending_nothing_is_idle_and_priced_per_hour(acme_account, settings_row):
    gateway = nat(acme_account)
    metric_days(acme_account, "nat", "nat-01", bytes_out_to_destination=0, bytes_processed=0)

    [finding] = run_nat(acme_account, settings_row, gateway)

    assert finding.kind == Recommendation.Kind.IDLE_NAT_GATEWAY
    assert finding.resource_id == "nat-01"
    # $0.045/h x 730; no data processed.
    assert finding.monthly_saving == Decimal("32.85")
    assert finding.saving_basis == PRICE_TABLE
    assert finding.evidence["saving"]["hourly_price"] == "0.045"
    assert finding.evidence["bytes_out_to_destination"] == 0
    assert "route tables" in finding.action


def test_data_processed_is_scaled_to_a_month(acme_account, settings_row):
    gateway = nat(acme_account)
    # 0.5 GiB a day for 14 days = 7 GiB over 336 hours: 15.208 GiB a month at $0.045.
    metric_days(acme_account, "nat", "nat-01", bytes_out_to_destination=0, bytes_processed=GB // 2)

    [finding] = run_nat(acme_account, settings_row, gateway)

    saving = finding.evidence["saving"]
    assert saving["processed_gb_month"] == "15.208"
    assert saving["data_monthly"] == "0.68"
    assert finding.monthly_saving.quantize(Decimal("0.01")) == Decimal("33.53")


@pytest.mark.parametrize(("total_bytes", "idle"), [(GB, True), (GB + 14, False)])
def test_nat_idle_threshold_boundary(acme_account, settings_row, total_bytes, idle):
    gateway = nat(acme_account)
    metric_days(
        acme_account,
        "nat",
        "nat-01",
        bytes_out_to_destination=lambda i: total_bytes if i == 0 else 0,
    )

    assert bool(run_nat(acme_account, settings_row, gateway)) is idle


def test_nat_without_enough_data_has_no_verdict(acme_account, settings_row):
    gateway = nat(acme_account)
    metric_days(acme_account, "nat", "nat-01", n=10, bytes_out_to_destination=0)
    states = {}

    assert run_nat(acme_account, settings_row, gateway, states=states) == []
    assert states["nat-01"]["verdict"] == network_waste.NOT_ENOUGH_DATA
    assert states["nat-01"]["hours_with_data"] == 240


def test_a_young_or_not_available_or_gone_nat_is_not_judged(acme_account, settings_row):
    young = nat(acme_account, "nat-young", created_at=NOW - timedelta(days=5))
    deleting = nat(acme_account, "nat-deleting", state="deleting")
    gone = nat(acme_account, "nat-gone", gone_at=NOW - timedelta(hours=1))
    for gateway in (young, deleting, gone):
        metric_days(acme_account, "nat", gateway.nat_gateway_id, bytes_out_to_destination=0)
    states = {}

    assert run_nat(acme_account, settings_row, young, deleting, gone, states=states) == []
    assert states["nat-young"]["verdict"] == network_waste.TOO_NEW
    assert states["nat-deleting"]["verdict"] == network_waste.NOT_ACTIVE
    assert "nat-gone" not in states


def test_nat_age_unknown_falls_back_to_first_sighting(acme_account, settings_row):
    gateway = nat(acme_account, created_at=None, first_seen_at=NOW - timedelta(days=40))
    metric_days(acme_account, "nat", "nat-01", bytes_out_to_destination=0)

    assert len(run_nat(acme_account, settings_row, gateway)) == 1


def test_nat_billed_cost_comes_first(acme_account, settings_row):
    gateway = nat(acme_account)
    metric_days(acme_account, "nat", "nat-01", bytes_out_to_destination=0)
    billed(acme_account, "arn:aws:ec2:us-east-1:111111111111:natgateway/nat-01", "1.20")

    [finding] = run_nat(acme_account, settings_row, gateway)

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    assert finding.monthly_saving == Decimal("36.00")


# --- Load balancers ---


def test_a_load_balancer_without_targets_is_idle_whatever_its_metrics(acme_account, settings_row):
    lb = balancer(acme_account, registered_targets=0, healthy_targets=0)

    [finding] = run_lb(acme_account, settings_row, lb)

    assert finding.kind == Recommendation.Kind.IDLE_LOAD_BALANCER
    assert finding.resource_id == "app/web/50dc6c495c0c9188"
    assert finding.evidence["rule"] == "no registered targets"
    # $0.0225/h x 730, no capacity units.
    assert finding.monthly_saving == Decimal("16.425")
    assert finding.saving_basis == PRICE_TABLE


def test_no_healthy_target_is_idle(acme_account, settings_row):
    lb = balancer(acme_account, registered_targets=3, healthy_targets=0)

    [finding] = run_lb(acme_account, settings_row, lb)

    assert finding.evidence["rule"] == "no healthy targets"
    assert "none of its 3 targets healthy" in finding.summary


def test_absent_request_figures_count_as_no_requests(acme_account, settings_row):
    lb = balancer(acme_account)
    # The collector's rows exist for every day, with nothing reported: ELB was silent.
    metric_days(acme_account, "lb", lb.dimension, hours=0)

    [finding] = run_lb(acme_account, settings_row, lb)

    assert finding.evidence["requests"] == 0
    assert finding.evidence["days_collected"] == 14
    assert "0 requests in 14 days" in finding.summary


def test_capacity_units_are_scaled_to_a_month(acme_account, settings_row):
    lb = balancer(acme_account, lb_type="network")
    metric_days(acme_account, "lb", lb.dimension, lcu_hours=lambda i: 0.48 if i < 7 else None)

    [finding] = run_lb(acme_account, settings_row, lb)

    # 3.36 NLCU-hours over 336 hours: 7.3 a month at $0.006, plus $0.0225 x 730.
    saving = finding.evidence["saving"]
    assert saving["capacity_unit_hours_month"] == "7.300"
    assert finding.monthly_saving.quantize(Decimal("0.0001")) == Decimal("16.4688")
    assert finding.evidence["request_metric"] == "NewFlowCount"
    assert "new flows" in finding.summary


@pytest.mark.parametrize(("requests", "threshold", "idle"), [(1, 0, False), (5, 5, True)])
def test_request_threshold_boundary(acme_account, settings_row, requests, threshold, idle):
    settings_row.lb_idle_requests = threshold
    lb = balancer(acme_account)
    metric_days(acme_account, "lb", lb.dimension, requests=lambda i: requests if i == 0 else None)

    assert bool(run_lb(acme_account, settings_row, lb)) is idle


def test_missing_collection_days_are_no_verdict(acme_account, settings_row):
    lb = balancer(acme_account)
    metric_days(acme_account, "lb", lb.dimension, n=10, hours=0)
    states = {}

    assert run_lb(acme_account, settings_row, lb, states=states) == []
    assert states[lb.dimension]["verdict"] == network_waste.NOT_ENOUGH_DATA
    assert "10 of 14 days" in states[lb.dimension]["state"]


def test_gateway_young_inactive_and_gone_balancers_are_not_judged(acme_account, settings_row):
    gateway = balancer(acme_account, "gw", lb_type="gateway", registered_targets=0)
    young = balancer(acme_account, "young", registered_targets=0, created_at=NOW - timedelta(1))
    provisioning = balancer(acme_account, "prov", registered_targets=0, state="provisioning")
    gone = balancer(acme_account, "gone", registered_targets=0, gone_at=NOW)
    states = {}

    assert (
        run_lb(acme_account, settings_row, gateway, young, provisioning, gone, states=states) == []
    )
    assert states[gateway.dimension]["verdict"] == network_waste.SKIPPED
    assert states[young.dimension]["verdict"] == network_waste.TOO_NEW
    assert states[provisioning.dimension]["verdict"] == network_waste.NOT_ACTIVE


def test_lb_billed_cost_by_arn_comes_first(acme_account, settings_row):
    lb = balancer(acme_account, registered_targets=0)
    billed(acme_account, lb.arn, "0.60")

    [finding] = run_lb(acme_account, settings_row, lb)

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    assert finding.monthly_saving == Decimal("18.00")
