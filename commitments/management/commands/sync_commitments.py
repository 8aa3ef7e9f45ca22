from django.core.management.base import BaseCommand, CommandError

from accounts.management.selection import add_account_argument, select_accounts
from commitments.models import CommitmentSync
from commitments.sync import sync_account


class Command(BaseCommand):
    help = (
        "Sync Savings Plans and Reserved Instances, and their daily coverage and utilization "
        "from Cost Explorer."
    )

    def add_arguments(self, parser):
        add_account_argument(parser)
        parser.add_argument(
            "--days", type=int, help="Re-read this many days (default: what is missing)."
        )

    def handle(self, *args, account=None, days=None, **options):
        if days is not None and not 1 <= days <= 365:
            raise CommandError("--days must be between 1 and 365.")
        accounts = select_accounts(account)
        failed = 0
        for cloud_account in accounts:
            run = sync_account(cloud_account, days=days)
            self.stdout.write(
                f"{cloud_account}: {run.get_status_display()}, {run.commitments} commitments, "
                f"{run.days_stored} days, {run.requests_made} requests"
            )
            for line in [*run.problems.values(), *run.notes]:
                self.stdout.write(f"  {line}")
            failed += run.status == CommitmentSync.Status.FAILED
        if failed:
            raise CommandError(f"Commitments sync failed for {failed} of {len(accounts)} accounts.")
