"""One detection run for one account: idle verdicts, rightsizing (with old-generation and
Graviton moves), waste, old snapshots, and idle RDS instances, NAT gateways and load balancers,
reconciled."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction
from django.utils import timezone

from accounts import aws
from accounts.connection import describe
from costs import bulk
from findings import (
    databases,
    idle,
    network_waste,
    rightsizing,
    savings,
    schedules,
    snapshots,
    waste,
)
from findings.models import DetectionSettings, Recommendation
from findings.recommendations import Finding, ReconcileResult, reconcile
from fleet import resource_metrics, utilization
from fleet.models import (
    DatabaseInstance,
    ElasticIP,
    Instance,
    LoadBalancer,
    NatGateway,
    ResourceMetricDay,
    Snapshot,
    UtilizationDay,
    Volume,
)

logger = logging.getLogger(__name__)

KINDS = [choice.value for choice in Recommendation.Kind]
# The stored daily figures, with the instance as its id. The hourly series (cpu_hourly,
# network_2h) are left out: only the schedule finder reads them, over its own lookback, and
# decoding two JSON lists per instance and day for nothing cost seconds per 10,000 instances.
HOURLY_FIELDS = ("cpu_hourly", "network_2h")
DAY_FIELDS = (
    "instance_id",
    *(name for name in utilization.STORED_FIELDS[1:] if name not in HOURLY_FIELDS),
)


@dataclass
class DetectionResult:
    account_id: str
    verdicts: dict[str, str] = field(default_factory=dict)
    reconciled: ReconcileResult = field(default_factory=ReconcileResult)
    notes: list[str] = field(default_factory=list)
    # Each RDS instance, NAT gateway and load balancer judged: its verdict and figures, so one
    # without a finding (e.g. not enough data) still has a stated reason.
    resource_states: dict[str, dict] = field(default_factory=dict)


def idle_findings(account, instance, assessment, today) -> list[Finding]:
    if assessment.verdict not in (idle.Verdict.IDLE, idle.Verdict.ASG_MEMBER):
        return []
    saving, basis, saving_evidence = savings.instance_stop_saving(account, instance, today)
    evidence = {**assessment.evidence, "saving": saving_evidence}
    figures = (
        f"avg CPU {assessment.evidence['avg_cpu']}%, busiest hour "
        f"{assessment.evidence['max_hourly_cpu_avg']}%, at most "
        f"{assessment.evidence['max_daily_network_mb']} MB/day of network over "
        f"{assessment.evidence['days']} days"
    )
    if assessment.verdict == idle.Verdict.ASG_MEMBER:
        group = instance.auto_scaling_group
        return [
            Finding(
                kind=Recommendation.Kind.IDLE_ASG_MEMBER,
                resource_id=instance.instance_id,
                region=instance.region,
                summary=f"{instance} in Auto Scaling group {group} is idle ({figures})",
                action=(
                    f"Lower the desired and minimum capacity of Auto Scaling group {group} (or "
                    "schedule it to scale in); stopping a member only makes the group replace it."
                ),
                monthly_saving=saving,
                saving_basis=basis,
                evidence=evidence,
                instance_pk=instance.pk,
            )
        ]
    return [
        Finding(
            kind=Recommendation.Kind.IDLE_INSTANCE,
            resource_id=instance.instance_id,
            region=instance.region,
            summary=f"{instance} ({instance.instance_type}) is idle ({figures})",
            action="Stop the instance (its EBS volumes are kept) or terminate it if unused.",
            monthly_saving=saving,
            saving_basis=basis,
            evidence=evidence,
            instance_pk=instance.pk,
        )
    ]


def load_specs(account, instances) -> tuple[dict, str]:
    types = sorted({i.instance_type for i in instances if i.state == "running"})
    if not types:
        return {}, ""
    try:
        session = aws.assumed_session(account.role_arn, account.external_id, label="detect")
        ec2 = aws.client(session, "ec2", account.regions[0] if account.regions else None)
        return rightsizing.fetch_instance_specs(ec2, types), ""
    except (ClientError, BotoCoreError) as exc:
        return {}, f"Rightsizing skipped: DescribeInstanceTypes failed ({describe(exc)})."


def collect_utilization(account, days: int | None = None, now=None):
    """The utilization detection needs: the organisation's lookback (or DAYS), with memory for
    the rightsizing candidates. Returns fleet.utilization.collect_account()'s (result, errors).
    """
    settings = DetectionSettings.for_organization(account.organization)
    return utilization.collect_account(
        account,
        days or settings.lookback_days,
        memory_wanted=rightsizing.memory_wanted(settings),
        now=now,
    )


def collect_resource_metrics(account, days: int | None = None, now=None):
    """The RDS, NAT gateway and load balancer figures over the organisation's lookback (or
    DAYS). Returns fleet.resource_metrics.collect_account()'s (result, errors)."""
    settings = DetectionSettings.for_organization(account.organization)
    return resource_metrics.collect_account(account, days or settings.lookback_days, now=now)


