"""Idle NAT gateways and load balancers: billed by the hour whether or not traffic flows.

Both must have existed for the whole lookback (created, or first seen by the inventory, before
its first day): a gateway created last week has not had the chance to carry traffic.

NAT gateway (state "available"): idle when it sent at most nat_idle_gb GB to destinations
(BytesOutToDestination) over the lookback. NAT gateways report their metrics every minute, zero
or not, so fewer hours with data than min_coverage_percent of the lookback is "not enough data"
and no verdict. Saving: the hourly charge x 730 plus the data it processed (bytes in from
sources and destinations, what NAT bills per GB) scaled to a month.

Load balancer (state "active", application or network): idle when no target is healthy (none
registered, or all failing their health checks: it can serve nothing), or when it received at
most lb_idle_requests requests (ALB RequestCount) or new flows (NLB NewFlowCount) over the
lookback. ELB publishes those metrics only when there is traffic, so a day whose figures are
absent counts as a day without requests; what must be present is the collector's row for every
lookback day, which proves the collection ran (else "not enough data", no verdict). Saving: the
hourly charge x 730 plus its capacity-unit hours (LCU/NLCU) scaled to a month.

Gateway Load Balancers are skipped: their traffic is appliance traffic routed through endpoints
(no requests or flows to count the same way), and the collector does not gather their metrics.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from findings import resource_savings
from findings.models import Recommendation
from findings.recommendations import Finding

IDLE = "idle"
NOT_IDLE = "not_idle"
NOT_ENOUGH_DATA = "not_enough_data"
TOO_NEW = "too_new"
NOT_ACTIVE = "not_active"
SKIPPED = "skipped"
BYTES_PER_GB = resource_savings.BYTES_PER_GB


def lookback_start(settings, today) -> datetime:
    return datetime.combine(today - timedelta(days=settings.lookback_days), time.min, tzinfo=UTC)


def existed_all_lookback(resource, settings, today) -> bool:
    # The inventory's first sighting is later than the creation, so it proves the age too.
    born = resource.created_at or resource.first_seen_at
    return born is not None and born <= lookback_start(settings, today)


def _age(resource, settings, today) -> dict:
    born = resource.created_at or resource.first_seen_at
    return {
        "created_at": resource.created_at.isoformat() if resource.created_at else None,
        "lookback_start": lookback_start(settings, today).isoformat(),
        "existed_since": born.isoformat() if born else None,
    }


def _sum(days, key: str) -> Decimal:
    return sum((Decimal(str(day.figures.get(key, 0))) for day in days), Decimal(0))


# --- NAT gateways ---


def check_nat(gateway, days: list, settings, today) -> tuple[str, dict]:
    if gateway.state != "available":
        return NOT_ACTIVE, {"state": gateway.state}
    evidence = {"lookback_days": settings.lookback_days, **_age(gateway, settings, today)}
    if not existed_all_lookback(gateway, settings, today):
        evidence["state"] = "younger than the lookback: no verdict"
        return TOO_NEW, evidence
    hours = sum(day.hours for day in days)
    required = settings.lookback_days * 24 * settings.min_coverage_percent / 100
    evidence.update(
        hours_with_data=hours,
        required_hours=round(required, 1),
        min_coverage_percent=settings.min_coverage_percent,
    )
    if hours == 0 or hours < required:
        evidence["state"] = "not enough BytesOutToDestination data over the lookback: no verdict"
        return NOT_ENOUGH_DATA, evidence
    out_bytes = _sum(days, "bytes_out_to_destination")
    processed = _sum(days, "bytes_processed")
    evidence.update(
        bytes_out_to_destination=int(out_bytes),
        gb_out_to_destination=str((out_bytes / BYTES_PER_GB).quantize(Decimal("0.001"))),
        bytes_processed=int(processed),
        nat_idle_gb=settings.nat_idle_gb,
    )
    if out_bytes <= Decimal(str(settings.nat_idle_gb)) * BYTES_PER_GB:
        return IDLE, evidence
    return NOT_IDLE, evidence


def nat_finding(account, gateway, evidence: dict, today) -> Finding:
    saving, basis, saving_evidence = resource_savings.nat_saving(
        account, gateway, evidence["bytes_processed"], evidence["hours_with_data"], today
    )
    return Finding(
        kind=Recommendation.Kind.IDLE_NAT_GATEWAY,
        resource_id=gateway.nat_gateway_id,
        region=gateway.region,
        summary=(
            f"NAT gateway {gateway} sent {evidence['gb_out_to_destination']} GB to destinations "
            f"in {evidence['lookback_days']} days"
        ),
        action=(
            "Delete the NAT gateway if nothing in its VPC needs outbound internet access (check "
            "the route tables that point at it first), and release its Elastic IP."
        ),
        monthly_saving=saving,
        saving_basis=basis,
        evidence={
            **evidence,
            "nat_gateway_id": gateway.nat_gateway_id,
            "vpc_id": gateway.vpc_id,
            "subnet_id": gateway.subnet_id,
            "connectivity_type": gateway.connectivity_type,
            "saving": saving_evidence,
        },
    )


def find_idle_nat_gateways(
    account, gateways, metric_days: dict, settings, today, states: dict | None = None
) -> list[Finding]:
    """METRIC_DAYS maps nat_gateway_id to its lookback rows; gone gateways are skipped."""
    findings = []
    for gateway in gateways:
        if gateway.gone_at is not None:
            continue
        verdict, evidence = check_nat(
            gateway, metric_days.get(gateway.nat_gateway_id, []), settings, today
        )
        if states is not None:
            states[gateway.nat_gateway_id] = {"verdict": verdict, **evidence}
        if verdict == IDLE:
            findings.append(nat_finding(account, gateway, evidence, today))
    return findings


# --- Load balancers ---


def check_lb(balancer, days: list, settings, today) -> tuple[str, dict]:
    if balancer.lb_type == "gateway":
        return SKIPPED, {"state": "Gateway Load Balancers are not assessed"}
    if balancer.state != "active":
        return NOT_ACTIVE, {"state": balancer.state}
    evidence = {
        "lookback_days": settings.lookback_days,
        **_age(balancer, settings, today),
        "target_groups": balancer.target_groups,
        "registered_targets": balancer.registered_targets,
        "healthy_targets": balancer.healthy_targets,
    }
    if not existed_all_lookback(balancer, settings, today):
        evidence["state"] = "younger than the lookback: no verdict"
        return TOO_NEW, evidence
    lookback_days = {today - timedelta(days=n) for n in range(1, settings.lookback_days + 1)}
    collected = {day.day for day in days} & lookback_days
    evidence.update(
        days_collected=len(collected),
        requests=int(_sum(days, "requests")),
        lcu_hours=str(_sum(days, "lcu_hours")),
        processed_bytes=int(_sum(days, "processed_bytes")),
        lb_idle_requests=settings.lb_idle_requests,
        request_metric="RequestCount" if balancer.lb_type == "application" else "NewFlowCount",
        absent_figures_rule="ELB reports no request metrics without traffic: absent is 0",
    )
    if balancer.registered_targets == 0 or balancer.healthy_targets == 0:
        evidence["rule"] = (
            "no registered targets" if balancer.registered_targets == 0 else "no healthy targets"
        )
        return IDLE, evidence
    if len(collected) < settings.lookback_days:
        evidence["state"] = (
            f"metrics collected for {len(collected)} of {settings.lookback_days} days: no verdict"
        )
        return NOT_ENOUGH_DATA, evidence
    if evidence["requests"] <= settings.lb_idle_requests:
        evidence["rule"] = f"at most {settings.lb_idle_requests} requests over the lookback"
        return IDLE, evidence
    return NOT_IDLE, evidence


def lb_finding(account, balancer, evidence: dict, settings, today) -> Finding:
    saving, basis, saving_evidence = resource_savings.lb_saving(
        account,
        balancer,
        Decimal(evidence["lcu_hours"]),
        settings.lookback_days * 24,
        today,
    )
    if evidence["rule"] == "no registered targets":
        why = "has no registered targets"
    elif evidence["rule"] == "no healthy targets":
        why = f"has none of its {balancer.registered_targets} targets healthy"
    else:
        unit = "requests" if balancer.lb_type == "application" else "new flows"
        why = f"had {evidence['requests']} {unit} in {settings.lookback_days} days"
    return Finding(
        kind=Recommendation.Kind.IDLE_LOAD_BALANCER,
        resource_id=balancer.dimension,
        region=balancer.region,
        summary=f"Load balancer {balancer} {why}",
        action=(
            "Delete the load balancer if nothing routes to it (check DNS records and clients "
            "that use its name first); if its targets should be healthy, fix them instead."
        ),
        monthly_saving=saving,
        saving_basis=basis,
        evidence={
            **evidence,
            "arn": balancer.arn,
            "lb_type": balancer.lb_type,
            "scheme": balancer.scheme,
            "saving": saving_evidence,
        },
    )


def find_idle_load_balancers(
    account, balancers, metric_days: dict, settings, today, states: dict | None = None
) -> list[Finding]:
    """METRIC_DAYS maps the LoadBalancer dimension to its lookback rows; gone ones skipped."""
    findings = []
    for balancer in balancers:
        if balancer.gone_at is not None:
            continue
        verdict, evidence = check_lb(
            balancer, metric_days.get(balancer.dimension, []), settings, today
        )
        if states is not None:
            states[balancer.dimension] = {"verdict": verdict, **evidence}
        if verdict == IDLE:
            findings.append(lb_finding(account, balancer, evidence, settings, today))
    return findings
