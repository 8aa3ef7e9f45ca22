"""Cost rows and dimensions for the allocation tests, written as the store writes them."""

from datetime import date
from decimal import Decimal

from allocation.models import AllocationRule, Dimension, SharedCostSplit
from costs import rollup
from costs.models import CostRecord, TagSpend

DAY = date(2026, 11, 10)


def focus(org, amount, service="Amazon EC2", account="111111111111", tags=None, day=DAY, **extra):
    return CostRecord.objects.create(
        organization=org,
        source="focus",
        metric="billed",
        sub_account_id=account,
        usage_date=day,
        service=service,
        region="us-east-1",
        resource_id=extra.pop("resource_id", f"r-{CostRecord.objects.count()}"),
        amount=Decimal(amount),
        tags=tags,
        **extra,
    )


def explorer(org, account, amount, service="Amazon EC2", day=DAY):
    return CostRecord.objects.create(
        organization=org,
        account=account,
        source="explorer",
        metric="unblended",
        sub_account_id=account.account_id,
        usage_date=day,
        service=service,
        region="us-east-1",
        amount=Decimal(amount),
    )


def tag_spend(account, key, shares: dict, service="Amazon EC2", day=DAY):
    for value, amount in shares.items():
        TagSpend.objects.create(
            organization=account.organization,
            account=account,
            sub_account_id=account.account_id,
            usage_date=day,
            service=service,
            tag_key=key,
            tag_value=value,
            amount=Decimal(amount),
        )


def team(org, *rules, splits=(), name="Team"):
    dimension = Dimension.objects.create(organization=org, name=name, slug=name.lower())
    for position, rule in enumerate(rules):
        AllocationRule.objects.create(dimension=dimension, position=position, **rule)
    for split in splits:
        SharedCostSplit.objects.create(dimension=dimension, **split)
    return dimension


def written(org, start=DAY, end=DAY):
    """The store's writers end with this: the rollups, then the allocation, of those days."""
    rollup.refresh(org, start, end)
