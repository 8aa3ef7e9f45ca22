"""django-q2 entry points of the cost store: thin wrappers that look rows up by primary key."""

from accounts.models import CloudAccount
from accounts.tasks import account, fan_out
from costs import partitions
from costs.ingest import explorer


def sync_account_costs(account_pk: int) -> str:
    run = explorer.sync_account(account(account_pk))
    return f"{run.account.account_id}: {run.status}"


def sync_all_account_costs() -> int:
    """One task per account that asks Cost Explorer itself: an organisation's management
    account covers the others (explorer.split_by_coverage)."""
    active = CloudAccount.objects.filter(is_active=True)
    to_sync, _ = explorer.split_by_coverage(active)
    return fan_out("costs.tasks.sync_account_costs", "sync-costs", [a.pk for a in to_sync])


def maintain_cost_partitions() -> str:
    """Daily: create the coming months' partitions, then apply COST_RETENTION_MONTHS."""
    created = partitions.ensure_ahead()
    dropped = partitions.drop_expired()
    return "; ".join([f"created: {', '.join(created) or 'none'}", *partitions.describe(dropped)])
