"""Benchmark: collection and detection for a fleet beyond EC2, from recorded responses.

The fleet of issue 20: 1,000 EC2 instances, 200 RDS instances, 50 NAT gateways and 50 load
balancers (25 ALB, 25 NLB) over 14 days, plus 2,000 EBS snapshots and 1,000 volumes in the
inventory. The inventory rows are written directly (setup, not measured); CloudWatch is a real
boto3 client answered at the HTTP layer by a before-send hook, as in bench/idle_throughput.py,
so botocore really parses every datapoint:

- EC2 queries get demo/metrics.py's profiles (idle_throughput's ResponseFactory);
- RDS, NAT and load balancer queries get hourly series by resource profile: idle databases
  (no connections, ~2 % CPU) and busy ones; idle NAT gateways (no bytes) and busy ones; idle
  load balancers answer with no datapoints at all, as ELB does when nothing flows.

Measured, in a worker subprocess (its own peak RSS from os.wait4):

- `fleet.utilization.collect` (EC2) and `fleet.resource_metrics.collect` (RDS, NAT, LB):
  fetch + parse, rollup and the upsert of the day rows; the time spent building the answers
  is measured and subtracted;
- `findings.detection.detect` on the account: every detector, reconcile.

Targets: total <= 15 s, peak RSS <= 500 MB; and the GetMetricData calls made, against one call
per resource per metric (Cloud Custodian's way), <= 1/100.
Run: .venv/bin/python bench/waste_detection.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from focus_import import DEFAULT_DATABASE_URL, machine, server_version  # noqa: E402
from idle_throughput import (  # noqa: E402
    SPECS,
    ResponseFactory,
    prepare_database,
    profile_variants,
    recorded_cloudwatch,
    run_worker,
    rusage_mb,
)
from idle_throughput import prepare_fleet as prepare_instances  # noqa: E402

DAYS = 14
INSTANCES, DATABASES, NAT_GATEWAYS, LOAD_BALANCERS = 1_000, 200, 50, 50
SNAPSHOTS, VOLUMES = 2_000, 1_000
TARGET_SECONDS = 15.0
TARGET_RSS_MB = 500
TARGET_CALL_RATIO = 100
REGION = "us-east-1"
ACCOUNT_ID = "999999999999"
# Every IDLE_EVERY-th resource of each kind is idle.
IDLE_EVERY = 4


def prepare_other_resources(account, now) -> dict[str, list]:
    """RDS, NAT, load balancers, snapshots and volumes for ACCOUNT; earlier runs' removed."""
    from fleet.models import (
        DatabaseInstance,
        LoadBalancer,
        NatGateway,
        ResourceMetricDay,
        Snapshot,
        Volume,
    )

    for model in (DatabaseInstance, NatGateway, LoadBalancer, Snapshot, Volume, ResourceMetricDay):
        model.objects.filter(account=account).delete()
    year_ago = now - timedelta(days=365)
    databases = DatabaseInstance.objects.bulk_create(
        DatabaseInstance(
            account=account,
            region=REGION,
            db_instance_id=f"bench-db-{n:04d}",
            arn=f"arn:aws:rds:{REGION}:{ACCOUNT_ID}:db:bench-db-{n:04d}",
            engine=("postgres", "mysql", "aurora-postgresql")[n % 3],
            instance_class="db.r6g.large" if n % 3 == 2 else "db.m5.large",
            status="available",
            multi_az=n % 5 == 0 and n % 3 != 2,
            storage_type="gp3",
            allocated_gib=100,
            created_at=year_ago,
        )
        for n in range(DATABASES)
    )
    nats = NatGateway.objects.bulk_create(
        NatGateway(
            account=account,
            region=REGION,
            nat_gateway_id=f"nat-{n:017x}",
            state="available",
            vpc_id="vpc-bench",
            subnet_id="subnet-bench",
            created_at=year_ago,
        )
        for n in range(NAT_GATEWAYS)
    )
    balancers = LoadBalancer.objects.bulk_create(
        LoadBalancer(
            account=account,
            region=REGION,
            dimension=f"{'app' if n % 2 == 0 else 'net'}/bench-lb-{n:02d}/{n:016x}",
            arn=(
                f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/"
                f"{'app' if n % 2 == 0 else 'net'}/bench-lb-{n:02d}/{n:016x}"
            ),
            name=f"bench-lb-{n:02d}",
            lb_type="application" if n % 2 == 0 else "network",
            scheme="internet-facing",
            state="active",
            created_at=year_ago,
            target_groups=1,
            registered_targets=2,
            healthy_targets=2,
        )
        for n in range(LOAD_BALANCERS)
    )
    Volume.objects.bulk_create(
        Volume(
            account=account,
            region=REGION,
            volume_id=f"vol-{n:017x}",
            volume_type="gp3",
            size_gib=50,
            state="in-use",
            created_at=year_ago,
        )
        for n in range(VOLUMES)
    )
    # Ten snapshots per volume of the first 200, daily at first then monthly; a few with AMIs.
    Snapshot.objects.bulk_create(
        Snapshot(
            account=account,
            region=REGION,
            snapshot_id=f"snap-{n:017x}",
            volume_id=f"vol-{n // 10:017x}" if n % 7 else "vol-ffffffff",
            size_gib=50,
            storage_tier="archive" if n % 11 == 0 else "standard",
            state="completed",
            started_at=now - timedelta(days=30 * (n % 10) + 1),
            image_ids=[f"ami-{n:017x}"] if n % 13 == 0 else [],
        )
        for n in range(SNAPSHOTS)
    )
    return {"rds": databases, "nat": nats, "lb": balancers}


