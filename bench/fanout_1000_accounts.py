"""Benchmark: 1,000 accounts' inventories fanned out to two worker processes, rate-limited per
AWS API through the shared buckets, with one worker SIGKILLed half-way.

An organisation with --accounts accounts (default 1,000, one region each). The scheduled
task's own fan-out (accounts.tasks.fan_out of fleet.tasks.sync_account_inventory: AssumeRole
from the platform, then EC2 DescribeInstances/Volumes/Addresses/Snapshots/NatGateways, RDS and
ELBv2 per account) is queued on django-q2's ORM broker in PostgreSQL, plus 50 duplicate
deliveries of already-queued tasks (what an at-least-once broker may do). Two real
`manage.py qcluster` processes (one worker each) drain it against a local HTTP server that
answers every AWS call from responses recorded once from the emulator (moto) for one account
(bench/out/fanout_recording_v1.json); AssumeRole answers carry per-account keys, so the server
knows which account signed each later call. Every limit is AWS_API_RATE_LIMITS=*=50 (50
requests/s, burst 1) unless --limit says otherwise.

When half the accounts are done, one cluster's whole process group is SIGKILLed (no clean-up
runs); the task it held comes back after Q_RETRY (30 s here) and its claim, past its lease
(Q_TIMEOUT, 20 s), is taken over by the other cluster.

Reported: wall time (clusters started -> every account's run succeeded); for each limit, the
most requests the server saw in any 1-second window on one bucket key (a key is the API and
the account, and region, it is throttled under: sts@platform is every AssumeRole) against the
limit; and per account, from the FanOutRun claims and the server's log: succeeded runs (must
be exactly 1), lost (0), executions of the work beyond its claims' attempts (duplicates: 0).

Run: BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/fanout_1000_accounts.py
     [--accounts N] [--limit RATE]
(PostgreSQL; the default database is spendlens_bench, its bench-fanout organisation is
replaced and the task queue emptied.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import describe  # noqa: E402
from focus_import import DEFAULT_DATABASE_URL, django_env, ensure_database, manage  # noqa: E402

OUT = ROOT / "bench" / "out"
RECORDING = OUT / "fanout_recording_v1.json"
ORG_SLUG = "bench-fanout"
REGION = "us-east-1"
RECORD_ACCOUNT = "100000000001"
FIRST_ACCOUNT = 300000000000
DEFAULT_ACCOUNTS = 1_000
# Every family of config/aws_limits.py at 50 requests/s, burst 1.
DEFAULT_LIMITS = "*=50,ec2.read=50,ec2.write=50,cloudwatch=50,ce=50,sts=50"
DUPLICATES = 50
Q_TIMEOUT, Q_RETRY = 20, 30
TASK = "fleet.tasks.sync_account_inventory"
WAIT = 3600  # seconds: only a broken run ever waits this long
KEY_PREFIX = "ASIABENCH"  # AssumeRole answers: the access key names the account
SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
SIGNING_NAMES = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch"}
ROLE_ACCOUNT = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/")


# --- The AWS endpoint: records from the emulator, then replays ------------------------------


class Endpoint:
    """A threaded HTTP server logging every call (arrival, service, operation, account,
    region). With UPSTREAM it forwards to it and records the answers per operation; without,
    it answers from RECORDING."""

    def __init__(self, upstream: str | None = None, recording: dict | None = None):
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        self.upstream, self.recording = upstream, recording if recording is not None else {}
        self.lock = threading.Lock()
        self.log: list[tuple[float, str, str, str, str]] = []
        self.unanswered: Counter = Counter()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()

    def app(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        from demo.aws_front import forward, parse_call

        arrived = time.time()
        request = Request(environ)
        call = parse_call(request)
        scope = SCOPE.search(request.headers.get("Authorization", ""))
        key, region, service = scope.groups() if scope else ("", "", call.service)
        service = SIGNING_NAMES.get(service, service)
        account = key[len(KEY_PREFIX) :] if key.startswith(KEY_PREFIX) else "platform"
        name = f"{service}.{call.operation}"
        with self.lock:
            self.log.append((arrived, service, call.operation, account, region))
        if self.upstream:
            response = forward(request, self.upstream)
            self.recording[name] = [
                response.status_code,
                response.headers.get("Content-Type", "text/xml"),
                response.get_data(as_text=True),
            ]
            return response(environ, start_response)
        if name not in self.recording:
            with self.lock:
                self.unanswered[name] += 1
            return Response("not recorded", status=501)(environ, start_response)
        status, content_type, body = self.recording[name]
        if call.operation == "AssumeRole":
            role_account = ROLE_ACCOUNT.match(call.params.get("RoleArn", ""))
            expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = re.sub(
                r"<AccessKeyId>[^<]*</AccessKeyId>",
                f"<AccessKeyId>{KEY_PREFIX}{role_account[1] if role_account else ''}</AccessKeyId>",
                body,
            )
            body = re.sub(
                r"<Expiration>[^<]*</Expiration>", f"<Expiration>{expires}</Expiration>", body
            )
        return Response(body, status=status, content_type=content_type)(environ, start_response)


# --- Phases run in subprocesses (Django set up on the benchmark's database) -------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def record() -> None:
    """A small fleet in the emulator for one account, then that account's inventory."""
    _django()
    from accounts import aws
    from accounts.models import CloudAccount, Organization
    from fleet.inventory import sync_inventory

    Organization.objects.filter(slug=f"{ORG_SLUG}-record").delete()
    org = Organization.objects.create(name="Bench fan-out recording", slug=f"{ORG_SLUG}-record")
    account = CloudAccount.objects.create(
        organization=org,
        account_id=RECORD_ACCOUNT,
        role_arn=f"arn:aws:iam::{RECORD_ACCOUNT}:role/SpendlensAccess",
        regions=[REGION],
    )
    session = aws.assumed_session(account.role_arn, account.external_id, region=REGION)
    ec2 = aws.client(session, "ec2", REGION)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=2, MaxCount=2)
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=20, VolumeType="gp3")
    ec2.allocate_address(Domain="vpc")
    result = sync_inventory(account)
    org.delete()
    if not result.ok:
        raise SystemExit(f"the recorded inventory failed: {result.regions}")


