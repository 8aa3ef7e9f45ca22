from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.management.selection import add_account_argument, select_accounts
from fleet.inventory import sync_inventory


class Command(BaseCommand):
    help = "Refresh the EC2 inventory (instances, EBS volumes, Elastic IPs) in every region."

    def add_arguments(self, parser):
        add_account_argument(parser)

    def handle(self, *args, account=None, **options):
        accounts = select_accounts(account)
        failed = 0
        quiet = options["verbosity"] == 0
        for cloud_account in tqdm(accounts, desc="Inventory", unit="account", disable=quiet):
            result = sync_inventory(cloud_account)
            for region in result.regions:
                if region.error:
                    self.stdout.write(f"{cloud_account} {region.region}: FAILED {region.error}")
                else:
                    self.stdout.write(
                        f"{cloud_account} {region.region}: {region.instances} instances, "
                        f"{region.volumes} volumes, {region.addresses} Elastic IPs, "
                        f"{region.marked_gone} gone"
                    )
            failed += not result.ok
        if failed:
            raise CommandError(f"Inventory failed for {failed} of {len(accounts)} accounts.")
