from django.core.management.base import BaseCommand

from accounts.management.selection import add_account_argument, select_accounts
from actions import autostop


class Command(BaseCommand):
    help = (
        "Run the opt-in auto-stop policy: announce idle instances, stop those whose grace "
        "period is over. Accounts without an enabled policy are skipped."
    )

    def add_arguments(self, parser):
        add_account_argument(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Announce and report what would be stopped, but stop nothing "
            "(as the policy's own dry-run setting does).",
        )

    def handle(self, *args, account=None, dry_run=False, **options):
        for cloud_account in select_accounts(account):
            report = autostop.run(cloud_account, dry_run=dry_run)
            self.stdout.write(report.summary())
            for notice in report.announced:
                self.stdout.write(f"  announced {notice.instance}: stop after {notice.stop_after}")
            for notice in report.settled:
                self.stdout.write(f"  {notice.get_status_display()}: {notice.outcome}")
            for note in report.notes:
                self.stdout.write(f"  note: {note}")
