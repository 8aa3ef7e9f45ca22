"""REST endpoints for connected AWS accounts."""

from __future__ import annotations

from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from accounts.models import ROLE_ARN_HELP, CloudAccount, Role


def require_operator(organization, user) -> None:
    """Changes need an operator or admin of the object's organisation (reading does not)."""
    if not organization.user_has_role(user, Role.OPERATOR):
        raise PermissionDenied("Only an operator or admin of the organisation can do that.")


class CloudAccountSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CloudAccount
        fields = [
            "id",
            "organization",
            "name",
            "account_id",
            "role_arn",
            "external_id",
            "regions",
            "time_zone",
            "is_active",
            "is_management",
            "last_synced_at",
            "last_error",
            "last_error_at",
            "created_at",
        ]
        read_only_fields = fields
        # The model's help_text is escaped for HTML forms; the schema is not HTML.
        extra_kwargs = {"role_arn": {"help_text": ROLE_ARN_HELP}}


class CloudAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """AWS accounts connected to your organisations, with the ExternalId for their role."""

    serializer_class = CloudAccountSerializer
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return (
            CloudAccount.objects.for_user(self.request.user)
            .select_related("organization")
            .order_by("organization_id", "account_id")
        )
