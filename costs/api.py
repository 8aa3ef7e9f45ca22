"""REST endpoints for the cost store: the cost records and their summaries."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organization
from costs import summary
from costs.models import CostRecord


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
    # Routed through allocation/api.py CostViewSet, which adds the dimension and tag groupings
    # (this layer may not read allocation) and CSV.
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
