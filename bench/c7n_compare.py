"""Benchmark: CloudWatch API calls, Spendlens against Cloud Custodian (c7n), on one fleet.

A moto server (from our venv) on 127.0.0.1 holds a fleet of 50 running instances with 14 days
of hourly CPU and network statistics from demo/metrics.py's profiles (idle, nightly batch,
business hours, steady busy, oversized). Then:

- c7n (PyPI `c7n`, installed into its own venv bench/out/c7n-venv so ours stays pinned) runs an
  "idle EC2" policy: a `metrics` filter, CPUUtilization Average < 5% over 14 days. Its
  CloudWatch calls come from OUTDIR/<policy>/metadata.json (api-stats).
- Spendlens runs `fleet.utilization.collect` (GetMetricData, batched) and `findings.idle.assess`
  on the same instances, in a worker process against the bench PostgreSQL database.

It prints both call counts, where the verdicts differ and why, and the counts at 1,000
instances from the batching arithmetic. Target: at most 1/100 of c7n's calls at 1,000.
Run: .venv/bin/python bench/c7n_compare.py [--instances N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WORK = OUT / "c7n"
C7N_VENV = OUT / "c7n-venv"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from focus_import import DEFAULT_DATABASE_URL, django_env, ensure_database, machine  # noqa: E402

DEFAULT_INSTANCES = 50
DAYS = 14
REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"
ORG_SLUG = "bench-c7n"
POLICY = "ec2-idle-cpu"
C7N_CPU_THRESHOLD = 5.0
SCALE = 1_000
# GetMetricData limits: 500 queries and 100,800 datapoints per response.
MAX_QUERIES, MAX_DATAPOINTS = 500, 100_800
# (profile, share, instance type, CWAgent memory %)
MIX = (
    ("idle", 0.40, "t3.large", None),
    ("nightly_batch", 0.20, "m5.xlarge", None),
    ("business_hours", 0.15, "m5.large", None),
    ("steady_busy", 0.15, "c5.xlarge", None),
    ("oversized", 0.10, "m5.2xlarge", 20.0),
)
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
POLICY_YAML = f"""\
policies:
  - name: {POLICY}
    resource: aws.ec2
    description: Idle EC2, the usual Custodian way - average CPU over 14 days below 5%.
    filters:
      - "State.Name": running
      - type: metrics
        name: CPUUtilization
        statistics: Average
        days: {DAYS}
        value: {C7N_CPU_THRESHOLD:g}
        op: less-than
