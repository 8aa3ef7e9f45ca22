from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from actions import schedules


class Command(BaseCommand):
    help = (
        "Run the instance schedules once: start instances inside their running periods and "
        "stop them outside (each period boundary at most once per instance)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be done; change nothing."
        )
        parser.add_argument(
            "--now",
            help="Run as if it were this moment (ISO 8601, e.g. 2026-03-30T08:00:00+02:00; "
            "without an offset, UTC).",
        )

    def handle(self, *args, dry_run=False, now=None, **options):
        moment = None
        if now:
            try:
                moment = datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(
                    f"--now {now!r} is not an ISO 8601 date and time, "
                    "e.g. 2026-03-30T08:00:00+02:00."
                ) from exc
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=UTC)
        report = schedules.run(moment, dry_run=dry_run)
        self.stdout.write(report.summary())
        for line in report.would:
            self.stdout.write(f"  would {line}")
        for event in report.events:
            self.stdout.write(f"  {event.action} {event.instance}: {event.status} {event.message}")
        for note in report.notes:
            self.stdout.write(f"  note: {note}")
