"""Benchmark: /api/v1/costs/summary/ on 10,000,000 cost rows, under gunicorn, 20 clients.

The store: one organisation, 1,000 accounts x 730 days x 7 services x 2 regions (10,220,000
Cost Explorer rows), generated inside PostgreSQL (INSERT ... SELECT over generate_series, the
server-side equivalent of COPY) and loaded once; a later run reuses it when the count
matches. Then:

- the API: gunicorn (bench settings: 4 sync workers) serving the real app; 20 client threads,
  each with its own keep-alive connection and a token, ask for a 30-day group_by=service
  summary (windows ending on different days so the cache of one is not the answer of all);
- raw SQL through psycopg: the aggregate over the cost records themselves (current + previous
  window, grouped by service, export-first de-duplication included), and the same aggregate
  the API runs, over the daily rollup table; the API's p50 is compared with the latter.

Prints p50/p95/p99 and requests/s for both. Targets: API p95 <= 100 ms, API p50 <= 2 x raw SQL
p50 (single client).
Run: .venv/bin/python bench/api_summary.py [--requests N] [--clients 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from focus_import import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    django_env,
    ensure_database,
    machine,
    manage,
    server_version,
)

ORG_SLUG = "bench-api"
USERNAME = "bench-api"
ACCOUNTS, DAYS, SERVICES, REGIONS = 1_000, 730, 7, 2
EXPECTED_ROWS = ACCOUNTS * DAYS * SERVICES * REGIONS
PORT = 8765
TARGET_P95_MS = 100.0
TARGET_RATIO = 2.0
SERVICE_NAMES = (
    "Amazon Elastic Compute Cloud",
    "Amazon Simple Storage Service",
    "Amazon Relational Database Service",
    "AWS Lambda",
    "Amazon CloudWatch",
    "Amazon DynamoDB",
    "Amazon Virtual Private Cloud",
)
REGION_NAMES = ("us-east-1", "eu-west-1")


def last_day() -> date:
    return date.today() - timedelta(days=1)


def setup_django(url: str) -> tuple[int, str]:
    """Migrate; the organisation, a member and a fresh API token. Returns (org id, token)."""
    env = django_env(url)
    subprocess.run(manage(url, "migrate", "--verbosity", "0"), env=env, check=True, cwd=ROOT)
    script = (
        "from django.contrib.auth import get_user_model;"
        "from accounts.models import Organization, Membership;"
        "from knox.models import AuthToken;"
        f"org, _ = Organization.objects.get_or_create(slug={ORG_SLUG!r}, "
        "defaults={'name': 'Bench API'});"
        f"user, _ = get_user_model().objects.get_or_create(username={USERNAME!r});"
        "Membership.objects.get_or_create(user=user, organization=org, defaults={'role': 'admin'});"
        "AuthToken.objects.filter(user=user).delete();"
        "print(org.pk, AuthToken.objects.create(user=user)[1])"
    )
    out = subprocess.run(
        manage(url, "shell", "-c", script),
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[-2]), out[-1]


def load(url: str, org_id: int) -> float | None:
    """Generate the rows inside PostgreSQL unless they are there already; returns seconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        count = conn.execute(
            "SELECT count(*) FROM costs_costrecord WHERE organization_id = %s", [org_id]
        ).fetchone()[0]
        if count == EXPECTED_ROWS:
            return None
        started = time.perf_counter()
        conn.execute("DELETE FROM costs_costrecord WHERE organization_id = %s", [org_id])
        first = last_day() - timedelta(days=DAYS - 1)
        conn.execute(
            """
            INSERT INTO costs_costrecord (
                organization_id, source, metric, provider, sub_account_id, usage_date, service,
                region, resource_id, usage_type, charge_category, amount, currency, estimated)
            SELECT %(org)s, 'explorer', 'unblended', 'AWS', lpad((100000000000 + a)::text, 12, '0'),
                   %(first)s::date + d, (%(services)s::text[])[s], (%(regions)s::text[])[r],
                   '', '', '', ((a * 7919 + d * 104729 + s * 31 + r) %% 10000) / 100.0, 'USD', false
            FROM generate_series(1, %(accounts)s) a,
                 generate_series(0, %(days)s - 1) d,
                 generate_series(1, %(n_services)s) s,
                 generate_series(1, %(n_regions)s) r
            """,
            {
                "org": org_id,
                "first": first,
                "services": list(SERVICE_NAMES),
                "regions": list(REGION_NAMES),
                "accounts": ACCOUNTS,
                "days": DAYS,
                "n_services": SERVICES,
                "n_regions": REGIONS,
            },
        )
        conn.execute("VACUUM ANALYZE costs_costrecord")
        return time.perf_counter() - started


def windows(n: int) -> list[tuple[date, date]]:
    """N 30-day windows ending on different recent days."""
    end = last_day()
    return [
        (end - timedelta(days=k % 60) - timedelta(days=29), end - timedelta(days=k % 60))
        for k in range(n)
    ]


# The aggregate the API answers, written by hand against the cost records (no rollup).
RAW_SQL = """
SELECT service, sum(amount) FROM costs_costrecord c
WHERE organization_id = %(org)s AND currency = 'USD'
  AND usage_date BETWEEN %(start)s AND %(end)s
  AND ((source = 'explorer' AND metric = 'unblended') OR (source = 'focus' AND metric = 'billed'))
  AND (source = 'focus' OR NOT EXISTS (
        SELECT 1 FROM costs_costrecord f
        WHERE f.organization_id = c.organization_id AND f.sub_account_id = c.sub_account_id
          AND f.usage_date = c.usage_date AND f.source = 'focus'))
GROUP BY service
"""


