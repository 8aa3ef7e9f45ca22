from django.core.management.base import BaseCommand

from accounts.management.selection import organizations
from costs import rollup


class Command(BaseCommand):
    help = (
        "Recompute the daily cost rollups that unfiltered summaries read (after loading cost "
        "records by other means than sync_costs or import_billing, or to repair them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, **options):
        for org in organizations(options["org"]):
            rollup.rebuild(org)
            self.stdout.write(f"{org.slug}: rollups rebuilt")