def setup(accounts: int) -> None:
    """The organisation's accounts, an empty queue, then the fan-out and some duplicates."""
    _django()
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    from accounts import fanout
    from accounts.models import CloudAccount, Organization
    from accounts.tasks import fan_out

    Organization.objects.filter(slug=ORG_SLUG).delete()
    OrmQ.objects.all().delete()
    org = Organization.objects.create(name="Bench fan-out", slug=ORG_SLUG)
    created = CloudAccount.objects.bulk_create(
        CloudAccount(
            organization=org,
            account_id=f"{FIRST_ACCOUNT + n:012d}",
            role_arn=f"arn:aws:iam::{FIRST_ACCOUNT + n:012d}:role/SpendlensAccess",
            regions=[REGION],
        )
        for n in range(accounts)
    )
    pks = [a.pk for a in created]
    slot = fanout.new_slot()
    fan_out(TASK, "bench-fanout", pks, slot=slot)
    for pk in pks[:DUPLICATES]:  # a broker's second delivery of tasks already queued
        async_task("accounts.tasks.run_for_account", TASK, pk, slot, group="bench-fanout")
    print(json.dumps({"slot": slot}))


def report(slot: str) -> None:
    """The claims of the slot per account, and the no-op answers django-q2 kept."""
    _django()
    from django_q.models import Task

    from accounts.models import CloudAccount, FanOutRun

    accounts = CloudAccount.objects.filter(organization__slug=ORG_SLUG)
    runs = FanOutRun.objects.filter(slot=slot, task=TASK)
    claims = defaultdict(list)
    for account_id, status, attempts in runs.values_list(
        "account__account_id", "status", "attempts"
    ):
        claims[account_id].append([status, attempts])
    noops = sum(
        "under way elsewhere" in str(t.result)
        for t in Task.objects.filter(func="accounts.tasks.run_for_account", group="bench-fanout")
    )
    print(
        json.dumps(
            {
                "accounts": list(accounts.values_list("account_id", flat=True)),
                "claims": claims,
                "noops": noops,
            }
        )
    )


