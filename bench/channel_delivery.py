"""Benchmark: two worker processes racing to deliver 1,000 alerts to 3 chat channels.

An organisation with three channels on a local HTTPS receiver (a throwaway trustme CA, as the
tests use): Slack and Teams take every kind, the webhook only budget alerts. A producer process
raises 1,000 alerts through alerts.delivery.raise_alert(), half budget thresholds (once per
subject), half idle instances, one every --interval seconds (default 0.025: 40 alerts and 100
deliveries a second; 0 raises as fast as it can, and the latency then measures the backlog);
meanwhile two worker processes loop on alerts.delivery.deliver_pending() (the scheduled task's
path) until every delivery is final. Expected: 1,000 x 2 + 500 = 2,500 deliveries.

The receiver counts requests per channel path and, by the X-Spendlens-Delivery header, any
delivery that arrives twice. Latency is end to end: the request's arrival at the receiver minus
the alert's raise time (ChannelDelivery.created_at), so it includes the workers' polling.

Run: BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/channel_delivery.py [--events N]
[--interval SECONDS]
(PostgreSQL; the default database is spendlens_bench, its channel rows are replaced.)
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

DEFAULT_EVENTS = 1_000
WORKERS = 2
RAISE_INTERVAL = 0.025  # seconds between two alerts raised: 40 alerts, 100 deliveries a second
IDLE_POLL = 0.02  # seconds a worker waits when it found nothing to deliver
ORG_SLUG = "bench-channels"
CHANNELS = (  # (name, kind, alert kinds it takes; empty: every kind)
    ("slack", "slack", []),
    ("teams", "teams", []),
    ("webhook", "webhook", ["budget"]),
)
WAIT = 300  # seconds: only a broken run ever waits this long


# --- The receiver ------------------------------------------------------------------------------


class Receiver:
    """A threaded HTTPS server counting requests per path and per delivery id, with arrivals."""

    def __init__(self):
        import trustme

        self.ca = trustme.CA()
        self._ca_file = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)  # noqa: SIM115
        self.ca.cert_pem.write_to_path(self._ca_file.name)
        self.ca_path = self._ca_file.name
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.deliveries: Counter = Counter()
        self.arrivals: dict[int, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.time()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = int(self.headers.get("X-Spendlens-Delivery", "0"))
                with receiver.lock:
                    receiver.counts[self.path] += 1
                    receiver.deliveries[delivery] += 1
                    receiver.arrivals.setdefault(delivery, arrived)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.ca_path)


# --- The processes (each with Django set up on the benchmark's database) ------------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def setup(port: int) -> None:
    """A fresh organisation with the three channels on the receiver."""
    _django()
    from accounts.models import Organization
    from alerts.models import Channel

    Organization.objects.filter(slug=ORG_SLUG).delete()
    org = Organization.objects.create(name="Bench channels", slug=ORG_SLUG)
    for name, kind, kinds in CHANNELS:
        Channel.objects.create(
            organization=org,
            name=name,
            kind=kind,
            kinds=kinds,
            url=f"https://127.0.0.1:{port}/{name}/T000/B000/bench-token",
        )


def produce(events: int, interval: float) -> None:
    """Raise EVENTS alerts, half budget thresholds and half idle instances, at a steady pace."""
    _django()
    from accounts.models import Organization
    from alerts.delivery import Alert, raise_alert

    org = Organization.objects.get(slug=ORG_SLUG)
    start = time.perf_counter()
    for n in range(events):
        kind = "budget" if n % 2 else "idle_instance"
        subject = f"budget:1:2026-12:{n}:actual" if n % 2 else f"instance:bench:i-{n:05d}"
        raise_alert(
            Alert(
                org,
                kind,
                subject,
                f"Bench alert {n}",
                [f"line of alert {n}"],
                {"monthly_saving": "12.34"},
                "/",
            )
        )
        pause = start + (n + 1) * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)


def work(done_file: str) -> None:
    """deliver_pending() until the producer is done and nothing is left to deliver."""
    _django()
    from alerts.delivery import deliver_pending
    from alerts.models import ChannelDelivery

    totals: Counter = Counter()
    open_statuses = ["pending", "sending", "failed"]
    while True:
        counts = deliver_pending()
        totals.update(counts)
        if counts:
            continue
        if (
            os.path.exists(done_file)
            and not ChannelDelivery.objects.filter(status__in=open_statuses).exists()
        ):
            break
        time.sleep(IDLE_POLL)
    print(json.dumps(dict(totals)))


# --- The measurement -------------------------------------------------------------------------


def _run(url: str, receiver: Receiver, *args: str) -> subprocess.Popen:
    env = django_env(url)
    env["WEBHOOK_ALLOWED_PRIVATE_HOSTS"] = "127.0.0.1"
    env["WEBHOOK_CA_BUNDLE"] = receiver.ca_path
    return subprocess.Popen(
        [sys.executable, __file__, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)] if ordered else float("nan")


def measure(url: str, events: int, interval: float) -> dict:
    receiver = Receiver()
    try:
        subprocess.run(
            [sys.executable, __file__, "--setup", str(receiver.port)],
            env=django_env(url),
            cwd=ROOT,
            check=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            done = os.path.join(tmp, "done")
            started = time.perf_counter()
            workers = [_run(url, receiver, "--worker", done) for _ in range(WORKERS)]
            producer = _run(url, receiver, "--produce", str(events), "--interval", str(interval))
            if producer.wait(WAIT) != 0:
                raise RuntimeError("the producer failed")
            Path(done).touch()
            results = []
            for worker in workers:
                out, _ = worker.communicate(timeout=WAIT)
                if worker.returncode != 0:
                    raise RuntimeError("a worker failed")
                results.append(json.loads(out.strip().splitlines()[-1]))
            wall = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT d.id, d.status, d.created_at FROM alerts_channeldelivery d "
                "JOIN accounts_organization o ON o.id = d.organization_id WHERE o.slug = %s",
                [ORG_SLUG],
            ).fetchall()
        with receiver.lock:
            counts, deliveries = dict(receiver.counts), Counter(receiver.deliveries)
            arrivals = dict(receiver.arrivals)
    finally:
        receiver.stop()
    created = {pk: at for pk, _, at in rows}
    latencies = [
        arrivals[pk] - created[pk].astimezone(UTC).timestamp() for pk in arrivals if pk in created
    ]
    return {
        "events": events,
        "expected": sum(events if not kinds else events // 2 for _, _, kinds in CHANNELS),
        "rows": len(rows),
        "statuses": Counter(status for _, status, _ in rows),
        "received": {path.split("/")[1]: n for path, n in sorted(counts.items())},
        "duplicates": sum(n - 1 for n in deliveries.values() if n > 1),
        "workers": results,
        "p50": sorted(latencies)[len(latencies) // 2] if latencies else float("nan"),
        "p95": p95(latencies),
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--interval", type=float, default=RAISE_INTERVAL)
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--produce", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.setup:
        return setup(args.setup)
    if args.produce:
        return produce(args.produce, args.interval)
    if args.worker:
        return work(args.worker)

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    print("== Channel delivery: 2 workers racing, 3 channels ==")
    print(f"machine: {machine()}")
    ensure_database(url)
    subprocess.run(manage(url, "migrate", "--verbosity", "0"), env=django_env(url), check=True)
    print(f"database: {url} (PostgreSQL {server_version(url)})")
    print(f"at: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    r = measure(url, args.events, args.interval)
    print(
        f"command: BENCH_DATABASE_URL={url} {sys.executable} bench/channel_delivery.py "
        f"--events {args.events} --interval {args.interval}"
    )
    print(
        f"events raised: {r['events']:,} (half budget, half idle, one every {args.interval} s); "
        f"expected deliveries: {r['expected']:,} (slack + teams every kind, webhook budget only)"
    )
    print(f"delivery rows: {r['rows']:,}  statuses: {dict(r['statuses'])}")
    received = r["received"]
    print(
        "received per channel: "
        + ", ".join(f"{name} {n:,}" for name, n in received.items())
        + f"  (total {sum(received.values()):,})"
    )
    print(f"duplicates (same X-Spendlens-Delivery twice): {r['duplicates']}")
    print(f"workers' counts: {r['workers']}")
    print(f"latency raise -> receiver: p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms")
    print(f"wall (raise + deliver, {WORKERS} workers): {r['wall']:.2f} s")
    ok = sum(received.values()) == r["expected"] == r["rows"] and r["duplicates"] == 0
    print("result: " + ("OK, exactly once" if ok else "MISMATCH"))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
