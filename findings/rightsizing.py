"""Rightsizing: the next smaller size in the same family, where CPU and memory say it fits.

A running instance whose p95 CPU stays under rightsize_cpu_p95_percent is a candidate. The
target is the largest type of the same family that is strictly smaller (from
DescribeInstanceTypes, so it is a type the region really offers); staying in the family keeps
the architecture, the AMI and the instance's features. Memory decides whether it fits: the
CloudWatch agent's peak memory scaled to the target's size must stay below memory_fit_percent.
CPU peaks decide too: the busiest hour's average CPU, scaled by the vCPU ratio, must stay at or
below PEAK_HOUR_FIT_PERCENT on the target, so a nightly job that runs an hour at 90% is not
squeezed into a box it would need 180% of (a low p95 alone would allow it).
Without an agent there is no memory metric, and the recommendation says so instead of
guessing.

Idle instances are left to the stop recommendation, and an instance without enough data (the
idle detector's coverage rule) is not judged at all.

A previous-generation target becomes the same size in the current generation (m4.xlarge →
m6i.large), and an instance with no resize may get the old_generation or graviton move instead
(findings/generations.py): at most one type change per instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from findings import generations, idle, savings
from findings.idle import Verdict
from findings.models import Recommendation
from findings.recommendations import Finding

# AWS accepts a limited number of values per filter; families are few, but a fleet may be odd.
FAMILIES_PER_CALL = 50
MIB_PER_GIB = 1024
NO_MEMORY_METRIC = "no memory metric"
PEAK_HOUR_FIT_PERCENT = 90.0


@dataclass(frozen=True)
class InstanceSpec:
    vcpus: int
    memory_mib: int


@dataclass
class Check:
    """One instance's rightsizing decision: a target type, or the reason there is none."""

    target_type: str | None
    reason: str
    evidence: dict = field(default_factory=dict)


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def fetch_instance_specs(ec2_client, instance_types) -> dict[str, InstanceSpec]:
    """vCPUs and memory of every type in the families of INSTANCE_TYPES."""
    families = sorted({family(t) for t in instance_types})
    specs: dict[str, InstanceSpec] = {}
    paginator = ec2_client.get_paginator("describe_instance_types")
    for start in range(0, len(families), FAMILIES_PER_CALL):
        patterns = [f"{name}.*" for name in families[start : start + FAMILIES_PER_CALL]]
        pages = paginator.paginate(Filters=[{"Name": "instance-type", "Values": patterns}])
        for page in pages:
            for item in page["InstanceTypes"]:
                specs[item["InstanceType"]] = InstanceSpec(
                    vcpus=item["VCpuInfo"]["DefaultVCpus"],
                    memory_mib=item["MemoryInfo"]["SizeInMiB"],
                )
    return specs


def next_smaller(instance_type: str, specs: dict[str, InstanceSpec]) -> str | None:
    """The largest type of the same family with no more vCPUs or memory, and less of one."""
    current = specs.get(instance_type)
    if current is None:
        return None
    smaller = [
        (spec.memory_mib, spec.vcpus, name)
        for name, spec in specs.items()
        if family(name) == family(instance_type)
        and spec.vcpus <= current.vcpus
        and spec.memory_mib <= current.memory_mib
        and (spec.vcpus, spec.memory_mib) != (current.vcpus, current.memory_mib)
    ]
    return max(smaller)[2] if smaller else None


def has_enough_data(days: list, settings) -> bool:
    """The idle detector's coverage rule: too few hours decide nothing."""
    required = settings.lookback_days * 24 * settings.min_coverage_percent / 100
    hours = sum(day.hours for day in days)
    return hours > 0 and hours >= required


def needs_memory(instance, days: list, settings) -> bool:
    """Whether the rightsizer will ask about memory: the same rules, before the memory check.

    Instances idle detection will flag are skipped (stopping supersedes resizing), so the
    memory pass costs calls only for real rightsizing candidates.
    """
    if not days or not has_enough_data(days, settings):
        return False
    if max(day.cpu_p95 for day in days) >= settings.rightsize_cpu_p95_percent:
        return False
    return not idle.assess(instance, days, settings).idle


