"""django-q2 entry points: thin wrappers that look rows up by primary key.

Scheduled tasks fan out one task per active account, so one slow or failing account delays
no other and a retry repeats only that account's work.
"""

from django_q.tasks import async_task

from accounts.models import CloudAccount
from costs import autostop, detection, explorer, inventory, utilization
from costs.models import AutoStopPolicy


def _account(pk: int) -> CloudAccount:
    return CloudAccount.objects.select_related("organization").get(pk=pk)


def _fan_out(func: str, group: str) -> int:
    pks = list(CloudAccount.objects.filter(is_active=True).values_list("pk", flat=True))
    for pk in pks:
        async_task(func, pk, group=group)
    return len(pks)


def sync_account_costs(account_pk: int) -> str:
    run = explorer.sync_account(_account(account_pk))
    return f"{run.account.account_id}: {run.status}"


def sync_all_account_costs() -> int:
    return _fan_out("costs.tasks.sync_account_costs", "sync-costs")


def sync_account_inventory(account_pk: int) -> str:
    result = inventory.sync_inventory(_account(account_pk))
    return f"{result.account_id}: {'ok' if result.ok else 'failed'}"


def sync_all_inventory() -> int:
    return _fan_out("costs.tasks.sync_account_inventory", "inventory")


def collect_and_detect(account_pk: int) -> str:
    account = _account(account_pk)
    collected, errors = utilization.collect_account(account)
    result = detection.detect(account)
    return (
        f"{account.account_id}: {collected.api_calls} GetMetricData calls, "
        f"{len(errors)} errors, {result.reconciled.opened} recommendations opened"
    )


def collect_and_detect_all() -> int:
    return _fan_out("costs.tasks.collect_and_detect", "detection")


def run_auto_stop(account_pk: int) -> str:
    return autostop.run(_account(account_pk)).summary()


def run_auto_stop_all() -> int:
    """Fan out to the accounts that opted in; every other account is left alone."""
    pks = list(
        AutoStopPolicy.objects.filter(enabled=True, account__is_active=True).values_list(
            "account_id", flat=True
        )
    )
    for pk in pks:
        async_task("costs.tasks.run_auto_stop", pk, group="auto-stop")
    return len(pks)
