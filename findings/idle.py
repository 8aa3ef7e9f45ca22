"""Idle instance detection from hourly-resolution evidence, CPU and network together.

The defaults follow AWS's own published criteria, made stricter where a stop is at stake:

- Trusted Advisor ("Low Utilization Amazon EC2 Instances") flags an instance whose daily CPU
  is at or below 10% and network I/O at or below 5 MB on 4 or more of the last 14 days. That
  is a hint for a human; a stop recommendation needs every day (idle_days_percent = 100).
- Trusted Advisor looks at daily averages only, so a box that idles 23 hours and runs a
  one-hour job at 90% every night would pass. We also require that no single hour averaged
  more than idle_cpu_peak_percent (20%): an hour of real work is real work.
- Cost Explorer rightsizing calls an instance idle when its maximum CPU stays at or below 1%
  over the lookback. We require its network to stay at or below the daily threshold too: a
  NAT, proxy or cache instance moves gigabytes at under 1% CPU, and stopping it on CPU alone
  would cut off whatever routes through it.

Missing data is never quiet data. An instance with less than min_coverage_percent of the
lookback hours in CloudWatch (new, recently started, or not reporting) is "not enough data",
and so is one whose CPU looks idle but whose network data falls short of the same share:
a day without network datapoints is unknown, not a day without traffic. A day's traffic is
its bytes per covered hour times 24, so half a day of data does not halve a busy day.

Idle instances with the protect tag, or in an Auto Scaling group, are reported as such and
never recommended for a stop; an idle group member gets advice for its group instead.
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


# What one day says about idleness.
DAY_IDLE, DAY_BUSY, DAY_UNKNOWN = "idle", "busy", "unknown"


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


def daily_traffic(day) -> float | None:
    """The day's network bytes scaled to 24 hours; None when no hour had network data."""
    if not day.network_hours:
        return None
    return (day.network_bytes or 0) * 24 / day.network_hours


def network_status(traffic: float | None, seen: int | None, limit: float) -> str:
    """A day's network against LIMIT: TRAFFIC is daily_traffic(), SEEN its raw bytes."""
    # Bytes seen on a day without coverage are still traffic: a floor, never a ceiling.
    if (traffic if traffic is not None else seen or 0) > limit:
        return DAY_BUSY
    return DAY_UNKNOWN if traffic is None else DAY_IDLE


def day_statuses(days: list, traffic: list, settings) -> tuple[list[str], list[str]]:
    """Each day's status, and its network's alone (DAY_IDLE, DAY_BUSY or DAY_UNKNOWN)."""
    limit = settings.idle_network_mb_per_day * MB
    cpu_limit, peak_limit = settings.idle_cpu_avg_percent, settings.idle_cpu_peak_percent
    networks = [
        network_status(daily, day.network_bytes, limit)
        for day, daily in zip(days, traffic, strict=True)
    ]
    statuses = [
        network if day.cpu_avg <= cpu_limit and day.cpu_peak_hour_avg <= peak_limit else DAY_BUSY
        for day, network in zip(days, networks, strict=True)
    ]
    return statuses, networks


def required_hours(settings) -> float:
    return settings.lookback_days * 24 * settings.min_coverage_percent / 100


def coverage(days: list, settings) -> dict:
    """CPU and network hours against the hours the lookback requires."""
    lookback_hours = settings.lookback_days * 24
    hours = sum(day.hours for day in days)
    network_hours = sum(day.network_hours or 0 for day in days)
    return {
        "hours_with_data": hours,
        "required_hours": round(required_hours(settings)),
        "coverage_percent": round(100 * hours / lookback_hours, 1),
        "network_hours_with_data": network_hours,
        "network_coverage_percent": round(100 * network_hours / lookback_hours, 1),
    }


