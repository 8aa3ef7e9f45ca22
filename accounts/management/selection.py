"""Selection shared by the management commands: --org SLUG, --account ID."""

from django.core.management.base import CommandError

from accounts.models import CloudAccount, Organization


def organizations(slug: str | None):
    """Every organisation, or the one named by --org (a clear error if there is none)."""
    selected = Organization.objects.all()
    if slug:
        selected = selected.filter(slug=slug)
        if not selected.exists():
            raise CommandError(f"No organisation with slug {slug!r}.")
    return selected


def add_account_argument(parser):
    parser.add_argument("--account", help="12-digit AWS account ID (default: every active one).")


def select_accounts(account_id: str | None) -> list[CloudAccount]:
    accounts = CloudAccount.objects.filter(is_active=True).select_related("organization")
    if account_id:
        accounts = accounts.filter(account_id=account_id)
        if not accounts.exists():
            raise CommandError(f"No active account with ID {account_id}.")
    return list(accounts)
