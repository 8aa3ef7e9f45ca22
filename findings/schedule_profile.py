"""Office-hours schedules: find instances busy only in a weekly window, and propose that window.

A server busy 08:00-19:00 on weekdays is not idle, but stopping it the other hours removes
about two thirds of its running time. This module decides, from hourly utilization alone,
whether such a weekly running window exists and which one is safe. Pure: no models, no
database, stdlib and zoneinfo only; the caller fetches the hours and stores the result.

An hour is busy when its CPU average reaches busy_cpu_percent (10 %, the idle detector's daily
CPU line: findings/idle.py) or it moves busy_network_mb (50 MB in the hour, ten times the idle
detector's whole day). An hour without CPU data is never quiet: coverage must reach
min_coverage_percent of the lookback, and its network, when known, can still make it busy.

The window is found in the instance's LOCAL time (the zone given), because offices keep wall
clock hours across daylight saving changes:

1. Each busy UTC hour becomes a wall-clock interval [start, start + 60 min) on its local
   weekday (split at midnight; a zone with a half-hour offset gives half-hour intervals). On a
   daylight saving day a local hour may get no UTC hour, or two: both are handled as given.
2. Only what recurs shapes the window: per weekday, the busy intervals seen on at least
   min_recurring_dates dates, widened by the margin and rounded outward to 30 minutes, are
   merged when less than min_stop_hours apart (a stop shorter than that is not worth a start);
   the window with the most busy hours is the day's main window, kept only if its busy span is
   at least min_busy_window_hours. A one- or two-hour burst (a nightly job, an on-call page) is
   a job, not office hours, and its end is not bounded by the clock.
3. All working days share one window, the envelope of their main windows: a Monday never seen
   starting at 07:00 in three weeks may well start then in the fourth. A weekday runs in that
   window if it has a main window, or if on some date it had a whole working day (span at
   least min_busy_window_hours: the other weeks may have been holidays); other days are off,
   and an off day must have been seen on min_dates_per_weekday dates.
4. Safety: every busy hour of the lookback must lie inside the proposed running window, or
   there is no proposal. A schedule never stops an hour that was busy in the data.

Refused, with the reason and the evidence: too few days, too little coverage, no busy hour
(the idle detector's case), busy around the clock, a busy hour outside the window, a saving
below min_saving_fraction.

Limitation: margins do not cross midnight, and a window crossing midnight (a night shift) is
seen as two short windows on two days, so such boxes get no proposal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MB = 1024 * 1024
DAY_MINUTES = 24 * 60
WEEK_HOURS = 168
ROUNDING_MINUTES = 30
DASH = "\u2013"  # en dash, as a human writes day and time ranges
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class HourFigures:
    """One hour's CloudWatch figures: CPU average (%) and network bytes (in + out); None: no
    datapoint."""

    cpu: float | None
    network_bytes: float | None = None


@dataclass(frozen=True)
class Thresholds:
    busy_cpu_percent: float = 10.0
    busy_network_mb: float = 50.0
    min_lookback_days: int = 14
    min_coverage_percent: float = 90.0
    margin_minutes: int = 30
    min_saving_fraction: float = 0.20
    # A stop shorter than this between two busy stretches is not worth a start.
    min_stop_hours: float = 3.0
    # A day's busy stretch shorter than this is a job (nightly batch, on-call), not office hours.
    min_busy_window_hours: float = 4.0
    # A busy hour of the week shapes the window only if busy on this many dates.
    min_recurring_dates: int = 2
    # Share of the observed hour-of-week cells ever busy from which a box is "24/7".
    always_busy_share: float = 0.9
    # An off day is only believed when that weekday was seen on this many dates.
    min_dates_per_weekday: int = 2

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Period:
    """Running DAYS (0 = Monday) from START to END local time; END 00:00 means midnight, the
    end of the day."""

    days: tuple[int, ...]
    start: time
    end: time

    @property
    def hours_per_day(self) -> float:
        end = _minutes(self.end) or DAY_MINUTES
        return (end - _minutes(self.start)) / 60


@dataclass
class Proposal:
    time_zone: str
    periods: list[Period]
    running_hours_per_week: float
    removed_hours_per_week: float
    saving_fraction: float
    label: str
    evidence: dict = field(default_factory=dict)


@dataclass
class NoSchedule:
    reason: str
    evidence: dict = field(default_factory=dict)


# --- Small helpers --------------------------------------------------------------------------


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _clock(minutes: int) -> time:
    return time(0) if minutes >= DAY_MINUTES else time(minutes // 60, minutes % 60)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def days_label(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4, 6) -> 'Mon\u2013Fri, Sun' (en dashes, as in the label)."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}{DASH}{DAY_NAMES[run[-1]]}"
        for run in runs
    )


def label(periods: list[Period], time_zone: str) -> str:
    """'Mon\u2013Fri 07:30\u201319:30 Europe/Berlin'."""
    parts = [
        f"{days_label(p.days)} {_hhmm(_minutes(p.start))}{DASH}"
        f"{_hhmm(_minutes(p.end) or DAY_MINUTES)}"
        for p in periods
    ]
    return f"{', '.join(parts)} {time_zone}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


# --- The local picture ----------------------------------------------------------------------


@dataclass
class _Local:
    """What the hours say in local time."""

    max_cpu: list[list[float | None]]
    busy_count: list[list[int]]
    observed: list[list[int]]
    dates: list[set]
    # (weekday, start minute, end minute, local date) wall-clock intervals of busy hours, split
    # at midnight.
    busy: list[tuple[int, int, int, date]]
    cpu_hours: int
    network_hours: int


# Per zone, each UTC hour's (weekday, hour, minute, date) in local time. A fleet is assessed
# over the same lookback hours, so each hour is converted once per zone, not once per instance
# (astimezone and the checks were most of the detection time). Bounded: cleared when full.
_LOCAL_HOURS: dict[str, dict[datetime, tuple[int, int, int, date]]] = defaultdict(dict)
_LOCAL_HOURS_MAX = 100_000


def _local_hour(start: datetime, zone: ZoneInfo) -> tuple[int, int, int, date]:
    if start.utcoffset() is None:
        raise ValueError(f"hour {start!r} has no time zone: hours must be UTC-aware")
    utc = start.astimezone(UTC)
    if utc.minute or utc.second or utc.microsecond:
        raise ValueError(f"hour {start.isoformat()} is not on the hour")
    local = utc.astimezone(zone)
    return local.weekday(), local.hour, local.minute, local.date()


def _localise(hours: Mapping[datetime, HourFigures], zone: ZoneInfo, limits: Thresholds):
    cpu_limit = limits.busy_cpu_percent
    network_limit = limits.busy_network_mb * MB
    max_cpu: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    busy_count = [[0] * 24 for _ in range(7)]
    observed = [[0] * 24 for _ in range(7)]
    dates: list[set] = [set() for _ in range(7)]
    busy: list[tuple[int, int, int, date]] = []
    cpu_hours = network_hours = 0
    converted = _LOCAL_HOURS[zone.key]
    if len(converted) > _LOCAL_HOURS_MAX:
        converted.clear()
    for start, figures in hours.items():
        known = converted.get(start)
        if known is None:
            known = converted[start] = _local_hour(start, zone)
        weekday, hour, minute, day = known
        cpu, network = figures.cpu, figures.network_bytes
        if cpu is not None:
            cpu_hours += 1
            observed[weekday][hour] += 1
            dates[weekday].add(day)
            cell = max_cpu[weekday][hour]
            if cell is None or cpu > cell:
                max_cpu[weekday][hour] = cpu
        if network is not None:
            network_hours += 1
        if (cpu is not None and cpu >= cpu_limit) or (
            network is not None and network >= network_limit
        ):
            busy_count[weekday][hour] += 1
            begin = hour * 60 + minute
            end = begin + 60
            if end <= DAY_MINUTES:
                busy.append((weekday, begin, end, day))
            else:
                busy.append((weekday, begin, DAY_MINUTES, day))
                tomorrow = day + timedelta(days=1)
                busy.append(((weekday + 1) % 7, 0, end - DAY_MINUTES, tomorrow))
    return _Local(max_cpu, busy_count, observed, dates, busy, cpu_hours, network_hours)


def _main_window(intervals: list[tuple[int, int]], limits: Thresholds) -> tuple[int, int] | None:
    """The day's main running window (margins applied), or None if it is only a short burst."""
    margin = limits.margin_minutes
    min_stop = limits.min_stop_hours * 60
    windows: list[list[int]] = []  # [start, end, busy minutes, busy start, busy end]
    for begin, end in sorted(intervals):
        start = max(0, (begin - margin) // ROUNDING_MINUTES * ROUNDING_MINUTES)
        stop = min(DAY_MINUTES, -(-(end + margin) // ROUNDING_MINUTES) * ROUNDING_MINUTES)
        if windows and start - windows[-1][1] < min_stop:
            last = windows[-1]
            last[1] = max(last[1], stop)
            last[2] += end - begin
            last[4] = max(last[4], end)
        else:
            windows.append([start, stop, end - begin, begin, end])
    main = max(windows, key=lambda w: w[2])
    if main[4] - main[3] < limits.min_busy_window_hours * 60:
        return None
    return main[0], main[1]


def _busy_windows(by_day: list[list[tuple[int, int]]]) -> list[dict]:
    """Evidence: each weekday's first and last busy minute over all weeks."""
    return [
        {
            "day": DAY_NAMES[day],
            "first_busy": _hhmm(min(b for b, _ in spans)),
            "last_busy_end": _hhmm(max(e for _, e in spans)),
            "busy_hours": round(sum(e - b for b, e in spans) / 60, 1),
        }
        for day, spans in enumerate(by_day)
        if spans
    ]


# --- Detection ------------------------------------------------------------------------------


def detect_schedule(
    hours: Mapping[datetime, HourFigures],
    time_zone: str,
    thresholds: Thresholds | None = None,
) -> Proposal | NoSchedule:
    """Propose a weekly running window for an instance, or say why not.

    HOURS maps each UTC hour start of the lookback (timezone-aware) to its figures; an hour
    without datapoints is listed with None figures. Only the hours listed make the lookback
    (a caller may leave a week out). Raises ValueError for naive or unaligned hours and an
    unknown zone.
    """
    limits = thresholds or Thresholds()
    zone = _zone(time_zone)
    local = _localise(hours, zone, limits)
    listed = len(hours)
    coverage = 100 * local.cpu_hours / listed if listed else 0.0
    evidence: dict = {
        "time_zone": time_zone,
        "thresholds": limits.as_dict(),
        "lookback_hours": listed,
        "lookback_days": round(listed / 24, 1),
        "cpu_hours_with_data": local.cpu_hours,
        "coverage_percent": round(coverage, 1),
        "network_hours_with_data": local.network_hours,
        "busy_hours": sum(map(sum, local.busy_count)),
        "heat_map": {
            "max_cpu": [[None if v is None else round(v, 1) for v in row] for row in local.max_cpu],
            "busy_hours": local.busy_count,
            "hours_observed": local.observed,
            "days_observed": [len(d) for d in local.dates],
        },
        "checks": [],
    }
    checks = evidence["checks"]

    if listed < limits.min_lookback_days * 24:
        return NoSchedule(
            f"not enough data: {listed / 24:.1f} days, {limits.min_lookback_days} required",
            evidence,
        )
    checks.append("lookback")
    if coverage < limits.min_coverage_percent:
        return NoSchedule(
            f"not enough data: CPU data for {coverage:.1f} % of the lookback hours, "
            f"{limits.min_coverage_percent:g} % required",
            evidence,
        )
    checks.append("coverage")
    if not local.busy:
        return NoSchedule("idle, not scheduled: no busy hour in the lookback", evidence)
    checks.append("busy_hours_found")
    observed_cells = sum(1 for row in local.observed for n in row if n)
    busy_cells = sum(1 for row in local.busy_count for n in row if n)
    if observed_cells and busy_cells >= limits.always_busy_share * observed_cells:
        return NoSchedule(
            f"busy around the clock: {busy_cells} of {observed_cells} hours of the week busy, "
            "nothing to save",
            evidence,
        )
    checks.append("not_always_busy")

    by_day: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    dates_by_slot: dict[tuple[int, int, int], set] = defaultdict(set)
    by_date: dict[date, list[tuple[int, int]]] = defaultdict(list)
    for day, begin, end, on in local.busy:
        by_day[day].append((begin, end))
        dates_by_slot[day, begin, end].add(on)
        by_date[on].append((begin, end))
    evidence["busy_windows"] = _busy_windows(by_day)
    # Only what recurs makes the window: a one-off hour (an on-call page, a late night) says
    # nothing about next week, except that the box may be needed at any time.
    recurring: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for (day, begin, end), dates in dates_by_slot.items():
        if len(dates) >= limits.min_recurring_dates:
            recurring[day].append((begin, end))

    mains = {
        day: w
        for day, spans in enumerate(recurring)
        if spans and (w := _main_window(spans, limits))
    }
    window = (
        (min(w[0] for w in mains.values()), max(w[1] for w in mains.values())) if mains else None
    )
    # A weekday runs if it had a working day on some date (a whole day's work, seen once when
    # holidays took the other weeks), not only a recurring one; a short page never makes one.
    worked = {on.weekday() for on, spans in by_date.items() if _main_window(spans, limits)}
    running_days = tuple(sorted(worked | set(mains)))
    outside = [
        (day, begin, end)
        for day, begin, end, _ in local.busy
        if window is None
        or day not in running_days
        or not (window[0] <= begin and end <= window[1])
    ]
    if outside:
        evidence["busy_outside"] = [
            f"{DAY_NAMES[d]} {_hhmm(b)}{DASH}{_hhmm(e)}" for d, b, e in sorted(set(outside))[:20]
        ]
        where = (
            "no working window (only short bursts)"
            if window is None
            else (f"window {_hhmm(window[0])}{DASH}{_hhmm(window[1])}")
        )
        return NoSchedule(
            f"busy hour outside the window: {len(outside)} busy hours outside any "
            f"{where}, first {evidence['busy_outside'][0]}",
            evidence,
        )
    checks.append("every_busy_hour_inside")

    unseen = [
        DAY_NAMES[day]
        for day in range(7)
        if day not in running_days and len(local.dates[day]) < limits.min_dates_per_weekday
    ]
    if unseen:
        return NoSchedule(
            f"not enough data: off day(s) {', '.join(unseen)} seen on fewer than "
            f"{limits.min_dates_per_weekday} dates",
            evidence,
        )
    checks.append("off_days_observed")

    periods = [Period(running_days, _clock(window[0]), _clock(window[1]))]
    running = len(running_days) * (window[1] - window[0]) / 60
    removed = WEEK_HOURS - running
    saving = removed / WEEK_HOURS
    if saving < limits.min_saving_fraction:
        return NoSchedule(
            f"saving below the minimum: {saving:.0%} of the week, "
            f"{limits.min_saving_fraction:.0%} required",
            evidence,
        )
    checks.append("saving")
    return Proposal(
        time_zone=time_zone,
        periods=periods,
        running_hours_per_week=running,
        removed_hours_per_week=removed,
        saving_fraction=saving,
        label=label(periods, time_zone),
        evidence=evidence,
    )


__all__ = [
    "HourFigures",
    "NoSchedule",
    "Period",
    "Proposal",
    "Thresholds",
    "days_label",
    "detect_schedule",
    "label",
]
