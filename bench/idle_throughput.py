"""Benchmark: utilization collection and idle detection for 10,000 instances x 14 days.

Client side only. A real boto3 CloudWatch client (the product's session, with its parser) is
answered at the HTTP layer by a before-send hook (no network, endpoint irrelevant): every
response is the JSON body CloudWatch would send for the queries the code sent (MetricDataResults
with Id, Label, Timestamps, Values, StatusCode), each query at its own period (CPU average
hourly, CPU maximum daily, NetworkIn and NetworkOut per two hours), so botocore really parses
every datapoint. The hourly figures come from demo/metrics.py's profiles (idle, nightly batch,
business hours, steady busy, oversized), several variants of each.

Measured, in a worker subprocess (its own peak RSS from os.wait4):

- `fleet.utilization.collect`: fetch + parse (80 GetMetricData calls of 125 instances x 4
  queries, then the memory pass for the rightsizing candidates), rollup and the upsert of
  UtilizationDay rows;
- `findings.detection.detect` on the account: idle verdicts, rightsizing, recommendations.

The time spent building the response bodies is measured and subtracted from fetch + parse.

Targets: total <= 10 s, peak RSS <= 500 MB.
Run: .venv/bin/python bench/idle_throughput.py [--instances N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
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

DEFAULT_INSTANCES = 10_000
DAYS = 14
TARGET_SECONDS = 10.0
TARGET_RSS_MB = 500
ORG_SLUG = "bench-idle"
ACCOUNT_ID = "999999999999"
REGION = "us-east-1"
VARIANTS_PER_PROFILE = 16

# (profile, share of the fleet, instance type, CWAgent memory % or None)
MIX = (
    ("idle", 0.40, "t3.large", None),
    ("nightly_batch", 0.15, "m5.xlarge", None),
    ("business_hours", 0.15, "m5.large", None),
    ("steady_busy", 0.20, "c5.xlarge", None),
    ("oversized", 0.10, "m5.2xlarge", 20.0),
)
# Every 25th idle instance carries the protect tag, every 20th is an Auto Scaling member.
PROTECT_EVERY, ASG_EVERY = 25, 20
# DescribeInstanceTypes figures for the types above and their next smaller sizes.
SPECS = {
    "t3.small": (2, 2048),
    "t3.medium": (2, 4096),
    "t3.large": (2, 8192),
    "m5.large": (2, 8192),
    "m5.xlarge": (4, 16384),
    "m5.2xlarge": (8, 32768),
    "c5.large": (2, 4096),
    "c5.xlarge": (4, 8192),
}


# --- The worker: runs inside Django, does the measured work ----------------------------------


def fleet_plan(count: int) -> list[tuple[str, str, str, float | None, int]]:
    """(instance_id, profile, type, memory, variant) for COUNT instances, deterministic."""
    plan, n = [], 0
    for profile, share, instance_type, memory in MIX:
        size = round(count * share) if profile != MIX[-1][0] else count - n
        for k in range(size):
            plan.append((f"i-{n:017x}", profile, instance_type, memory, k % VARIANTS_PER_PROFILE))
            n += 1
    return plan


def prepare_fleet(count: int, now):
    """Organisation, account and COUNT running instances; earlier runs' rows removed."""
    from accounts.models import CloudAccount, Organization
    from findings.models import Recommendation
    from fleet.models import Instance

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench idle"})
    account, _ = CloudAccount.objects.get_or_create(
        organization=org,
        account_id=ACCOUNT_ID,
        defaults={
            "name": "Bench idle",
            "role_arn": f"arn:aws:iam::{ACCOUNT_ID}:role/SpendlensAccess",
            "external_id": "bench-idle-throughput",
            "regions": [REGION],
        },
    )
    Recommendation.objects.filter(account=account).delete()
    Instance.objects.filter(account=account).delete()  # cascades to UtilizationDay
    plan = fleet_plan(count)
    rows = []
    idle_seen = 0
    for instance_id, profile, instance_type, _, _ in plan:
        tags, group = {"Profile": profile}, ""
        if profile == "idle":
            idle_seen += 1
            if idle_seen % PROTECT_EVERY == 0:
                tags["spendlens:protect"] = "true"
            elif idle_seen % ASG_EVERY == 0:
                group = "bench-workers"
        rows.append(
            Instance(
                account=account,
                region=REGION,
                instance_id=instance_id,
                name=f"bench-{profile}",
                instance_type=instance_type,
                state="running",
                platform="Linux/UNIX",
                tags=tags,
                auto_scaling_group=group,
                launch_time=now.replace(year=now.year - 1),
            )
        )
    Instance.objects.bulk_create(rows, batch_size=2000)
    return account, plan


