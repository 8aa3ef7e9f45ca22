"""The world the tenant sweep runs in: acme with a row of everything, globex with the same,
GHOST for neither; and the markers that must never reach charlie."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from accounts.models import CloudAccount, FanOutRun, SingleSignOn
from actions.models import (
    AutoStopNotice,
    AutoStopPolicy,
    InstanceAction,
    Schedule,
    ScheduledInstance,
    ScheduleEvent,
    ScheduleOverride,
)
from alerts.models import (
    AlertEvent,
    AlertKind,
    Budget,
    BudgetThreshold,
    Channel,
    ChannelCooldown,
    ChannelDelivery,
    Cooldown,
    CostSpike,
)
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

User = get_user_model()
GHOST = 987654321  # a primary key no row has: what "not found" looks like
TAG = "acme-secret"  # in every string of acme's rows
# acme's figures: none of them may reach charlie's pages, in any format they are written in.
COST, SAVING, BUDGET = Decimal("31337424.24"), Decimal("4242424.17"), Decimal("77777777.00")
ACME_ACCOUNT_ID, ACME_BILLED_ACCOUNT = "314159265358", "161803398874"
ACME_IP = "198.51.100.77"
MARKERS = (
    TAG,
    "31337424",
    "31,337,424",
    "4242424",
    "4,242,424",
    "77777777",
    "77,777,777",
    ACME_ACCOUNT_ID,
    ACME_BILLED_ACCOUNT,
    ACME_IP,
)


# --- The world: acme with a row of everything, globex with the same, GHOST for neither ---------


@dataclass
class World:
    acme: object
    globex: object
    alice: object
    bob: object
    charlie: object
    charlie_token: str
    acme_users: list = field(default_factory=list)
    acme_rows: dict = field(default_factory=dict)  # model -> [pk], every row that is acme's
    globex_rows: dict = field(default_factory=dict)

    @property
    def operator(self):
        return self.acme_users[-1]  # acme's operator, the recipient of its alerts

    def pks(self, model) -> list:
        return self.acme_rows.get(model, [])

    def ref(self, model, slug_field: str = "pk"):
        """How a body names acme's first row of MODEL (None: acme has none)."""
        pks = self.pks(model)
        if not pks:
            return None
        return getattr(model._default_manager.get(pk=pks[0]), slug_field)

    def own_ref(self, model, slug_field: str = "pk"):
        pks = self.globex_rows.get(model, [])
        if not pks:
            return None
        return getattr(model._default_manager.get(pk=pks[0]), slug_field)

    def charlie_pks(self) -> set[str]:
        return {str(pk) for pks in self.globex_rows.values() for pk in pks}


# Each organisation's distinctive values; acme's are the markers above.
ACME = {
    "tag": TAG,
    "first_pk": 700_001,
    "account_id": ACME_ACCOUNT_ID,
    "billed_account": ACME_BILLED_ACCOUNT,
    "ip": ACME_IP,
    "figures": {"cost": COST, "saving": SAVING, "budget": BUDGET},
}
GLOBEX = {
    "tag": "globex-own",
    "first_pk": 900_001,
    "account_id": "271828182845",
    "billed_account": "141421356237",
    "ip": "203.0.113.9",
    "figures": {"cost": Decimal("12.34"), "saving": Decimal("5.55"), "budget": Decimal(100)},
}