"""


# --- Worker: seed the emulator and run our side (inside Django) ------------------------------


def fleet_plan(count: int) -> list[tuple[str, str, float | None]]:
    plan = []
    for profile, share, instance_type, memory in MIX:
        size = round(count * share) if profile != MIX[-1][0] else count - len(plan)
        plan += [(profile, instance_type, memory)] * size
    return plan


def seed(endpoint: str, count: int, now) -> dict[str, str]:
    """Launch COUNT instances and publish their hourly metrics; returns instance_id -> profile."""
    import boto3

    from demo import seed as demo

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=endpoint)
    image = demo.demo_image(ec2)
    fleet = {}
    for n, (profile, instance_type, memory) in enumerate(fleet_plan(count)):
        key = f"c7n-{profile}-{n:03d}"
        response = ec2.run_instances(
            ImageId=image,
            InstanceType=instance_type,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": key}, {"Key": "Profile", "Value": profile}],
                }
            ],
        )
        instance_id = response["Instances"][0]["InstanceId"]
        member = demo.DemoInstance(
            key=key,
            name=key,
            account_id=MOTO_ACCOUNT,
            region=REGION,
            instance_type=instance_type,
            profile=profile,
            expected="",
            memory_percent=memory,
        )
        demo.put_metric_data(
            cloudwatch, demo.metric_data(instance_id, demo.hourly_samples(member, now))
        )
        fleet[instance_id] = profile
    return fleet


def ours(endpoint: str, fleet: dict[str, str], now) -> dict:
    """Spendlens's collection and idle assessment; counts the GetMetricData calls made."""
    from botocore.config import Config

    from accounts import aws
    from accounts.models import CloudAccount, Organization
    from findings import idle, rightsizing
    from findings.models import DetectionSettings
    from fleet import utilization
    from fleet.models import Instance, UtilizationDay

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench c7n"})
    account, _ = CloudAccount.objects.get_or_create(
        organization=org,
        account_id=MOTO_ACCOUNT,
        defaults={
            "name": "moto",
            "role_arn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/SpendlensAccess",
            "external_id": "bench-c7n-compare",
            "regions": [REGION],
        },
    )
    Instance.objects.filter(account=account).delete()
    Instance.objects.bulk_create(
        Instance(
            account=account,
            region=REGION,
            instance_id=iid,
            name=profile,
            instance_type="m5.large",
            state="running",
        )
        for iid, profile in fleet.items()
    )
    settings = DetectionSettings.for_organization(org)
    # moto's GetMetricData scans every stored datapoint per query: minutes, not milliseconds.
    # No retries either, so that every call counted is a call the code made.
    patient = Config(read_timeout=1800, retries={"total_max_attempts": 1})
    cloudwatch = aws.platform_session(REGION).client(
        "cloudwatch", endpoint_url=endpoint, config=patient
    )
    calls = {"GetMetricData": 0}

    def count(**_):
        calls["GetMetricData"] += 1

    cloudwatch.meta.events.register("before-send.cloudwatch.GetMetricData", count)
    instances = list(Instance.objects.filter(account=account))
    start, end = utilization.lookback_window(now, settings.lookback_days)
    started = time.perf_counter()
    result = utilization.collect(
        cloudwatch, instances, start, end, rightsizing.memory_wanted(settings)
    )
    collect_seconds = time.perf_counter() - started
    verdicts, evidence = {}, {}
    for instance in instances:
        days = list(
            UtilizationDay.objects.filter(
                instance=instance, day__gte=start.date(), day__lt=end.date()
            )
        )
        assessment = idle.assess(instance, days, settings)
        verdicts[instance.instance_id] = assessment.verdict
        evidence[instance.instance_id] = {
            k: assessment.evidence.get(k)
            for k in ("avg_cpu", "max_hourly_cpu_avg", "max_daily_network_mb", "rules_met")
        }
    return {
        "api_calls": result.api_calls,
        "http_calls": calls["GetMetricData"],
        "memory_instances": result.memory_instances,
        "memory_candidates": result.memory_candidates,
        "datapoints": result.datapoints,
        "collect_seconds": collect_seconds,
        "verdicts": verdicts,
        "evidence": evidence,
        "p95_threshold": settings.rightsize_cpu_p95_percent,
        "batching": {
            "instances_per_call": utilization.instances_per_call(DAYS),
            "datapoints_per_instance": utilization.datapoints_per_instance(DAYS),
        },
    }


