"""The demo seeder: the whole demo organisation into the local emulator, account by account.

Also the demo's public face: the spec, metrics, costs and seeding names that the command, the
tests and the benchmarks use are importable from here (``from demo import seed as demo``), so
none of them needs to know which module of ``demo`` holds what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from accounts import aws
from demo.budgets import DEMO_BUDGET_USD
from demo.costs import (
    CE_DAYS,
    CE_ESTIMATED_DAYS,
    CE_GROUP_BY,
    CE_METRIC,
    CLOUDWATCH,
    COST_SPIKE,
    DEMO_COST_LINES,
    EC2_COMPUTE,
    EC2_OTHER,
    LAMBDA,
    RDS,
    S3,
    SUPPORT,
    CostLine,
    CostSpike,
    ce_period,
    cost_and_usage_pages,
    daily_costs,
    next_page_token,
    queue_cost_and_usage,
)
from demo.emulator import AccountClients, DemoSeedError, check_emulator, pointed_at
from demo.fleet import (
    allocate_address,
    create_volume,
    demo_image,
    existing_demo_instances,
    launch_asg_member,
    launch_instance,
)
from demo.metrics import (
    AGENT_SAMPLES_PER_HOUR,
    BATCH_HOUR,
    BUSINESS_HOURS,
    GB,
    KB,
    MB,
    PUT_METRIC_BATCH,
    SAMPLES_PER_HOUR,
    HourlySample,
    as_utc,
    hourly_samples,
    last_whole_hour,
    metric_data,
    metric_window,
    put_metric_data,
)
from demo.organisation import (
    DEMO_ORG_NAME,
    DEMO_ORG_SLUG,
    ensure_role,
    placeholder_external_id,
    register_demo_organization,
    trust_policy,
)
from demo.services import seed_services
from demo.spec import (
    ASG_MEMBER,
    ASG_NAME_TAG,
    DEMO_ACCOUNTS,
    DEMO_ADDRESSES,
    DEMO_DATABASES,
    DEMO_INSTANCES,
    DEMO_KEY_TAG,
    DEMO_LOAD_BALANCERS,
    DEMO_NAT_GATEWAYS,
    DEMO_ROLE_NAME,
    DEMO_SNAPSHOTS,
    DEMO_VOLUMES,
    DEVELOPMENT,
    IDLE,
    METRIC_DAYS,
    NOT_ENOUGH_DATA,
    NOT_IDLE,
    PRODUCTION,
    PROFILE_BUSINESS_HOURS,
    PROFILE_IDLE,
    PROFILE_NIGHTLY_BATCH,
    PROFILE_OVERSIZED,
    PROFILE_STEADY_BUSY,
    PROTECT_TAG,
    PROTECTED,
    RIGHTSIZE,
    STAGING,
    VERDICTS,
    DemoAccount,
    DemoAddress,
    DemoDatabase,
    DemoInstance,
    DemoLoadBalancer,
    DemoNatGateway,
    DemoSnapshot,
    DemoVolume,
    demo_account,
    demo_instance,
    instances_in,
)
from demo.teams import (
    ACCOUNT_TEAMS,
    DEMO_TAG_KEYS,
    PAYMENTS,
    SEARCH,
    SUPPORT_SPLIT,
    TEAM_ALIASES,
    TEAM_DIMENSION,
    TEAM_KEY,
    ensure_demo_allocation,
    tag_pages,
)

# What callers use as ``demo.X``: every public name of the former accounts/demo.py, and
# demo_image (the benchmarks launch from the same image).
__all__ = [
    "ACCOUNT_TEAMS",
    "AGENT_SAMPLES_PER_HOUR",
    "ASG_MEMBER",
    "ASG_NAME_TAG",
    "BATCH_HOUR",
    "BUSINESS_HOURS",
    "CE_DAYS",
    "CE_ESTIMATED_DAYS",
    "CE_GROUP_BY",
    "CE_METRIC",
    "CLOUDWATCH",
    "COST_SPIKE",
    "DEMO_ACCOUNTS",
    "DEMO_ADDRESSES",
    "DEMO_BUDGET_USD",
    "DEMO_COST_LINES",
    "DEMO_DATABASES",
    "DEMO_INSTANCES",
    "DEMO_KEY_TAG",
    "DEMO_LOAD_BALANCERS",
    "DEMO_NAT_GATEWAYS",
    "DEMO_ORG_NAME",
    "DEMO_ORG_SLUG",
    "DEMO_ROLE_NAME",
    "DEMO_SNAPSHOTS",
    "DEMO_TAG_KEYS",
    "DEMO_VOLUMES",
    "DEVELOPMENT",
    "EC2_COMPUTE",
    "EC2_OTHER",
    "GB",
    "IDLE",
    "KB",
    "LAMBDA",
    "MB",
    "METRIC_DAYS",
    "NOT_ENOUGH_DATA",
    "NOT_IDLE",
    "PAYMENTS",
    "PRODUCTION",
    "PROFILE_BUSINESS_HOURS",
    "PROFILE_IDLE",
    "PROFILE_NIGHTLY_BATCH",
    "PROFILE_OVERSIZED",
    "PROFILE_STEADY_BUSY",
    "PROTECTED",
    "PROTECT_TAG",
    "PUT_METRIC_BATCH",
    "RDS",
    "RIGHTSIZE",
    "S3",
    "SAMPLES_PER_HOUR",
    "SEARCH",
    "STAGING",
    "SUPPORT",
    "SUPPORT_SPLIT",
    "TEAM_ALIASES",
    "TEAM_DIMENSION",
    "TEAM_KEY",
    "VERDICTS",
    "AccountReport",
    "CostLine",
    "CostSpike",
    "DemoAccount",
    "DemoAddress",
    "DemoDatabase",
    "DemoInstance",
    "DemoLoadBalancer",
    "DemoNatGateway",
    "DemoSeedError",
    "DemoSnapshot",
    "DemoVolume",
    "HourlySample",
    "SeedReport",
    "as_utc",
    "ce_period",
    "check_emulator",
    "cost_and_usage_pages",
    "daily_costs",
    "demo_account",
    "demo_image",
    "demo_instance",
    "ensure_demo_allocation",
    "hourly_samples",
    "instances_in",
    "last_whole_hour",
    "metric_data",
    "metric_window",
    "next_page_token",
    "placeholder_external_id",
    "put_metric_data",
    "queue_cost_and_usage",
    "register_demo_organization",
    "seed_emulator",
    "tag_pages",
    "trust_policy",
]


@dataclass
class AccountReport:
    account_id: str
    name: str
    skipped: bool = False
    instances: dict[str, str] = field(default_factory=dict)  # key -> instance id
    instances_by_region: dict[str, int] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # key -> volume id
    addresses: dict[str, str] = field(default_factory=dict)  # key -> allocation id
    snapshots: dict[str, str] = field(default_factory=dict)  # key -> snapshot id
    databases: dict[str, str] = field(default_factory=dict)  # key -> DB instance identifier
    nat_gateways: dict[str, str] = field(default_factory=dict)  # key -> NAT gateway id
    load_balancers: dict[str, str] = field(default_factory=dict)  # key -> "app/<name>/<id>"
    metric_datapoints: int = 0
    ce_days: int = 0


@dataclass
class SeedReport:
    endpoint_url: str
    accounts: list[AccountReport] = field(default_factory=list)

    @property
    def instance_ids(self) -> dict[str, str]:
        return {k: v for a in self.accounts for k, v in a.instances.items()}

    @property
    def seeded(self) -> list[AccountReport]:
        return [a for a in self.accounts if not a.skipped]

    @property
    def skipped(self) -> list[AccountReport]:
        return [a for a in self.accounts if a.skipped]


def seed_emulator(
    endpoint_url: str,
    external_ids: dict[str, str] | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Write the demo organisation into the moto server at ENDPOINT_URL.

    EXTERNAL_IDS maps account ids to the ExternalIds Spendlens generated when the accounts were
    registered; accounts without one get a placeholder. An account that already holds demo
    instances is left as it is (only its role's trust policy is refreshed).
    """
    now = as_utc(now or datetime.now(UTC))
    external_ids = external_ids or {}
    check_emulator(endpoint_url)
    report = SeedReport(endpoint_url=endpoint_url)
    with pointed_at(endpoint_url):
        # Cached credentials may come from an emulator that has since been reset; moto treats
        # unknown keys as its default account, so stale ones would silently seed the wrong one.
        aws.clear_credential_cache()
        platform_account_id = aws.platform_client("sts").get_caller_identity()["Account"]
        for account in DEMO_ACCOUNTS:
            external_id = external_ids.get(account.account_id) or placeholder_external_id(
                account.account_id
            )
            report.accounts.append(
                _seed_account(account, external_id, platform_account_id, endpoint_url, now)
            )
    return report