def memory_wanted(settings):
    """The memory pass's rule for fleet.utilization.collect(): rightsizing candidates only."""
    return lambda instance, days: needs_memory(instance, days, settings)


def cpu_figures(days: list) -> dict:
    hours = sum(day.hours for day in days)
    return {
        "days_with_data": len(days),
        "hours_with_data": hours,
        # Daily rollups keep each day's p95, not the hours; the highest of them is a ceiling
        # for the lookback's p95, so "stays under" is never overstated.
        "cpu_p95": round(max(day.cpu_p95 for day in days), 2),
        "cpu_p95_rule": "highest daily p95 of the hourly average CPU",
        "cpu_avg": round(sum(day.cpu_avg * day.hours for day in days) / hours, 2),
        "cpu_max": round(max(day.cpu_max for day in days), 2),
    }


def memory_figures(days: list, current: InstanceSpec, target: InstanceSpec, settings) -> dict:
    readings = [day.memory_max for day in days if day.memory_max is not None]
    if not readings:
        return {"memory": NO_MEMORY_METRIC, "memory_metric": False}
    peak = max(readings)
    projected = peak * current.memory_mib / target.memory_mib
    return {
        "memory_metric": True,
        "memory_source": "CWAgent mem_used_percent (hourly maximum)",
        "memory_days": len(readings),
        "memory_max_percent": round(peak, 2),
        "projected_memory_peak_percent": round(projected, 2),
        "memory_fit_percent": settings.memory_fit_percent,
        "memory_fits": projected < settings.memory_fit_percent,
    }


def spec_evidence(spec: InstanceSpec) -> dict:
    return {"vcpus": spec.vcpus, "memory_gib": round(spec.memory_mib / MIB_PER_GIB, 2)}


def check(instance, days: list, settings, specs: dict[str, InstanceSpec]) -> Check:
    """Decide whether INSTANCE should move to the next smaller size, and why (not)."""
    if instance.state != "running":
        return Check(None, f"not running ({instance.state})")
    if instance.verdict in Verdict.IDLE_LIKE:
        return Check(None, f"idle detection says {instance.verdict}: stopping supersedes resizing")
    if not days or not has_enough_data(days, settings):
        return Check(None, "not enough utilization data")
    evidence = {
        "lookback_days": settings.lookback_days,
        **cpu_figures(days),
        "cpu_p95_threshold": settings.rightsize_cpu_p95_percent,
    }
    if max(day.cpu_p95 for day in days) >= settings.rightsize_cpu_p95_percent:
        return Check(None, "p95 CPU at or above the threshold", evidence)
    current = specs.get(instance.instance_type)
    if current is None:
        return Check(None, f"no specification for {instance.instance_type}", evidence)
    target_type = next_smaller(instance.instance_type, specs)
    if target_type is None:
        return Check(None, f"{instance.instance_type} is the smallest size known", evidence)
    target = specs[target_type]
    busiest = max(day.cpu_peak_hour_avg for day in days)
    projected_busiest = busiest * current.vcpus / target.vcpus
    evidence.update(
        current={"type": instance.instance_type, **spec_evidence(current)},
        target={"type": target_type, **spec_evidence(target)},
        projected_cpu_p95_on_target=round(evidence["cpu_p95"] * current.vcpus / target.vcpus, 2),
        busiest_hour_cpu=round(busiest, 2),
        projected_busiest_hour_on_target=round(projected_busiest, 2),
        busiest_hour_fit_percent=PEAK_HOUR_FIT_PERCENT,
        **memory_figures(days, current, target, settings),
    )
    if projected_busiest > PEAK_HOUR_FIT_PERCENT:
        reason = (
            f"would not fit: the busiest hour ({busiest:.1f}% CPU) becomes "
            f"{projected_busiest:.1f}% on {target_type}, above {PEAK_HOUR_FIT_PERCENT:g}%"
        )
        return Check(None, reason, evidence)
    if evidence.get("memory_fits") is False:
        reason = (
            f"would not fit: peak memory {evidence['memory_max_percent']}% becomes "
            f"{evidence['projected_memory_peak_percent']}% on {target_type}, not below "
            f"{settings.memory_fit_percent}%"
        )
        return Check(None, reason, evidence)
    return Check(target_type, "fits", evidence)