def worker(endpoint: str, count: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.utils import timezone

    now = timezone.now()
    started = time.perf_counter()
    fleet = seed(endpoint, count, now)
    seed_seconds = time.perf_counter() - started
    return {"fleet": fleet, "seed_seconds": seed_seconds, **ours(endpoint, fleet, now)}


# --- Driver ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    log = (OUT / "c7n-moto.log").open("w")
    # The moto of the interpreter running this benchmark, wherever its venv lives.
    moto_server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return process, endpoint
        except requests.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("moto_server did not start")


def ensure_c7n() -> tuple[Path | None, str]:
    custodian = C7N_VENV / "bin" / "custodian"
    if not custodian.exists():
        print(f"installing c7n into {C7N_VENV.relative_to(ROOT)} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(C7N_VENV)], check=True)
            subprocess.run(
                [str(C7N_VENV / "bin" / "pip"), "install", "--quiet", "c7n"],
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            return None, f"could not install c7n: {exc} {getattr(exc, 'stderr', '') or ''}"
    version = subprocess.run([str(custodian), "version"], capture_output=True, text=True)
    return custodian, version.stdout.strip()


def run_c7n(custodian: Path, endpoint: str) -> tuple[dict | None, str, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    policy = WORK / "policy.yml"
    policy.write_text(POLICY_YAML)
    outdir = WORK / "output"
    command = [str(custodian), "run", "-s", str(outdir), "--region", REGION, str(policy)]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **DUMMY_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
    }
    started = time.perf_counter()
    process = subprocess.run(command, env=env, capture_output=True, text=True, cwd=WORK)
    wall = time.perf_counter() - started
    shown = f"AWS_ENDPOINT_URL={endpoint} " + " ".join(command)
    if process.returncode != 0:
        return None, shown, f"custodian exited {process.returncode}: {process.stderr[-2000:]}"
    metadata = json.loads((outdir / POLICY / "metadata.json").read_text())
    resources = json.loads((outdir / POLICY / "resources.json").read_text())
    return (
        {
            "api_stats": metadata.get("api-stats", {}),
            "flagged": {r["InstanceId"]: r.get("c7n.metrics", {}) for r in resources},
            "wall": wall,
        },
        shown,
        "",
    )


def why(profile: str, evidence: dict) -> str:
    e = evidence
    network = e["max_daily_network_mb"]
    traffic = "network unknown" if network is None else f"max {network} MB/day network"
    figures = f"avg CPU {e['avg_cpu']}%, busiest hour {e['max_hourly_cpu_avg']}%, {traffic}"
    if profile == "nightly_batch":
        return (
            f"{figures}: one hour at ~90% every night keeps the 14-day average under "
            f"{C7N_CPU_THRESHOLD:g}%, which is all c7n's filter looks at; we require every hour "
            "<= 20% and <= 5 MB/day of network, so an hour of real work is not idle"
        )
    return figures


def at_scale(n: int, candidate_share: float, agent_share: float, batching: dict) -> dict:
    """Calls at N instances from the batching of fleet/utilization.py (BATCHING, the worker's)."""
    hours = DAYS * 24
    per_call, per_instance = batching["instances_per_call"], batching["datapoints_per_instance"]
    ec2_calls = 0
    for batch in range(0, n, per_call):
        size = min(per_call, n - batch)
        ec2_calls += math.ceil(size * per_instance / MAX_DATAPOINTS)
    candidates = round(n * candidate_share)
    memory_calls = memory_worst = 0
    for batch in range(0, candidates, MAX_QUERIES):
        size = min(MAX_QUERIES, candidates - batch)
        with_data = round(size * agent_share)
        memory_calls += max(1, math.ceil(with_data * hours / MAX_DATAPOINTS))
        memory_worst += math.ceil(size * hours / MAX_DATAPOINTS)
    return {
        "ec2": ec2_calls,
        "candidates": candidates,
        "memory": memory_calls,
        "memory_worst": memory_worst,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=DEFAULT_INSTANCES)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.worker:
        print(json.dumps(worker(args.worker, args.instances)))
        return

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    print("== CloudWatch calls: Spendlens vs Cloud Custodian ==")
    print(f"machine: {machine()}")
    OUT.mkdir(parents=True, exist_ok=True)
    custodian, c7n_version = ensure_c7n()
    print(f"c7n: {c7n_version if custodian else 'unavailable: ' + c7n_version}")
    ensure_database(url)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
        env=django_env(url),
        check=True,
        cwd=ROOT,
    )
    moto, endpoint = start_moto()
    try:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", endpoint]
        command += ["--instances", str(args.instances)]
        env = {**django_env(url), **DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
        worker_run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if worker_run.returncode != 0:
            raise RuntimeError(f"worker failed:\n{worker_run.stdout}\n{worker_run.stderr}")
        r = json.loads(worker_run.stdout.strip().splitlines()[-1])
        print(f"emulator: moto_server at {endpoint}")
        print(f"our command: DATABASE_URL={url} AWS_ENDPOINT_URL={endpoint} {' '.join(command)}")
        fleet = r["fleet"]
        profiles: dict[str, int] = {}
        for profile in fleet.values():
            profiles[profile] = profiles.get(profile, 0) + 1
        print(f"fleet: {len(fleet)} instances {profiles}, {DAYS} days hourly (seeded in ")
        print(f"       {r['seed_seconds']:.1f} s)")
        c7n, c7n_command, c7n_error = (None, "", "c7n not installed")
        if custodian:
            c7n, c7n_command, c7n_error = run_c7n(custodian, endpoint)
    finally:
        moto.terminate()
        moto.wait(timeout=10)

    print(
        f"Spendlens: {r['api_calls']} GetMetricData calls (counted on the wire: "
        f"{r['http_calls']}), {r['datapoints']:,} datapoints, {r['collect_seconds']:.1f} s "
        "against moto"
    )
    if c7n:
        cw = {k: v for k, v in c7n["api_stats"].items() if k.startswith("monitoring.")}
        cw.update({k: v for k, v in c7n["api_stats"].items() if k.startswith("cloudwatch.")})
        c7n_calls = sum(cw.values())
        print(f"c7n command: {c7n_command}")
        print(f"c7n api-stats: {c7n['api_stats']} ({c7n['wall']:.1f} s)")
        print(
            f"c7n: {c7n_calls} CloudWatch calls; ratio Spendlens/c7n = "
            f"{r['api_calls']}/{c7n_calls} = {r['api_calls'] / max(c7n_calls, 1):.4f}"
        )
        flagged = c7n["flagged"]
        idle_like = ("idle", "protected", "asg_member")
        ours_idle = {i for i, v in r["verdicts"].items() if v in idle_like}
        print(f"idle: c7n flags {len(flagged)}, Spendlens {len(ours_idle)}")
        differ = sorted(set(flagged) ^ ours_idle, key=lambda i: (fleet[i], i))
        if not differ:
            print("verdicts: identical")
        for iid in differ:
            side = "c7n only" if iid in flagged else "Spendlens only"
            print(
                f"  {iid} {fleet[iid]:<14} {side}: c7n sees {flagged.get(iid)}; ours "
                f"{r['verdicts'][iid]} ({why(fleet[iid], r['evidence'][iid])})"
            )
    else:
        c7n_calls = None
        print(f"c7n: not run: {c7n_error}")

    # The figure at 1,000 instances. c7n's metrics filter makes one GetMetricStatistics call per
    # instance and filter; we make ceil(n/125) calls, plus the memory pass for the rightsizing
    # candidates (low p95 CPU, not idle) this run found.
    share = r["memory_candidates"] / len(fleet)
    agent_share = r["memory_instances"] / max(1, r["memory_candidates"])
    for label, candidate_share in (("this fleet's mix", share), ("every instance", 1.0)):
        s = at_scale(SCALE, candidate_share, agent_share, r["batching"])
        without = s["ec2"]
        with_memory = s["ec2"] + s["memory"]
        worst = s["ec2"] + s["memory_worst"]
        print(
            f"at {SCALE:,} instances ({label}: {s['candidates']} rightsizing candidates, "
            f"{agent_share:.0%} with the agent):"
        )
        print(
            f"  c7n: {SCALE} GetMetricStatistics (1 metrics filter), {4 * SCALE} for the same "
            "evidence (CPU avg, CPU max, NetworkIn, NetworkOut: 4 filters)"
        )
        for name, calls in (
            ("without the memory pass", without),
            ("with the memory pass", with_memory),
            ("memory pass worst case (every candidate has the agent)", worst),
        ):
            ratio = calls / SCALE
            verdict = "met" if ratio <= 0.01 else "NOT met"
            print(
                f"  Spendlens {name}: {calls} calls = {ratio:.4f} of c7n's 1-filter policy "
                f"(target <= 0.01: {verdict}); {calls / (4 * SCALE):.4f} of the 4-filter one"
            )
    print_beyond_ec2(SCALE, url)


# Issue 20's fleet: the instances above plus the resources beyond EC2 the waste checks read.
BEYOND_EC2 = {"rds": 200, "nat": 50, "lb": 50}


def print_beyond_ec2(instances: int, url: str) -> None:
    """The calls for INSTANCES + BEYOND_EC2 over DAYS, from the batching of
    fleet/resource_metrics.py (EC2 queries and the other kinds' packed calls), against one
    call per resource per metric. The memory pass is left out of both sides."""
    import django

    os.environ.update(django_env(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from fleet import resource_metrics

    counts = {"ec2": instances, **BEYOND_EC2}
    ours = resource_metrics.calls_needed(counts, DAYS)
    theirs = resource_metrics.calls_one_per_metric(counts)
    ratio = ours / theirs
    verdict = "met" if ratio <= 0.01 else "NOT met"
    fleet = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(
        f"at {fleet} over {DAYS} days (metrics per resource: {resource_metrics.EC2_METRICS} EC2, "
        "2 RDS, 3 NAT, 3 LB):"
    )
    print(
        "  Spendlens "
        f"{ours} GetMetricData calls; one call per resource per metric: {theirs:,}; ratio "
        f"{ratio:.4f} (target <= 0.01: {verdict})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
