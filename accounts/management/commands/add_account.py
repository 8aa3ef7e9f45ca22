from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.connection import check_connection
from accounts.models import CloudAccount, Organization


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Connect an AWS account to an organisation (created if missing), print its ExternalId "
        "and test the connection."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organisation slug.")
        parser.add_argument("--account-id", required=True)
        parser.add_argument("--role-arn", required=True)
        parser.add_argument("--regions", required=True, help="Comma-separated region names.")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--no-test", action="store_true", help="Skip the connection test (offline setup)."
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            organization, _ = Organization.objects.get_or_create(
                slug=options["org"], defaults={"name": options["org"]}
            )
            account = CloudAccount.objects.filter(
                organization=organization, account_id=options["account_id"].strip()
            ).first() or CloudAccount(organization=organization)
            created = account.pk is None
            account.account_id = options["account_id"]
            account.role_arn = options["role_arn"]
            account.regions = options["regions"]
            if options["name"] or created:
                account.name = options["name"]
            try:
                account.full_clean(exclude=["organization"] if created else None)
            except ValidationError as exc:
                raise CommandError(validation_message(exc)) from exc
            account.save()

        self.stdout.write(
            f"{'Added' if created else 'Updated'} account {account} in {organization.slug}.\n"
            f"ExternalId: {account.external_id}\n"
            "Put it in the role's trust policy (sts:ExternalId condition)."
        )
        if options["no_test"]:
            return
        report = check_connection(account)
        self.stdout.write("Connection test:\n" + report.summary())
        if not report.ok:
            self.stderr.write(self.style.WARNING("The connection test failed; fix and re-run."))
