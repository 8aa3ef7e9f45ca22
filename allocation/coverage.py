"""Tag coverage: how much of the spend carries a tag key, per account and service, and the
biggest untagged resources (what to tag first)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import CharField, Q, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from costs.models import CostRecord, CostSource, TagSpend
from costs.summary import counted_once


@dataclass(frozen=True)
class Coverage:
    sub_account_id: str
    service: str
    total: Decimal
    tagged: Decimal

    @property
    def percent(self) -> float | None:
        return None if not self.total else round(float(100 * self.tagged / self.total), 1)


def tag_text(key: str):
    """KEY's value as plain text ("" when missing): comparable with "" on every database."""
    return Coalesce(Cast(KeyTextTransform(key, "tags"), CharField()), Value(""))


def coverage(organization, key: str, start: date, end: date) -> list[Coverage]:
    """Per (account, service): spend, and the part with KEY set; worst coverage first."""
    found: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    focus = counted_once(
        CostRecord.objects.filter(
            organization=organization,
            currency="USD",
            source=CostSource.FOCUS,
            usage_date__gte=start,
            usage_date__lte=end,
        )
    ).annotate(tag_value=tag_text(key))
    rows = (
        focus.values("sub_account_id", "service")
        .annotate(
            total=Sum("amount"),
            tagged=Sum("amount", filter=~Q(tag_value="")),
        )
        .order_by()
    )
    for row in rows:
        pair = found[(row["sub_account_id"], row["service"])]
        pair[0] += row["total"] or 0
        pair[1] += row["tagged"] or 0
    explorer = (
        TagSpend.objects.filter(
            organization=organization, tag_key=key, usage_date__gte=start, usage_date__lte=end
        )
        .values("sub_account_id", "service")
        .annotate(total=Sum("amount"), tagged=Sum("amount", filter=~Q(tag_value="")))
        .order_by()
    )
    for row in explorer:
        pair = found[(row["sub_account_id"], row["service"])]
        pair[0] += row["total"] or 0
        pair[1] += row["tagged"] or 0
    ranked = [
        Coverage(account, service, total, tagged)
        for (account, service), (total, tagged) in found.items()
        if total
    ]
    return sorted(ranked, key=lambda c: (c.tagged / c.total, -c.total, c.sub_account_id))


def untagged_resources(organization, key: str, start: date, end: date, limit: int = 20):
    """The biggest resources without KEY: (resource ID, account, service, spend)."""
    focus = counted_once(
        CostRecord.objects.filter(
            organization=organization,
            currency="USD",
            source=CostSource.FOCUS,
            usage_date__gte=start,
            usage_date__lte=end,
        )
        .exclude(resource_id="")
        .annotate(tag_value=tag_text(key))
        .filter(tag_value="")
    )
    rows = (
        focus.values("resource_id", "sub_account_id", "service")
        .annotate(amount=Sum("amount"))
        .order_by("-amount", "resource_id")[:limit]
    )
    return [(r["resource_id"], r["sub_account_id"], r["service"], r["amount"]) for r in rows]
