"""Fixtures for the admin pages: staff personas and a fleet that grows by N rows per model."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count, product

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import (
    CloudAccount,
    FanOutRun,
    Membership,
    Organization,
    Profile,
    SingleSignOn,
)
from actions.models import (
    AutoStopNotice,
    AutoStopPolicy,
    InstanceAction,
    Schedule,
    ScheduledInstance,
    ScheduleEvent,
    ScheduleOverride,
)
from alerts.models import AlertEvent, AlertKind, Budget, Channel, ChannelDelivery
from allocation.models import (
    AllocationRollup,
    AllocationRule,
    Dimension,
    FollowedValue,
    Reallocation,
    SharedCostSplit,
)
from commitments.models import (
    AwsPurchaseRecommendation,
    Commitment,
    CommitmentDay,
    CommitmentSync,
)
from costs.models import (
    BillingImport,
    CommitmentUsageHour,
    CostRecord,
    CostRollup,
    PriceQuote,
    SyncRun,
    TagKey,
    TagSpend,
)
from findings.models import DetectionSettings, Recommendation
from fleet.models import (
    DatabaseInstance,
    ElasticIP,
    Instance,
    LoadBalancer,
    NatGateway,
    ResourceMetricDay,
    Snapshot,
    UtilizationDay,
    Volume,
)

APPS = ("accounts", "costs", "allocation", "commitments", "fleet", "findings", "actions", "alerts")


def make_staff(user):
    """Staff with every permission of our apps: what the pages show is then up to the role."""
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=APPS)
        | Permission.objects.filter(content_type__app_label="auth", codename="view_user")
    )
    return user


@pytest.fixture
def olivia_staff(django_user_model, acme):
    """An operator of acme, as staff."""
    user = django_user_model.objects.create_user("olivia", email="olivia@example.com")
    Membership.objects.create(user=user, organization=acme, role="operator")
    return make_staff(user)


@pytest.fixture
def bob_staff(bob):
    return make_staff(bob)


@pytest.fixture
def charlie_staff(charlie):
    return make_staff(charlie)


@pytest.fixture
def second_account(acme):
    return CloudAccount.objects.create(
        organization=acme,
        name="Acme staging",
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
        regions=["eu-west-1"],
    )


@pytest.fixture
def grow(acme, acme_account, second_account, globex_account, django_user_model):
    """grow(n): n more rows of every model the admin lists, spread over two acme accounts.

    Each instance has utilization days in and before the CPU window, an open recommendation
    and an action; each round also adds an organisation, an account and a member, for the
    pages that list those. A globex row per round checks that scoping costs no extra query.
    """
    serial = count(1)
    today = timezone.localdate()

    def grow(n):
        for _ in range(n):
            i = next(serial)
            account = acme_account if i % 2 else second_account
            _inventory(account, i, today)
            _costs(acme, account, i)
            _alerts(acme, account, i, django_user_model)
            _allocation(acme, account, i, django_user_model)
            _tenancy(acme, i, django_user_model)
            _commitments(account, i, today)
            _inventory(globex_account, 1000 + i, today)
            _commitments(globex_account, 1000 + i, today)

    return grow


def _commitments(account, i, today):
    """A Savings Plan and a reservation, a day of each kind, a sync run."""
    now = timezone.now()
    for kind in ("savings_plan", "ec2_reserved"):
        Commitment.objects.create(
            account=account,
            kind=kind,
            commitment_id=f"{kind}-{i}",
            plan_type="Compute" if kind == "savings_plan" else "",
            instance_type="" if kind == "savings_plan" else "m5.large",
            instance_count=None if kind == "savings_plan" else 2,
            term_years=1,
            payment_option="no_upfront",
            hourly_commitment=Decimal("1.5") if kind == "savings_plan" else None,
            recurring_hourly=Decimal("0.2"),
            start=now - timedelta(days=300),
            end=now + timedelta(days=i),
            state="active",
        )
    for kind in ("savings_plan", "reservation"):
        CommitmentDay.objects.create(
            account=account,
            day=today - timedelta(days=i),
            kind=kind,
            source="explorer",
            coverage_percent=Decimal(70),
            on_demand_spend=Decimal(12),
            utilization_percent=Decimal("97.5"),
            used_commitment=Decimal(35),
            unused_commitment=Decimal(1),
            net_savings=Decimal(9),
        )
    CommitmentSync.objects.create(
        account=account,
        status="partial",
        finished_at=now,
        problems={"rds:DescribeReservedDBInstances": "not allowed"},
    )
    # One of AWS's twelve variants per round, each at most once per account (its natural key).
    plan, term, payment = list(
        product(
            AwsPurchaseRecommendation.PlanType.values,
            AwsPurchaseRecommendation.Term.values,
            AwsPurchaseRecommendation.PaymentOption.values,
        )
    )[i % 12]
    AwsPurchaseRecommendation.objects.get_or_create(
        account=account,
        plan_type=plan,
        term=term,
        payment_option=payment,
        defaults={
            "lookback_days": 30,
            "hourly_commitment": Decimal("1.25"),
            "monthly_savings": Decimal("250.5"),
            "savings_percent": Decimal("21.5"),
            "utilization_percent": Decimal("98.2"),
            "generated_at": now,
        },
    )


def _beyond_ec2(account, i, today, region):
    """An RDS instance, a snapshot, a NAT gateway and a load balancer, their daily figures and a
    recommendation of each new kind (the EC2 ones, old generation and Graviton, on no instance
    row: the pages must not need one)."""
    database = DatabaseInstance.objects.create(
        account=account,
        region=region,
        db_instance_id=f"db-{i}",
        engine="aurora-postgresql" if i % 2 else "postgres",
        instance_class="db.r6g.large" if i % 2 else "db.m5.large",
        status="available",
        multi_az=not i % 2,
        allocated_gib=100,
        cluster_id=f"cluster-{i}" if i % 2 else "",
    )
    snapshot = Snapshot.objects.create(
        account=account,
        region=region,
        snapshot_id=f"snap-{i:017x}",
        volume_id="vol-ffffffff",
        size_gib=50,
        storage_tier="archive" if i % 2 else "standard",
        state="completed",
        started_at=timezone.now() - timedelta(days=100 + i),
        image_ids=[f"ami-{i:017x}"] if i % 2 else [],
    )
    nat = NatGateway.objects.create(
        account=account, region=region, nat_gateway_id=f"nat-{i:017x}", state="available"
    )
    balancer = LoadBalancer.objects.create(
        account=account,
        region=region,
        dimension=f"{'net' if i % 2 else 'app'}/lb-{i}/{i:016x}",
        arn=f"arn:aws:elasticloadbalancing:{region}:{account.account_id}:loadbalancer/lb-{i}",
        name=f"lb-{i}",
        lb_type="network" if i % 2 else "application",
        state="active",
        target_groups=1,
        registered_targets=2,
    )
    ResourceMetricDay.objects.bulk_create(
        ResourceMetricDay(
            account=account,
            resource_kind=kind,
            resource_id=resource_id,
            day=today - timedelta(days=back),
            hours=24 if figures else 0,
            figures=figures,
        )
        for kind, resource_id, figures in (
            ("rds", database.db_instance_id, {"connections_max": 0, "cpu_avg": 1.2}),
            ("nat", nat.nat_gateway_id, {"bytes_out_to_destination": 0}),
            ("lb", balancer.dimension, {}),
        )
        for back in (1, 2)
    )
    price = {
        "hourly_price": "0.045",
        "hourly_unit": "hour",
        "hourly_price_source": "price_list" if i % 2 else "price_table",
        "hourly_price_region": region,
        "hourly_price_as_of": "2026-12-01",
    }
    for kind, resource_id in (
        (Recommendation.Kind.IDLE_DATABASE, database.db_instance_id),
        (Recommendation.Kind.OLD_SNAPSHOT, snapshot.snapshot_id),
        (Recommendation.Kind.IDLE_NAT_GATEWAY, nat.nat_gateway_id),
        (Recommendation.Kind.IDLE_LOAD_BALANCER, balancer.dimension),
        (Recommendation.Kind.OLD_GENERATION, f"i-old{i:014x}"),
        (Recommendation.Kind.GRAVITON, f"i-arm{i:014x}"),
    ):
        Recommendation.objects.create(
            account=account,
            kind=kind,
            resource_id=resource_id,
            region=region,
            summary=f"{resource_id} ({kind})",
            action="Act on it",
            target_type="m7g.large" if kind == Recommendation.Kind.GRAVITON else "",
            monthly_saving=Decimal("32.85"),
            saving_basis=Recommendation.SavingBasis.PRICE_LIST
            if i % 2
            else Recommendation.SavingBasis.PRICE_TABLE,
            evidence=price,
        )


def _inventory(account, i, today):
    instance = Instance.objects.create(
        account=account,
        region=account.regions[0],
        instance_id=f"i-{i:017x}",
        name=f"box-{i}",
        instance_type="m5.large" if i % 3 else "x9.unknown",
        state="running",
        state_since=timezone.now() - timedelta(days=i),
    )
    UtilizationDay.objects.bulk_create(
        UtilizationDay(
            instance=instance,
            day=today - timedelta(days=back),
            hours=24,
            cpu_avg=2.0,
            cpu_max=9.0,
            cpu_p95=4.0,
            network_hours=24,
            network_bytes=1000,
        )
        for back in (1, 2, 3, 30)
    )
    rec = Recommendation.objects.create(
        account=account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=instance.instance_id,
        region=instance.region,
        instance=instance,
        summary=f"box-{i} is idle",
        action="Stop it",
        monthly_saving=Decimal("70.08"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        evidence={"avg_cpu": 2.0, "thresholds": {"idle_cpu_avg_percent": 10}},
    )
    Recommendation.objects.create(
        account=account,
        kind=Recommendation.Kind.UNATTACHED_VOLUME,
        resource_id=f"vol-{i:017x}",
        region=instance.region,
        summary=f"vol-{i} is unattached",
        action="Delete it",
        monthly_saving=Decimal("8"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    Volume.objects.create(
        account=account,
        region=instance.region,
        volume_id=f"vol-{i:017x}",
        volume_type="gp2",
        size_gib=100,
        state="available",
    )
    ElasticIP.objects.create(
        account=account,
        region=instance.region,
        allocation_id=f"eipalloc-{i}",
        public_ip=f"203.0.113.{i % 250}",
    )
    _beyond_ec2(account, i, today, instance.region)
    action = InstanceAction.objects.create(
        organization=account.organization,
        account=account,
        instance=instance,
        aws_instance_id=instance.instance_id,
        region=instance.region,
        action="stop",
        actor_label="olivia",
        recommendation=rec,
        result=InstanceAction.Result.DRY_RUN,
    )
    # A fix applied earlier: a stop that realised another recommendation's saving.
    InstanceAction.objects.create(
        organization=account.organization,
        account=account,
        instance=instance,
        aws_instance_id=instance.instance_id,
        region=instance.region,
        action="stop",
        actor_label="olivia",
        result=InstanceAction.Result.SUCCEEDED,
        monthly_saving=Decimal("30.00"),
        requested_at=timezone.now() - timedelta(days=i + 1),
        finished_at=timezone.now() - timedelta(days=i + 1),
    )
    AutoStopNotice.objects.create(
        account=account,
        recommendation=rec,
        instance=instance,
        dry_run=True,
        stop_after=timezone.now() + timedelta(hours=5),
        action=action,
    )
    _schedule(account, instance, i, action)
    SyncRun.objects.create(
        account=account,
        status=SyncRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        window_start=today - timedelta(days=3),
        window_end=today,
        requests_made=3,
    )
    FanOutRun.objects.create(
        account=account,
        task="fleet.tasks.sync_account_inventory",
        slot=f"{today.isoformat()}-{i}",
        status=FanOutRun.Status.SUCCEEDED,
        started_at=timezone.now(),
        lease_until=timezone.now(),
        finished_at=timezone.now(),
    )


def _schedule(account, instance, i, action):
    """A schedule per instance, the instance attached, an override and an executed stop."""
    schedule = Schedule.objects.create(
        organization=account.organization,
        name=f"office-{i}",
        time_zone="Europe/Berlin",
        periods=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        holidays=["2026-12-25"],
    )
    ScheduledInstance.objects.create(schedule=schedule, instance=instance)
    ScheduleOverride.objects.create(instance=instance, until=timezone.now() + timedelta(hours=i))
    ScheduleEvent.objects.create(
        instance=instance,
        schedule=schedule,
        action="stop",
        occurrence=timezone.now() - timedelta(days=i),
        status=ScheduleEvent.Status.SUCCEEDED,
        instance_action=action,
    )


def _costs(organization, account, i):
    day = date(2026, 10, 1 + i % 28)
    for service, region in ((f"Service {i}", "us-east-1"), ("AWS Support", "")):
        CostRecord.objects.create(
            organization=organization,
            account=account,
            source="explorer",
            metric="unblended",
            sub_account_id=account.account_id,
            usage_date=day,
            service=service,
            region=region,
            resource_id=f"i-{i:017x}",
            amount=Decimal("1234.5678"),
        )
    CostRecord.objects.create(
        organization=organization,
        source="focus",
        metric="billed",
        sub_account_id="333333333333",  # billed in the export, not connected
        usage_date=day,
        service=f"Service {i}",
        amount=Decimal("0.000042"),
    )
    for dimension, key in (("service", f"Service {i}"), ("region", "us-east-1"), ("region", "")):
        CostRollup.objects.update_or_create(
            organization=organization,
            usage_date=day,
            dimension=dimension,
            key=key,
            defaults={"amount": 1},
        )
    BillingImport.objects.create(
        organization=organization,
        uri=f"s3://bills/{i}.csv",
        status=BillingImport.Status.SUCCEEDED,
        finished_at=timezone.now(),
        reject_reasons={"bad date": 1},
    )
    PriceQuote.objects.create(  # public prices: no organisation
        key=f"ec2:m5.{i}xlarge",
        region="eu-west-1",
        amount=Decimal("0.214"),
        unit="hour",
        sku=f"SKU{i}",
        fetched_at=timezone.now(),
    )


def _alerts(organization, account, i, django_user_model):
    budget = Budget.objects.create(
        organization=organization,
        account=account if i % 2 else None,
        name=f"Budget {i}",
        monthly_amount=Decimal("1000"),
    )
    budget.ensure_thresholds()
    recipient = django_user_model.objects.create_user(f"member-{i}", email=f"m{i}@example.com")
    AlertEvent.objects.create(
        organization=organization,
        kind=AlertKind.BUDGET,
        subject=f"budget:{budget.pk}",
        title=f"Budget {i} at 80%",
        recipient=recipient,
        address=recipient.email,
        evidence={"lines": ["spent $800 of $1,000"]},
        link="/admin/alerts/budget/",
    )
    Membership.objects.create(user=recipient, organization=organization, role="viewer")
    Profile.for_user(recipient)
    channel = Channel.objects.create(
        organization=organization,
        name=f"Channel {i}",
        kind=("slack", "teams", "webhook")[i % 3],
        url=f"https://hooks.example.com/services/T{i}/SECRET{i}",
        kinds=[AlertKind.BUDGET] if i % 2 else [],
    )
    channel.accounts.set([account])
    for status in ("sent", "failed"):
        ChannelDelivery.objects.create(
            organization=organization,
            channel=channel,
            kind=AlertKind.BUDGET,
            subject=f"budget:{budget.pk}",
            title=f"Budget {i} at 80%",
            status=status,
            attempts=1,
            response_status=200 if status == "sent" else 503,
            evidence={"lines": ["spent $800 of $1,000"]},
        )


def _tenancy(acme, i, django_user_model):
    organization = Organization.objects.create(name=f"Org {i}", slug=f"org-{i}")
    SingleSignOn.objects.create(
        organization=acme if i % 2 else organization,
        slug=f"sso-{i}",
        name=f"IdP {i}",
        issuer=f"https://idp-{i}.example",
        client_id=f"client-{i}",
        email_domains=[f"org-{i}.example"],
    )
    DetectionSettings.for_organization(organization)
    for user in django_user_model.objects.filter(username__in=["olivia", "bob", "charlie"]):
        Membership.objects.create(user=user, organization=organization, role="viewer")
    account = CloudAccount.objects.create(
        organization=acme,
        name=f"Acme {i}",
        account_id=f"{500000000000 + i}",
        role_arn=f"arn:aws:iam::{500000000000 + i}:role/SpendlensAccess",
        regions=["us-east-1"],
    )
    AutoStopPolicy.objects.create(account=account)


def _allocation(organization, account, i, django_user_model):
    dimension = Dimension.objects.create(organization=organization, name=f"Team {i}", slug=f"t{i}")
    AllocationRule.objects.create(dimension=dimension, position=0, kind="tag", tag_key="team")
    SharedCostSplit.objects.create(
        dimension=dimension, name="Support", method="even", services=["AWS Support"]
    )
    AllocationRollup.objects.create(
        dimension=dimension,
        usage_date=date(2026, 10, 1 + i % 28),
        value="payments",
        service=f"Service {i}",
        kind="direct",
        amount=Decimal("1234.5678"),
    )
    Reallocation.objects.create(
        dimension=dimension,
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
        finished_at=timezone.now(),
        before={"payments": "1.00"},
        after={"payments": "2.00"},
    )
    member = django_user_model.objects.get(username=f"member-{i}")
    FollowedValue.objects.create(user=member, dimension=dimension, value="payments")
    TagKey.objects.create(organization=organization, key=f"team-{i}")
    CommitmentUsageHour.objects.create(
        organization=organization,
        account=account,
        sub_account_id=account.account_id,
        hour=datetime(2026, 10, 1 + i % 28, i % 24, tzinfo=UTC),
        bucket=CommitmentUsageHour.Bucket.SAVINGS_PLAN_USED,
        list_cost=Decimal("2.5"),
        effective_cost=Decimal("1.75"),
        billing_period=date(2026, 10, 1),
    )
    TagSpend.objects.create(
        organization=organization,
        account=account,
        sub_account_id=account.account_id,
        usage_date=date(2026, 10, 1 + i % 28),
        service=f"Service {i}",
        tag_key=f"team-{i}",
        tag_value="payments",
        amount=Decimal("12.5"),
    )
