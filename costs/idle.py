"""Idle instance detection from hourly-resolution evidence, CPU and network together.

The defaults follow AWS's own published criteria, made stricter where a stop is at stake:

- Trusted Advisor ("Low Utilization Amazon EC2 Instances") flags an instance whose daily CPU
  is at or below 10% and network I/O at or below 5 MB on 4 or more of the last 14 days. That
  is a hint for a human; a stop recommendation needs every day (idle_days_percent = 100).
- Trusted Advisor looks at daily averages only, so a box that idles 23 hours and runs a
  one-hour job at 90% every night would pass. We also require that no single hour averaged
  more than idle_cpu_peak_percent (20%): an hour of real work is real work.
- Cost Explorer rightsizing calls an instance idle when its maximum CPU stays at or below 1%
  over the lookback. That holds on its own, whatever the network does.

An instance with less than min_coverage_percent of the lookback hours in CloudWatch (new,
recently started, or not reporting) is "not enough data", never idle. Idle instances with the
protect tag, or in an Auto Scaling group, are reported as such and never recommended for a
stop; an idle group member gets advice for its group instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024
CE_IDLE_MAX_CPU = 1.0


class Verdict:
    IDLE = "idle"
    NOT_IDLE = "not_idle"
    NOT_ENOUGH_DATA = "not_enough_data"
    PROTECTED = "protected"
    ASG_MEMBER = "asg_member"
    NOT_RUNNING = "not_running"

    IDLE_LIKE = (IDLE, PROTECTED, ASG_MEMBER)


@dataclass
class Assessment:
    verdict: str
    evidence: dict = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        return self.verdict in Verdict.IDLE_LIKE


def is_protected(instance, settings) -> bool:
    key, value = settings.protect_tag_pair
    return bool(key) and instance.tags.get(key, "").lower() == value.lower()


def thresholds(settings) -> dict:
    return {
        "lookback_days": settings.lookback_days,
        "min_coverage_percent": settings.min_coverage_percent,
        "daily_cpu_avg_percent": settings.idle_cpu_avg_percent,
        "daily_network_mb": settings.idle_network_mb_per_day,
        "hourly_cpu_peak_percent": settings.idle_cpu_peak_percent,
        "idle_days_percent": settings.idle_days_percent,
        "cost_explorer_max_cpu_percent": CE_IDLE_MAX_CPU,
    }


def day_is_idle(day, settings) -> bool:
    return (
        day.cpu_avg <= settings.idle_cpu_avg_percent
        and day.network_bytes <= settings.idle_network_mb_per_day * MB
        and day.cpu_peak_hour_avg <= settings.idle_cpu_peak_percent
    )


def assess(instance, days: list, settings) -> Assessment:
    """Decide from the instance's UtilizationDay rows over the lookback."""
    evidence = {"thresholds": thresholds(settings)}
    if instance.state != "running":
        return Assessment(Verdict.NOT_RUNNING, {**evidence, "state": instance.state})
    required_hours = settings.lookback_days * 24 * settings.min_coverage_percent / 100
    hours = sum(day.hours for day in days)
    evidence.update(
        hours_with_data=hours,
        required_hours=round(required_hours),
        coverage_percent=round(100 * hours / (settings.lookback_days * 24), 1),
    )
    if hours < required_hours:
        return Assessment(Verdict.NOT_ENOUGH_DATA, evidence)

    idle_days = [day for day in days if day_is_idle(day, settings)]
    max_cpu = max(day.cpu_max for day in days)
    busiest = max(days, key=lambda day: day.cpu_peak_hour_avg)
    evidence.update(
        days=len(days),
        idle_days=len(idle_days),
        max_daily_cpu_avg=round(max(day.cpu_avg for day in days), 2),
        max_hourly_cpu_avg=round(busiest.cpu_peak_hour_avg, 2),
        busiest_day=busiest.day.isoformat(),
        max_cpu=round(max_cpu, 2),
        max_daily_network_mb=round(max(day.network_bytes for day in days) / MB, 3),
        avg_cpu=round(sum(d.cpu_avg * d.hours for d in days) / hours, 2),
    )
    rules = []
    if 100 * len(idle_days) / len(days) >= settings.idle_days_percent:
        rules.append("trusted_advisor_daily_with_hourly_peak")
    if max_cpu <= CE_IDLE_MAX_CPU:
        rules.append("cost_explorer_max_cpu")
    evidence["rules_met"] = rules
    if not rules:
        return Assessment(Verdict.NOT_IDLE, evidence)
    if is_protected(instance, settings):
        return Assessment(Verdict.PROTECTED, {**evidence, "protect_tag": settings.protect_tag})
    if instance.auto_scaling_group:
        return Assessment(
            Verdict.ASG_MEMBER, {**evidence, "auto_scaling_group": instance.auto_scaling_group}
        )
    return Assessment(Verdict.IDLE, evidence)
