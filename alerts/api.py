"""REST endpoints for budgets and the alert history."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from accounts.api import require_operator
from accounts.models import CloudAccount, Organization
from alerts.models import AlertEvent, Budget, BudgetThreshold
from allocation.models import Dimension
from config.api import SlugRelatedField


class ThresholdSerializer(serializers.ModelSerializer):
    class Meta:
        model = BudgetThreshold
        fields = ["percent", "basis"]


class BudgetSerializer(serializers.ModelSerializer):
    organization = SlugRelatedField(slug_field="slug", queryset=Organization.objects.none())
    account = SlugRelatedField(
        slug_field="account_id",
        queryset=CloudAccount.objects.none(),
        required=False,
        allow_null=True,
    )
    # By id: a slug is unique only within an organisation.
    dimension = serializers.PrimaryKeyRelatedField(
        queryset=Dimension.objects.none(),
        required=False,
        allow_null=True,
        help_text="With dimension_value: the budget covers that value's allocated spend.",
    )
    thresholds = ThresholdSerializer(many=True, required=False)

    class Meta:
        model = Budget
        fields = [
            "id",
            "organization",
            "account",
            "dimension",
            "dimension_value",
            "name",
            "monthly_amount",
            "active",
            "thresholds",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organization"].queryset = Organization.objects.for_user(request.user)
            self.fields["account"].queryset = CloudAccount.objects.for_user(request.user)
            self.fields["dimension"].queryset = Dimension.objects.for_user(request.user)

    def validate(self, attrs):
        organization = attrs.get("organization") or self.instance.organization
        require_operator(organization, self.context["request"].user)
        percents = [(t["percent"], t["basis"]) for t in attrs.get("thresholds", [])]
        if len(percents) != len(set(percents)):
            raise serializers.ValidationError({"thresholds": ["Each threshold only once."]})
        # The model's own rules: the account's organisation, one budget name per organisation.
        candidate = Budget(
            pk=getattr(self.instance, "pk", None),
            organization=organization,
            account=attrs.get("account", getattr(self.instance, "account", None)),
            dimension=attrs.get("dimension", getattr(self.instance, "dimension", None)),
            dimension_value=attrs.get(
                "dimension_value", getattr(self.instance, "dimension_value", "")
            ),
            name=attrs.get("name", getattr(self.instance, "name", "")),
        )
        candidate.clean()
        candidate.validate_constraints()
        return attrs

    def _save_thresholds(self, budget, thresholds):
        if thresholds is not None:
            budget.thresholds.all().delete()
            BudgetThreshold.objects.bulk_create(
                BudgetThreshold(budget=budget, **t) for t in thresholds
            )
        budget.ensure_thresholds()

    def create(self, validated_data):
        thresholds = validated_data.pop("thresholds", None)
        budget = Budget.objects.create(**validated_data)
        self._save_thresholds(budget, thresholds)
        return budget

    def update(self, instance, validated_data):
        thresholds = validated_data.pop("thresholds", None)
        instance = super().update(instance, validated_data)
        self._save_thresholds(instance, thresholds)
        return instance


class BudgetViewSet(viewsets.ModelViewSet):
    """Monthly budgets (organisation-wide or per account) with their thresholds."""

    serializer_class = BudgetSerializer

    def get_queryset(self):
        return (
            Budget.objects.for_user(self.request.user)
            .select_related("organization", "account", "dimension")
            .prefetch_related("thresholds")
            .order_by("organization_id", "name")
        )

    def perform_destroy(self, instance):
        require_operator(instance.organization, self.request.user)
        instance.delete()


class AlertEventSerializer(serializers.ModelSerializer):
    recipient = serializers.CharField(source="recipient.username", read_only=True)

    class Meta:
        model = AlertEvent
        fields = [
            "id",
            "kind",
            "subject",
            "title",
            "recipient",
            "address",
            "status",
            "evidence",
            "error",
            "attempts",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class AlertEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The alert history of your organisations (filters: kind, status)."""

    serializer_class = AlertEventSerializer
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return (
            AlertEvent.objects.for_user(self.request.user)
            .select_related("recipient")
            .order_by("-created_at", "-id")
        )
