"""REST endpoints for the fleet: the EC2 instances (Stop and Start: actions/api.py), RDS
instances, EBS snapshots, NAT gateways and load balancers. All read-only."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from fleet.models import DatabaseInstance, Instance, LoadBalancer, NatGateway, Snapshot


class InstanceSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id", read_only=True)

    class Meta:
        model = Instance
        fields = [
            "id",
            "account",
            "region",
            "instance_id",
            "name",
            "instance_type",
            "state",
            "platform",
            "lifecycle",
            "auto_scaling_group",
            "tags",
            "launch_time",
            "verdict",
            "verdict_evidence",
            "verdict_at",
            "gone_at",
        ]
        read_only_fields = fields


class InstanceViewSet(viewsets.ReadOnlyModelViewSet):
    """EC2 instances of your organisations' accounts (filters: state, verdict, region)."""

    serializer_class = InstanceSerializer
    filterset_fields = ["state", "verdict", "region"]

    def get_queryset(self):
        return (
            Instance.objects.for_user(self.request.user)
            .select_related("account__organization")
            .order_by("account_id", "instance_id")
        )


class InventoryFilter(django_filters.FilterSet):
    """The filters every inventory list shares: the AWS account (12 digits) and the region."""

    account = django_filters.CharFilter(
        field_name="account__account_id", help_text="12-digit AWS account ID."
    )
    region = django_filters.CharFilter(help_text="AWS region, e.g. us-east-1.")
    present = django_filters.BooleanFilter(
        field_name="gone_at",
        lookup_expr="isnull",
        help_text="true: only what the last inventory still found in AWS; false: only the gone.",
    )


def inventory_filter(model, *fields):
    meta = type("Meta", (), {"model": model, "fields": ["account", "region", "present", *fields]})
    return type(f"{model.__name__}Filter", (InventoryFilter,), {"Meta": meta})


INVENTORY_FIELDS = ["id", "account", "region", "tags", "first_seen_at", "last_seen_at", "gone_at"]


class InventorySerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id", read_only=True)


class DatabaseInstanceSerializer(InventorySerializer):
    is_aurora = serializers.BooleanField(read_only=True)

    class Meta:
        model = DatabaseInstance
        fields = [
            *INVENTORY_FIELDS,
            "db_instance_id",
            "arn",
            "engine",
            "engine_version",
            "is_aurora",
            "instance_class",
            "status",
            "multi_az",
            "storage_type",
            "allocated_gib",
            "cluster_id",
            "license_model",
            "created_at",
        ]
        read_only_fields = fields


class SnapshotSerializer(InventorySerializer):
    image_ids = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Snapshot
        fields = [
            *INVENTORY_FIELDS,
            "snapshot_id",
            "volume_id",
            "size_gib",
            "storage_tier",
            "state",
            "started_at",
            "description",
            "image_ids",
        ]
        read_only_fields = fields


class NatGatewaySerializer(InventorySerializer):
    class Meta:
        model = NatGateway
        fields = [
            *INVENTORY_FIELDS,
            "nat_gateway_id",
            "state",
            "connectivity_type",
            "vpc_id",
            "subnet_id",
            "created_at",
        ]
        read_only_fields = fields


class LoadBalancerSerializer(InventorySerializer):
    class Meta:
        model = LoadBalancer
        fields = [
            *INVENTORY_FIELDS,
            "dimension",
            "arn",
            "name",
            "lb_type",
            "scheme",
            "state",
            "created_at",
            "target_groups",
            "registered_targets",
            "healthy_targets",
        ]
        read_only_fields = fields


class InventoryViewSet(viewsets.ReadOnlyModelViewSet):
    model = None
    ordering: tuple[str, ...] = ()

    def get_queryset(self):
        return (
            self.model.objects.for_user(self.request.user)
            .select_related("account")
            .order_by("account_id", *self.ordering)
        )


class DatabaseInstanceViewSet(InventoryViewSet):
    """RDS instances of your organisations' accounts (filters: account, region, present,
    engine, status)."""

    model = DatabaseInstance
    ordering = ("db_instance_id",)
    serializer_class = DatabaseInstanceSerializer
    filterset_class = inventory_filter(DatabaseInstance, "engine", "status", "multi_az")


class SnapshotViewSet(InventoryViewSet):
    """EBS snapshots of your organisations' accounts, with the AMIs that use them (filters:
    account, region, present, storage_tier, volume_id)."""

    model = Snapshot
    ordering = ("snapshot_id",)
    serializer_class = SnapshotSerializer
    filterset_class = inventory_filter(Snapshot, "storage_tier", "volume_id")


class NatGatewayViewSet(InventoryViewSet):
    """NAT gateways of your organisations' accounts (filters: account, region, present,
    state)."""

    model = NatGateway
    ordering = ("nat_gateway_id",)
    serializer_class = NatGatewaySerializer
    filterset_class = inventory_filter(NatGateway, "state")


class LoadBalancerViewSet(InventoryViewSet):
    """Application, Network and Gateway Load Balancers of your organisations' accounts, with
    their targets' health (filters: account, region, present, lb_type, state)."""

    model = LoadBalancer
    ordering = ("region", "dimension")
    serializer_class = LoadBalancerSerializer
    filterset_class = inventory_filter(LoadBalancer, "lb_type", "state")
