from django.core.management.base import BaseCommand

from accounts.management.selection import organizations
from alerts import delivery, rules


class Command(BaseCommand):
    help = (
        "Raise idle-instance, savings-digest, cost-spike and sync-failure alerts, then deliver "
        "pending alerts and retry failed ones (within each user's cooldown)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, **options):
        for org in organizations(options["org"]):
            raised = rules.check_alerts(org)
            counts = delivery.deliver_pending(org)
            self.stdout.write(f"{org.slug}: {raised} alert(s) raised; delivered {counts}")
