from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from alerts import delivery, rules


class Command(BaseCommand):
    help = (
        "Raise idle-instance, savings-digest, cost-spike and sync-failure alerts, then deliver "
        "pending alerts and retry failed ones (within each user's cooldown)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, **options):
        organizations = Organization.objects.all()
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organisation with slug {options['org']!r}.")
        for org in organizations:
            raised = rules.check_alerts(org)
            counts = delivery.deliver_pending(org)
            self.stdout.write(f"{org.slug}: {raised} alert(s) raised; delivered {counts}")
