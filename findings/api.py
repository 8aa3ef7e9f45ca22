"""REST endpoints for the findings: recommendations, with dismiss and snooze."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api import require_operator
from findings.models import Recommendation
from findings.recommendations import dismiss


class RecommendationSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id", read_only=True)

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "account",
            "kind",
            "resource_id",
            "region",
            "status",
            "summary",
            "action",
            "target_type",
            "monthly_saving",
            "saving_basis",
            "evidence",
            "created_at",
            "updated_at",
            "resolved_at",
            "dismissed_reason",
            "snoozed_until",
        ]
        read_only_fields = fields


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class SnoozeSerializer(DismissSerializer):
    until = serializers.DateField()

    def validate_until(self, value):
        if value <= timezone.localdate():
            raise serializers.ValidationError("Snooze until a future date.")
        return value


class RecommendationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Recommendations with their savings and evidence (filters: kind, status)."""

    serializer_class = RecommendationSerializer
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return (
            Recommendation.objects.for_user(self.request.user)
            .select_related("account")
            .order_by("-monthly_saving", "id")
        )

    def _operable(self):
        rec = self.get_object()
        require_operator(rec.account.organization, self.request.user)
        return rec

    @extend_schema(request=DismissSerializer, responses=RecommendationSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None, format=None):
        rec = self._operable()
        body = DismissSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dismiss(rec, body.validated_data["reason"])
        return Response(RecommendationSerializer(rec).data)

    @extend_schema(request=SnoozeSerializer, responses=RecommendationSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None, format=None):
        rec = self._operable()
        body = SnoozeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dismiss(rec, body.validated_data["reason"], body.validated_data["until"])
        return Response(RecommendationSerializer(rec).data)
