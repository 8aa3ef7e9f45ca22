"""Schedule recommendations: instances that only work office hours, found from the hourly
utilization of the last SCHEDULE_LOOKBACK_DAYS (findings/schedule_profile.py decides), each with
the schedule to run and its monthly saving: the instance's stop saving (findings/savings.py)
times the share of the week the schedule stops it.

Never proposed for what a schedule must not stop or cannot stop and start again: a protected
instance, a spot instance, one with an instance-store root device. An Auto Scaling member gets
advice for its group (scheduled scaling actions) instead: stopping a member only makes the
group replace it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from findings import idle, savings
from findings.models import Recommendation
from findings.recommendations import Finding
from findings.schedule_profile import HourFigures, NoSchedule, Proposal, detect_schedule
from fleet.models import Instance, UtilizationDay

SCHEDULE_LOOKBACK_DAYS = 28
HOURS_PER_WEEK = 168


def schedule_blocker(instance, settings) -> str | None:
    """Why INSTANCE must never get a stop/start schedule, or None."""
    if idle.is_protected(instance, settings):
        return "protected by its tag"
    if instance.lifecycle == Instance.Lifecycle.SPOT:
        return "a spot instance (stopping gives the capacity back)"
    if instance.root_device_type == "instance-store":
        return "an instance-store root device (it cannot be stopped)"
    return None


def hourly_figures(days, today: date) -> dict[datetime, HourFigures]:
    """Every UTC hour from the first day with data (within the lookback) to the end of
    yesterday: the day's hourly CPU and half its two-hour network sum; None where not known."""
    by_day = {row.day: row for row in days}
    if not by_day:
        return {}
    first = max(min(by_day), today - timedelta(days=SCHEDULE_LOOKBACK_DAYS))
    hours = {}
    day = first
    while day < today:
        row = by_day.get(day)
        cpu = (row.cpu_hourly if row else None) or []
        network = (row.network_2h if row else None) or []
        cpu = [*cpu[:24], *[None] * (24 - len(cpu))]
        halves = [None if b is None else b / 2 for b in network[:12]]
        halves += [None] * (12 - len(halves))
        for hour, start in enumerate(_hour_starts(day)):
            hours[start] = HourFigures(cpu=cpu[hour], network_bytes=halves[hour // 2])
        day += timedelta(days=1)
    return hours


@lru_cache(maxsize=256)
def _hour_starts(day: date) -> tuple[datetime, ...]:
    """DAY's 24 UTC hour starts: the same few weeks of days are asked for every instance."""
    midnight = datetime.combine(day, time.min, UTC)
    return tuple(midnight + timedelta(hours=hour) for hour in range(24))


def schedule_findings(account, instances, settings, today: date) -> list[Finding]:
    """A schedule finding for each running instance of ACCOUNT whose last weeks prove a
    working-hours pattern. Idle instances are left to the idle detector."""
    candidates = {
        i.pk: i
        for i in instances
        if i.state == "running"
        and i.verdict not in idle.Verdict.IDLE_LIKE
        and schedule_blocker(i, settings) is None
    }
    if not candidates:
        return []
    rows: dict[int, list] = {pk: [] for pk in candidates}
    since = today - timedelta(days=SCHEDULE_LOOKBACK_DAYS)
    for row in (
        UtilizationDay.objects.filter(instance__in=list(candidates), day__gte=since, day__lt=today)
        .order_by("instance_id", "day")
        .values_list("instance_id", "day", "cpu_hourly", "network_2h", named=True)
    ):
        rows[row.instance_id].append(row)
    time_zone = account.effective_time_zone
    findings = []
    for pk, instance in candidates.items():
        found = detect_schedule(hourly_figures(rows[pk], today), time_zone)
        if isinstance(found, NoSchedule):
            continue
        findings.append(_finding(account, instance, found, today))
    return findings


def _finding(account, instance, proposal: Proposal, today: date) -> Finding:
    full, basis, saving_evidence = savings.instance_stop_saving(account, instance, today)
    share = Decimal(str(proposal.removed_hours_per_week)) / HOURS_PER_WEEK
    saving = (full * share).quantize(Decimal("0.01"))
    evidence = {
        **proposal.evidence,
        "schedule": proposal.label,
        "time_zone": proposal.time_zone,
        "periods": [
            {
                "days": list(p.days),
                "start": p.start.strftime("%H:%M"),
                "end": p.end.strftime("%H:%M"),
            }
            for p in proposal.periods
        ],
        "running_hours_per_week": proposal.running_hours_per_week,
        "stopped_hours_per_week": proposal.removed_hours_per_week,
        "saving": {
            **saving_evidence,
            "running_all_week": str(full),
            "share_stopped": f"{proposal.removed_hours_per_week:g}/{HOURS_PER_WEEK}",
            "monthly_saving": str(saving),
        },
    }
    stopped = f"{proposal.removed_hours_per_week:g} of {HOURS_PER_WEEK} hours a week"
    if instance.auto_scaling_group:
        group = instance.auto_scaling_group
        action = (
            f"Add scheduled actions to Auto Scaling group {group}: scale in outside "
            f"{proposal.label} and back out before it starts. Stopping a member only makes "
            "the group replace it."
        )
    else:
        action = (
            f"Run it on the schedule {proposal.label} (stopped {stopped}): attach a Spendlens "
            "schedule in the admin, the dashboard or the API, or tag it spendlens:schedule."
        )
    return Finding(
        kind=Recommendation.Kind.SCHEDULE,
        resource_id=instance.instance_id,
        region=instance.region,
        summary=f"{instance} ({instance.instance_type}) works only {proposal.label}",
        action=action,
        monthly_saving=saving,
        saving_basis=basis,
        evidence=evidence,
        instance_pk=instance.pk,
    )