def _seed(org, operator, today, *, tag, first_pk, figures, account_id, billed_account, ip):
    """A row of every kind for ORG, every string carrying TAG; explicit primary keys from
    FIRST_PK, so acme's keys are unique across models and never collide with globex's."""
    pk = count(first_pk)
    now = timezone.now()
    account = CloudAccount.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-account",
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/{tag}-role",
        regions=["us-east-1"],
        last_error=f"{tag}-last-error",
        last_error_at=now,
    )
    instances = [
        Instance.objects.create(
            pk=next(pk),
            account=account,
            region="us-east-1",
            instance_id=f"i-{tag}-{n}",
            name=f"{tag}-box-{n}",
            instance_type="m5.large",
            state=state,
            state_since=now - timedelta(days=20),
            auto_scaling_group=group,
            tags={"Name": f"{tag}-box-{n}", "team": f"{tag}-team"},
            verdict="idle",
            verdict_evidence={"why": f"{tag}-verdict"},
            verdict_at=now,
        )
        for n, (state, group) in enumerate(
            [("running", ""), ("stopped", ""), ("running", f"{tag}-asg")]
        )
    ]
    for back in (1, 2, 3):
        UtilizationDay.objects.create(
            pk=next(pk),
            instance=instances[0],
            day=today - timedelta(days=back),
            hours=24,
            cpu_avg=1.5,
            cpu_max=3.0,
            cpu_p95=2.0,
            network_hours=24,
            network_bytes=1000,
        )
    Volume.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        volume_id=f"vol-{tag}",
        volume_type="gp2",
        size_gib=500,
        state="in-use",
        attached_instance_id=instances[0].instance_id,
    )
    ElasticIP.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        allocation_id=f"eipalloc-{tag}",
        public_ip=ip,
    )
    beyond_ec2 = _seed_beyond_ec2(account, today, now, pk, tag=tag)
    SingleSignOn.objects.create(
        pk=next(pk),
        organization=org,
        slug=f"{tag}-sso",
        name=f"{tag}-idp",
        issuer=f"https://{tag}-idp.example",
        client_id=f"{tag}-client-id",
        client_secret=f"{tag}-client-secret",
        group_roles={f"{tag}-group": "admin"},
        email_domains=[f"{tag}.example"],
    )
    billing = BillingImport.objects.create(
        pk=next(pk),
        organization=org,
        uri=f"s3://{tag}-bucket/focus.csv",
        status=BillingImport.Status.FAILED,
        finished_at=now,
        rows_read=3,
        rows_rejected=1,
        sub_accounts=[billed_account],
        rejects=[{"row": 2, "reason": f"{tag}-reject"}],
        reject_reasons={f"{tag}-reason": 1},
        error=f"{tag}-import-error",
    )
    for day in (today, today - timedelta(days=32)):
        CostRecord.objects.create(
            pk=next(pk),
            organization=org,
            account=account,
            source="explorer",
            metric="unblended",
            sub_account_id=account_id,
            usage_date=day,
            service=f"{tag}-service",
            region="us-east-1",
            resource_id=f"arn:aws:rds:us-east-1:{account_id}:db:{tag}-db",
            usage_type=f"{tag}-usage",
            amount=figures["cost"],
            tags={"team": f"{tag}-team"},
        )
        for dimension, key in (
            ("service", f"{tag}-service"),
            ("region", "us-east-1"),
            ("account", account_id),
        ):
            CostRollup.objects.create(
                pk=next(pk),
                organization=org,
                usage_date=day,
                dimension=dimension,
                key=key,
                amount=figures["cost"],
            )
    CostRecord.objects.create(
        pk=next(pk),
        organization=org,
        source="focus",
        metric="billed",
        sub_account_id=billed_account,  # billed in the export, not connected
        usage_date=today,
        service=f"{tag}-focus-service",
        amount=figures["cost"],
        billing_import=billing,
        billing_period=today.replace(day=1),
    )
    _seed_allocation(org, operator, account, today, pk, tag=tag, cost=figures["cost"])
    for status, error in ((SyncRun.Status.FAILED, f"{tag}-sync-error"), ("succeeded", "")):
        SyncRun.objects.create(
            pk=next(pk),
            account=account,
            status=status,
            finished_at=now,
            window_start=today - timedelta(days=3),
            window_end=today,
            requests_made=3,
            error=error,
        )
    FanOutRun.objects.create(
        pk=first_pk + 8000,  # a range of its own: the other rows keep the pks the checks know
        account=account,
        task=f"fleet.tasks.{tag}_inventory",
        slot=now.isoformat(),
        status=FanOutRun.Status.FAILED,
        worker=f"{tag}-host:1",
        started_at=now,
        lease_until=now,
        finished_at=now,
        error=f"{tag}-fan-out-error",
    )
    DetectionSettings.objects.create(pk=next(pk), organization=org, protect_tag=f"{tag}:keep=1")
    recommendations = {
        kind: Recommendation.objects.create(
            pk=next(pk),
            account=account,
            kind=kind,
            resource_id=beyond_ec2.get(kind, f"{tag}-{kind}")[:64],
            region="us-east-1",
            # An RDS, NAT, load balancer or snapshot finding is about no EC2 instance.
            instance=None
            if kind in beyond_ec2
            else instances[2]
            if kind == "idle_asg_member"
            else instances[0],
            summary=f"{tag}-rec-{kind}",
            action=f"{tag}-do-this",
            target_type="m5.small" if kind == "rightsize" else "",
            monthly_saving=figures["saving"],
            saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
            evidence={
                "why": f"{tag}-evidence",
                # A price with its provenance, as costs.prices.Price.evidence() writes it.
                "hourly_price": str(figures["saving"]),
                "hourly_unit": "hour",
                "hourly_price_source": "price_list",
                "hourly_price_region": "us-east-1",
                "hourly_price_as_of": today.isoformat(),
            },
        )
        for kind in Recommendation.Kind.values
    }
    budget = Budget.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        name=f"{tag}-budget",
        monthly_amount=figures["budget"],
    )
    for percent, basis in ((80, "actual"), (100, "forecast")):
        BudgetThreshold.objects.create(pk=next(pk), budget=budget, percent=percent, basis=basis)
    AlertEvent.objects.create(
        pk=next(pk),
        organization=org,
        kind=AlertKind.BUDGET,
        subject=f"budget:{budget.pk}",
        title=f"{tag}-alert",
        recipient=operator,
        address=operator.email,
        status=AlertEvent.Status.FAILED,
        evidence={"lines": [f"{tag}-evidence"]},
        link="/admin/alerts/budget/",
        error=f"{tag}-alert-error",
    )
    Cooldown.objects.create(
        pk=next(pk),
        user=operator,
        kind=AlertKind.BUDGET,
        subject=f"{tag}-cooldown",
        until=now + timedelta(hours=1),
    )
    action = InstanceAction.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        instance=instances[0],
        aws_instance_id=instances[0].instance_id,
        region="us-east-1",
        action="stop",
        actor=operator,
        actor_label=operator.username,
        recommendation=recommendations["idle_instance"],
        reason=f"{tag}-reason",
        finished_at=now,
        result=InstanceAction.Result.DRY_RUN,
        message=f"{tag}-action-message",
        state_before="running",
        state_after="running",
    )
    # A fix: a stop that applied a recommendation, so realised savings have a row to leak.
    InstanceAction.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        instance=instances[1],
        aws_instance_id=instances[1].instance_id,
        region="us-east-1",
        action="stop",
        actor=operator,
        actor_label=operator.username,
        reason=f"{tag}-fix-reason",
        requested_at=now - timedelta(days=3),
        finished_at=now - timedelta(days=3),
        result=InstanceAction.Result.SUCCEEDED,
        monthly_saving=figures["saving"],
        state_before="running",
        state_after="stopped",
    )
    CostSpike.objects.create(
        pk=next(pk),
        organization=org,
        sub_account_id=account_id,
        service=f"{tag}-spiking-service",
        day=today - timedelta(days=2),
        cost=figures["cost"],
        baseline_median=Decimal(1),
        threshold=Decimal(2),
    )
    AutoStopPolicy.objects.create(pk=next(pk), account=account, enabled=True, dry_run=True)
    AutoStopNotice.objects.create(
        pk=next(pk),
        account=account,
        recommendation=recommendations["idle_instance"],
        instance=instances[0],
        dry_run=True,
        stop_after=now + timedelta(hours=5),
        recipients=[operator.email],
        outcome=f"{tag}-outcome",
        action=action,
    )
    schedule = Schedule.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-schedule",
        time_zone="Europe/Berlin",
        periods=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        holidays=["2026-12-25"],
        owner=operator,
    )
    ScheduledInstance.objects.create(
        pk=next(pk), schedule=schedule, instance=instances[0], notice_sent_at=now
    )
    ScheduleOverride.objects.create(
        pk=next(pk), instance=instances[1], until=now + timedelta(hours=3), created_by=operator
    )
    ScheduleEvent.objects.create(
        pk=next(pk),
        instance=instances[0],
        schedule=schedule,
        action="stop",
        occurrence=now - timedelta(hours=2),
        status=ScheduleEvent.Status.FAILED,
        message=f"{tag}-schedule-event-message",
        instance_action=action,
    )
    LogEntry.objects.create(
        user=operator,
        content_type=ContentType.objects.get_for_model(Budget),
        object_id=str(budget.pk),
        object_repr=f"{tag}-budget",
        action_flag=CHANGE,
        change_message=f"{tag}-change-message",
    )


