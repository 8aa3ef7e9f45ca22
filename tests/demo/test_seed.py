"""The demo seeder against the real emulator: what each account holds afterwards, over HTTP."""

import functools
import socket
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import aws as aws_module
from demo import seed as demo

# A Wednesday morning: the 14-day window holds exactly two of every weekday.
NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
EXTERNAL_IDS = {account.account_id: f"ext-{account.account_id}" for account in demo.DEMO_ACCOUNTS}


@pytest.fixture(autouse=True)
def fresh_cache():
    # The emulator is reset per test; credentials cached from the last one would not exist.
    aws_module.clear_credential_cache()
    as_account.cache_clear()
    account_session.cache_clear()
    yield
    aws_module.clear_credential_cache()
    as_account.cache_clear()
    account_session.cache_clear()


@functools.cache
def account_session(account_id, external_id):
    account = demo.demo_account(account_id)
    return aws_module.assumed_session(account.role_arn, external_id)


@functools.cache
def as_account(account_id, service, region="us-east-1", external_id=None):
    # Cached per test, one session per account: building boto3 clients costs more than most
    # emulator calls.
    session = account_session(account_id, external_id or EXTERNAL_IDS[account_id])
    return aws_module.client(session, service, region)


def tag_map(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def demo_instances_seen_by(account_id):
    """{demo key: instance description} of everything ACCOUNT_ID sees in its regions."""
    seen = {}
    for region in demo.demo_account(account_id).regions:
        reservations = as_account(account_id, "ec2", region).describe_instances()
        for reservation in reservations["Reservations"]:
            for instance in reservation["Instances"]:
                seen[tag_map(instance)[demo.DEMO_KEY_TAG]] = {**instance, "Region": region}
    return seen


def instance_count(account_id, external_id=None):
    return sum(
        len(reservation["Instances"])
        for region in demo.demo_account(account_id).regions
        for reservation in as_account(account_id, "ec2", region, external_id).describe_instances()[
            "Reservations"
        ]
    )


def hourly(cloudwatch, instance_id, metric, stat, namespace="AWS/EC2", days=14):
    start, end = demo.metric_window(NOW, days * 24)
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    },
                    "Period": 3600,
                    "Stat": stat,
                },
            }
        ],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    result = response["MetricDataResults"][0]
    return list(zip(result["Timestamps"], result["Values"], strict=True))


def ce_request(client, **extra):
    start, end = demo.ce_period(NOW.date())
    return client.get_cost_and_usage(
        TimePeriod={"Start": start.isoformat(), "End": end.isoformat()},
        Granularity="DAILY",
        Metrics=[demo.CE_METRIC],
        GroupBy=[dict(g) for g in demo.CE_GROUP_BY],
        **extra,
    )


def total(results_by_time):
    return sum(
        Decimal(group["Metrics"][demo.CE_METRIC]["Amount"])
        for day in results_by_time
        for group in day["Groups"]
    )


# --- The spec, without the emulator ----------------------------------------------------------


def test_the_fleet_covers_every_verdict_across_accounts_and_regions():
    verdicts = Counter(m.expected for m in demo.DEMO_INSTANCES)
    assert set(verdicts) == set(demo.VERDICTS)
    assert len({m.key for m in demo.DEMO_INSTANCES}) == len(demo.DEMO_INSTANCES)
    for account in demo.DEMO_ACCOUNTS:
        assert demo.instances_in(account.account_id), account.name
        assert {m.region for m in demo.instances_in(account.account_id)} <= set(account.regions)
    assert demo.instances_in(demo.PRODUCTION.account_id, "eu-west-1")


def test_hourly_samples_follow_their_profiles_and_repeat():
    nightly = demo.hourly_samples(demo.demo_instance("nightly-batch"), NOW)
    assert len(nightly) == 14 * 24
    assert nightly[-1].timestamp == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert {s.timestamp.hour for s in nightly if s.cpu_maximum >= 85} == {demo.BATCH_HOUR}
    assert statistics.mean(s.cpu_average for s in nightly) < 10
    assert nightly == demo.hourly_samples(demo.demo_instance("nightly-batch"), NOW)

    idle = demo.hourly_samples(demo.demo_instance("idle-dev-box"), NOW)
    assert max(s.cpu_maximum for s in idle) < 5
    assert max(s.network_in + s.network_out for s in idle) < 16 * demo.KB

    oversized = demo.hourly_samples(demo.demo_instance("oversized"), NOW)
    maxima = sorted(s.cpu_maximum for s in oversized)
    assert 8 <= statistics.mean(s.cpu_average for s in oversized) <= 15
    assert maxima[int(len(maxima) * 0.95)] < 25
    assert maxima[-1] < 30
    assert min(s.network_in for s in oversized) > 10 * demo.MB
    assert all(15 < s.memory_percent < 26 for s in oversized)

    business = demo.hourly_samples(demo.demo_instance("business-hours"), NOW)
    busy = [s for s in business if s.cpu_average >= 35]
    assert busy
    assert all(s.timestamp.weekday() < 5 and 9 <= s.timestamp.hour < 18 for s in busy)

    assert len(demo.hourly_samples(demo.demo_instance("new-box"), NOW)) == 48


