"""REST endpoints for chat channels and webhooks, and their delivery history.

Members read their organisations' channels; only an organisation's admins create, change or
delete them (the URL is a credential to post into their chat). The URL and the signing key are
write-only: responses carry `url_host` (scheme://host/…) and `has_secret`, never the values.
POST channels/{id}/test/ posts a test message now (operators and admins) and answers with the
recorded delivery, whatever the receiver said.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.api import require_operator
from accounts.models import CloudAccount, Organization, Role
from alerts import channel_delivery, outbound
from alerts.models import AlertKind, Channel, ChannelDelivery
from allocation.models import Dimension
from config.api import SlugRelatedField


def require_admin(organization, user) -> None:
    if not organization.user_has_role(user, Role.ADMIN):
        raise PermissionDenied("Only an admin of the organisation can change its channels.")


class ChannelSerializer(serializers.ModelSerializer):
    organization = SlugRelatedField(slug_field="slug", queryset=Organization.objects.none())
    url = serializers.CharField(
        write_only=True,
        required=False,
        max_length=2000,
        help_text="Webhook URL (https). Write-only: required on creation, never returned.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Webhooks: the HMAC-SHA256 signing key. Write-only; generated if omitted.",
    )
    url_host = serializers.CharField(read_only=True, help_text="scheme://host/… of the URL.")
    has_secret = serializers.SerializerMethodField()
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertKind.choices),
        required=False,
        help_text="Alert kinds it takes; empty: every kind.",
    )
    accounts = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=CloudAccount.objects.none(),
        required=False,
        help_text="Account ids; set: only alerts about one of these accounts.",
    )
    dimension = serializers.PrimaryKeyRelatedField(
        queryset=Dimension.objects.none(), required=False, allow_null=True
    )
    dimension_values = serializers.ListField(
        child=serializers.CharField(max_length=128),
        required=False,
        help_text="Values of the dimension it takes; empty: every value.",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "organization",
            "name",
            "kind",
            "url",
            "secret",
            "url_host",
            "has_secret",
            "active",
            "kinds",
            "accounts",
            "dimension",
            "dimension_values",
            "cooldown_minutes",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organization"].queryset = Organization.objects.for_user(request.user)
            self.fields["accounts"].child_relation.queryset = CloudAccount.objects.for_user(
                request.user
            )
            self.fields["dimension"].queryset = Dimension.objects.for_user(request.user)

    def get_has_secret(self, obj) -> bool:
        return bool(obj.secret)

    def validate_url(self, value):
        try:
            return outbound.check_url(value.strip())
        except outbound.Refused as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs):
        instance = self.instance
        organization = attrs.get("organization") or instance.organization
        require_admin(organization, self.context["request"].user)
        if instance is None and not attrs.get("url"):
            raise serializers.ValidationError({"url": ["A channel needs its webhook URL."]})
        if instance is not None and organization != instance.organization:
            raise serializers.ValidationError(
                {"organization": ["A channel cannot move to another organisation."]}
            )
        errors = {}
        if any(a.organization_id != organization.pk for a in attrs.get("accounts", [])):
            errors["accounts"] = ["Those accounts belong to another organisation."]
        dimension = attrs.get("dimension", getattr(instance, "dimension", None))
        if dimension is not None and dimension.organization_id != organization.pk:
            errors["dimension"] = ["That dimension belongs to another organisation."]
        values = attrs.get("dimension_values", getattr(instance, "dimension_values", []))
        if values and dimension is None:
            errors["dimension_values"] = ["Values need their dimension."]
        if errors:
            raise serializers.ValidationError(errors)
        candidate = Channel(
            pk=getattr(instance, "pk", None),
            organization=organization,
            name=attrs.get("name", getattr(instance, "name", "")),
        )
        candidate._state.adding = instance is None  # an update must not clash with itself
        candidate.validate_constraints()
        if not attrs.get("secret"):
            attrs.pop("secret", None)  # blank keeps the stored key (or generates one)
        return attrs

    def create(self, validated_data):
        validated_data["created_by"] = self.context["request"].user
        return super().create(validated_data)


class ChannelDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelDelivery
        fields = [
            "id",
            "channel",
            "kind",
            "subject",
            "title",
            "status",
            "attempts",
            "next_attempt_at",
            "response_status",
            "response_excerpt",
            "error",
            "evidence",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class ChannelViewSet(viewsets.ModelViewSet):
    """Slack, Teams and webhook channels of your organisations, with their routing."""

    serializer_class = ChannelSerializer
    filterset_fields = ["kind", "active"]

    def get_queryset(self):
        return (
            Channel.objects.for_user(self.request.user)
            .select_related("organization")
            .prefetch_related("accounts")
            .order_by("organization_id", "name")
        )

    # Roles are checked before the body is: a viewer's write is a 403 whatever it sends, not
    # a 400 about a URL they may not set anyway.
    def create(self, request, *args, **kwargs):
        slug = request.data.get("organization") if hasattr(request.data, "get") else None
        mine = Organization.objects.for_user(request.user)
        organization = mine.filter(slug=slug).first() if isinstance(slug, str) else None
        if organization is not None:
            require_admin(organization, request.user)
        elif not any(o.user_has_role(request.user, Role.ADMIN) for o in mine):
            raise PermissionDenied("Only an admin of an organisation can add channels to it.")
        return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        require_admin(self.get_object().organization, request.user)
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        require_admin(instance.organization, self.request.user)
        instance.delete()

    @extend_schema(
        request=None,
        responses=ChannelDeliverySerializer,
        description="Post a test message to the channel now (no cooldown, no retry); the "
        "answer is the recorded delivery: status sent or gave_up, with the receiver's status.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None, format=None):
        channel = self.get_object()
        require_operator(channel.organization, request.user)
        delivery = channel_delivery.send_test(channel)
        return Response(ChannelDeliverySerializer(delivery).data)


class ChannelDeliveryFilter(django_filters.FilterSet):
    # By id, not a choice of every channel: another organisation's id must match nothing,
    # not answer differently from one that does not exist.
    # A whole number in the id column's range: anything else is a 400, not a database error.
    channel = django_filters.NumberFilter(
        field_name="channel_id",
        help_text="Channel id.",
        min_value=1,
        max_value=2**63 - 1,
        decimal_places=0,
    )

    class Meta:
        model = ChannelDelivery
        fields = ["channel", "kind", "status"]


class ChannelDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """What was posted to your organisations' channels, and what the receivers answered."""

    serializer_class = ChannelDeliverySerializer
    filterset_class = ChannelDeliveryFilter

    def get_queryset(self):
        return ChannelDelivery.objects.for_user(self.request.user).order_by("-created_at", "-id")