def _memory_note(evidence: dict) -> str:
    if evidence["memory_metric"]:
        return (
            f"peak memory {evidence['memory_max_percent']}% would be about "
            f"{evidence['projected_memory_peak_percent']}% on the smaller size"
        )
    return (
        f"{NO_MEMORY_METRIC} (the CloudWatch agent does not publish mem_used_percent): "
        f"confirm memory use fits in {evidence['target']['memory_gib']} GiB before resizing"
    )


def _action(instance, target_type: str, evidence: dict) -> str:
    memory = _memory_note(evidence)
    if instance.auto_scaling_group:
        group = instance.auto_scaling_group
        return (
            f"Change the launch template (instance type) of Auto Scaling group {group} to "
            f"{target_type} and roll the group with an instance refresh; a member resized by "
            f"hand is replaced by the group's old type. Note: {memory}."
        )
    return (
        f"Stop the instance, change its type to {target_type}, and start it again (a few "
        f"minutes of downtime). Note: {memory}."
    )


def finding(account, instance, target_type: str, evidence: dict, today: date) -> Finding:
    """The rightsize finding; an old-generation smaller size becomes its current-generation
    equivalent (m4.xlarge → m6i.large, never fewer vCPUs or less memory), and the Graviton
    move of the target, where the platform allows one, is in the evidence."""
    modern = generations.modern_target(instance, target_type)
    if modern != target_type:
        evidence = {
            **evidence,
            "generation_move": {
                "smaller_size": target_type,
                "current_generation_type": modern,
                "note": "same size in the current generation: at least the vCPUs and memory",
            },
        }
        target_type = modern
    evidence = {
        **evidence,
        "graviton_alternative": generations.graviton_alternative(
            account, instance, target_type, today
        ),
    }
    saving, basis, saving_evidence = savings.resize_saving(account, instance, target_type, today)
    cpu = f"p95 CPU {evidence['cpu_p95']}% over {evidence['days_with_data']} days"
    memory = (
        f"peak memory {evidence['memory_max_percent']}%"
        if evidence["memory_metric"]
        else NO_MEMORY_METRIC
    )
    where = (
        f" in Auto Scaling group {instance.auto_scaling_group}"
        if instance.auto_scaling_group
        else ""
    )
    return Finding(
        kind=Recommendation.Kind.RIGHTSIZE,
        resource_id=instance.instance_id,
        region=instance.region,
        summary=(
            f"{instance}{where} is oversized for {instance.instance_type} ({cpu}, {memory}): "
            f"{target_type} would do"
        ),
        action=_action(instance, target_type, evidence),
        monthly_saving=saving,
        saving_basis=basis,
        evidence={**evidence, "saving": saving_evidence},
        target_type=target_type,
        instance_pk=instance.pk,
    )


def find_rightsizing(
    account, instances, utilization, settings, specs: dict[str, InstanceSpec], today: date
) -> list[Finding]:
    """Rightsizing findings for INSTANCES; UTILIZATION maps Instance.pk to its lookback days.

    Each judged instance also gets its decision in verdict_evidence["rightsizing"] (saved with
    the idle verdict by findings.detection), so "why was this not resized?" has an answer.
    """
    findings = []
    for instance in instances:
        days = utilization.get(instance.pk, [])
        decision = check(instance, days, settings, specs)
        if decision.evidence:
            instance.verdict_evidence = {
                **(instance.verdict_evidence or {}),
                "rightsizing": {
                    "target_type": decision.target_type,
                    "reason": decision.reason,
                    **decision.evidence,
                },
            }
        if decision.target_type:
            findings.append(
                finding(account, instance, decision.target_type, decision.evidence, today)
            )
            continue
        # One type change per instance: a move to the current generation or to Graviton
        # only where no resize is recommended.
        move = generations.generation_finding(account, instance, settings, today)
        if move is not None:
            findings.append(move)
    return findings