def figures(days: list, traffic: list, statuses: list[str], hours: int) -> dict:
    busiest = max(days, key=lambda day: day.cpu_peak_hour_avg)
    measured = [daily for daily in traffic if daily is not None]
    return {
        "days": len(days),
        "idle_days": statuses.count(DAY_IDLE),
        "days_without_network_data": sum(1 for day in days if not day.network_hours),
        "max_daily_cpu_avg": round(max(day.cpu_avg for day in days), 2),
        "max_hourly_cpu_avg": round(busiest.cpu_peak_hour_avg, 2),
        "busiest_day": busiest.day.isoformat(),
        "max_cpu": round(max(day.cpu_max for day in days), 2),
        # None, not 0, when no day had network data: the evidence must not invent quiet.
        "max_daily_network_mb": round(max(measured) / MB, 3) if measured else None,
        "avg_cpu": round(sum(d.cpu_avg * d.hours for d in days) / hours, 2),
    }


def rules(days: list, statuses, networks, settings, *, unknown_is_idle: bool) -> list[str]:
    """The idle rules DAYS meet; with UNKNOWN_IS_IDLE, the ones they could meet at best.

    Days without network data are left out of the Trusted Advisor share (as days without CPU
    data are) when network coverage is enough; the best case counts them as idle days.
    """
    unknown = statuses.count(DAY_UNKNOWN)
    counted = statuses.count(DAY_IDLE) + (unknown if unknown_is_idle else 0)
    considered = len(days) - (0 if unknown_is_idle else unknown)
    met = []
    if considered and 100 * counted / considered >= settings.idle_days_percent:
        met.append("trusted_advisor_daily_with_hourly_peak")
    max_cpu = max(day.cpu_max for day in days)
    if max_cpu <= CE_IDLE_MAX_CPU and DAY_BUSY not in networks:
        met.append("cost_explorer_max_cpu")
    return met


def assess(instance, days: list, settings) -> Assessment:
    """Decide from the instance's UtilizationDay rows over the lookback."""
    evidence = {"thresholds": thresholds(settings)}
    if instance.state != "running":
        return Assessment(Verdict.NOT_RUNNING, {**evidence, "state": instance.state})
    cover = coverage(days, settings)
    evidence.update(cover)
    required = required_hours(settings)
    network_enough = cover["network_hours_with_data"] >= required
    if not days or cover["hours_with_data"] < required:
        evidence["not_enough_data"] = (
            f"CPU data for {cover['hours_with_data']} of the {cover['required_hours']} hours "
            "required"
        )
        return Assessment(Verdict.NOT_ENOUGH_DATA, evidence)

    traffic = [daily_traffic(day) for day in days]
    statuses, networks = day_statuses(days, traffic, settings)
    evidence.update(figures(days, traffic, statuses, cover["hours_with_data"]))
    evidence["rules_met"] = (
        rules(days, statuses, networks, settings, unknown_is_idle=False) if network_enough else []
    )
    if not evidence["rules_met"]:
        # Not idle when the data is complete enough, or when even quiet unknown days would
        # not make it idle; otherwise the missing network data is what keeps it undecided.
        if network_enough or not rules(days, statuses, networks, settings, unknown_is_idle=True):
            return Assessment(Verdict.NOT_IDLE, evidence)
        evidence["not_enough_data"] = (
            f"network data for {cover['network_hours_with_data']} of the "
            f"{cover['required_hours']} hours required: CPU alone never makes a box idle"
        )
        return Assessment(Verdict.NOT_ENOUGH_DATA, evidence)
    if is_protected(instance, settings):
        return Assessment(Verdict.PROTECTED, {**evidence, "protect_tag": settings.protect_tag})
    if instance.auto_scaling_group:
        return Assessment(
            Verdict.ASG_MEMBER, {**evidence, "auto_scaling_group": instance.auto_scaling_group}
        )
    return Assessment(Verdict.IDLE, evidence)


def network_was_measured(evidence: dict) -> bool:
    """Whether a verdict's evidence rests on enough network data.

    Evidence written before network coverage was tracked has no such figure: its network
    reading may be an invented 0, so it cannot justify a stop.
    """
    measured = evidence.get("network_hours_with_data")
    required = evidence.get("required_hours")
    return measured is not None and required is not None and measured >= required
