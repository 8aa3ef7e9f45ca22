"""Benchmark: office-hours schedule detection (findings/schedule_profile.py) replayed on a fleet.

500 synthetic instances x 28 days of hourly CPU and network, fixed seed, each in its own time
zone (the detector is told the right one): office hours with noise, office hours with on-call
pages at night and at weekends, nightly batch, 24/7, irregular, idle. The detector sees days
1-14 and 22-28; the third week (days 15-21) is held back. A proposal is a false positive if
its schedule would have stopped any busy hour of the held-back week.

Targets: precision of "schedulable" >= 0.98; captured saving >= 90 % (the hours the safe
proposals remove on office-hours instances / the hours the ideal schedules remove, the ideal
being exactly each office's true working window on its working days, no margin, over every
office-hours instance, found or not); detection of 500 instances x 28 days < 2 s.

Pure Python, no database. Run: .venv/bin/python bench/schedule_replay.py [--instances N]
[--seed N]   (or `make bench` for all benchmarks)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from _machine import describe

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from findings import schedule_profile  # noqa: E402
from findings.schedule_profile import (  # noqa: E402
    MB,
    HourFigures,
    Proposal,
    Thresholds,
    detect_schedule,
)

# Monday; Berlin and London go to summer time on 29 March, Sydney back to winter on 5 April.
START = datetime(2026, 3, 16, tzinfo=UTC)
DAYS = 28
HELD_BACK = range(14, 21)  # the third week, days 15-21
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Europe/London",
    "Australia/Sydney",
    "America/Los_Angeles",
)
# Kind and share of the fleet.
KINDS = (
    ("office", 0.40),
    ("office_on_call", 0.12),
    ("nightly_batch", 0.12),
    ("always_on", 0.12),
    ("irregular", 0.12),
    ("idle", 0.12),
)
TARGET_PRECISION = 0.98
TARGET_CAPTURED = 0.90
TARGET_SECONDS = 2.0


def machine() -> str:
    return describe(with_ram=False)


# --- The fleet ----------------------------------------------------------------------------------


@dataclass
class Instance:
    kind: str
    zone: str
    hours: dict = field(default_factory=dict)  # UTC hour -> HourFigures, all 28 days
    # Office hours only: the true window (local hours [start, end) on working days).
    working_days: tuple[int, ...] = ()
    start: int = 0
    end: int = 0

    @property
    def ideal_removed_hours(self) -> float:
        return 168 - len(self.working_days) * (self.end - self.start)


def busy_figures(rng: random.Random) -> HourFigures:
    return HourFigures(rng.uniform(15, 85), rng.uniform(60, 2000) * MB)


def quiet_figures(rng: random.Random) -> HourFigures:
    return HourFigures(rng.uniform(0.3, 6.0), rng.uniform(0.2, 20) * MB)


def office_plan(rng: random.Random, instance: Instance) -> dict:
    """Per local date, the busy local hours of an office box: the true window, with late
    starts, early ends and the odd holiday."""
    instance.working_days = (0, 1, 2, 3, 4, 5) if rng.random() < 0.15 else (0, 1, 2, 3, 4)
    instance.start = rng.choice((7, 8, 8, 9))
    instance.end = rng.choice((17, 18, 19, 19, 20))
    plan = {}
    day = (START - timedelta(days=1)).date()
    for _ in range(DAYS + 2):
        if day.weekday() in instance.working_days and rng.random() > 0.03:
            first = instance.start + (1 if rng.random() < 0.3 else 0)
            last = instance.end - (1 if rng.random() < 0.3 else 0)
            plan[day] = set(range(first, last))
        day += timedelta(days=1)
    return plan


def generate(index: int, kind: str, seed: int) -> Instance:
    rng = random.Random(f"{seed}-{index}")
    zone = rng.choice(ZONES)
    instance = Instance(kind, zone)
    tz = ZoneInfo(zone)
    plan = office_plan(rng, instance) if kind in ("office", "office_on_call") else {}
    lunch_dip = rng.random() < 0.2
    batch_start, batch_hours = rng.randint(0, 4), rng.randint(1, 3)
    busy_share = rng.uniform(0.05, 0.3)
    pages: set = set()
    for i in range(DAYS * 24):
        moment = START + timedelta(hours=i)
        local = moment.astimezone(tz)
        hour = local.hour
        if kind in ("office", "office_on_call"):
            busy = hour in plan.get(local.date(), ())
            if busy and lunch_dip and hour == 12:
                busy = False  # lunch: quiet, bridged by the detector
            if kind == "office_on_call" and not busy:
                # About 1.5 pages a week at night or on the weekend, 1-2 hours each.
                quiet_time = hour < 6 or hour >= 22 or local.weekday() >= 5
                if quiet_time and rng.random() < 1.5 / (7 * 12):
                    pages.update((i, i + rng.randint(0, 1)))
                busy = i in pages
        elif kind == "nightly_batch":
            busy = batch_start <= hour < batch_start + batch_hours + rng.randint(0, 1)
        elif kind == "always_on":
            busy = rng.random() > 0.02
        elif kind == "irregular":
            busy = rng.random() < busy_share
        else:
            busy = False
        figures = busy_figures(rng) if busy else quiet_figures(rng)
        if rng.random() < 0.01:
            figures = HourFigures(None, None)  # a missing datapoint
        instance.hours[moment] = figures
    return instance


def fleet(count: int, seed: int) -> list[Instance]:
    kinds = [kind for kind, share in KINDS for _ in range(round(share * count))]
    kinds = (kinds + ["office"] * count)[:count]
    return [generate(i, kind, seed) for i, kind in enumerate(kinds)]


# --- Replay -------------------------------------------------------------------------------------


def held_back(moment: datetime) -> bool:
    return (moment - START).days in HELD_BACK


def is_busy(figures: HourFigures, limits: Thresholds) -> bool:
    return (figures.cpu is not None and figures.cpu >= limits.busy_cpu_percent) or (
        figures.network_bytes is not None and figures.network_bytes >= limits.busy_network_mb * MB
    )


def stops(proposal: Proposal, tz: ZoneInfo, moment: datetime) -> bool:
    """Whether the proposal would have the instance stopped for any part of the UTC hour."""
    local = moment.astimezone(tz)
    begin = local.hour * 60 + local.minute
    pieces = [(local.weekday(), begin, min(begin + 60, 1440))]
    if begin + 60 > 1440:
        pieces.append(((local.weekday() + 1) % 7, 0, begin + 60 - 1440))
    for day, start, end in pieces:
        inside = False
        for period in proposal.periods:
            low = period.start.hour * 60 + period.start.minute
            high = (period.end.hour * 60 + period.end.minute) or 1440
            inside = inside or (day in period.days and low <= start and end <= high)
        if not inside:
            return True
    return False


def replay(instances: list[Instance], limits: Thresholds) -> bool:
    rows: dict[str, Counter] = defaultdict(Counter)
    saved: dict[str, float] = defaultdict(float)
    reasons: dict[str, Counter] = defaultdict(Counter)
    captured = ideal = 0.0
    detect_seconds = 0.0
    for instance in instances:
        seen = {m: f for m, f in instance.hours.items() if not held_back(m)}
        started = time.perf_counter()
        result = detect_schedule(seen, instance.zone, limits)
        detect_seconds += time.perf_counter() - started
        row = rows[instance.kind]
        row["instances"] += 1
        office = instance.kind == "office"
        if office:
            ideal += instance.ideal_removed_hours
        if not isinstance(result, Proposal):
            reasons[instance.kind][result.reason.split(":")[0]] += 1
            continue
        row["proposals"] += 1
        tz = ZoneInfo(instance.zone)
        unsafe = any(
            held_back(m) and is_busy(f, limits) and stops(result, tz, m)
            for m, f in instance.hours.items()
        )
        row["false_positives" if unsafe else "safe"] += 1
        if not unsafe:
            saved[instance.kind] += result.removed_hours_per_week
            if office:
                captured += result.removed_hours_per_week

    header = (
        f"{'kind':<16} {'instances':>9} {'proposals':>9} {'safe':>5} {'false pos.':>10} "
        f"{'mean h/wk removed':>17}  no-schedule reasons"
    )
    print(header)
    print("-" * len(header))
    total = Counter()
    for kind, _ in KINDS:
        row = rows[kind]
        total.update(row)
        mean = saved[kind] / row["safe"] if row["safe"] else 0.0
        why = ", ".join(f"{reason} {n}" for reason, n in reasons[kind].most_common())
        print(
            f"{kind:<16} {row['instances']:>9} {row['proposals']:>9} {row['safe']:>5} "
            f"{row['false_positives']:>10} {mean:>17.1f}  {why}"
        )
    print(
        f"{'all':<16} {total['instances']:>9} {total['proposals']:>9} {total['safe']:>5} "
        f"{total['false_positives']:>10}"
    )
    precision = total["safe"] / total["proposals"] if total["proposals"] else 1.0
    share = captured / ideal if ideal else 0.0
    office = rows["office"]
    print(
        f"\nprecision of 'schedulable': {precision:.4f} ({total['safe']} of "
        f"{total['proposals']} proposals never stop a busy hour of the held-back week); "
        f"target >= {TARGET_PRECISION}: {'met' if precision >= TARGET_PRECISION else 'NOT MET'}"
    )
    print(
        f"recall on office hours: {office['safe']} of {office['instances']} "
        f"({office['safe'] / max(office['instances'], 1):.1%})"
    )
    print(
        f"captured saving: {captured:,.1f} of {ideal:,.1f} ideal hours a week removed "
        f"= {share:.1%}; target >= {TARGET_CAPTURED:.0%}: "
        f"{'met' if share >= TARGET_CAPTURED else 'NOT MET'}"
    )
    print(f"detection on the 21 days seen: {detect_seconds:.3f} s for {len(instances)} instances")
    return precision >= TARGET_PRECISION and share >= TARGET_CAPTURED


def speed(instances: list[Instance], limits: Thresholds) -> bool:
    # From cold: the detector converts each UTC hour to local time once per zone and keeps it.
    schedule_profile._LOCAL_HOURS.clear()
    started = time.perf_counter()
    for instance in instances:
        detect_schedule(instance.hours, instance.zone, limits)
    wall = time.perf_counter() - started
    hours = sum(len(instance.hours) for instance in instances)
    ok = wall < TARGET_SECONDS
    print(
        f"speed: {len(instances)} instances x {DAYS} days ({hours:,} hours): {wall:.3f} s "
        f"({wall / len(instances) * 1000:.2f} ms each); target < {TARGET_SECONDS:.0f} s: "
        f"{'met' if ok else 'NOT MET'}"
    )
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20260316)
    args = parser.parse_args(argv if argv is not None else [])
    limits = Thresholds()
    print("== Office-hours schedule detection, replayed ==")
    print(f"machine: {machine()}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"thresholds: {limits.as_dict()}")
    started = time.perf_counter()
    instances = fleet(args.instances, args.seed)
    print(
        f"fleet: {len(instances)} instances x {DAYS} days from {START:%Y-%m-%d} (UTC), "
        f"seed {args.seed}, generated in {time.perf_counter() - started:.1f} s; detector sees "
        f"days 1-14 and 22-28, days 15-21 held back\n"
    )
    quality = replay(instances, limits)
    fast = speed(instances, limits)
    if not (quality and fast):
        raise RuntimeError("a schedule detection target was missed")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except RuntimeError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        sys.exit(1)