def _seed_account(
    account: DemoAccount,
    external_id: str,
    platform_account_id: str,
    endpoint_url: str,
    now: datetime,
) -> AccountReport:
    client = AccountClients(account, external_id)
    ensure_role(client, account, external_id, platform_account_id)
    report = AccountReport(account.account_id, account.name)
    existing = existing_demo_instances(client, account)
    if existing:
        report.skipped = True
        report.instances = existing
        return report
    for region in account.regions:
        _seed_region(client, account, region, now, report)
    pages = cost_and_usage_pages(account.account_id, now.date())
    # The sync asks for the costs first, then each tag key (moto answers in queue order).
    tags = tag_pages(account.account_id, now.date())
    queue_cost_and_usage(endpoint_url, account.account_id, pages + tags)
    report.ce_days = sum(len(p["ResultsByTime"]) for p in pages)
    return report


def _seed_region(
    client: AccountClients,
    account: DemoAccount,
    region: str,
    now: datetime,
    report: AccountReport,
) -> None:
    ec2 = client("ec2", region)
    members = instances_in(account.account_id, region)
    image_id = demo_image(ec2) if members else ""
    instance_ids: dict[str, str] = {}
    for member in members:
        if member.auto_scaling_group:
            instance_ids[member.key] = launch_asg_member(client, account, member, image_id)
        else:
            instance_ids[member.key] = launch_instance(ec2, account, member, image_id)
    report.instances.update(instance_ids)
    if members:
        report.instances_by_region[region] = len(members)

    for volume in DEMO_VOLUMES:
        if (volume.account_id, volume.region) == (account.account_id, region):
            report.volumes[volume.key] = create_volume(ec2, account, volume, instance_ids)
    for address in DEMO_ADDRESSES:
        if (address.account_id, address.region) == (account.account_id, region):
            report.addresses[address.key] = allocate_address(ec2, account, address, instance_ids)

    cloudwatch = client("cloudwatch", region)
    for member in members:
        items = metric_data(instance_ids[member.key], hourly_samples(member, now))
        report.metric_datapoints += put_metric_data(cloudwatch, items)
    seed_services(client, account, region, now, report)
