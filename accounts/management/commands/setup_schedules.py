from django.core.management.base import BaseCommand

from config.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the recurring background schedules (also run by migrate)."

    def handle(self, *args, **options):
        names = ensure_schedules()
        self.stdout.write(f"{len(names)} schedules in place: {', '.join(names) or 'none'}.")