class ResourceAnswers(ResponseFactory):
    """idle_throughput's EC2 answers, plus RDS, NAT and load balancer series by profile."""

    def __init__(self, start, hours, variants, plan, idle_ids: set[str]):
        super().__init__(start, hours, variants, plan)
        self.hours = hours
        self.hourly = [start.timestamp() + 3600 * n for n in range(hours)]
        self.idle_ids = idle_ids

    def series(self, query: dict) -> tuple[list, list]:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        namespace, name = metric["Namespace"], metric["MetricName"]
        resource = metric["Dimensions"][0]["Value"]
        idle = resource in self.idle_ids
        if namespace in ("AWS/ApplicationELB", "AWS/NetworkELB") and idle:
            return [], []  # ELB publishes nothing while nothing flows
        if namespace == "AWS/RDS":
            value = {"DatabaseConnections": 0.0 if idle else 12.0}.get(name, 2.0 if idle else 35.0)
        elif namespace == "AWS/NATGateway":
            value = 0.0 if idle else 5e8
        else:
            value = {"ConsumedLCUs": 0.4}.get(name, 1e6 if name == "ProcessedBytes" else 900.0)
        period = stat.get("Period", 3600)
        step = max(1, period // 3600)
        stamps = self.hourly[::step]
        return stamps, [value] * len(stamps)

    def body(self, queries: list[dict]) -> bytes:
        ec2 = [
            q for q in queries if q["MetricStat"]["Metric"]["Namespace"] in ("AWS/EC2", "CWAgent")
        ]
        results = json.loads(super().body(ec2))["MetricDataResults"] if ec2 else []
        for q in queries:
            if q in ec2:
                continue
            stamps, values = self.series(q)
            results.append(
                {
                    "Id": q["Id"],
                    "Label": q.get("Label", q["Id"]),
                    "Timestamps": stamps,
                    "Values": values,
                    "StatusCode": "Complete",
                }
            )
        return json.dumps({"MetricDataResults": results, "Messages": []}).encode()


def worker() -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.db import connection
    from django.utils import timezone

    from findings import detection, rightsizing
    from findings.models import DetectionSettings, Recommendation
    from fleet import resource_metrics, utilization
    from fleet.models import Instance

    now = timezone.now()
    start, end = utilization.lookback_window(now, DAYS)
    setup_started = time.perf_counter()
    account, plan = prepare_instances(INSTANCES, now)
    others = prepare_other_resources(account, now)
    # The CloudWatch dimension value of each idle resource (its id, or an LB's dimension).
    idle_ids = {
        resource_metrics.as_resource(row).resource_id
        for rows in others.values()
        for n, row in enumerate(rows)
        if n % IDLE_EVERY == 0
    }
    factory = ResourceAnswers(start, DAYS * 24, profile_variants(end), plan, idle_ids)
    cloudwatch = recorded_cloudwatch(factory)
    settings = DetectionSettings.for_organization(account.organization)
    instances = list(Instance.objects.present().filter(account=account, state="running"))
    specs = {t: rightsizing.InstanceSpec(c, m) for t, (c, m) in SPECS.items()}
    setup_seconds = time.perf_counter() - setup_started

    rss_before = rusage_mb()
    started = time.perf_counter()
    ec2 = utilization.collect(
        cloudwatch, instances, start, end, rightsizing.memory_wanted(settings)
    )
    ec2_done = time.perf_counter()
    others_result, rows = resource_metrics.collect(cloudwatch, others, start, end)
    others_result.days_written = resource_metrics.store(account, rows)
    collected = time.perf_counter()
    rss_after_collect = rusage_mb()
    detected = detection.detect(account, now=now, specs=specs)
    finished = time.perf_counter()

    kinds: dict[str, int] = {}
    for kind in Recommendation.objects.filter(account=account).values_list("kind", flat=True):
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "database": connection.vendor,
        "setup_seconds": setup_seconds,
        "ec2_collect_seconds": ec2_done - started,
        "other_collect_seconds": collected - ec2_done,
        "synth_seconds": factory.seconds,
        "detect_seconds": finished - collected,
        "ec2_calls": ec2.api_calls,
        "other_calls": others_result.api_calls,
        "answered_calls": factory.calls,
        # One call per resource per metric, the metrics each kind's check reads (c7n's way).
        "one_per_metric": resource_metrics.calls_one_per_metric(
            {"ec2": len(instances), **{k: len(v) for k, v in others.items()}}
        ),
        "planned_calls": resource_metrics.calls_needed(
            {"ec2": len(instances), **{k: len(v) for k, v in others.items()}}, DAYS
        ),
        "datapoints": ec2.datapoints + others_result.datapoints,
        "counts": {"ec2": len(instances), **{k: len(v) for k, v in others.items()}},
        "reconciled": vars(detected.reconciled),
        "notes": detected.notes,
        "kinds": kinds,
        "rss_before_mb": rss_before,
        "rss_after_collect_mb": rss_after_collect,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--instances", type=int, default=INSTANCES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.worker:
        print(json.dumps(worker()))
        return

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    print("== Waste beyond EC2: collection + detection from recorded responses ==")
    print(f"machine: {machine()}")
    prepare_database(url)
    print(f"database: {url} (PostgreSQL {server_version(url)})")
    OUT.mkdir(parents=True, exist_ok=True)
    r, peak_mb, command = run_worker(url, INSTANCES, None, script=Path(__file__).resolve())
    print(f"command: DATABASE_URL={url} {command}")
    counts = r["counts"]
    print(
        f"fleet: {counts['ec2']:,} EC2, {counts['rds']} RDS, {counts['nat']} NAT gateways, "
        f"{counts['lb']} load balancers x {DAYS} days; {SNAPSHOTS:,} snapshots, {VOLUMES:,} "
        f"volumes; {r['datapoints']:,} datapoints"
    )
    calls = r["ec2_calls"] + r["other_calls"]
    custodian = r["one_per_metric"]
    print(
        f"GetMetricData calls: {calls} ({r['ec2_calls']} EC2 incl. the memory pass, "
        f"{r['other_calls']} RDS/NAT/LB; planned without NextToken pages or the memory pass: "
        f"{r['planned_calls']}); one call per resource per metric: {custodian:,}; "
        f"ratio 1/{custodian / calls:.0f} (target <= 1/{TARGET_CALL_RATIO})"
    )
    collect = r["ec2_collect_seconds"] + r["other_collect_seconds"] - r["synth_seconds"]
    total = collect + r["detect_seconds"]
    print(f"setup (not measured): {r['setup_seconds']:.2f} s")
    print(
        f"collect: {collect:.2f} s (EC2 {r['ec2_collect_seconds']:.2f} s, RDS/NAT/LB "
        f"{r['other_collect_seconds']:.2f} s, answers built in {r['synth_seconds']:.2f} s excluded)"
    )
    print(f"detect : {r['detect_seconds']:.2f} s; findings by kind: {r['kinds']}")
    if r["notes"]:
        print(f"notes: {r['notes']}")
    print(f"total  : {total:.2f} s (target <= {TARGET_SECONDS:.0f} s)")
    print(f"peak RSS (worker, wait4): {peak_mb:,.0f} MB (target <= {TARGET_RSS_MB} MB)")
    met = (
        total <= TARGET_SECONDS
        and peak_mb <= TARGET_RSS_MB
        and custodian / calls >= TARGET_CALL_RATIO
    )
    print("targets: " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    main(sys.argv[1:])
