"""Benchmark: the partitioned cost store at 1M, 10M and 50M cost records.

The store grows in stages inside one PostgreSQL database: one organisation, 37 monthly
partitions (36 whole months before the current one, and the current month to yesterday), 7
services x 2 regions per account and day, and as many accounts as the stage's size needs
(65 at 1M, 652 at 10M, 3,260 at 50M): a real organisation grows by accounts, not by days.
Rows are generated inside PostgreSQL (INSERT ... SELECT over generate_series, the server-side
equivalent of COPY) into the partitioned table, 100 accounts per statement; the partitions are
created first by the product's own costs.partitions.ensure_months. At each size:

(a) summary: /api/v1/costs/summary/?group_by=service under gunicorn, 20 client threads, 30-day
    windows ending on 60 different days (bench/api_summary.py's driver), after the product's
    rollup rebuild, a VACUUM ANALYZE of the rollups and a CHECKPOINT (the store at rest, not
    in the middle of its bulk load); 5 rounds of 1,000 requests, the median round's p95 is
    the figure (min and max printed); target p95 <= 100 ms at every size;
(b) import: `manage.py import_billing` of bench/focus_import.py's 1,000,000-row FOCUS file
    (September 2024, a month in the middle of the store) into the populated store, for a second
    organisation (a tenant of a shared installation), twice, the second run timed: a re-import,
    which deletes the month's earlier records and writes the new ones, in partitions that hold
    the big organisation's rows of the month; rows/s of the file; target: the 50M figure at most
    20 % below the 1M one. (An import for the big organisation itself also re-aggregates its
    rollups of the month, whose cost grows with its records of that month; not measured here.)
(c) retention: an extra month before the 36 (as full as the others) is dropped by
    costs.partitions.drop_expired with COST_RETENTION_MONTHS=36, timed in-process (Django start
    excluded), with its rollups; target <= 1 s. The month is generated again at the next size.

A later run reuses the rows already there (the count per stage is deterministic).
Run: .venv/bin/python bench/cost_store_scaling.py [--sizes 1000000,10000000,50000000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
from dateutil.relativedelta import relativedelta

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_summary import (  # noqa: E402
    REGION_NAMES,
    SERVICE_NAMES,
    http_client_work,
    measure,
    setup_django,
    show,
    start_gunicorn,
    windows,
)
from focus_import import (  # noqa: E402
    checkpoint,
    data_file,
    django_env,
    ensure_database,
    machine,
    manage,
    prepare_django,
    run_import,
    server_version,
    warm_page_cache,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/spendlens_bench_scaling"
DEFAULT_SIZES = (1_000_000, 10_000_000, 50_000_000)
IMPORT_ROWS = 1_000_000
RETENTION_MONTHS = 36
ORG_SLUG = "bench-api"  # api_summary.setup_django's organisation: the store
IMPORT_ORG = "bench"  # focus_import.prepare_django's: another tenant of the same store
TARGET_P95_MS = 100.0
TARGET_IMPORT_DROP = 0.20
TARGET_DROP_S = 1.0
CHUNK_ACCOUNTS = 100


def first_day(today: date) -> date:
    return today.replace(day=1) - relativedelta(months=RETENTION_MONTHS)


def expired_month(today: date) -> date:
    return first_day(today) - relativedelta(months=1)


def per_account(today: date) -> int:
    days = (today - first_day(today)).days  # up to yesterday
    return days * len(SERVICE_NAMES) * len(REGION_NAMES)


INSERT = """
INSERT INTO costs_costrecord (
    organization_id, source, metric, provider, sub_account_id, usage_date, service,
    region, resource_id, usage_type, charge_category, amount, currency, estimated)
SELECT %(org)s, 'explorer', 'unblended', 'AWS', lpad((100000000000 + a)::text, 12, '0'),
       %(first)s::date + d, (%(services)s::text[])[s], (%(regions)s::text[])[r],
       '', '', '', ((a * 7919 + d * 104729 + s * 31 + r) %% 10000) / 100.0, 'USD', false
