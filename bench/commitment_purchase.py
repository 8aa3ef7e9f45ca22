"""Benchmark: Spendlens's Savings Plan purchase recommendation (commitments/purchase.py).

(a) Quality: on six synthetic 30-day hourly curves (steady, diurnal, weekly, growing,
    declining, spiky), for every one of the 12 plan variants, the net savings of Spendlens's
    commitment against the best commitment an exhaustive grid search finds (2,000 steps from 0
    to the peak, each hour summed from the definition, same 90 % utilization floor).
    Target: within 1 % of the exhaustive savings, never below 90 % expected utilization.
(b) Speed: `recommend()` (all 12 plan variants) for 1,000 accounts x 30 days hourly, in a
    child process so that its peak RSS is its own. Target <= 10 s.

Pure Python, no database. Run: .venv/bin/python bench/commitment_purchase.py
[--accounts N] [--days N] [--steps N]   (or `make bench` for all benchmarks)
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from commitments.purchase import MIN_UTILIZATION, evaluate, exhaustive, recommend  # noqa: E402
from commitments.rates import catalogue  # noqa: E402

CURVES = ("steady", "diurnal", "weekly", "growing", "declining", "spiky")
TARGET_GAP = 0.01
TARGET_SECONDS = 10.0


def machine() -> str:
    return describe()


# --- The curves ---------------------------------------------------------------------------------


def diurnal(t: int) -> float:
    """0 at night, 1 in the early afternoon (UTC hours)."""
    return max(0.0, math.sin(math.pi * ((t % 24) - 6) / 12))


def curve(name: str, hours: int, scale: float = 1.0, seed: int = 0) -> list[float]:
    """One hourly on-demand eligible spend curve, USD per hour, with +/-5 % noise."""
    rng = random.Random(f"{name}-{seed}")
    if name == "steady":
        base = [100.0] * hours
    elif name == "diurnal":  # business-hours workload on an always-on floor
        base = [40 + 60 * diurnal(t) for t in range(hours)]
    elif name == "weekly":  # weekdays busy, weekends at a third
        base = [(90 if (t // 24) % 7 < 5 else 30) + 30 * diurnal(t) for t in range(hours)]
    elif name == "growing":  # doubling over the period
        base = [(60 + 60 * t / hours) * (0.8 + 0.2 * diurnal(t)) for t in range(hours)]
    elif name == "declining":  # halving over the period
        base = [(120 - 60 * t / hours) * (0.8 + 0.2 * diurnal(t)) for t in range(hours)]
    elif name == "spiky":  # a small floor and 10x batch jobs in ~6 % of hours
        base = [25.0 + (250.0 if rng.random() < 0.06 else 0.0) for _ in range(hours)]
    else:
        raise ValueError(f"unknown curve {name!r}")
    return [scale * b * rng.uniform(0.95, 1.05) for b in base]


# --- (a) Quality --------------------------------------------------------------------------------


def quality(hours: int, steps: int) -> bool:
    print(
        f"\n(a) quality: {hours} hours per curve, every plan variant against a {steps:,}-step "
        f"exhaustive search (same {MIN_UTILIZATION:.0%} utilization floor)"
    )
    header = (
        f"{'curve':<10} {'chosen plan':<51} {'Spendlens $/mo':>14} {'exhaustive $/mo':>15} "
        f"{'gap %':>7} {'util %':>7} | {'worst gap %':>11} {'min util %':>10}"
    )
    print(header)
    print("-" * len(header))
    plans = catalogue()
    ok = True
    for name in CURVES:
        hourly = curve(name, hours)
        best = recommend(hourly).best
        gaps, utilizations, chosen = [], [], None
        for plan in plans:
            ours = evaluate(hourly, plan)
            grid = exhaustive(hourly, plan, steps=steps)
            gap = (
                (grid.period_net_savings - ours.period_net_savings) / grid.period_net_savings
                if grid.period_net_savings > 0
                else 0.0
            )
            gaps.append(gap)
            if ours.recommended:
                utilizations.append(ours.utilization)
            if plan == best.plan:
                chosen = (ours, grid, gap)
        ours, grid, gap = chosen
        print(
            f"{name:<10} {best.plan.label:<51} {ours.monthly_net_savings:>14,.2f} "
            f"{grid.monthly_net_savings:>15,.2f} {gap * 100:>7.3f} {ours.utilization * 100:>7.2f}"
            f" | {max(gaps) * 100:>11.3f} {min(utilizations) * 100:>10.2f}"
        )
        ok = ok and max(gaps) <= TARGET_GAP and min(utilizations) >= MIN_UTILIZATION
    print(
        "gap = (exhaustive - Spendlens) / exhaustive; negative: Spendlens's exact optimum beats "
        "the grid. worst gap / min util: over all 12 plan variants."
    )
    print(
        f"target: gap <= {TARGET_GAP:.0%} and utilization >= {MIN_UTILIZATION:.0%}: "
        f"{'met' if ok else 'NOT MET'}"
    )
    return ok


# --- (b) Speed ----------------------------------------------------------------------------------


def accounts(count: int, hours: int) -> list[list[float]]:
    """`count` accounts, each one of the six shapes at its own scale ($0.50 to $500 an hour)."""
    rng = random.Random(42)
    return [
        curve(CURVES[i % len(CURVES)], hours, scale=10 ** rng.uniform(-2.3, 0.7), seed=i)
        for i in range(count)
    ]


def speed_child(count: int, hours: int) -> None:
    """Runs in the child: generate, then time recommend() over every account."""
    series = accounts(count, hours)
    started = time.perf_counter()
    results = [recommend(hourly) for hourly in series]
    wall = time.perf_counter() - started
    bought = sum(1 for result in results if result.best is not None)
    plans = sum(len(result.plans) for result in results)
    print(f"{wall:.3f} {bought} {plans}")


def speed(count: int, hours: int) -> bool:
    print(
        f"\n(b) speed: recommend() for {count:,} accounts x {hours} hours "
        "(all 12 plan variants each)"
    )
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--speed-child",
        "--accounts",
        str(count),
        "--hours",
        str(hours),
    ]
    print("child: " + " ".join(command[1:]))
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"speed child exited with {child.returncode}")
    wall, bought, plans = out.split()
    wall = float(wall)
    rss_mb = usage.ru_maxrss / 1024
    print(
        f"wall {wall:.2f} s ({wall / count * 1000:.2f} ms per account, {int(plans):,} plan "
        f"evaluations, {int(bought):,} accounts with a plan to buy); peak RSS {rss_mb:.0f} MB "
        "(the child, data generation included)"
    )
    ok = wall <= TARGET_SECONDS
    print(f"target: <= {TARGET_SECONDS:.0f} s: {'met' if ok else 'NOT MET'}")
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=30 * 24)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--speed-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.speed_child:
        speed_child(args.accounts, args.hours)
        return
    print("== Savings Plan purchase recommendation ==")
    print(f"machine: {machine()}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    quality(args.hours, args.steps)
    speed(args.accounts, args.hours)


if __name__ == "__main__":
    main(sys.argv[1:])