# --- The measurement -------------------------------------------------------------------------


def _phase(url: str, env_extra: dict, *args: str) -> str:
    env = {**django_env(url), **env_extra}
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _aws_env(endpoint: str) -> dict:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "LOG_FORMAT": "plain",
        "LOG_LEVEL": "WARNING",
    }


def recording(url: str) -> dict:
    if RECORDING.exists():
        return json.loads(RECORDING.read_text())
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    recorder = Endpoint(upstream=f"http://{host}:{port}")
    try:
        _phase(url, {**_aws_env(recorder.url), "AWS_API_RATE_LIMITS": "off"}, "--record")
    finally:
        recorder.stop()
        moto.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    RECORDING.write_text(json.dumps(recorder.recording, indent=1, sort_keys=True))
    return recorder.recording


class Cluster:
    """`manage.py qcluster` with one worker, in its own process group (a kill takes all)."""

    def __init__(self, url: str, env_extra: dict, log: Path):
        env = {
            **django_env(url),
            **env_extra,
            "Q_WORKERS": "1",
            "Q_TIMEOUT": str(Q_TIMEOUT),
            "Q_RETRY": str(Q_RETRY),
            "DB_CONN_MAX_AGE": "60",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            manage(url, "qcluster"),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.log.close()


def succeeded(url: str, slot: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM accounts_fanoutrun WHERE slot = %s AND task = %s "
            "AND status = 'succeeded'",
            [slot, TASK],
        ).fetchone()[0]


def busiest_second(times: list[float]) -> int:
    """The most of TIMES in any half-open window of one second."""
    times.sort()
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def measure(url: str, accounts: int, spec: str) -> dict:
    from accounts import ratelimit
    from config.aws_limits import parse_rate_limits

    limits = parse_rate_limits(spec)
    answers = recording(url)
    endpoint = Endpoint(recording=answers)
    env = {**_aws_env(endpoint.url), "AWS_API_RATE_LIMITS": spec}
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        slot = json.loads(_phase(url, env, "--setup", str(accounts)).strip().splitlines()[-1])[
            "slot"
        ]
        started = time.perf_counter()
        clusters = [Cluster(url, env, OUT / f"fanout_cluster_{n}.log") for n in range(2)]
        killed_at = None
        deadline = time.monotonic() + WAIT
        try:
            while (done := succeeded(url, slot)) < accounts:
                if killed_at is None and done >= accounts // 2:
                    clusters[0].kill()
                    killed_at = (time.perf_counter() - started, done)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {done} of {accounts} accounts done after {WAIT} s")
                time.sleep(0.2)
            wall = time.perf_counter() - started
        finally:
            for cluster in clusters:
                cluster.kill(signal.SIGTERM)
        facts = json.loads(_phase(url, env, "--report", slot).strip().splitlines()[-1])
    finally:
        endpoint.stop()
    with endpoint.lock:
        log = list(endpoint.log)
        unanswered = dict(endpoint.unanswered)

    per_key: dict[str, list[float]] = defaultdict(list)
    per_limit: dict[str, str] = {}
    executions: Counter = Counter()
    for at, service, operation, account, region in log:
        name, _, _ = ratelimit.limit_for(service, operation, limits)
        key = ratelimit.bucket_key(name, service, account, region)
        per_key[key].append(at)
        per_limit[key] = name
        if operation == "DescribeInstances":
            executions[account] += 1  # one per execution of an account's inventory
    busiest: dict[str, tuple[int, str]] = {}  # limit name -> (most in 1 s, on which key)
    totals: Counter = Counter()
    for key, times in per_key.items():
        name = per_limit[key]
        totals[name] += len(times)
        busiest[name] = max(busiest.get(name, (0, "")), (busiest_second(times), key))
    busiest = {name: (*busiest[name], totals[name]) for name in sorted(busiest)}

    claims = facts["claims"]
    one_success = sum(
        1 for a in facts["accounts"] if [s for s, _ in claims.get(a, [])] == ["succeeded"]
    )
    lost = sum(1 for a in facts["accounts"] if "succeeded" not in [s for s, _ in claims.get(a, [])])
    attempts = {a: max((n for _, n in claims.get(a, [])), default=0) for a in facts["accounts"]}
    duplicated = sum(1 for a in facts["accounts"] if executions[a] > attempts[a])
    return {
        "accounts": accounts,
        "limits": limits,
        "wall": wall,
        "killed_at": killed_at,
        "requests": len(log),
        "span": (max(t for t, *_ in log) - min(t for t, *_ in log)) if log else 0.0,
        "busiest": busiest,
        "one_success": one_success,
        "lost": lost,
        "duplicated": duplicated,
        "taken_over": sum(1 for n in attempts.values() if n > 1),
        "reexecuted": sum(1 for a in facts["accounts"] if executions[a] > 1),
        "noops": facts["noops"],
        "unanswered": unanswered,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS)
    parser.add_argument("--limits", default=DEFAULT_LIMITS, help="AWS_API_RATE_LIMITS to run with")
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args(
        argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else []
    )
    if args.record:
        return record()
    if args.setup:
        return setup(args.setup)
    if args.report:
        return report(args.report)

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    ensure_database(url)
    subprocess.run(
        manage(url, "migrate", "--verbosity", "0"), env=django_env(url), check=True, cwd=ROOT
    )
    print(f"machine: {describe()}")
    with psycopg.connect(url) as conn:
        print(f"PostgreSQL {conn.info.server_version // 10000}, database {conn.info.dbname}")
    print(
        f"command: BENCH_DATABASE_URL=... .venv/bin/python bench/fanout_1000_accounts.py "
        f"--accounts {args.accounts} --limits {args.limits}"
    )
    r = measure(url, args.accounts, args.limits)
    kill_time, kill_done = r["killed_at"] or (float("nan"), 0)
    print(
        f"{r['accounts']} accounts, 2 qcluster processes (1 worker each), ORM broker, "
        f"AWS_API_RATE_LIMITS={args.limits}, one cluster SIGKILLed at {kill_time:.1f} s "
        f"({kill_done} accounts done), Q_TIMEOUT {Q_TIMEOUT} s, Q_RETRY {Q_RETRY} s"
    )
    print(
        f"wall {r['wall']:.1f} s ({r['accounts'] / r['wall']:.1f} accounts/s); "
        f"{r['requests']} AWS requests over {r['span']:.1f} s"
    )
    print("busiest second per limit (on one bucket key, at the server; must be <= its rate):")
    for name, (most, key, total) in r["busiest"].items():
        rate = r["limits"].get(name, r["limits"].get("*"))[0]
        verdict = "ok" if most <= rate else "OVER"
        print(
            f"  {name:<10} {most:>4} req in 1 s on {key:<32} limit {rate:g}/s "
            f"({total} requests in all) {verdict}"
        )
    print(
        f"runs: {r['one_success']}/{r['accounts']} accounts with exactly one succeeded run, "
        f"lost {r['lost']}, duplicated {r['duplicated']}; claims taken over after the kill "
        f"{r['taken_over']}, accounts whose work ran again after the kill {r['reexecuted']}, "
        f"duplicate deliveries answered as no-ops {r['noops']} (of "
        f"{min(DUPLICATES, r['accounts'])} injected; the killed cluster's unsaved results are lost)"
    )
    if r["unanswered"]:
        print(f"calls without a recorded answer: {r['unanswered']}")


if __name__ == "__main__":
    main()
