from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from alerts import delivery, weekly_send
from alerts.weekly import Week, organization_report


class Command(BaseCommand):
    help = (
        "Raise the weekly report (organisation, and each followed value) for every member who "
        "wants it and has not had it, whatever their weekday, then deliver pending alerts. "
        "Members already served that week are not sent it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organisation (ID or slug).")
        parser.add_argument(
            "--week", help="The ISO week, e.g. 2026-W49 (default: the last full week)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the organisation's report; raise and send nothing.",
        )

    def handle(self, *args, **options):
        week = _week(options["week"])
        organizations = list(_organizations(options["organization"]))
        for org in organizations if week else ():
            if week.sunday >= weekly_send.local_now(org).date():
                raise CommandError(f"{week} is not over yet in {org.name} ({org.time_zone}).")
        for org in organizations:
            org_week = week or Week.last_full(weekly_send.local_now(org).date())
            if options["dry_run"]:
                report = organization_report(org, org_week)
                self.stdout.write(f"{org.slug} {org_week}: {weekly_send.title(report)}")
                for line in report.lines():
                    self.stdout.write(f"  {line}")
                continue
            reports = weekly_send.send_weekly_reports(org, week=org_week, everyone=True)
            counts = delivery.deliver_pending(org)
            self.stdout.write(f"{org.slug} {org_week}: {len(reports)} report(s) raised")
            for report in reports:
                self.stdout.write(f"  {weekly_send.title(report)}")
            self.stdout.write(f"  delivered {counts}")


def _week(text: str | None) -> Week | None:
    if text is None:
        return None
    try:
        return Week.parse(text)
    except ValueError as error:
        raise CommandError(str(error)) from None


def _organizations(selector: str | None):
    if not selector:
        return Organization.objects.order_by("pk")
    field = "pk" if selector.isdigit() else "slug"
    found = Organization.objects.filter(**{field: selector})
    if not found.exists():
        raise CommandError(
            f"No organisation with {'ID' if field == 'pk' else 'slug'} {selector!r}."
        )
    return found
