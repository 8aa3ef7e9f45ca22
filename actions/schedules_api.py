"""REST endpoints for instance schedules: the schedules themselves, attaching instances,
"keep running until", applying a schedule recommendation, and the events the runs recorded."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.api import require_operator
from accounts.models import Organization, Role
from actions import schedule_attach, schedules
from actions.models import Schedule, ScheduledInstance, ScheduleEvent
from config.api import SlugRelatedField
from findings.models import Recommendation
from fleet.models import Instance


class ScheduleSerializer(serializers.ModelSerializer):
    organization = SlugRelatedField(slug_field="slug", queryset=Organization.objects.none())
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    instances = serializers.SerializerMethodField()
    next_change = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "id",
            "organization",
            "name",
            "time_zone",
            "periods",
            "holidays",
            "enabled",
            "owner",
            "instances",
            "next_change",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["owner", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organization"].queryset = Organization.objects.for_user(request.user)

    def get_instances(self, obj) -> list[str]:
        return [row.instance.instance_id for row in obj.attachments.all()]

    def get_next_change(self, obj) -> dict | None:
        """The next stop or start, {"action": ..., "at": ...}, or None."""
        found = schedules.next_change(obj, timezone.now())
        return None if found is None else {"action": found[0], "at": found[1]}

    def validate(self, attrs):
        organization = attrs.get("organization") or self.instance.organization
        require_operator(organization, self.context["request"].user)
        candidate = Schedule(pk=getattr(self.instance, "pk", None), organization=organization)
        for name in ("name", "time_zone", "periods", "holidays", "enabled"):
            default = getattr(self.instance, name, None) if self.instance else None
            value = attrs.get(name, default)
            if value is not None:
                setattr(candidate, name, value)
        candidate.full_clean()  # DRF turns the model's errors into the 400's fields
        return attrs

    def create(self, validated_data):
        return Schedule.objects.create(owner=self.context["request"].user, **validated_data)


class InstanceBody(serializers.Serializer):
    instance = serializers.CharField(help_text="The EC2 instance ID (i-...).")


class KeepRunningBody(InstanceBody):
    until = serializers.DateTimeField(help_text="ISO 8601 with its time zone.")


class RecommendationBody(serializers.Serializer):
    recommendation = serializers.IntegerField(help_text="A schedule recommendation's id.")


class AttachmentSerializer(serializers.Serializer):
    instance = serializers.CharField()
    schedule = serializers.CharField()
    source = serializers.CharField()


class ScheduleViewSet(viewsets.ModelViewSet):
    """Instance schedules: when attached instances run, in the schedule's time zone (periods of
    {"days": [0-6, 0 = Monday], "start": "HH:MM", "end": "HH:MM"}, holidays as dates)."""

    serializer_class = ScheduleSerializer

    def get_queryset(self):
        return (
            Schedule.objects.for_user(self.request.user)
            .select_related("organization", "owner")
            .prefetch_related("attachments__instance")
            .order_by("organization_id", "name")
        )

    def perform_destroy(self, instance):
        require_operator(instance.organization, self.request.user)
        instance.delete()

    def _require_operator_somewhere(self) -> None:
        """Before reading a body: a caller who operates no organisation may change nothing
        (a viewer gets a 403 whatever it sends, not a 400 about the body)."""
        user = self.request.user
        if not any(
            o.user_has_role(user, Role.OPERATOR) for o in Organization.objects.for_user(user)
        ):
            raise PermissionDenied("Only an operator or admin of the organisation can do that.")

    def _instance(self, instance_id: str) -> Instance:
        found = Instance.objects.for_user(self.request.user).filter(instance_id=instance_id)
        instance = found.select_related("account__organization").first()
        if instance is None:
            raise serializers.ValidationError({"instance": ["No such instance."]})
        return instance

    def _attachment(self, row: ScheduledInstance) -> Response:
        data = {
            "instance": row.instance.instance_id,
            "schedule": row.schedule.name,
            "source": row.source,
        }
        return Response(data)

    @extend_schema(request=InstanceBody, responses=AttachmentSerializer)
    @action(detail=True, methods=["post"])
    def attach(self, request, pk=None, format=None):
        """The instance follows this schedule (instead of any other)."""
        schedule = self.get_object()
        require_operator(schedule.organization, request.user)
        body = InstanceBody(data=request.data)
        body.is_valid(raise_exception=True)
        instance = self._instance(body.validated_data["instance"])
        # Django's ValidationError and PermissionDenied become 400 and 403 (config/api.py).
        row = schedule_attach.attach(schedule, instance, request.user)
        return self._attachment(row)

    @extend_schema(request=InstanceBody, responses={204: None})
    @action(detail=False, methods=["post"])
    def detach(self, request, format=None):
        """The instance follows no schedule by hand any more (a schedule tag still applies)."""
        self._require_operator_somewhere()
        body = InstanceBody(data=request.data)
        body.is_valid(raise_exception=True)
        instance = self._instance(body.validated_data["instance"])
        schedule_attach.detach(instance, request.user)
        return Response(status=204)

    @extend_schema(request=KeepRunningBody, responses=KeepRunningBody)
    @action(detail=False, methods=["post"], url_path="keep-running")
    def keep_running(self, request, format=None):
        """No scheduled stop of the instance before `until`."""
        self._require_operator_somewhere()
        body = KeepRunningBody(data=request.data)
        body.is_valid(raise_exception=True)
        instance = self._instance(body.validated_data["instance"])
        until = body.validated_data["until"]
        schedules.keep_running_until(instance, until, request.user)
        return Response({"instance": instance.instance_id, "until": until})

    @extend_schema(request=RecommendationBody, responses=AttachmentSerializer)
    @action(detail=False, methods=["post"], url_path="apply-recommendation")
    def apply_recommendation(self, request, format=None):
        """Run the schedule a schedule recommendation proposes for its instance."""
        self._require_operator_somewhere()
        body = RecommendationBody(data=request.data)
        body.is_valid(raise_exception=True)
        rec = (
            Recommendation.objects.for_user(request.user)
            .select_related("account__organization", "instance__account__organization")
            .filter(pk=body.validated_data["recommendation"])
            .first()
        )
        if rec is None:
            raise serializers.ValidationError({"recommendation": ["No such recommendation."]})
        row = schedule_attach.apply_recommendation(rec, request.user)
        return self._attachment(row)


class ScheduleEventSerializer(serializers.ModelSerializer):
    instance = serializers.CharField(source="instance.instance_id", read_only=True)
    schedule = serializers.CharField(source="schedule.name", read_only=True)

    class Meta:
        model = ScheduleEvent
        fields = [
            "id",
            "instance",
            "schedule",
            "action",
            "occurrence",
            "status",
            "message",
            "instance_action",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ScheduleEventViewSet(viewsets.ReadOnlyModelViewSet):
    """What the schedule runs did at each period boundary (one row per instance, action and
    boundary), newest first."""

    serializer_class = ScheduleEventSerializer
    filterset_fields = ["action", "status"]

    def get_queryset(self):
        return (
            ScheduleEvent.objects.for_user(self.request.user)
            .select_related("instance", "schedule")
            .order_by("-occurrence", "-pk")
        )
