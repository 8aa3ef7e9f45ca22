"""What the demo organisation is: its AWS accounts and their fleet, read from data/fleet.toml.

Plain data, so later code and tests can import it and know what the pipeline must find: every
instance carries the verdict the detection rules are expected to reach.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FLEET_FILE = Path(__file__).resolve().parent / "data" / "fleet.toml"

DEMO_ROLE_NAME = "SpendlensAccess"
# Every resource the seeder creates carries this tag: it is how a second run recognises its work.
DEMO_KEY_TAG = "spendlens:demo-key"
PROTECT_TAG = "spendlens:protect"
ASG_NAME_TAG = "aws:autoscaling:groupName"

METRIC_DAYS = 14

# The verdicts the detection pipeline must reach for each demo instance.
IDLE = "idle"
NOT_IDLE = "not_idle"
RIGHTSIZE = "rightsize"
NOT_ENOUGH_DATA = "not_enough_data"
PROTECTED = "protected"
ASG_MEMBER = "asg_member"
VERDICTS = (IDLE, NOT_IDLE, RIGHTSIZE, NOT_ENOUGH_DATA, PROTECTED, ASG_MEMBER)

# Hourly usage shapes, see ``demo.metrics.hourly_samples``.
PROFILE_IDLE = "idle"
PROFILE_NIGHTLY_BATCH = "nightly_batch"
PROFILE_BUSINESS_HOURS = "business_hours"
PROFILE_STEADY_BUSY = "steady_busy"
PROFILE_OVERSIZED = "oversized"
PROFILES = (
    PROFILE_IDLE,
    PROFILE_NIGHTLY_BATCH,
    PROFILE_BUSINESS_HOURS,
    PROFILE_STEADY_BUSY,
    PROFILE_OVERSIZED,
)


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str
    regions: tuple[str, ...]
    environment: str

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{DEMO_ROLE_NAME}"


@dataclass(frozen=True)
class DemoInstance:
    key: str
    name: str
    account_id: str
    region: str
    instance_type: str
    profile: str
    expected: str
    tags: Mapping[str, str] = field(default_factory=dict)
    metric_hours: int = METRIC_DAYS * 24
    # The CloudWatch agent's mem_used_percent, published only where an agent is installed.
    memory_percent: float | None = None
    auto_scaling_group: str | None = None
    # Recommendations besides the verdict's own (e.g. "schedule" for the office-hours box).
    recommends: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoVolume:
    key: str
    name: str
    account_id: str
    region: str
    volume_type: str
    size_gib: int
    attach_to: str | None = None  # a DemoInstance key


@dataclass(frozen=True)
class DemoAddress:
    key: str
    name: str
    account_id: str
    region: str
    associate_with: str | None = None  # a DemoInstance key


@dataclass(frozen=True)
class DemoSnapshot:
    """An EBS snapshot of a volume the seeder creates, snapshots and (volume_gone) deletes."""

    key: str
    name: str
    account_id: str
    region: str
    size_gib: int
    volume_gone: bool = True


@dataclass(frozen=True)
class DemoDatabase:
    """An RDS instance; `connections` is the DatabaseConnections maximum every hour reports."""

    key: str
    name: str
    account_id: str
    region: str
    engine: str
    instance_class: str
    allocated_gib: int
    multi_az: bool = False
    connections: int = 0
    cpu_percent: float = 2.0


@dataclass(frozen=True)
class DemoNatGateway:
    """A NAT gateway in the region's default VPC; `bytes_per_hour` is all the traffic it moves."""

    key: str
    name: str
    account_id: str
    region: str
    bytes_per_hour: int = 0


@dataclass(frozen=True)
class DemoLoadBalancer:
    """A load balancer across the default VPC's subnets, with an empty target group."""

    key: str
    name: str
    account_id: str
    region: str
    lb_type: str = "application"


class FleetFileError(ValueError):
    """data/fleet.toml does not describe a fleet the seeder can build."""


def _build(kind, entry: Mapping, accounts: Mapping[str, DemoAccount], where: str):
    """A KIND from one [[table]] of the file; its `account` (a name) becomes the account's ID."""
    entry = dict(entry)
    if "account" in entry:
        name = entry.pop("account")
        if name not in accounts:
            raise FleetFileError(f"{where}: no account named {name!r}")
        entry["account_id"] = accounts[name].account_id
    if "recommends" in entry:
        entry["recommends"] = tuple(entry["recommends"])
    try:
        return kind(**entry)
    except TypeError as exc:  # a field missing or unknown
        raise FleetFileError(f"{where}: {exc}") from exc


