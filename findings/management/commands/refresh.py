from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.management.selection import add_account_argument, select_accounts

PIPELINE = [
    "sync_costs",
    "sync_commitments",
    "sync_inventory",
    "collect_utilization",
    "detect_idle",
]
# Steps whose failure is reported but does not fail the pipeline: each account's run records
# what went wrong, and nothing later in the pipeline depends on them.
ADVISORY = {"sync_commitments"}


class Command(BaseCommand):
    help = "Run the whole pipeline in order: costs, commitments, inventory, utilization, detection."

    def add_arguments(self, parser):
        add_account_argument(parser)

    def handle(self, *args, account=None, **options):
        select_accounts(account)  # fail early on an unknown --account
        failed = []
        for step in PIPELINE:
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {step}"))
            kwargs = {"account": account} if account else {}
            try:
                call_command(step, verbosity=options["verbosity"], stdout=self.stdout, **kwargs)
            except CommandError as exc:
                # One failing step must not stop the rest: detection still runs on what we have.
                self.stdout.write(self.style.ERROR(f"{step}: {exc}"))
                if step not in ADVISORY:
                    failed.append(step)
        if failed:
            raise CommandError(f"Pipeline finished with failures in: {', '.join(failed)}.")
