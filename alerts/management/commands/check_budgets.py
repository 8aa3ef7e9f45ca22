from django.core.management.base import BaseCommand

from accounts.management.selection import organizations
from alerts import commitments, delivery, rules


class Command(BaseCommand):
    help = (
        "Raise budget alerts (actual and forecast thresholds) and commitment alerts (expiring, "
        "underused, coverage dropping), then deliver pending alerts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, **options):
        for org in organizations(options["org"]):
            raised = rules.check_budgets(org)
            committed = commitments.check_commitments(org)
            counts = delivery.deliver_pending(org)
            self.stdout.write(
                f"{org.slug}: {raised} budget alert(s) raised, {committed} commitment alert(s) "
                f"raised; delivered {counts}"
            )