def _seed_beyond_ec2(account, today, now, pk, *, tag) -> dict[str, str]:
    """One RDS instance, snapshot, NAT gateway and load balancer with their daily figures;
    returns {recommendation kind: the resource_id a finding about it carries}."""
    database = DatabaseInstance.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        db_instance_id=f"{tag}-db",
        arn=f"arn:aws:rds:us-east-1:{account.account_id}:db:{tag}-db",
        engine="postgres",
        instance_class="db.m5.large",
        status="available",
        multi_az=True,
        storage_type="gp3",
        allocated_gib=100,
        created_at=now - timedelta(days=400),
        tags={"team": f"{tag}-team"},
    )
    snapshot = Snapshot.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        snapshot_id=f"snap-{tag}",
        volume_id=f"vol-{tag}-gone",
        size_gib=80,
        state="completed",
        started_at=now - timedelta(days=200),
        description=f"{tag}-snapshot",
        image_ids=[f"ami-{tag}"],
    )
    nat = NatGateway.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        nat_gateway_id=f"nat-{tag}",
        state="available",
        vpc_id=f"vpc-{tag}",
        subnet_id=f"subnet-{tag}",
        created_at=now - timedelta(days=300),
    )
    balancer = LoadBalancer.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        dimension=f"app/{tag}-alb/0123456789abcdef",
        arn=f"arn:aws:elasticloadbalancing:us-east-1:{account.account_id}:loadbalancer/"
        f"app/{tag}-alb/0123456789abcdef",
        name=f"{tag}-alb",
        lb_type=LoadBalancer.Type.APPLICATION,
        scheme="internet-facing",
        state="active",
        created_at=now - timedelta(days=300),
        target_groups=1,
    )
    for kind, resource_id, figures in (
        ("rds", database.db_instance_id, {"connections_max": 0, "cpu_avg": 1.5}),
        ("nat", nat.nat_gateway_id, {"bytes_out_to_destination": 0, "bytes_processed": 0}),
        ("lb", balancer.dimension, {"lcu_hours": 0.0}),
    ):
        for back in (1, 2):
            ResourceMetricDay.objects.create(
                pk=next(pk),
                account=account,
                resource_kind=kind,
                resource_id=resource_id,
                day=today - timedelta(days=back),
                hours=24,
                figures=figures,
            )
    return {
        Recommendation.Kind.IDLE_DATABASE: database.db_instance_id,
        Recommendation.Kind.OLD_SNAPSHOT: snapshot.snapshot_id,
        Recommendation.Kind.IDLE_NAT_GATEWAY: nat.nat_gateway_id,
        Recommendation.Kind.IDLE_LOAD_BALANCER: balancer.dimension,
    }


