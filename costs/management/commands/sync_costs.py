from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.management.selection import add_account_argument, select_accounts
from costs.ingest import explorer
from costs.models import SyncRun


class Command(BaseCommand):
    help = "Sync daily costs from Cost Explorer for every active account (or one)."

    def add_arguments(self, parser):
        add_account_argument(parser)
        parser.add_argument(
            "--since", help="Re-sync from this date (YYYY-MM-DD) instead of the incremental window."
        )

    def handle(self, *args, account=None, since=None, **options):
        since_date = None
        if since:
            try:
                since_date = date.fromisoformat(since)
            except ValueError as exc:
                message = f"--since must be a date like 2026-01-31, got {since!r}."
                raise CommandError(message) from exc
        accounts = select_accounts(account)
        if not accounts:
            self.stdout.write("No active accounts to sync.")
            return
        accounts, covered = explorer.split_by_coverage(accounts)
        for cloud_account, payer in covered:
            self.stdout.write(
                f"{cloud_account}: covered by management account {payer.account_id} "
                "(its costs arrive with the management account's sync)"
            )
        failures = 0
        quiet = options["verbosity"] == 0
        for cloud_account in tqdm(accounts, desc="Syncing costs", unit="account", disable=quiet):
            run = explorer.sync_account(cloud_account, since=since_date)
            if run.status in (SyncRun.Status.FAILED, SyncRun.Status.NO_DATA):
                failures += run.status == SyncRun.Status.FAILED
                line = f"{cloud_account}: {run.get_status_display()}: {run.error}"
            elif run.status == SyncRun.Status.SKIPPED:
                line = f"{cloud_account}: skipped, another sync is running"
            else:
                line = (
                    f"{cloud_account}: {run.window_start}..{run.window_end} "
                    f"{run.requests_made} requests (${run.request_cost}), "
                    f"+{run.rows_inserted} ~{run.rows_updated} -{run.rows_deleted} rows"
                )
            self.stdout.write(line)
        if failures:
            raise CommandError(f"{failures} of {len(accounts)} account syncs failed.")
