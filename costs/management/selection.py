"""Account selection shared by the pipeline commands (`--account ID`)."""

from django.core.management.base import CommandError

from accounts.models import CloudAccount


def add_account_argument(parser):
    parser.add_argument("--account", help="12-digit AWS account ID (default: every active one).")


def select_accounts(account_id: str | None) -> list[CloudAccount]:
    accounts = CloudAccount.objects.filter(is_active=True).select_related("organization")
    if account_id:
        accounts = accounts.filter(account_id=account_id)
        if not accounts.exists():
            raise CommandError(f"No active account with ID {account_id}.")
    return list(accounts)