def _seed_allocation(org, operator, account, today, pk, *, tag, cost):
    """The tag data in the store and a dimension with a row of every allocation model."""
    key = f"{tag}:team"  # a ":" as AWS writes user-defined keys
    TagKey.objects.create(pk=next(pk), organization=org, key=key)
    CommitmentUsageHour.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        sub_account_id=account.account_id,
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        bucket=CommitmentUsageHour.Bucket.ON_DEMAND,
        list_cost=cost,
        effective_cost=cost,
        billing_period=today.replace(day=1),
    )
    TagSpend.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        sub_account_id=account.account_id,
        usage_date=today,
        service=f"{tag}-service",
        tag_key=key,
        tag_value=f"{tag}-team",
        amount=cost,
    )
    dimension = Dimension.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-dimension",
        slug=f"{tag}-dimension",
        unallocated_label=f"{tag}-unallocated",
        rules_changed_at=timezone.now(),
    )
    AllocationRule.objects.create(
        pk=next(pk),
        dimension=dimension,
        position=0,
        kind=AllocationRule.Kind.TAG,
        tag_key=key,
        mapping={f"{tag}-alias": f"{tag}-team"},
    )
    SharedCostSplit.objects.create(
        pk=next(pk),
        dimension=dimension,
        name=f"{tag}-split",
        services=[f"{tag}-support"],
        method=SharedCostSplit.Method.FIXED,
        percentages={f"{tag}-team": 100},
    )
    for kind in AllocationRollup.Kind.values:
        AllocationRollup.objects.create(
            pk=next(pk),
            dimension=dimension,
            usage_date=today,
            value=f"{tag}-team",
            service=f"{tag}-service",
            kind=kind,
            amount=cost,
        )
    Reallocation.objects.create(
        pk=next(pk),
        dimension=dimension,
        start=today.replace(day=1),
        end=today,
        requested_by=operator,
        finished_at=timezone.now(),
        before={f"{tag}-team": str(cost)},
        after={f"{tag}-team": str(cost + cost)},
    )
    FollowedValue.objects.create(
        pk=next(pk), user=operator, dimension=dimension, value=f"{tag}-team"
    )


