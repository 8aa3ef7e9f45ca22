"""REST endpoints for the cost store, instances and recommendations (thin over the models)."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.api import require_operator
from accounts.models import Organization, Role
from costs import actions, summary
from costs.models import CostRecord, Instance, InstanceAction, Recommendation
from costs.recommendations import dismiss


class CostRecordSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="sub_account_id", read_only=True)

    class Meta:
        model = CostRecord
        fields = [
            "id",
            "usage_date",
            "account",
            "service",
            "region",
            "resource_id",
            "usage_type",
            "amount",
            "currency",
            "metric",
            "source",
            "estimated",
        ]
        read_only_fields = fields


class DateRange(serializers.Serializer):
    """start/end (inclusive) shared by the cost list and the summary; at most 400 days."""

    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate()
        start = attrs.get("start") or end - timedelta(days=29)
        if end < start:
            raise serializers.ValidationError({"end": ["end is before start."]})
        if (end - start).days + 1 > summary.MAX_DAYS:
            raise serializers.ValidationError(
                {"start": [f"The range is limited to {summary.MAX_DAYS} days."]}
            )
        return {**attrs, "start": start, "end": end}


class SummaryQuery(DateRange):
    group_by = serializers.ChoiceField(choices=list(summary.GROUPS), default="service")
    account = serializers.RegexField(r"^\d{12}$", required=False)
    service = serializers.CharField(required=False, max_length=200)
    region = serializers.CharField(required=False, max_length=32)


class CostFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="sub_account_id")
    service = django_filters.CharFilter()
    region = django_filters.CharFilter()

    class Meta:
        model = CostRecord
        fields = ["account", "service", "region"]


@extend_schema(
    parameters=[
        OpenApiParameter("start", str, description="YYYY-MM-DD, default 29 days before end"),
        OpenApiParameter("end", str, description="YYYY-MM-DD (inclusive), default today"),
    ]
)
class CostRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Daily cost records of your organisations (filters: start, end, account, service, region)."""

    serializer_class = CostRecordSerializer
    filterset_class = CostFilter

    def get_queryset(self):
        records = CostRecord.objects.for_user(self.request.user).order_by("usage_date", "id")
        if self.action != "list":
            return records
        query = DateRange(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        window = query.validated_data
        return records.filter(usage_date__gte=window["start"], usage_date__lte=window["end"])

    @extend_schema(
        parameters=[SummaryQuery],
        responses={200: dict},
        description="Totals per group_by for the window, with the previous window of the "
        "same length for comparison.",
    )
    @action(detail=False)
    def summary(self, request, format=None):  # format: the router's .json/.api suffix routes
        query = SummaryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        window = summary.Window(params["start"], params["end"])
        filters = {
            "sub_account_id": params.get("account"),
            "service": params.get("service"),
            "region": params.get("region"),
        }
        organizations = Organization.objects.for_user(request.user)
        return Response(summary.summarize(organizations, window, params["group_by"], filters))


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


class ActionRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    recommendation = serializers.IntegerField(required=False, min_value=1)


class ActionResultSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=InstanceAction.Result.choices)
    message = serializers.CharField()
    error_code = serializers.CharField(allow_blank=True)
    state = serializers.CharField(allow_blank=True)
    action_id = serializers.IntegerField(allow_null=True)


# HTTP status per result: refusals are the caller's problem, AWS failures a bad gateway.
RESULT_STATUS = {
    InstanceAction.Result.SUCCEEDED: 200,
    InstanceAction.Result.NO_OP: 200,
    InstanceAction.Result.DRY_RUN: 200,
    InstanceAction.Result.REFUSED: 409,
    InstanceAction.Result.FAILED: 502,
}


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

    def _act(self, request, perform):
        instance = self.get_object()
        body = ActionRequest(data=request.data)
        body.is_valid(raise_exception=True)
        reason = None
        if body.validated_data.get("recommendation"):
            reason = (
                Recommendation.objects.for_user(request.user)
                .filter(pk=body.validated_data["recommendation"], account=instance.account)
                .first()
            )
            if reason is None:
                raise serializers.ValidationError(
                    {"recommendation": ["No such recommendation for this instance's account."]}
                )
        outcome = perform(
            instance, actor=request.user, reason=reason, note=body.validated_data.get("reason", "")
        )
        if (
            outcome.result == InstanceAction.Result.REFUSED
            and not instance.account.organization.user_has_role(request.user, Role.OPERATOR)
        ):
            raise PermissionDenied(outcome.message)
        data = {
            "result": outcome.result,
            "message": outcome.message,
            "error_code": outcome.error_code,
            "state": outcome.state,
            "action_id": outcome.record.pk if outcome.record else None,
        }
        return Response(data, status=RESULT_STATUS.get(outcome.result, 200))

    @extend_schema(
        request=ActionRequest,
        responses=dict.fromkeys((200, 409, 502), ActionResultSerializer),
        description="Stop the instance: permission, protect tag and DryRun checks first; "
        "every attempt is in actions/.",
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None, format=None):
        return self._act(request, actions.stop_instance)

    @extend_schema(
        request=ActionRequest,
        responses=dict.fromkeys((200, 409, 502), ActionResultSerializer),
        description="Start the instance (same checks and audit as stop).",
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None, format=None):
        return self._act(request, actions.start_instance)


class InstanceActionSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id", read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = InstanceAction
        fields = [
            "id",
            "account",
            "aws_instance_id",
            "region",
            "action",
            "actor",
            "recommendation",
            "reason",
            "requested_at",
            "finished_at",
            "result",
            "message",
            "error_code",
            "state_before",
            "state_after",
        ]
        read_only_fields = fields

    def get_actor(self, obj) -> str:
        return obj.actor_label or (obj.actor.username if obj.actor else "")


class InstanceActionViewSet(viewsets.ReadOnlyModelViewSet):
    """The stop/start audit log (append-only; filters: action, result)."""

    serializer_class = InstanceActionSerializer
    filterset_fields = ["action", "result"]

    def get_queryset(self):
        return (
            InstanceAction.objects.for_user(self.request.user)
            .select_related("account", "actor")
            .order_by("-requested_at", "-id")
        )


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