def test_daily_costs_have_a_weekly_pattern_and_one_spike():
    today = NOW.date()
    costs = demo.daily_costs(demo.PRODUCTION.account_id, today)
    compute = {
        day: amount
        for (day, service, region), amount in costs.items()
        if (service, region) == (demo.COST_SPIKE.service, demo.COST_SPIKE.region)
    }
    assert len(compute) == 90
    spike_day = demo.COST_SPIKE.day(today)
    assert today - timedelta(days=14) <= spike_day < today - timedelta(days=demo.CE_ESTIMATED_DAYS)
    normal = [a for d, a in compute.items() if d != spike_day]
    assert compute[spike_day] > 3 * max(normal)
    weekdays = [a for d, a in compute.items() if d.weekday() < 5 and d != spike_day]
    weekends = [a for d, a in compute.items() if d.weekday() >= 5]
    assert statistics.mean(weekends) < Decimal("0.8") * statistics.mean(weekdays)
    assert costs == demo.daily_costs(demo.PRODUCTION.account_id, today)


# --- Seeding the emulator --------------------------------------------------------------------


def test_seeding_builds_each_accounts_fleet_once_visible_only_from_that_account(aws):
    report = demo.seed_emulator(aws, external_ids=EXTERNAL_IDS, now=NOW)

    assert not report.skipped
    for account in demo.DEMO_ACCOUNTS:
        seen = demo_instances_seen_by(account.account_id)
        expected = demo.instances_in(account.account_id)
        assert set(seen) == {m.key for m in expected}, account.name
        for member in expected:
            instance = seen[member.key]
            assert instance["InstanceId"] == report.instance_ids[member.key]
            assert (instance["Region"], instance["InstanceType"]) == (
                member.region,
                member.instance_type,
            )
            assert instance["State"]["Name"] == "running"
            assert tag_map(instance)["Name"] == member.name
    # The platform's own account holds nothing: the fleet lives behind the roles.
    assert aws_module.platform_client("ec2").describe_instances()["Reservations"] == []

    production = demo_instances_seen_by(demo.PRODUCTION.account_id)
    asg_tags = tag_map(production["asg-idle"])
    assert asg_tags[demo.ASG_NAME_TAG] == "queue-consumers"
    assert tag_map(production["protected-idle"])[demo.PROTECT_TAG] == "true"
    assert demo.ASG_NAME_TAG not in tag_map(production["protected-idle"])

    ec2 = as_account(demo.PRODUCTION.account_id, "ec2")
    volumes = {tag_map(v)[demo.DEMO_KEY_TAG]: v for v in ec2.describe_volumes()["Volumes"]}
    assert (volumes["orphan-gp2"]["VolumeType"], volumes["orphan-gp2"]["Size"]) == ("gp2", 100)
    assert volumes["orphan-gp2"]["Attachments"] == []
    gp2_attached = [v for v in volumes.values() if v["VolumeType"] == "gp2" and v["Attachments"]]
    assert [v["Attachments"][0]["InstanceId"] for v in gp2_attached] == [
        report.instance_ids["business-hours"]
    ]
    dev_volumes = as_account(demo.DEVELOPMENT.account_id, "ec2").describe_volumes()["Volumes"]
    orphan_gp3 = next(v for v in dev_volumes if not v["Attachments"])
    assert (orphan_gp3["VolumeType"], orphan_gp3["Size"]) == ("gp3", 50)

    addresses = {tag_map(a)[demo.DEMO_KEY_TAG]: a for a in ec2.describe_addresses()["Addresses"]}
    assert set(addresses) == {"orphan-eip", "intranet-eip"}
    assert not addresses["orphan-eip"].get("AssociationId")
    assert addresses["intranet-eip"]["InstanceId"] == report.instance_ids["business-hours"]

    iam = as_account(demo.STAGING.account_id, "iam")
    statement = iam.get_role(RoleName=demo.DEMO_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"][
        "Statement"
    ][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "ext-222222222222"

    # Seeding again adds nothing; Staging, re-registered with a new ExternalId, trusts it.
    rotated = {**EXTERNAL_IDS, demo.STAGING.account_id: "ext-rotated"}
    again = demo.seed_emulator(aws, external_ids=rotated, now=NOW)
    assert [a.skipped for a in again.accounts] == [True, True, True]
    assert again.instance_ids == report.instance_ids
    statement = iam.get_role(RoleName=demo.DEMO_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"][
        "Statement"
    ][0]
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "ext-rotated"


def test_metrics_come_back_hourly_with_distinct_average_and_maximum(aws):
    report = demo.seed_emulator(aws, external_ids=EXTERNAL_IDS, now=NOW)
    ids = report.instance_ids

    dev_cloudwatch = as_account(demo.DEVELOPMENT.account_id, "cloudwatch")
    idle_avg = hourly(dev_cloudwatch, ids["idle-dev-box"], "CPUUtilization", "Average")
    idle_max = hourly(dev_cloudwatch, ids["idle-dev-box"], "CPUUtilization", "Maximum")
    idle_net = hourly(dev_cloudwatch, ids["idle-dev-box"], "NetworkIn", "Sum")
    expected = demo.hourly_samples(demo.demo_instance("idle-dev-box"), NOW)
    assert [t for t, _ in idle_avg] == [s.timestamp for s in expected]
    assert [v for _, v in idle_avg] == pytest.approx([s.cpu_average for s in expected])
    assert [v for _, v in idle_max] == pytest.approx([s.cpu_maximum for s in expected])
    assert [v for _, v in idle_net] == pytest.approx([s.network_in for s in expected])
    assert all(m > a for (_, a), (_, m) in zip(idle_avg, idle_max, strict=True))

    prod_cloudwatch = as_account(demo.PRODUCTION.account_id, "cloudwatch")
    nightly_max = hourly(prod_cloudwatch, ids["nightly-batch"], "CPUUtilization", "Maximum")
    nightly_avg = hourly(prod_cloudwatch, ids["nightly-batch"], "CPUUtilization", "Average")
    assert len(nightly_max) == len(nightly_avg) == 14 * 24
    busy_hours = [t for t, v in nightly_max if v >= 85]
    assert len(busy_hours) == 14
    assert {t.hour for t in busy_hours} == {demo.BATCH_HOUR}
    assert statistics.mean(v for _, v in nightly_avg) < 10

    memory = hourly(prod_cloudwatch, ids["oversized"], "mem_used_percent", "Average", "CWAgent")
    assert len(memory) == 14 * 24
    assert 15 < statistics.mean(v for _, v in memory) < 25

    staging_cloudwatch = as_account(demo.STAGING.account_id, "cloudwatch")
    new_box = hourly(staging_cloudwatch, ids["new-box"], "CPUUtilization", "Average")
    assert 0 < len(new_box) <= 48
    # Metrics are per account: Production has no datapoints for Staging's instance.
    assert hourly(prod_cloudwatch, ids["new-box"], "CPUUtilization", "Average") == []


def test_cost_explorer_serves_two_pages_per_account(aws):
    demo.seed_emulator(aws, external_ids=EXTERNAL_IDS, now=NOW)
    today = NOW.date()

    ce = as_account(demo.PRODUCTION.account_id, "ce")
    first = ce_request(ce)
    assert first["NextPageToken"]
    second = ce_request(ce, NextPageToken=first["NextPageToken"])
    assert "NextPageToken" not in second
    days = first["ResultsByTime"] + second["ResultsByTime"]
    assert len(days) == 90
    assert days[0]["TimePeriod"]["Start"] == (today - timedelta(days=90)).isoformat()
    assert days[-1]["TimePeriod"]["End"] == today.isoformat()
    assert [d["Estimated"] for d in days[-3:]] == [False, True, True]
    assert total(days) == sum(demo.daily_costs(demo.PRODUCTION.account_id, today).values())
    services = {group["Keys"][0] for day in days for group in day["Groups"]}
    assert {demo.EC2_COMPUTE, demo.EC2_OTHER, demo.S3, demo.RDS, demo.CLOUDWATCH} <= services

    # Each account has its own queue: Staging's first page is Staging's bill.
    staging = ce_request(as_account(demo.STAGING.account_id, "ce"))
    staging_pages = demo.cost_and_usage_pages(demo.STAGING.account_id, today)
    assert total(staging["ResultsByTime"]) == total(staging_pages[0]["ResultsByTime"])


# --- The command -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_prints_a_summary_then_skips_seeded_accounts(aws):
    from accounts.models import CloudAccount

    out = StringIO()
    call_command("seed_demo", stdout=out)
    summary = out.getvalue()
    registered = CloudAccount.objects.filter(organization__slug="demo")
    assert sorted(registered.values_list("account_id", flat=True)) == [
        "111111111111",
        "222222222222",
        "333333333333",
    ]
    assert "Demo organisation registered: 3 AWS accounts" in summary
    production = registered.get(account_id="111111111111")
    role = as_account("111111111111", "iam", external_id=production.external_id).get_role(
        RoleName="SpendlensAccess"
    )["Role"]
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringEquals"]["sts:ExternalId"] == production.external_id
    assert f"Demo organisation in {aws}" in summary
    assert "Production (111111111111): 7 instances (us-east-1: 6, eu-west-1: 1)" in summary
    assert (
        "2 volumes, 2 Elastic IPs, 1 NAT gateway, 1 load balancer, 8,736 metric datapoints, "
        "90 Cost Explorer days"
    ) in summary
    assert (
        "Staging (222222222222): 2 instances (us-east-1: 2), 0 volumes, 0 Elastic IPs, "
        "1 RDS instance, 1,824 metric datapoints"
    ) in summary
    assert "Development (333333333333): 1 instance (us-east-1: 1), 1 volume, " in summary
    assert (
        "Seeded 3 of 3 accounts: 10 instances, 3 volumes, 2 Elastic IPs, 1 snapshot, "
        "1 RDS instance, 1 NAT gateway, 1 load balancer, 11,568 metric datapoints"
    ) in summary

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Production (111111111111): already seeded (7 demo instances), skipped" in out.getvalue()
    assert "Seeded 0 of 3 accounts: 0 instances" in out.getvalue()
    # Nothing was created twice. The command trusts placeholder ExternalIds.
    placeholder = demo.placeholder_external_id
    for account in demo.DEMO_ACCOUNTS:
        count = instance_count(account.account_id, placeholder(account.account_id))
        assert count == len(demo.instances_in(account.account_id))
    production = demo.PRODUCTION.account_id
    ec2 = as_account(production, "ec2", external_id=placeholder(production))
    assert len(ec2.describe_addresses()["Addresses"]) == 2
    volumes = ec2.describe_volumes(Filters=[{"Name": "status", "Values": ["available"]}])
    assert len(volumes["Volumes"]) == 1


def test_seed_demo_needs_an_emulator_endpoint(settings):
    settings.AWS_ENDPOINT_URL = None
    with pytest.raises(CommandError, match="AWS_ENDPOINT_URL is not set"):
        call_command("seed_demo", stdout=StringIO())


def test_seed_demo_says_when_the_emulator_does_not_answer(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused at once.
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(CommandError, match="does not answer"):
        call_command("seed_demo", stdout=StringIO())


@pytest.mark.django_db
def test_the_demos_cost_spike_is_alerted_after_its_costs_are_synced(aws, mailoutbox):
    from django.utils import timezone

    from alerts.models import AlertEvent, AlertKind

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command(
        "add_member", "--org", "demo", "--username", "fay", "--role", "viewer",
        "--email", "fay@example.com", stdout=out,
    )  # fmt: skip
    call_command("sync_costs", stdout=out)

    call_command("send_alerts", "--org", "demo", stdout=out)

    today = timezone.localdate()
    spike = demo.COST_SPIKE
    day = spike.day(today)
    (event,) = AlertEvent.objects.filter(kind=AlertKind.COST_SPIKE)
    assert event.subject == f"spike:{spike.account_id}:{spike.service}:{day.isoformat()}"
    # The runaway job's day: both regions' compute of Production, as Cost Explorer reported it.
    costs = demo.daily_costs(spike.account_id, today)
    compute = sum(a for (d, s, _), a in costs.items() if (d, s) == (day, spike.service))
    assert Decimal(event.evidence["cost"]) == compute.quantize(Decimal("0.01"))
    assert Decimal(event.evidence["increase"]) > Decimal("100")
    assert event.status == AlertEvent.Status.SENT
    assert [m.to for m in mailoutbox] == [["fay@example.com"]]
