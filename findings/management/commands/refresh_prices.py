"""refresh_prices: the fleet's on-demand prices from the AWS Price List Query API, now.

It lives with the findings because it asks the inventory which prices are needed; the cost
store's refresh (costs/price_list.py) does the asking and storing.
"""

from django.core.management.base import BaseCommand, CommandError

from costs import price_list
from findings.price_refresh import price_needs


class Command(BaseCommand):
    help = "Fetch the fleet's regional prices from the AWS Price List API into the price cache."

    def add_arguments(self, parser):
        parser.add_argument(
            "--region",
            action="append",
            dest="regions",
            metavar="REGION",
            help="Only this region (repeatable). Default: every region the fleet uses.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Ask the API and print, but store nothing."
        )

    def handle(self, *args, regions=None, dry_run=False, **options):
        needs = price_needs()
        if regions:
            unknown = sorted(set(regions) - {region for _, region in needs})
            if unknown:
                self.stderr.write(f"No inventory in {', '.join(unknown)}: nothing to price there.")
            needs = {(key, region) for key, region in needs if region in regions}
        if not needs:
            self.stdout.write("The inventory needs no prices: nothing to fetch.")
            return
        self.stdout.write(f"Fetching {len(needs)} prices from the AWS Price List API...")
        result = price_list.refresh_pairs(needs, dry_run=dry_run, progress=self._progress)
        if result.error:
            raise CommandError(result.error)
        self.stdout.write(result.summary())

    def _progress(self, outcome: price_list.KeyOutcome) -> None:
        if outcome.status == price_list.ERROR:
            self.stderr.write(outcome.line())
        else:
            self.stdout.write(outcome.line())
