"""django-q2 entry points of the fleet: thin wrappers that look rows up by primary key."""

from accounts.tasks import account, fan_out
from fleet import inventory


def sync_account_inventory(account_pk: int) -> str:
    result = inventory.sync_inventory(account(account_pk))
    return f"{result.account_id}: {'ok' if result.ok else 'failed'}"


def sync_all_inventory() -> int:
    return fan_out("fleet.tasks.sync_account_inventory", "inventory")
