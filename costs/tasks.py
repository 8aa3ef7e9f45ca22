"""django-q2 entry points: thin wrappers that look rows up by primary key."""

from django_q.tasks import async_task

from accounts.models import CloudAccount
from costs import explorer


def sync_account_costs(account_pk: int) -> str:
    account = CloudAccount.objects.select_related("organization").get(pk=account_pk)
    run = explorer.sync_account(account)
    return f"{account.account_id}: {run.status}"


def sync_all_account_costs() -> int:
    """Fan out: one task per active account, so one slow or failing account delays no other."""
    pks = list(CloudAccount.objects.filter(is_active=True).values_list("pk", flat=True))
    for pk in pks:
        async_task("costs.tasks.sync_account_costs", pk, group="sync-costs")
    return len(pks)
