"""REST endpoints for the fleet: the EC2 instances (Stop and Start: actions/api.py)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from fleet.models import Instance


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