def _seed_scoped_budget(org, *, tag, first_pk, figures, **_):
    """A budget scoped to a dimension value (issue 17), with a dimension of its own, keyed from
    FIRST_PK + 5000 so it never meets _seed's keys (nor the allocation world rows')."""
    pk = count(first_pk + 5000)
    dimension = Dimension.objects.create(
        pk=next(pk), organization=org, name=f"{tag}-scope", slug=f"{tag}-scope"
    )
    AllocationRule.objects.create(
        pk=next(pk), dimension=dimension, position=0, kind="tag", tag_key=f"{tag}-key"
    )
    Budget.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-scoped-budget",
        monthly_amount=figures["budget"],
        dimension=dimension,
        dimension_value=f"{tag}-team",
    )


def _seed_channels(org, *, tag, first_pk, account_id, **_):
    """A channel routed to the account and to a dimension value, a delivery of it that failed
    and its cooldown (issue 21), keyed from FIRST_PK + 7000. The URL (a host that does not
    resolve: nothing is ever posted) and the key carry the tag: neither may reach anyone."""
    pk = count(first_pk + 7000)
    account = CloudAccount.objects.get(organization=org, account_id=account_id)
    dimension = Dimension.objects.get(organization=org, slug=f"{tag}-scope")
    channel = Channel.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-channel",
        kind=Channel.Kind.WEBHOOK,
        url=f"https://hooks.{tag}.invalid/services/{tag}-token",
        secret=f"{tag}-hmac-key",
        kinds=[AlertKind.BUDGET],
        dimension=dimension,
        dimension_values=[f"{tag}-team"],
    )
    channel.accounts.set([account])
    ChannelDelivery.objects.create(
        pk=next(pk),
        organization=org,
        channel=channel,
        kind=AlertKind.BUDGET,
        subject=f"{tag}-budget-subject",
        title=f"{tag}-channel-alert",
        evidence={"lines": [f"{tag}-evidence"]},
        status=ChannelDelivery.Status.FAILED,
        attempts=1,
        response_status=503,
        response_excerpt=f"{tag}-reply",
        error=f"{tag}-channel-error",
    )
    ChannelCooldown.objects.create(
        pk=next(pk),
        channel=channel,
        kind=AlertKind.BUDGET,
        subject=f"{tag}-cooldown",
        until=timezone.now() + timedelta(hours=1),
    )


