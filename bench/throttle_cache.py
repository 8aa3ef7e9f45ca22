"""Benchmark: what counting the API throttle in a shared cache costs a request (CACHE_URL).

The Terraform deployment sets CACHE_URL=dbcache://spendlens_cache so every web task and
gunicorn worker counts one throttle history; the default keeps it in each process's memory.
This times DRF's UserRateThrottle.allow_request (the work the throttle adds to each API call)
for both caches, against PostgreSQL: CALLS calls spread over USERS users, in a fresh process
per cache (after migrate, which creates the cache table), median of ROUNDS rounds.

Prints the mean microseconds per call for each cache and the difference: the price of one
shared history. Run: .venv/bin/python bench/throttle_cache.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from focus_import import django_env, ensure_database, machine, manage, server_version  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/spendlens_bench_throttle"
CACHES = {"memory": "locmemcache://", "database": "dbcache://spendlens_cache"}
USERS = 200

TIMED = """
import json, statistics, time
from types import SimpleNamespace
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.throttling import UserRateThrottle

class Throttle(UserRateThrottle):
    rate = "1000000/minute"  # never refuses: the cost of counting, not of a 429

cache.clear()
request = RequestFactory().get("/api/v1/costs/summary/")
rounds = []
for _ in range({rounds}):
    started = time.perf_counter()
    for n in range({calls}):
        request.user = SimpleNamespace(is_authenticated=True, pk=n % {users})
        assert Throttle().allow_request(request, None)
    rounds.append((time.perf_counter() - started) / {calls} * 1e6)
print(json.dumps(statistics.median(rounds)))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv if argv is not None else [])
    ensure_database(DATABASE_URL)
    print(f"Machine: {machine()}; PostgreSQL {server_version(DATABASE_URL)}")
    micros = {}
    for name, url in CACHES.items():
        env = {**django_env(DATABASE_URL), "CACHE_URL": url}
        subprocess.run(manage(DATABASE_URL, "migrate", "-v", "0"), env=env, check=True, cwd=ROOT)
        script = TIMED.format(rounds=args.rounds, calls=args.calls, users=USERS)
        result = subprocess.run(
            manage(DATABASE_URL, "shell", "-c", script),
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        micros[name] = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{name:>8} cache ({url}): {micros[name]:,.0f} µs per throttled call")
    extra = micros["database"] - micros["memory"]
    print(f"A shared history in the database adds {extra / 1000:.2f} ms to each API call.")


if __name__ == "__main__":
    main(sys.argv[1:])
