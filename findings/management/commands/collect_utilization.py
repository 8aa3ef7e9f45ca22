from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.management.selection import add_account_argument, select_accounts
from findings.detection import collect_resource_metrics, collect_utilization


class Command(BaseCommand):
    help = (
        "Pull hourly CloudWatch utilization of instances, RDS, NAT gateways and load balancers "
        "(batched GetMetricData) into daily rollups."
    )

    def add_arguments(self, parser):
        add_account_argument(parser)
        parser.add_argument("--days", type=int, default=None, help="Lookback (default 14).")

    def handle(self, *args, account=None, days=None, **options):
        if days is not None and not 1 <= days <= 63:
            raise CommandError(
                "--days must be between 1 and 63 (CloudWatch keeps hourly data 63 days)."
            )
        accounts = select_accounts(account)
        failed = 0
        quiet = options["verbosity"] == 0
        for cloud_account in tqdm(accounts, desc="Utilization", unit="account", disable=quiet):
            result, errors = collect_utilization(cloud_account, days=days)
            others, other_errors = collect_resource_metrics(cloud_account, days=days)
            errors = [*errors, *other_errors]
            self.stdout.write(
                f"{cloud_account}: {result.instances} instances, {result.api_calls} "
                f"GetMetricData calls, {result.datapoints:,} datapoints, "
                f"{result.days_written} daily rollups; {others.summary()}"
            )
            for error in errors:
                self.stdout.write(f"  FAILED {error}")
            failed += bool(errors)
        if failed:
            raise CommandError(f"Utilization failed for {failed} of {len(accounts)} accounts.")