def buckets(values: list[float], size: int, aggregate) -> list[float]:
    return [aggregate(values[i : i + size]) for i in range(0, len(values), size)]


def profile_variants(end) -> dict[tuple[str, int], dict]:
    """Each profile variant's series by query suffix, at that query's period, oldest first."""
    from demo import seed as demo
    from fleet import utilization

    per = {suffix: period // utilization.HOUR for suffix, period in utilization.PERIODS.items()}
    variants = {}
    for profile, _, instance_type, memory in MIX:
        for v in range(VARIANTS_PER_PROFILE):
            member = demo.DemoInstance(
                key=f"bench-{profile}-{v}",
                name=f"bench-{profile}-{v}",
                account_id=ACCOUNT_ID,
                region=REGION,
                instance_type=instance_type,
                profile=profile,
                expected="",
                metric_hours=DAYS * 24,
                memory_percent=memory,
            )
            # The hours of the lookback window exactly: it ends at END, a midnight.
            samples = demo.hourly_samples(member, end)
            variants[(profile, v)] = {
                "a": [s.cpu_average for s in samples],
                "m": buckets([s.cpu_maximum for s in samples], per["m"], max),
                "i": buckets([float(s.network_in) for s in samples], per["i"], sum),
                "o": buckets([float(s.network_out) for s in samples], per["o"], sum),
                "r": [s.memory_percent for s in samples] if memory is not None else [],
            }
    return variants


class RecordedBody:
    """The raw HTTP body botocore reads a response from."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


class ResponseFactory:
    """Answers each GetMetricData request at the HTTP layer with the body CloudWatch would send.

    The body is JSON (awsJson1_0, the protocol botocore speaks to CloudWatch here) with epoch
    timestamps, so botocore's real parser turns it into datetimes and floats inside the
    measured time; only building the body is subtracted.
    """

    def __init__(self, start, hours: int, variants: dict, plan: list):
        from fleet import utilization

        self.epochs = {
            suffix: [start.timestamp() + period * n for n in range(hours * 3600 // period)]
            for suffix, period in utilization.PERIODS.items()
        }
        self.variants = variants
        self.by_instance = {iid: (profile, v) for iid, profile, _, _, v in plan}
        self.seconds = 0.0
        self.calls = 0

    def body(self, queries: list[dict]) -> bytes:
        results = []
        for q in queries:
            qid = q["Id"]
            suffix = qid[-1]
            instance_id = q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
            series = self.variants[self.by_instance[instance_id]][suffix]
            results.append(
                {
                    "Id": qid,
                    "Label": q.get("Label", qid),
                    "Timestamps": self.epochs[suffix][: len(series)],
                    "Values": series,
                    "StatusCode": "Complete",
                }
            )
        return json.dumps({"MetricDataResults": results, "Messages": []}).encode()

    def hook(self):
        from botocore.awsrequest import AWSResponse

        def send(request, **_):
            started = time.perf_counter()
            queries = json.loads(request.body)["MetricDataQueries"]
            headers = {
                "x-amzn-requestid": f"bench-{self.calls}",
                "content-type": "application/x-amz-json-1.0",
            }
            response = AWSResponse(request.url, 200, headers, RecordedBody(self.body(queries)))
            self.seconds += time.perf_counter() - started
            self.calls += 1
            return response

        return send


def recorded_cloudwatch(factory: ResponseFactory):
    """Our session's CloudWatch client (with its timestamp parser), every GetMetricData
    answered by FACTORY before anything is sent."""
    from accounts import aws
    from fleet import utilization

    cloudwatch = aws.platform_session(REGION).client(
        "cloudwatch",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106
        endpoint_url="http://127.0.0.1:9",
        config=aws.BOTO_CONFIG.merge(utilization.CLIENT_CONFIG),
    )
    cloudwatch.meta.events.register("before-send.cloudwatch.GetMetricData", factory.hook())
    return cloudwatch


def worker(count: int, profile_path: str | None) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.db import connection
    from django.utils import timezone

    from findings import detection, rightsizing
    from findings.models import DetectionSettings, Recommendation
    from fleet import utilization
    from fleet.models import Instance, UtilizationDay

    now = timezone.now()
    start, end = utilization.lookback_window(now, DAYS)
    setup_started = time.perf_counter()
    account, plan = prepare_fleet(count, now)
    variants = profile_variants(end)
    factory = ResponseFactory(start, DAYS * 24, variants, plan)
    cloudwatch = recorded_cloudwatch(factory)
    settings = DetectionSettings.for_organization(account.organization)
    instances = list(Instance.objects.present().filter(account=account, state="running"))
    specs = {t: rightsizing.InstanceSpec(c, m) for t, (c, m) in SPECS.items()}
    setup_seconds = time.perf_counter() - setup_started

    # Time the parts of collect() and detect(): module attributes looked up at call time.
    timers: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - started

        return wrapper

    from findings import idle, savings

    patched = [
        (utilization, "store"),
        (utilization, "rollup"),
        (rightsizing, "needs_memory"),
        (idle, "assess"),
        (savings, "billed_cost"),
        (rightsizing, "find_rightsizing"),
        (detection, "reconcile"),
    ]
    originals = [(module, name, getattr(module, name)) for module, name in patched]
    for module, name, function in originals:
        timers.setdefault(name, 0.0)
        setattr(module, name, timed(name, function))
    calls = {"billed_cost": 0}
    billed = savings.billed_cost

    def counted(*args, **kwargs):
        calls["billed_cost"] += 1
        return billed(*args, **kwargs)

    savings.billed_cost = counted
    rss_before = rusage_mb()
    profiler = cProfile.Profile() if profile_path else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    result = utilization.collect(
        cloudwatch, instances, start, end, rightsizing.memory_wanted(settings)
    )
    collected = time.perf_counter()
    rss_after_collect = rusage_mb()
    in_collect = dict(timers)  # needs_memory calls idle.assess too
    detected = detection.detect(account, now=now, specs=specs)
    finished = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_path)
    for module, name, function in originals:
        setattr(module, name, function)

    verdicts: dict[str, int] = {}
    for verdict in detected.verdicts.values():
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return {
        "database": f"{connection.vendor}",
        "setup_seconds": setup_seconds,
        "collect_seconds": collected - started,
        "synth_seconds": factory.seconds,
        "store_seconds": timers["store"],
        "rollup_seconds": timers["rollup"],
        "needs_memory_seconds": timers["needs_memory"],
        "detect_seconds": finished - collected,
        "detect_parts": {
            k: timers[k] - in_collect[k] for k in ("assess", "billed_cost", "find_rightsizing")
        },
        "reconcile_seconds": timers["reconcile"],
        "billed_cost_queries": calls["billed_cost"],
        "api_calls": result.api_calls,
        "instances_per_call": utilization.instances_per_call(DAYS),
        "answered_calls": factory.calls,
        "instances": result.instances,
        "datapoints": result.datapoints,
        "days_written": result.days_written,
        "memory_instances": result.memory_instances,
        "verdicts": verdicts,
        "reconciled": vars(detected.reconciled),
        "recommendations": Recommendation.objects.filter(account=account).count(),
        "utilization_rows": UtilizationDay.objects.filter(instance__account=account).count(),
        "rss_before_mb": rss_before,
        "rss_after_collect_mb": rss_after_collect,
        "rss_end_mb": rusage_mb(),
    }


def rusage_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- The driver ------------------------------------------------------------------------------


def prepare_database(url: str) -> None:
    ensure_database(url)
    subprocess.run(
        manage(url, "migrate", "--verbosity", "0"), env=django_env(url), check=True, cwd=ROOT
    )


def run_worker(
    url: str, count: int, profile_path: str | None, script: Path | None = None
) -> tuple[dict, float, str]:
    """Run SCRIPT's (by default this benchmark's) worker; its result, peak RSS and command."""
    script = script or Path(__file__).resolve()
    command = [sys.executable, str(script), "--worker", "--instances", str(count)]
    if profile_path:
        command += ["--profile-out", profile_path]
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, env=django_env(url), cwd=ROOT, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"worker failed:\n{output}")
    line = next(x for x in reversed(output.splitlines()) if x.startswith("{"))
    return json.loads(line), usage.ru_maxrss / 1024, " ".join(command)


def print_profile(path: str, limit: int = 25) -> None:
    for sort in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(path, stream=text).strip_dirs().sort_stats(sort).print_stats(limit)
        print(f"--- cProfile, top {limit} by {sort} ({path}) ---")
        body = text.getvalue()
        print(body[body.find("   ncalls") :].rstrip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=DEFAULT_INSTANCES)
    parser.add_argument("--profile", action="store_true", help="cProfile the measured part")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.worker:
        print(json.dumps(worker(args.instances, args.profile_out)))
        return

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    print("== Utilization collection + idle detection, client side ==")
    print(f"machine: {machine()}")
    prepare_database(url)
    print(f"database: {url} (PostgreSQL {server_version(url)})")
    OUT.mkdir(parents=True, exist_ok=True)
    profile_path = str(OUT / "idle_throughput.prof") if args.profile else None
    r, peak_mb, command = run_worker(url, args.instances, profile_path)
    print(f"command: DATABASE_URL={url} {command}")
    rollup, check, upsert = r["rollup_seconds"], r["needs_memory_seconds"], r["store_seconds"]
    fetch = r["collect_seconds"] - r["synth_seconds"] - rollup - check - upsert
    total = r["collect_seconds"] - r["synth_seconds"] + r["detect_seconds"]
    expected_calls = -(-r["instances"] // r["instances_per_call"])
    print(
        f"fleet: {r['instances']:,} instances x {DAYS} days (CPU hourly, network per 2 h), "
        f"{r['datapoints']:,} datapoints, {r['days_written']:,} UtilizationDay rows "
        f"({r['utilization_rows']:,} in the table)"
    )
    print(
        f"GetMetricData calls: {r['api_calls']} ({expected_calls} for CPU/network + "
        f"{r['api_calls'] - expected_calls} memory pass; {r['memory_instances']:,} instances "
        "with a memory metric)"
    )
    print(f"verdicts: {r['verdicts']}")
    print(f"recommendations: {r['reconciled']} ({r['recommendations']:,} in the table)")
    print(f"setup (not measured): {r['setup_seconds']:.2f} s")
    print(
        f"fetch + parse     : {fetch:6.2f} s  (botocore: serialise the queries, parse the JSON "
        f"answer; building the answers, {r['synth_seconds']:.2f} s, excluded)"
    )
    print(f"rollup to days    : {rollup:6.2f} s")
    print(f"memory candidates : {check:6.2f} s")
    print(f"upsert days       : {upsert:6.2f} s")
    print(f"detection         : {r['detect_seconds']:6.2f} s")
    parts = r["detect_parts"]
    rest = r["detect_seconds"] - parts["assess"] - parts["billed_cost"] - r["reconcile_seconds"]
    print(
        f"  idle.assess x{r['instances']:,}: {parts['assess']:.2f} s; savings.billed_cost "
        f"x{r['billed_cost_queries']:,} (one grouped query, then lookups): "
        f"{parts['billed_cost']:.2f} s; reconcile ({r['reconciled']['opened']:,} rows, bulk "
        f"INSERT): {r['reconcile_seconds']:.2f} s;"
    )
    print(
        f"  the rest (loading UtilizationDay rows, rightsizing checks, {r['instances']:,} "
        f"verdicts written by COPY + UPDATE): {rest:.2f} s"
    )
    print(f"total             : {total:6.2f} s  (target <= {TARGET_SECONDS:.0f} s)")
    print(
        f"peak RSS (worker, wait4): {peak_mb:,.0f} MB (target <= {TARGET_RSS_MB} MB; "
        f"{r['rss_before_mb']:,.0f} MB before collect, {r['rss_after_collect_mb']:,.0f} MB "
        "after collect)"
    )
    met = total <= TARGET_SECONDS and peak_mb <= TARGET_RSS_MB
    print("targets: " + ("met" if met else "NOT met"))
    if profile_path:
        print_profile(profile_path)


if __name__ == "__main__":
    main(sys.argv[1:])