# The same aggregate as the API computes it: from the daily rollup table.
ROLLUP_SQL = """
SELECT key, sum(amount) FROM costs_costrollup
WHERE organization_id = %(org)s AND dimension = 'service'
  AND usage_date BETWEEN %(start)s AND %(end)s
GROUP BY key
"""


def raw_query(conn, org_id: int, start: date, end: date, sql: str = RAW_SQL) -> None:
    previous_end = start - timedelta(days=1)
    previous_start = previous_end - (end - start)
    for s, e in ((start, end), (previous_start, previous_end)):
        conn.execute(sql, {"org": org_id, "start": s, "end": e}).fetchall()


def measure(clients: int, jobs: list, state_factory, work) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(jobs)

    def client():
        state = state_factory()
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            started = time.perf_counter()
            work(state, job)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[94], "p99": cuts[98]}


def show(label: str, latencies: list[float], wall: float) -> dict[str, float]:
    p = percentiles(latencies)
    print(
        f"{label:<32} n={len(latencies):>5}  p50 {p['p50']:7.1f} ms  p95 {p['p95']:7.1f} ms  "
        f"p99 {p['p99']:7.1f} ms  {len(latencies) / wall:7.1f} req/s"
    )
    return p


def start_gunicorn(url: str, workers: int) -> subprocess.Popen:
    env = {
        **django_env(url),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "API_THROTTLE_USER": "1000000/minute",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def http_client_work(token: str):
    """(state factory, work) for measure(): one keep-alive connection per client thread, one
    30-day group_by=service summary per window."""

    def http_state():
        return http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)

    def http_work(conn, window):
        start, end = window
        conn.request(
            "GET",
            f"/api/v1/costs/summary/?group_by=service&start={start}&end={end}",
            headers={"Authorization": f"Token {token}", "Host": "127.0.0.1"},
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
        json.loads(body)

    return http_state, http_work


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-records-concurrency", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)

    print("== Cost summary API vs raw SQL ==")
    print(f"machine: {machine()}")
    ensure_database(url)
    print(f"database: {url} (PostgreSQL {server_version(url)})")
    org_id, token = setup_django(url)
    seconds = load(url, org_id)
    print(
        f"store: {EXPECTED_ROWS:,} rows for organisation {ORG_SLUG} "
        + (f"(generated in {seconds:.0f} s)" if seconds else "(reused)")
    )
    started = time.perf_counter()
    subprocess.run(
        manage(url, "rebuild_rollups", "--org", ORG_SLUG),
        env=django_env(url),
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    print(f"daily rollups rebuilt in {time.perf_counter() - started:.0f} s")
    jobs = windows(args.requests)

    def sql_state():
        return psycopg.connect(url, autocommit=True)

    def sql_work(conn, window):
        raw_query(conn, org_id, *window)

    def rollup_work(conn, window):
        raw_query(conn, org_id, *window, sql=ROLLUP_SQL)

    serial, wall = measure(1, jobs[: max(50, args.requests // 10)], sql_state, sql_work)
    records_sql = show("raw SQL on records, 1 client", serial, wall)
    if not args.skip_records_concurrency:
        show(
            f"raw SQL on records, {args.clients} cl.",
            *measure(args.clients, jobs[: args.clients * 5], sql_state, sql_work),
        )
    serial, wall = measure(1, jobs[: max(50, args.requests // 10)], sql_state, rollup_work)
    raw = show("raw SQL on rollups, 1 client", serial, wall)
    show(
        f"raw SQL on rollups, {args.clients} cl.",
        *measure(args.clients, jobs, sql_state, rollup_work),
    )

    server = start_gunicorn(url, args.workers)
    try:
        http_state, http_work = http_client_work(token)
        measure(args.clients, jobs[: args.clients * 2], http_state, http_work)  # warm up
        latencies, wall = measure(args.clients, jobs, http_state, http_work)
        api = show(f"API, {args.clients} clients", latencies, wall)
        single, wall1 = measure(1, jobs[: max(50, args.requests // 10)], http_state, http_work)
        api1 = show("API, 1 client", single, wall1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    ratio = api1["p50"] / records_sql["p50"]
    overhead = api1["p50"] / raw["p50"]
    print(
        f"command: BENCH_DATABASE_URL={url} .venv/bin/python bench/api_summary.py "
        f"--requests {args.requests} --clients {args.clients} --workers {args.workers}"
    )
    print(
        f"API p95 ({args.clients} clients) {api['p95']:.1f} ms (target <= {TARGET_P95_MS:.0f}); "
        f"API p50 / raw SQL p50 of the aggregate over the records (1 client) = {ratio:.3f}x "
        f"(target <= {TARGET_RATIO:.0f}x)"
    )
    print(
        f"(API p50 / raw SQL p50 of the rollup query it runs = {overhead:.1f}x: what a request "
        "costs beyond its query - auth, DRF, JSON - is milliseconds, the query sub-millisecond)"
    )
    met = api["p95"] <= TARGET_P95_MS and ratio <= TARGET_RATIO
    print("targets: " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    main(sys.argv[1:])
