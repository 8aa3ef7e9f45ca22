"""Idle RDS instances, from their daily CloudWatch figures (fleet.ResourceMetricDay, "rds").

Over the lookback's whole days before today, an "available" instance is idle when
- no connection was open at any time (DatabaseConnections maximum 0 on every day), or
- every day its CPU averaged at or below idle_database_cpu_percent and its connections peaked
  at or below idle_database_connections (a monitoring agent's one connection is not use).

Missing data is never quiet data: with fewer hours of DatabaseConnections data than
min_coverage_percent of the lookback hours there is no verdict, and a day without a CPU
figure cannot count as a low-CPU day.

The advice is to stop it (RDS starts a stopped instance again after 7 days) or to take a
final snapshot and delete it. Both savings are in the evidence; monthly_saving is the stop
saving, compute only (storage is billed while stopped): the conservative figure, and the one
the first, reversible step gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costs.money import money
from findings import resource_savings
from findings.models import Recommendation
from findings.recommendations import Finding

AVAILABLE = "available"
IDLE = "idle"
NOT_IDLE = "not_idle"
NOT_ENOUGH_DATA = "not_enough_data"
NOT_AVAILABLE = "not_available"


@dataclass
class DatabaseCheck:
    verdict: str
    evidence: dict = field(default_factory=dict)


def required_hours(settings) -> float:
    return settings.lookback_days * 24 * settings.min_coverage_percent / 100


def check(database, days: list, settings) -> DatabaseCheck:
    """DAYS: the instance's ResourceMetricDay rows (day, hours, figures) in the lookback."""
    if database.status != AVAILABLE:
        return DatabaseCheck(NOT_AVAILABLE, {"status": database.status})
    hours = sum(day.hours for day in days)
    required = required_hours(settings)
    evidence = {
        "lookback_days": settings.lookback_days,
        "hours_with_data": hours,
        "required_hours": round(required, 1),
        "min_coverage_percent": settings.min_coverage_percent,
        "cpu_threshold_percent": settings.idle_database_cpu_percent,
        "connections_threshold": settings.idle_database_connections,
    }
    if hours == 0 or hours < required:
        evidence["state"] = "not enough DatabaseConnections data over the lookback: no verdict"
        return DatabaseCheck(NOT_ENOUGH_DATA, evidence)
    reported = [day for day in days if day.hours and "connections_max" in day.figures]
    connections = [day.figures["connections_max"] for day in reported]
    cpu = [day.figures.get("cpu_avg") for day in reported]
    evidence.update(
        days_with_data=len(reported),
        connections_max=max(connections),
        cpu_avg_max_day=max((c for c in cpu if c is not None), default=None),
        days_without_cpu=sum(1 for c in cpu if c is None),
    )
    if all(c == 0 for c in connections):
        evidence["rule"] = "no connections on any day"
        return DatabaseCheck(IDLE, evidence)
    quiet = all(
        c is not None
        and c <= settings.idle_database_cpu_percent
        and conn <= settings.idle_database_connections
        for c, conn in zip(cpu, connections, strict=True)
    )
    if quiet:
        evidence["rule"] = "low CPU and few connections every day"
        return DatabaseCheck(IDLE, evidence)
    return DatabaseCheck(NOT_IDLE, evidence)


def finding(account, database, evidence: dict, today) -> Finding:
    stop, delete = resource_savings.database_savings(account, database, today)
    saving, basis, stop_evidence = stop
    delete_saving, delete_basis, delete_evidence = delete
    evidence = {
        **evidence,
        "db_instance_id": database.db_instance_id,
        "engine": database.engine,
        "instance_class": database.instance_class,
        "multi_az": database.multi_az,
        "cluster_id": database.cluster_id,
        "saving": {
            **stop_evidence,
            "option": "stop",
            "monthly_saving_rule": "the stop saving (compute only), the conservative option",
            "stop_monthly_saving": money(saving),
            "delete_monthly_saving": money(delete_saving),
            "delete_basis": delete_basis,
            "delete": delete_evidence,
        },
    }
    if evidence["rule"] == "no connections on any day":
        why = f"no connections in {evidence['days_with_data']} days"
    else:
        why = (
            f"at most {evidence['connections_max']} connections and CPU at most "
            f"{evidence['cpu_avg_max_day']}% a day over {evidence['days_with_data']} days"
        )
    caveat = "RDS starts a stopped instance again automatically after 7 days"
    if database.is_aurora:
        stop_advice = (
            f"Stop Aurora cluster {database.cluster_id or '(its cluster)'} (Aurora stops whole "
            f"clusters, not single instances; {caveat.replace('instance', 'cluster')})"
        )
        delete_advice = (
            "or, if the cluster needs fewer instances, delete this one (cluster storage stays); "
            "if the whole cluster is unused, take a final snapshot and delete the cluster."
        )
    else:
        stop_advice = f"Stop the instance (storage is still billed; {caveat})"
        delete_advice = "or take a final snapshot and delete it if it is no longer needed."
    return Finding(
        kind=Recommendation.Kind.IDLE_DATABASE,
        resource_id=database.db_instance_id,
        region=database.region,
        summary=f"RDS instance {database} is idle ({why})",
        action=f"{stop_advice}, {delete_advice}",
        monthly_saving=saving,
        saving_basis=basis,
        evidence=evidence,
    )


def find_idle_databases(
    account, databases, metric_days: dict, settings, today, states: dict | None = None
) -> list[Finding]:
    """METRIC_DAYS maps db_instance_id to its lookback rows; gone databases are skipped.

    STATES, if given, receives each judged instance's verdict and figures by its id, so an
    instance without a finding still has a stated reason (e.g. not enough data).
    """
    findings = []
    for database in databases:
        if database.gone_at is not None:
            continue
        decision = check(database, metric_days.get(database.db_instance_id, []), settings)
        if states is not None:
            states[database.db_instance_id] = {"verdict": decision.verdict, **decision.evidence}
        if decision.verdict == IDLE:
            findings.append(finding(account, database, decision.evidence, today))
    return findings
