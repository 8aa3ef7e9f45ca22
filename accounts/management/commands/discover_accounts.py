import csv

from django.core.management.base import BaseCommand, CommandError

from accounts.discovery import DiscoveryError, discover
from accounts.management.selection import organizations
from accounts.models import CloudAccount

COLUMNS = ["account_id", "name", "role_arn", "external_id", "spendlens"]


class Command(BaseCommand):
    help = (
        "List the accounts of an AWS Organization from its management account and add the "
        "missing ones, inactive, each with its ExternalId (to deploy their roles with)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organisation slug.")
        parser.add_argument(
            "--management",
            help="12-digit ID of the management account (default: the organisation's only one).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Add nothing; say what would.")
        parser.add_argument(
            "--csv",
            action="store_true",
            help=f"Print every account of the AWS Organization as CSV ({', '.join(COLUMNS)}): "
            "e.g. parameter overrides of a StackSet that creates the roles.",
        )

    def handle(self, *args, **options):
        organization = organizations(options["org"]).get()
        management = self._management(organization, options["management"])
        try:
            result = discover(management, dry_run=options["dry_run"])
        except DiscoveryError as exc:
            raise CommandError(str(exc)) from exc
        if options["csv"]:
            self._csv(result)
            return
        verb = "would add" if result.dry_run else "added"
        self.stdout.write(
            f"{management}: {len(result.linked)} accounts in the AWS Organization; "
            f"{len(result.known)} already in {organization.slug}, {verb} {len(result.added)} "
            f"(inactive), {len(result.closed)} closed in AWS and not added."
        )
        for account in result.added:
            self.stdout.write(
                f"  {verb} {account.account_id} {account.name!r}  role {account.role_arn}  "
                f"ExternalId {account.external_id if not result.dry_run else '(on adding)'}"
            )
        for linked in result.closed:
            self.stdout.write(f"  not added {linked.account_id} {linked.name!r}: {linked.status}")
        for account in result.outside:
            self.stdout.write(
                self.style.WARNING(
                    f"  {account.account_id} {account.name!r} is in {organization.slug} but not "
                    "in this AWS Organization"
                )
            )
        if result.added and not result.dry_run:
            self.stdout.write(
                "Create each role with its ExternalId in its trust policy (--csv lists them), "
                "then activate the accounts and test their connections."
            )

    def _management(self, organization, account_id):
        payers = CloudAccount.objects.filter(organization=organization, is_management=True)
        if account_id:
            payers = payers.filter(account_id=account_id)
        found = list(payers[:2])
        if not found:
            raise CommandError(
                f"{organization.slug} has no management account"
                + (f" with ID {account_id}" if account_id else "")
                + ": mark the AWS Organization's payer account as management first."
            )
        if len(found) > 1:
            raise CommandError(
                f"{organization.slug} has several management accounts: name one with --management."
            )
        return found[0]

    def _csv(self, result):
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        rows = [(a, "added" if not result.dry_run else "would add") for a in result.added]
        rows += [(a, "active" if a.is_active else "inactive") for a in result.known]
        for account, state in sorted(rows, key=lambda row: row[0].account_id):
            external_id = "" if result.dry_run and state == "would add" else account.external_id
            writer.writerow(
                [account.account_id, account.name, account.role_arn, external_id, state]
            )
        for linked in result.closed:
            writer.writerow([linked.account_id, linked.name, "", "", linked.status.lower()])
