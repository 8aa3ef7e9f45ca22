"""REST endpoints for commitments: the Savings Plans and reservations, their daily coverage and
utilization, and what to buy. Read-only; every query goes through the caller's organisations."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import CloudAccount
from commitments import report
from commitments.models import Commitment, CommitmentDay
from costs.api import DateRange


class NotEnoughData(exceptions.APIException):
    # A conflict with the state of the store, not a malformed request: syncing costs fixes it.
    status_code = 409
    default_code = "not_enough_data"
    default_detail = "Needs at least 7 days of cost data."


class CommitmentSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id", read_only=True)
    days_to_expiry = serializers.SerializerMethodField()

    class Meta:
        model = Commitment
        fields = [
            "id",
            "account",
            "kind",
            "commitment_id",
            "region",
            "plan_type",
            "instance_family",
            "instance_type",
            "instance_count",
            "platform",
            "term_years",
            "payment_option",
            "hourly_commitment",
            "upfront_fee",
            "recurring_hourly",
            "currency",
            "start",
            "end",
            "days_to_expiry",
            "state",
            "fetched_at",
        ]
        read_only_fields = fields

    def get_days_to_expiry(self, obj) -> int:
        return obj.days_to_expiry()


class CommitmentFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_id")
    kind = django_filters.ChoiceFilter(choices=Commitment.Kind.choices)
    expiring_within_days = django_filters.NumberFilter(
        method="expiring_within",
        min_value=0,
        max_value=3650,
        label="Only commitments still running that end within this many days.",
    )

    class Meta:
        model = Commitment
        fields = ["account", "kind", "expiring_within_days"]

    def expiring_within(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(end__gt=now, end__lte=now + timedelta(days=int(value)))


class CoverageQuery(DateRange):
    kind = serializers.ChoiceField(choices=CommitmentDay.Kind.choices, required=False)


class PurchaseQuery(serializers.Serializer):
    # Not a RegexField: a malformed ID is answered like another organisation's account, with
    # one message, so the answer never tells which IDs exist elsewhere.
    account = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The 12-digit ID of one of your connected AWS accounts; without it, all of "
        "them summed (a Savings Plan bought in the payer account covers its linked accounts).",
    )
    days = serializers.IntegerField(
        default=30,
        min_value=report.MIN_DAYS,
        max_value=report.MAX_DAYS,
        help_text="Complete days of cost data to judge on, ending yesterday.",
    )


def _number(value):
    return None if value is None else str(value)


class CommitmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Savings Plans and reserved instances of your organisations' accounts (filters: account,
    kind, expiring_within_days)."""

    serializer_class = CommitmentSerializer
    filterset_class = CommitmentFilter

    def get_queryset(self):
        return (
            Commitment.objects.for_user(self.request.user)
            .select_related("account")
            .order_by("end", "account_id", "commitment_id")
        )

    @extend_schema(
        parameters=[CoverageQuery],
        responses={200: OpenApiTypes.OBJECT},
        description="Daily coverage and utilization per kind, summed over your accounts: "
        "coverage = sum(covered) / sum(covered + on demand), utilization = sum(used) / "
        "sum(used + unused), in per cent. Days without figures are absent, never 0.",
    )
    @action(detail=False, filterset_class=None, pagination_class=None)
    def coverage(self, request, format=None):  # format: the router's .json/.api suffix routes
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        days = CommitmentDay.objects.for_user(request.user)
        figures = report.daily(days, params["start"], params["end"], params.get("kind"))
        return Response(
            {
                "start": params["start"],
                "end": params["end"],
                "days": [
                    {
                        "day": f.day,
                        "kind": f.kind,
                        "coverage_percent": _number(f.coverage),
                        "utilization_percent": _number(f.utilization),
                        "covered_spend": _number(f.covered_spend),
                        "on_demand_spend": _number(f.on_demand_spend),
                        "used_commitment": _number(f.used_commitment),
                        "unused_commitment": _number(f.unused_commitment),
                    }
                    for f in figures
                ],
            }
        )

    @extend_schema(
        parameters=[PurchaseQuery],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid parameters."),
            409: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Fewer than 7 days of cost data."
            ),
        },
        description="The Savings Plan to buy: the purchase engine run on the accounts' hourly "
        "uncovered on-demand eligible spend from FOCUS imports, or, without 7 days of them, "
        "their daily eligible spend spread flat over each day's hours (see 'basis'); every "
        "plan evaluated with its arithmetic; 'aws': AWS's own "
        "recommendation for the same accounts (Cost Explorer's, as last synced) to compare.",
    )
    @action(detail=False, url_path="what-to-buy", filterset_class=None, pagination_class=None)
    def what_to_buy(self, request, format=None):
        query = PurchaseQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        accounts = CloudAccount.objects.for_user(request.user).order_by("account_id")
        if "account" in params:
            accounts = accounts.filter(account_id=params["account"])
            if not accounts.exists():
                # Another organisation's account is answered exactly like a made-up one.
                raise serializers.ValidationError({"account": ["No such account of yours."]})
        try:
            found = report.what_to_buy(accounts, params["days"])
        except report.NotEnoughData as error:
            raise NotEnoughData(str(error)) from None
        except ValueError as error:  # the engine's own judgement of the series
            raise NotEnoughData(str(error)) from None
        recommendation = found.recommendation
        return Response(
            {
                "accounts": [account.account_id for account in found.accounts],
                "start": found.start,
                "end": found.end,
                "days_with_data": found.days_with_data,
                "basis": found.basis,
                "min_utilization": report.purchase.MIN_UTILIZATION,
                "eligible_spend": round(recommendation.eligible_spend, 2),
                "best": recommendation.best.plan.label if recommendation.best else None,
                "reason": recommendation.reason,
                "plans": report.plan_rows(recommendation),
                # AWS's own advice as last synced, to compare (commitments/aws_recommendation.py).
                "aws": report.aws_rows(report.aws_recommendations(found.accounts)),
            }
        )
