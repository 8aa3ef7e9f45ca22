from django.core.management.base import BaseCommand
from tqdm import tqdm

from accounts.management.selection import add_account_argument, select_accounts
from findings.detection import detect


class Command(BaseCommand):
    help = "Find idle, oversized and wasted resources and update the recommendations."

    def add_arguments(self, parser):
        add_account_argument(parser)

    def handle(self, *args, account=None, **options):
        accounts = select_accounts(account)
        quiet = options["verbosity"] == 0
        for cloud_account in tqdm(accounts, desc="Detection", unit="account", disable=quiet):
            result = detect(cloud_account)
            counts = {}
            for verdict in result.verdicts.values():
                counts[verdict] = counts.get(verdict, 0) + 1
            verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no instances"
            r = result.reconciled
            self.stdout.write(
                f"{cloud_account}: {verdicts}; recommendations +{r.opened} opened, "
                f"{r.updated} updated, {r.reopened} reopened, {r.resolved} resolved"
            )
            for note in result.notes:
                self.stdout.write(f"  note: {note}")
