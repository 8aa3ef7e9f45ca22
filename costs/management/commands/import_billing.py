import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Organization
from costs.ingest.athena import import_athena, is_athena
from costs.ingest.focus import ImportFailed, import_billing, summary


class Command(BaseCommand):
    help = (
        "Import a FOCUS 1.0 billing export (CSV, CSV.gz or Parquet; a path or s3://bucket/key) "
        "into an organisation's cost store, replacing the billing periods it covers. With "
        "athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM the export catalogued in Glue is "
        "aggregated by Athena and only the daily totals are loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("uri", metavar="PATH_OR_S3_OR_ATHENA_URI")
        parser.add_argument("--org", required=True, help="Organisation slug.")
        parser.add_argument(
            "--account", default=None, help="Only import rows of this sub-account ID."
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        try:
            organization = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organisation with slug {options['org']!r}.") from None

        quiet = options["quiet"] or options["verbosity"] == 0
        with ProgressBar(disable=quiet) as bar:
            try:
                if is_athena(options["uri"]):
                    # Athena reports no progress: the query runs as one unit.
                    billing_import = import_athena(
                        options["uri"], organization, account_id=options["account"]
                    )
                else:
                    billing_import = import_billing(
                        options["uri"], organization, account_id=options["account"], progress=bar
                    )
            except ImportFailed as exc:
                raise CommandError(f"Import failed: {exc.message}") from None
        if options["verbosity"] > 0:
            self.stdout.write(summary(billing_import, account_id=options["account"]))


class ProgressBar:
    """import_billing's progress callback drawn by tqdm (bytes for CSV, rows for Parquet)."""

    def __init__(self, disable: bool):
        self.disable = disable
        self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        if self.disable:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=total,
                unit=unit,
                unit_scale=True,
                unit_divisor=1024 if unit == "B" else 1000,
                desc="import",
                file=sys.stderr,
            )
        self.bar.update(done - self.bar.n)
