"""What the allocation API reads and writes, as plain functions: the groupings a user may ask
the cost summary for, their totals, a dimension's values, and a dimension's rules replaced."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q, Sum

from allocation import engine, summary
from allocation.models import AllocationRollup, AllocationRule, Dimension, SharedCostSplit
from costs.models import TagKey

TAG_PREFIX = "tag:"
SUMMARY_CACHE_SECONDS = 600  # a bound on memory, not on freshness: the key is the version


def grouping_choices(organizations) -> list[str]:
    """The dimension slugs and tag:<key> groupings of ORGANIZATIONS (already the caller's)."""
    slugs = Dimension.objects.filter(organization__in=organizations).values_list("slug", flat=True)
    keys = TagKey.objects.filter(organization__in=organizations).values_list("key", flat=True)
    return sorted(set(slugs)) + [f"{TAG_PREFIX}{key}" for key in sorted(set(keys))]


def is_tag_grouping(organizations, group_by: str) -> bool:
    """Whether GROUP_BY is tag:<key> for a tag key of ORGANIZATIONS (one query). A dimension
    slug is checked by dimension_totals, the query that reads it."""
    key = group_by.removeprefix(TAG_PREFIX)
    return TagKey.objects.filter(organization__in=organizations, key=key).exists()


def dimension_totals(organizations, slug: str, window, previous) -> tuple[dict, dict] | None:
    """Spend per value of the dimension SLUG over WINDOW and over PREVIOUS, summed over the
    organisations that have it; None when none has. The summary API's hot path: the answer is
    cached under the dimensions' rollup versions, which every write of the rollups renews
    (engine.store), so a cached answer is never older than the rollups it was read from."""
    versions = sorted(
        Dimension.objects.filter(organization__in=organizations, slug=slug).values_list(
            "pk", "rollups_version"
        )
    )
    if not versions:
        return None
    key = (
        "allocation-summary:"
        + hashlib.sha256(
            repr((versions, window.start, window.end, previous.start, previous.end)).encode()
        ).hexdigest()
    )
    cached = cache.get(key)
    if cached is None:
        cached = _dimension_totals([pk for pk, _ in versions], window, previous)
        cache.set(key, cached, SUMMARY_CACHE_SECONDS)
    return cached


def _dimension_totals(dimension_ids: list[int], window, previous) -> tuple[dict, dict]:
    rows = (
        AllocationRollup.objects.filter(
            dimension_id__in=dimension_ids,
            usage_date__gte=min(window.start, previous.start),
            usage_date__lte=max(window.end, previous.end),
        )
        .values("value")
        .annotate(
            current=Sum(
                "amount", filter=Q(usage_date__gte=window.start, usage_date__lte=window.end)
            ),
            previous=Sum(
                "amount", filter=Q(usage_date__gte=previous.start, usage_date__lte=previous.end)
            ),
        )
        .order_by()
    )
    current, before = {}, {}
    for row in rows:
        if row["current"] is not None:
            current[row["value"]] = row["current"]
        if row["previous"] is not None:
            before[row["value"]] = row["previous"]
    return current, before


def tag_grouped_totals(organizations, group_by: str, start: date, end: date) -> dict:
    """Spend per value of the tag (tag:<key>) over START..END, summed over the organisations
    that have the key."""
    found: dict[str, Decimal] = defaultdict(Decimal)
    key = group_by.removeprefix(TAG_PREFIX)
    for organization in organizations.filter(tag_keys__key=key).distinct():
        for value, amount in summary.tag_totals(organization, key, start, end).items():
            found[value] += amount
    return dict(found)


def value_totals(dimension: Dimension, start: date, end: date) -> list[dict]:
    """Per value, biggest first: direct, shared and total spend."""
    return [
        {"value": value, "direct": b.direct, "shared": b.shared, "total": b.total}
        for value, b in summary.breakdown(dimension, start, end).items()
    ]


class RowInvalid(Exception):
    """One of the rules or splits given is invalid: FIELD's entry INDEX, with its MESSAGES."""

    def __init__(self, field: str, index: int, messages: dict):
        super().__init__(field, index, messages)
        self.field, self.index, self.messages = field, index, messages


def replace_rules(dimension: Dimension, rules: list | None, splits: list | None) -> None:
    """Replace DIMENSION's rules and/or splits (None: keep them), in list order, each checked by
    its model's clean() (RowInvalid). Call it in a transaction, which an error must undo."""
    if rules is not None:
        dimension.rules.all().delete()
        for position, fields in enumerate(rules):
            _checked(AllocationRule(dimension=dimension, position=position, **fields), "rules")
    if splits is not None:
        dimension.splits.all().delete()
        for position, fields in enumerate(splits):
            _checked(SharedCostSplit(dimension=dimension, position=position, **fields), "splits")
    elif rules is not None and not rules and dimension.splits.exists():
        raise RowInvalid("rules", 0, {"rules": ["The splits need a rule to split among values."]})
    engine.rules_changed(dimension)


def _checked(row, field: str) -> None:
    try:
        row.full_clean()
    except ValidationError as error:
        raise RowInvalid(field, row.position, error.message_dict) from error
    row.save()