def resource_metric_days(account, since, today) -> dict[str, dict[str, list]]:
    """ResourceMetricDay rows of the lookback, by kind then resource id, in one query."""
    by_kind: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    rows = (
        ResourceMetricDay.objects.filter(account=account, day__gte=since, day__lt=today)
        .order_by("resource_kind", "resource_id", "day")
        .values_list("resource_kind", "resource_id", "day", "hours", "figures", named=True)
    )
    for row in rows:
        by_kind[row.resource_kind][row.resource_id].append(row)
    return by_kind


def detect(account, *, now=None, specs: dict | None = None) -> DetectionResult:
    now = now or timezone.now()
    today = now.date()
    settings = DetectionSettings.for_organization(account.organization)
    result = DetectionResult(account_id=account.account_id)
    instances = list(Instance.objects.present().filter(account=account))
    since = today - timedelta(days=settings.lookback_days)
    utilization = defaultdict(list)
    # Plain rows, not model instances: a large account has 14 of them per instance. The
    # lookback is whole days before today (utilization.lookback_window): a row for today,
    # partial by nature, would count as a fifteenth day.
    for day in (
        UtilizationDay.objects.filter(instance__account=account, day__gte=since, day__lt=today)
        .order_by("instance_id", "day")
        .values_list(*DAY_FIELDS, named=True)
    ):
        utilization[day.instance_id].append(day)

    # One query for every resource's billed cost instead of one per finding.
    with savings.billed_costs(account, today):
        findings = _findings(account, instances, utilization, settings, specs, now, result)
    with transaction.atomic():
        bulk.update(Instance, instances, ["verdict", "verdict_evidence", "verdict_at"])
        result.reconciled = reconcile(account, KINDS, findings, now=now)
    logger.info(
        "detection for %s: %s opened, %s updated, %s resolved",
        account.account_id,
        result.reconciled.opened,
        result.reconciled.updated,
        result.reconciled.resolved,
    )
    return result


def _findings(account, instances, utilization, settings, specs, now, result) -> list[Finding]:
    """Assess every instance (setting its verdict), then rightsizing and waste findings."""
    today = now.date()
    findings: list[Finding] = []
    for instance in instances:
        assessment = idle.assess(instance, utilization[instance.pk], settings)
        instance.verdict = assessment.verdict
        instance.verdict_evidence = assessment.evidence
        instance.verdict_at = now
        result.verdicts[instance.instance_id] = assessment.verdict
        findings += idle_findings(account, instance, assessment, today)
    findings += schedules.schedule_findings(account, instances, settings, today)

    if specs is None:
        specs, note = load_specs(account, instances)
        if note:
            result.notes.append(note)
    findings += rightsizing.find_rightsizing(
        account, instances, utilization, settings, specs, today
    )
    volumes = list(Volume.objects.present().filter(account=account))
    findings += waste.find_waste(
        account,
        volumes,
        list(ElasticIP.objects.present().filter(account=account)),
        instances,
        settings,
        today,
    )
    findings += snapshots.find_old_snapshots(
        account, list(Snapshot.objects.present().filter(account=account)), volumes, settings, now
    )
    findings += _resource_findings(account, settings, today, result)
    return findings


def _resource_findings(account, settings, today, result) -> list[Finding]:
    """Idle RDS instances, NAT gateways and load balancers, from the lookback's figures."""
    since = today - timedelta(days=settings.lookback_days)
    metrics = resource_metric_days(account, since, today)
    kind = ResourceMetricDay.Kind
    states = result.resource_states
    return [
        *databases.find_idle_databases(
            account,
            list(DatabaseInstance.objects.present().filter(account=account)),
            metrics[kind.DATABASE],
            settings,
            today,
            states,
        ),
        *network_waste.find_idle_nat_gateways(
            account,
            list(NatGateway.objects.present().filter(account=account)),
            metrics[kind.NAT_GATEWAY],
            settings,
            today,
            states,
        ),
        *network_waste.find_idle_load_balancers(
            account,
            list(LoadBalancer.objects.present().filter(account=account)),
            metrics[kind.LOAD_BALANCER],
            settings,
            today,
            states,
        ),
    ]
