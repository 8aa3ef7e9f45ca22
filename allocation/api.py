"""REST endpoints for allocation: the cost summary by a dimension or a tag, and the dimensions.

The summary lives here rather than in costs/api.py because it reads allocation, which the cost
store's layer may not import; config/api_urls.py routes /api/v1/costs/ to CostViewSet below,
so the URL and the response shape of the summary stay what they were.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.api import require_operator
from accounts.models import Organization, Role
from allocation import queries
from allocation.models import AllocationRule, Dimension, SharedCostSplit
from config.api import CSVRenderer, SlugRelatedField
from costs import summary
from costs.api import CostRecordViewSet, DateRange, SummaryQuery

SUMMARY_RENDERERS = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]


# --- The cost summary, by any grouping -----------------------------------------------------------


def unknown_grouping(organizations, group_by: str) -> serializers.ValidationError:
    valid = ", ".join([*summary.GROUPS, *queries.grouping_choices(organizations)])
    return serializers.ValidationError(
        {"group_by": [f"Unknown grouping {group_by!r}. Valid: {valid}."]}
    )


class GroupedSummaryQuery(SummaryQuery):
    group_by = serializers.CharField(
        default="service",
        max_length=140,
        help_text=f"{', '.join(summary.GROUPS)}, the slug of one of your organisation's "
        "allocation dimensions, or tag:<key> for a cost-allocation tag key.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        organizations = self.context["organizations"]
        group_by = attrs["group_by"]
        if group_by in summary.GROUPS:
            return attrs
        # A dimension slug is checked by the query that reads its totals (one query less).
        tag = group_by.startswith(queries.TAG_PREFIX)
        if tag and not queries.is_tag_grouping(organizations, group_by):
            raise unknown_grouping(organizations, group_by)
        used = [name for name in ("account", "service", "region") if attrs.get(name)]
        if used:
            # The allocation rollups are per value and service only, and a tag summary is
            # computed over the whole store: neither can honour these filters exactly.
            raise serializers.ValidationError(
                {used[0]: [f"Filters apply to {', '.join(summary.GROUPS)} groupings only."]}
            )
        return attrs


class CostViewSet(CostRecordViewSet):
    @extend_schema(
        parameters=[
            GroupedSummaryQuery,
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: a table"),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="Totals per group_by for the window, with the previous window of the "
        "same length for comparison. group_by may be an allocation dimension's slug or "
        "tag:<key>; ?format=csv answers a table with a header row.",
    )
    @action(detail=False, renderer_classes=SUMMARY_RENDERERS)
    def summary(self, request, format=None):  # format: ?format= and the router's suffixes
        organizations = Organization.objects.for_user(request.user)
        query = GroupedSummaryQuery(
            data=request.query_params, context={"organizations": organizations}
        )
        query.is_valid(raise_exception=True)
        params = query.validated_data
        window = summary.Window(params["start"], params["end"])
        group_by = params["group_by"]
        if group_by in summary.GROUPS:
            filters = {
                "sub_account_id": params.get("account"),
                "service": params.get("service"),
                "region": params.get("region"),
            }
            return Response(summary.summarize(organizations, window, group_by, filters))
        before = window.previous()
        if group_by.startswith(queries.TAG_PREFIX):
            current = queries.tag_grouped_totals(organizations, group_by, window.start, window.end)
            previous = queries.tag_grouped_totals(organizations, group_by, before.start, before.end)
        else:
            found = queries.dimension_totals(organizations, group_by, window, before)
            if found is None:
                raise unknown_grouping(organizations, group_by)
            current, previous = found
        return Response(summary.shaped(window, group_by, current, previous))


# --- Dimensions, with their rules and splits ---------------------------------------------------


class YourDimensionField(serializers.PrimaryKeyRelatedField):
    """A dimension of the caller's organisations, by id. The queryset is asked for at
    validation, when a nested serializer knows its request (not yet in its __init__)."""

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return Dimension.objects.for_user(user) if user else Dimension.objects.none()


class RuleSerializer(serializers.ModelSerializer):
    source_dimension = YourDimensionField(required=False, allow_null=True)

    class Meta:
        model = AllocationRule
        fields = ["position", "kind", "tag_key", "source_dimension", "mapping"]
        read_only_fields = ["position"]


class SplitSerializer(serializers.ModelSerializer):
    class Meta:
        model = SharedCostSplit
        fields = [
            "name",
            "position",
            "services",
            "accounts",
            "charge_categories",
            "only_unallocated",
            "method",
            "percentages",
        ]
        read_only_fields = ["position"]

    def validate_percentages(self, value):
        # Numbers only: the text "NaN" would reach Decimal comparisons that refuse it.
        if isinstance(value, dict) and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise serializers.ValidationError("Every percentage is a number.")
        return value


class DimensionSerializer(serializers.ModelSerializer):
    organization = SlugRelatedField(slug_field="slug", queryset=Organization.objects.none())
    rules = RuleSerializer(many=True, required=False)
    splits = SplitSerializer(many=True, required=False)
    history_is_stale = serializers.BooleanField(read_only=True)

    class Meta:
        model = Dimension
        fields = [
            "id",
            "organization",
            "name",
            "slug",
            "unallocated_label",
            "spike_alerts",
            "rules",
            "splits",
            "allocated_through",
            "rules_changed_at",
            "reallocated_at",
            "history_is_stale",
        ]
        read_only_fields = ["allocated_through", "rules_changed_at", "reallocated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organization"].queryset = Organization.objects.for_user(request.user)

    def validate(self, attrs):
        organization = attrs.get("organization") or self.instance.organization
        if self.instance is not None and organization != self.instance.organization:
            raise serializers.ValidationError(
                {"organization": ["A dimension stays in its organisation."]}
            )
        require_operator(organization, self.context["request"].user)
        names = [split["name"] for split in attrs.get("splits") or []]
        if len(names) != len(set(names)):
            raise serializers.ValidationError({"splits": ["Each split's name only once."]})
        return attrs

    def create(self, validated_data):
        return self._save(Dimension(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)

    def _save(self, dimension, data):
        """The dimension, its rules and its splits, each checked by its model's clean(); any
        error undoes all of it (nothing stored half-applied)."""
        rules, splits = data.pop("rules", None), data.pop("splits", None)
        with transaction.atomic():
            for name, value in data.items():
                setattr(dimension, name, value)
            dimension.full_clean()
            dimension.save()
            if rules is not None or splits is not None:
                try:
                    queries.replace_rules(dimension, rules, splits)
                except queries.RowInvalid as error:
                    given = rules if error.field == "rules" else splits
                    entries = [{} for _ in given or [None]]
                    entries[error.index] = error.messages
                    raise serializers.ValidationError({error.field: entries}) from error
        return dimension


class ValueTotalSerializer(serializers.Serializer):
    value = serializers.CharField()
    direct = serializers.CharField(help_text="USD, from the rules.")
    shared = serializers.CharField(help_text="USD, from shared-cost splits.")
    amount = serializers.CharField(help_text="USD, direct + shared.")


class ValuesSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    total = serializers.CharField()
    values = ValueTotalSerializer(many=True)


class OperatorWrites(permissions.BasePermission):
    """Viewers read; writes need an operator or admin, checked before the body is (a viewer's
    write is a 403 whatever it sends). The body's organisation is checked again in validate()."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or view.action != "create":
            return True
        organizations = Organization.objects.for_user(request.user)
        if not any(o.user_has_role(request.user, Role.OPERATOR) for o in organizations):
            raise PermissionDenied("Only an operator or admin of the organisation can do that.")
        return True

    def has_object_permission(self, request, view, obj):
        if request.method not in permissions.SAFE_METHODS:
            require_operator(obj.organization, request.user)
        return True


class DimensionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Allocation dimensions of your organisations (Team, Product...): their ordered rules and
    shared-cost splits. Changing the rules marks history for re-allocation."""

    serializer_class = DimensionSerializer
    permission_classes = [permissions.IsAuthenticated, OperatorWrites]

    def get_queryset(self):
        return (
            Dimension.objects.for_user(self.request.user)
            .select_related("organization")
            .prefetch_related("rules", "splits")
            .order_by("organization_id", "name")
        )

    @extend_schema(
        parameters=[DateRange],
        responses={200: ValuesSerializer},
        description="Spend per value of the dimension over the window, from the rollups.",
    )
    @action(detail=True)
    def values(self, request, pk=None, format=None):
        dimension = self.get_object()
        query = DateRange(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.validated_data
        found = queries.value_totals(dimension, window["start"], window["end"])
        total = sum((row["total"] for row in found), Decimal(0))
        return Response(
            {
                "dimension": dimension.slug,
                "start": window["start"],
                "end": window["end"],
                "currency": "USD",
                "total": summary.money(total),
                "values": [
                    {
                        "value": row["value"],
                        "direct": summary.money(row["direct"]),
                        "shared": summary.money(row["shared"]),
                        "amount": summary.money(row["total"]),
                    }
                    for row in found
                ],
            }
        )
