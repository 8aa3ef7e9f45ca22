"""Allocation: who spends what. Named dimensions (Team, Product, Environment) whose values come
from ordered rules over the cost store, shared costs split among the values, and the daily
rollups per value that every view reads.

Every dollar of the store lands in exactly one value of each dimension: a cost no rule matches
goes to the dimension's "Unallocated" value, never nowhere (allocation/engine.py).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from accounts.models import Organization, TenantQuerySet

UNALLOCATED = "Unallocated"
# Tag keys as AWS allows them (letters, digits, spaces and + - = . _ : / @), which is also what
# Cost Explorer and FOCUS carry; ":" is common (aws:createdBy, team:owner).
TAG_KEY = RegexValidator(
    r"^[\w .:+=@/-]{1,128}$",
    "A tag key is 1 to 128 letters, digits, spaces and + - = . _ : / @.",
)
SLUG = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,48}$", "Lower-case letters, digits and dashes.")


class Dimension(models.Model):
    """A way to slice every cost: its value per cost comes from the rules, in order."""

    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="dimensions"
    )
    name = models.CharField(max_length=60, help_text='e.g. "Team", "Product", "Environment".')
    slug = models.CharField(
        max_length=50,
        validators=[SLUG],
        help_text="Used in the API: costs/summary/?group_by=<slug>.",
    )
    unallocated_label = models.CharField(
        max_length=60,
        default=UNALLOCATED,
        help_text="The value of every cost no rule matches.",
    )
    spike_alerts = models.BooleanField(
        default=False,
        help_text="Judge each value's daily spend for spikes and alert its members.",
    )
    allocated_through = models.DateField(
        null=True,
        blank=True,
        help_text="The rollups reflect the current rules up to this day; older days keep the "
        "rules they were allocated with until history is re-allocated.",
    )
    rules_changed_at = models.DateTimeField(null=True, blank=True)
    reallocated_at = models.DateTimeField(null=True, blank=True)
    rollups_version = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        help_text="New at every write of the rollups: what cached summaries are keyed on.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="unique_dimension_slug"),
            models.UniqueConstraint(fields=["organization", "name"], name="unique_dimension_name"),
        ]

    def __str__(self):
        return self.name

    @property
    def history_is_stale(self) -> bool:
        """Rules changed since history was last re-allocated."""
        return bool(
            self.rules_changed_at
            and (self.reallocated_at is None or self.rules_changed_at > self.reallocated_at)
        )


class AllocationRule(models.Model):
    """One step of a dimension's rules; the first rule that gives a cost a value wins."""

    tenant_path = "dimension__organization"

    class Kind(models.TextChoices):
        TAG = "tag", "a tag's value"
        ACCOUNT = "account", "the account"
        SERVICE = "service", "the service"
        DIMENSION = "dimension", "another dimension's value"

    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(
        help_text="Rules are tried in this order; the first that gives a value wins."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tag_key = models.CharField(
        max_length=128, blank=True, validators=[TAG_KEY], help_text="For a tag rule."
    )
    source_dimension = models.ForeignKey(
        Dimension,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="derived_rules",
        help_text="For a dimension rule: the dimension whose values are mapped.",
    )
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="What each raw value becomes. A tag rule keeps values it does not list "
        '(case and spaces aside) and uses this for aliases: {"plat": "platform"}. Account, '
        'service and dimension rules give a value only to what they list: {"111111111111": '
        '"payments"}.',
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["dimension", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "position"], name="unique_allocation_rule_position"
            ),
        ]

    def __str__(self):
        what = {
            self.Kind.TAG: f"tag {self.tag_key}",
            self.Kind.DIMENSION: f"dimension {self.source_dimension}",
        }.get(self.kind, self.get_kind_display())
        return f"{self.dimension} #{self.position}: {what}"

    def clean(self):
        from allocation.rules import validate_rule

        validate_rule(self)


class SharedCostSplit(models.Model):
    """Costs nobody owns alone (support, tax, a shared account, untagged networking), split
    among the dimension's values instead of being allocated by the rules."""

    tenant_path = "dimension__organization"

    class Method(models.TextChoices):
        EVEN = "even", "evenly among the values with direct spend"
        PROPORTIONAL = "proportional", "in proportion to each value's direct spend"
        FIXED = "fixed", "by fixed percentages"

    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="splits")
    name = models.CharField(max_length=80, help_text='e.g. "AWS Support", "Shared networking".')
    position = models.PositiveSmallIntegerField(
        default=0, help_text="A cost matched by two splits goes to the first."
    )
    services = models.JSONField(default=list, blank=True, help_text="Services it takes.")
    accounts = models.JSONField(
        default=list, blank=True, help_text="Account IDs it takes (e.g. a shared account)."
    )
    charge_categories = models.JSONField(
        default=list, blank=True, help_text='FOCUS charge categories it takes (e.g. "Tax").'
    )
    only_unallocated = models.BooleanField(
        default=False,
        help_text="Take only what the rules left unallocated (e.g. untagged networking).",
    )
    method = models.CharField(max_length=12, choices=Method.choices)
    percentages = models.JSONField(
        default=dict, blank=True, help_text='For fixed splits: {"payments": 60, "search": 40}.'
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["dimension", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "name"], name="unique_split_name"),
        ]

    def __str__(self):
        return f"{self.dimension}: {self.name}"

    def clean(self):
        from allocation.rules import validate_split

        validate_split(self)


class AllocationRollup(models.Model):
    """A day's spend of one value of one dimension, per service: direct (by the rules) or
    shared (by a split). Replaced day by day by allocation/engine.py."""

    tenant_path = "dimension__organization"

    class Kind(models.TextChoices):
        DIRECT = "direct"
        SHARED = "shared"

    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="rollups")
    usage_date = models.DateField()
    value = models.CharField(max_length=128)
    service = models.CharField(max_length=200)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    amount = models.DecimalField(max_digits=24, decimal_places=10)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "usage_date", "value", "service", "kind"],
                name="unique_allocation_rollup",
            ),
        ]
        indexes = [
            models.Index(fields=["dimension", "usage_date"], name="allocation_dimension_day"),
        ]

    def __str__(self):
        return f"{self.dimension} {self.usage_date} {self.value}: {self.amount}"


class Reallocation(models.Model):
    """One re-allocation of history after a rule change: when, which days, before and after."""

    tenant_path = "dimension__organization"

    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="reallocations")
    start = models.DateField()
    end = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    before = models.JSONField(default=dict, help_text="Total per value before.")
    after = models.JSONField(default=dict, help_text="Total per value after.")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"{self.dimension}: {self.start} to {self.end}"


class FollowedValue(models.Model):
    """A member's value of a dimension ("Team = payments"): their dashboard opens on it."""

    tenant_path = "dimension__organization"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_values"
    )
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="followers")
    value = models.CharField(max_length=128)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["dimension", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dimension", "value"], name="unique_followed_value"
            ),
        ]

    def __str__(self):
        return f"{self.user} follows {self.dimension} = {self.value}"


def percent_total(percentages: dict) -> Decimal:
    return sum((Decimal(str(v)) for v in percentages.values()), Decimal(0))
