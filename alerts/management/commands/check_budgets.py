from django.core.management.base import BaseCommand

from accounts.management.selection import organizations
from alerts import delivery, rules


class Command(BaseCommand):
    help = "Raise budget alerts (actual and forecast thresholds) and deliver pending alerts."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, **options):
        for org in organizations(options["org"]):
            raised = rules.check_budgets(org)
            counts = delivery.deliver_pending(org)
            self.stdout.write(f"{org.slug}: {raised} budget alert(s) raised; delivered {counts}")