def load_fleet(path: Path = FLEET_FILE):
    """(accounts, instances, volumes, addresses), each a tuple in the file's order."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    accounts = tuple(
        _build(DemoAccount, {**entry, "regions": tuple(entry["regions"])}, {}, f"accounts[{n}]")
        for n, entry in enumerate(data["accounts"])
    )
    by_name = {account.name: account for account in accounts}

    def table(kind, name: str) -> tuple:
        entries = data.get(name, ())
        return tuple(_build(kind, e, by_name, f"{name}[{n}]") for n, e in enumerate(entries))

    instances = table(DemoInstance, "instances")
    volumes = table(DemoVolume, "volumes")
    addresses = table(DemoAddress, "addresses")
    _check(accounts, instances, volumes, addresses)
    return accounts, instances, volumes, addresses


def _check(accounts, instances, volumes, addresses) -> None:
    """Refuse what would only fail half-way through a seed, or seed a fleet the tests reject."""
    regions = {account.account_id: account.regions for account in accounts}
    by_key = {member.key: member for member in instances}
    if len(by_key) != len(instances):
        raise FleetFileError("instance keys must be unique")
    for item in (*instances, *volumes, *addresses):
        if item.region not in regions[item.account_id]:
            raise FleetFileError(f"{item.key}: {item.region} is not one of its account's regions")
    for member in instances:
        if member.profile not in PROFILES:
            raise FleetFileError(f"{member.key}: unknown profile {member.profile!r}")
        if member.expected not in VERDICTS:
            raise FleetFileError(f"{member.key}: unknown verdict {member.expected!r}")
    links = [(v, v.attach_to) for v in volumes] + [(a, a.associate_with) for a in addresses]
    for item, key in links:
        target = by_key.get(key)
        if key is not None and (
            target is None or (target.account_id, target.region) != (item.account_id, item.region)
        ):
            raise FleetFileError(f"{item.key}: no instance {key!r} in its account and region")


def load_services(path: Path = FLEET_FILE, accounts: tuple[DemoAccount, ...] | None = None):
    """(snapshots, databases, nat_gateways, load_balancers): the fleet beyond EC2 instances."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    by_name = {account.name: account for account in (accounts or load_fleet(path)[0])}
    regions = {account.account_id: account.regions for account in by_name.values()}
    tables = []
    for kind, name in (
        (DemoSnapshot, "snapshots"),
        (DemoDatabase, "databases"),
        (DemoNatGateway, "nat_gateways"),
        (DemoLoadBalancer, "load_balancers"),
    ):
        entries = data.get(name, ())
        built = (_build(kind, e, by_name, f"{name}[{n}]") for n, e in enumerate(entries))
        tables.append(tuple(built))
    keys = [item.key for table in tables for item in table]
    if len(set(keys)) != len(keys):
        raise FleetFileError("snapshot, database, NAT and load balancer keys must be unique")
    for item in (item for table in tables for item in table):
        if item.region not in regions[item.account_id]:
            raise FleetFileError(f"{item.key}: {item.region} is not one of its account's regions")
    for balancer in tables[3]:
        if balancer.lb_type not in ("application", "network"):
            raise FleetFileError(f"{balancer.key}: unknown load balancer type {balancer.lb_type!r}")
    return tuple(tables)


DEMO_ACCOUNTS, DEMO_INSTANCES, DEMO_VOLUMES, DEMO_ADDRESSES = load_fleet()
DEMO_SNAPSHOTS, DEMO_DATABASES, DEMO_NAT_GATEWAYS, DEMO_LOAD_BALANCERS = load_services(
    accounts=DEMO_ACCOUNTS
)


def demo_account(account_id: str) -> DemoAccount:
    for account in DEMO_ACCOUNTS:
        if account.account_id == account_id:
            return account
    raise KeyError(account_id)


def _named(name: str) -> DemoAccount:
    (account,) = (a for a in DEMO_ACCOUNTS if a.name == name)
    return account


PRODUCTION = _named("Production")
STAGING = _named("Staging")
DEVELOPMENT = _named("Development")


def demo_instance(key: str) -> DemoInstance:
    for member in DEMO_INSTANCES:
        if member.key == key:
            return member
    raise KeyError(key)


def in_place(items, account_id: str, region: str) -> list:
    return [item for item in items if (item.account_id, item.region) == (account_id, region)]


def instances_in(account_id: str, region: str | None = None) -> list[DemoInstance]:
    return [
        m
        for m in DEMO_INSTANCES
        if m.account_id == account_id and (region is None or m.region == region)
    ]