FROM generate_series(%(a_from)s::int, %(a_to)s::int) a,
     generate_series(0, %(days)s::int - 1) d,
     generate_series(1, %(n_services)s) s,
     generate_series(1, %(n_regions)s) r
"""


def insert(conn, org_id: int, accounts: range, first: date, days: int) -> None:
    conn.execute(
        INSERT,
        {
            "org": org_id,
            "first": first,
            "services": list(SERVICE_NAMES),
            "regions": list(REGION_NAMES),
            "a_from": accounts.start,
            "a_to": accounts.stop - 1,
            "days": days,
            "n_services": len(SERVICE_NAMES),
            "n_regions": len(REGION_NAMES),
        },
    )


def django_shell(url: str, script: str, extra_env: dict | None = None) -> str:
    return subprocess.run(
        manage(url, "shell", "-v", "0", "-c", script),
        env={**django_env(url), **(extra_env or {})},
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout


def ensure_partitions(url: str, low: date, high: date) -> None:
    django_shell(
        url,
        "from datetime import date; from costs import partitions;"
        f"partitions.ensure_months(partitions.months_between(date.fromisoformat('{low}'), "
        f"date.fromisoformat('{high}')))",
    )


def grow(url: str, org_id: int, size: int, today: date) -> tuple[int, float]:
    """Load accounts until the store holds SIZE rows (rounded to whole accounts) for the main
    months, and refill the month the previous stage's retention run dropped."""
    first = first_day(today)
    days = (today - first).days
    accounts = max(1, round(size / per_account(today)))
    expired = expired_month(today)
    expired_days = (first - expired).days
    started = time.perf_counter()
    ensure_partitions(url, expired, today)
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute(
            "SELECT count(DISTINCT sub_account_id) FROM costs_costrecord "
            "WHERE organization_id = %s AND source = 'explorer' AND usage_date = %s",
            [org_id, first],
        ).fetchone()[0]
        for low in range(have + 1, accounts + 1, CHUNK_ACCOUNTS):
            high = min(low + CHUNK_ACCOUNTS, accounts + 1)
            insert(conn, org_id, range(low, high), first, days)
            print(f"  accounts {low}-{high - 1} of {accounts} loaded", flush=True)
        conn.execute(
            "DELETE FROM costs_costrecord WHERE organization_id = %s AND usage_date < %s",
            [org_id, first],
        )
        for low in range(1, accounts + 1, CHUNK_ACCOUNTS * 4):
            high = min(low + CHUNK_ACCOUNTS * 4, accounts + 1)
            insert(conn, org_id, range(low, high), expired, expired_days)
        conn.execute("VACUUM ANALYZE costs_costrecord")
        total = conn.execute("SELECT count(*) FROM costs_costrecord").fetchone()[0]
    subprocess.run(
        manage(url, "rebuild_rollups", "--org", ORG_SLUG),
        env=django_env(url),
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return total, time.perf_counter() - started


def settle(url: str) -> None:
    """The store at rest, as a product's is between loads: the rollups the growth rebuilt
    analyzed and the growth's writes checkpointed, so (a) does not run beside an autovacuum or
    a checkpoint of millions of rows just loaded."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE costs_costrollup")
    checkpoint(url)


def summary_p95(
    url: str, token: str, clients: int, requests: int, workers: int, rounds: int
) -> dict:
    """(a) in ROUNDS rounds of REQUESTS against one server; the round of median p95 is the
    figure (a shared 2-vCPU machine moves one round's p95 by tens of ms: min and max shown)."""
    server = start_gunicorn(url, workers)
    try:
        work = http_client_work(token)
        jobs = windows(requests)
        measure(clients, jobs[: clients * 2], *work)  # warm up
        results = []
        for n in range(1, rounds + 1):
            latencies, wall = measure(clients, jobs, *work)
            results.append(show(f"API summary, {clients} clients, round {n}", latencies, wall))
        results.sort(key=lambda r: r["p95"])
        median = results[len(results) // 2]
        print(
            f"API summary p95 over {rounds} rounds: median {median['p95']:.1f} ms "
            f"(min {results[0]['p95']:.1f}, max {results[-1]['p95']:.1f})",
            flush=True,
        )
        return median
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


DROP_SCRIPT = """
import time
from costs import partitions
started = time.perf_counter()
dropped = partitions.drop_expired()
seconds = time.perf_counter() - started
print("\\n".join(partitions.describe(dropped)))
print(f"DROP_SECONDS {seconds:.4f}")
"""


def retention_drop(url: str) -> tuple[float, str]:
    out = django_shell(url, DROP_SCRIPT, {"COST_RETENTION_MONTHS": str(RETENTION_MONTHS)})
    seconds = float(out.rsplit("DROP_SECONDS", 1)[1].split()[0])
    return seconds, out.split("DROP_SECONDS")[0].strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="(a) rounds; the median is taken")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=IMPORT_ROWS)
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="Only (a), on the store as it is (a re-measure on a quiet machine).",
    )
    args = parser.parse_args(argv if argv is not None else [])
    sizes = sorted(int(s) for s in args.sizes.split(","))
    url = os.environ.get("BENCH_SCALING_DATABASE_URL", DEFAULT_URL)
    today = date.today()

    print("== Partitioned cost store: summary, import and retention by store size ==")
    print(f"machine: {machine()}")
    ensure_database(url)
    print(f"database: {url} (PostgreSQL {server_version(url)})")
    org_id, token = setup_django(url)
    prepare_django(url)
    if args.summary_only:
        with psycopg.connect(url) as conn:
            total = conn.execute("SELECT count(*) FROM costs_costrecord").fetchone()[0]
        print(f"store: {total:,} cost records (as they are)")
        settle(url)
        summary_p95(url, token, args.clients, args.requests, args.workers, args.rounds)
        return
    path = data_file(args.import_rows)
    results = []
    for size in sizes:
        print(f"\n-- {size:,} records --", flush=True)
        total, seconds = grow(url, org_id, size, today)
        print(f"store: {total:,} cost records (ready in {seconds:.0f} s)", flush=True)
        settle(url)
        api = summary_p95(url, token, args.clients, args.requests, args.workers, args.rounds)
        warm_page_cache(path)
        run_import(url, path, args.import_rows, IMPORT_ORG)
        checkpoint(url)
        imported, output, _ = run_import(url, path, args.import_rows, IMPORT_ORG)
        written = [line.strip() for line in output.splitlines() if "records written" in line]
        print(
            f"re-import: {imported.wall:.2f} s, {imported.rows_per_second:,.0f} rows/s "
            f"({'; '.join(written)})"
        )
        checkpoint(url)
        drop_s, described = retention_drop(url)
        print(described)
        print(f"retention drop of one month: {drop_s:.3f} s", flush=True)
        results.append((size, total, api["p95"], imported.rows_per_second, drop_s))

    print("\n| store | API summary p95, 20 clients | re-import rows/s | month drop |")
    print("|---|---|---|---|")
    for _, total, p95, rate, drop_s in results:
        print(f"| {total:,} | {p95:.1f} ms | {rate:,.0f} | {drop_s:.3f} s |")
    print(
        f"command: BENCH_SCALING_DATABASE_URL={url} .venv/bin/python bench/cost_store_scaling.py "
        f"--sizes {','.join(str(s) for s in sizes)} --workers {args.workers}"
    )
    met = all(p95 <= TARGET_P95_MS and d <= TARGET_DROP_S for _, _, p95, _, d in results)
    if len(results) > 1:
        fall = 1 - results[-1][3] / results[0][3]
        print(
            f"import rows/s from the smallest to the largest store: {-fall:+.1%} "
            f"(target: no fall beyond {TARGET_IMPORT_DROP:.0%})"
        )
        met = met and fall <= TARGET_IMPORT_DROP
    print(
        f"targets (p95 <= {TARGET_P95_MS:.0f} ms, drop <= {TARGET_DROP_S:.0f} s, import fall "
        f"<= {TARGET_IMPORT_DROP:.0%}): " + ("met" if met else "NOT met")
    )


if __name__ == "__main__":
    main(sys.argv[1:])
