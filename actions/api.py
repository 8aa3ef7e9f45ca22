"""REST endpoints for the actions: Stop and Start on the fleet's instances, the audit log,
and the realised savings."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.models import Role
from actions import realised, stop_start
from actions.models import InstanceAction
from findings.models import Recommendation
from fleet.api import InstanceViewSet as FleetInstanceViewSet


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


class InstanceViewSet(FleetInstanceViewSet):
    """EC2 instances of your organisations' accounts (filters: state, verdict, region), with
    Stop and Start."""

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
        return self._act(request, stop_start.stop_instance)

    @extend_schema(
        request=ActionRequest,
        responses=dict.fromkeys((200, 409, 502), ActionResultSerializer),
        description="Start the instance (same checks and audit as stop).",
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None, format=None):
        return self._act(request, stop_start.start_instance)


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
            "monthly_saving",
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


class RealisedFiguresSerializer(serializers.Serializer):
    this_month = serializers.DecimalField(max_digits=14, decimal_places=2)
    to_date = serializers.DecimalField(max_digits=14, decimal_places=2)
    in_force_monthly = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Monthly saving of the fixes still in force."
    )
    fixes = serializers.IntegerField()


class RealisedAccountSerializer(RealisedFiguresSerializer):
    account = serializers.CharField(help_text="AWS account ID.")
    name = serializers.CharField()


class RealisedSavingsSerializer(RealisedFiguresSerializer):
    currency = serializers.CharField()
    month_start = serializers.DateField()
    accounts = RealisedAccountSerializer(many=True)


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

    @extend_schema(
        responses=RealisedSavingsSerializer,
        description="What the stops that applied a recommendation have saved: this month, to "
        "date, and the monthly saving still in force, in total and per account. A fix saves "
        "its recommendation's monthly figure (accrued by the hour, 730 hours a month) until "
        "the instance is started again.",
    )
    @action(detail=False, url_path="realised-savings")
    def realised_savings(self, request, format=None):
        found = realised.realised_savings(InstanceAction.objects.for_user(request.user))
        body = {
            "currency": "USD",
            "month_start": found.month_start.date(),
            **asdict(found.total),
            "accounts": [
                {"account": a.account_id, "name": a.name, **asdict(figures)}
                for a, figures in found.accounts
            ],
        }
        return Response(RealisedSavingsSerializer(body).data)