def _seed_commitments(org, *, tag, first_pk, figures, account_id, **_):
    """A commitment of each kind, a day of each kind, a sync run and AWS's recommendation
    (issue 18) on ORG's account,
    keyed from FIRST_PK + 6000 (clear of _seed's and _seed_scoped_budget's keys)."""
    pk = count(first_pk + 6000)
    account = CloudAccount.objects.get(organization=org, account_id=account_id)
    now = timezone.now()
    for kind in Commitment.Kind.values:
        Commitment.objects.create(
            pk=next(pk),
            account=account,
            kind=kind,
            commitment_id=f"{tag}-{kind}",
            region="us-east-1",
            plan_type=f"{tag}-plan"[:32],
            instance_type=f"{tag}.large",
            platform=f"{tag}-platform",
            term_years=1,
            payment_option=Commitment.PaymentOption.NO_UPFRONT,
            hourly_commitment=figures["cost"],
            upfront_fee=figures["cost"],
            currency="EUR" if kind == Commitment.Kind.RDS_RESERVED else "USD",
            start=now - timedelta(days=300),
            end=now + timedelta(days=65),
            state="active",
        )
    for kind in CommitmentDay.Kind.values:
        CommitmentDay.objects.create(
            pk=next(pk),
            account=account,
            day=timezone.localdate() - timedelta(days=1),
            kind=kind,
            source=CommitmentDay.Source.EXPLORER,
            coverage_percent=Decimal("42.42"),
            covered_spend=figures["cost"],
            on_demand_spend=figures["cost"],
            utilization_percent=Decimal("91.5"),
            used_commitment=figures["cost"],
            unused_commitment=figures["saving"],
            net_savings=figures["saving"],
        )
    CommitmentSync.objects.create(
        pk=next(pk),
        account=account,
        status=CommitmentSync.Status.PARTIAL,
        finished_at=now,
        problems={f"{tag}:DescribeSavingsPlans": f"{tag}-problem"},
        notes=[f"{tag}-note"],
        error=f"{tag}-commitments-error",
    )
    AwsPurchaseRecommendation.objects.create(
        pk=next(pk),
        account=account,
        plan_type=AwsPurchaseRecommendation.PlanType.COMPUTE,
        term=AwsPurchaseRecommendation.Term.THREE_YEARS,
        payment_option=AwsPurchaseRecommendation.PaymentOption.NO_UPFRONT,
        lookback_days=30,
        hourly_commitment=figures["cost"],
        monthly_savings=figures["saving"],
        savings_percent=Decimal("31.7"),
        utilization_percent=Decimal("93.3"),
        generated_at=now,
    )


def _rows_of(organization, users) -> dict:
    """Every row of ORGANIZATION (tenant models) or of its USERS (their profiles, tokens...)."""
    user_fks = (models.ForeignKey, models.OneToOneField)
    rows = {User: sorted(user.pk for user in users)}
    for model in apps.get_models():
        manager = model._default_manager
        if hasattr(model, "tenant_path") and hasattr(manager, "for_organizations"):
            queryset = manager.for_organizations([organization.pk])
        else:
            links = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, user_fks) and f.related_model is User
            ]
            if not links:
                continue
            queryset = model._base_manager.filter(**{f"{links[0]}__in": users})
        pks = sorted(queryset.order_by().values_list("pk", flat=True).distinct())
        if pks:
            rows[model] = pks
    return rows


def remove_acme(world):
    """The world as charlie should see it anyway: acme, its people and all their rows gone."""
    User.objects.filter(pk__in=[u.pk for u in world.acme_users]).delete()
    world.acme.delete()
