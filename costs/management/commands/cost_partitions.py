from django.core.management.base import BaseCommand, CommandError

from costs import partitions


class Command(BaseCommand):
    help = (
        "The cost store's monthly partitions (PostgreSQL): list them, create the coming months' "
        "(--ensure), drop the months COST_RETENTION_MONTHS no longer keeps (--drop-expired; on "
        "SQLite their rows are deleted). With no option: --list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="List the partitions.")
        parser.add_argument(
            "--ensure",
            action="store_true",
            help="Create the current month's and COST_PARTITIONS_AHEAD_MONTHS next ones.",
        )
        parser.add_argument(
            "--drop-expired", action="store_true", help="Apply COST_RETENTION_MONTHS."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --drop-expired: only say what would go."
        )

    def handle(self, *args, **options):
        if options["dry_run"] and not options["drop_expired"]:
            raise CommandError("--dry-run goes with --drop-expired.")
        if options["ensure"]:
            created = partitions.ensure_ahead()
            self.stdout.write(f"created: {', '.join(created) or 'none (all exist)'}")
        if options["drop_expired"]:
            dropped = partitions.drop_expired(dry_run=options["dry_run"])
            for line in partitions.describe(dropped):
                self.stdout.write(line)
        if options["list"] or not (options["ensure"] or options["drop_expired"]):
            self._list()

    def _list(self):
        if not partitions.partitioned():
            self.stdout.write("This database (not PostgreSQL) keeps the cost store unpartitioned.")
            return
        for p in partitions.list_partitions():
            span = "DEFAULT" if p.is_default else f"{p.start} to {p.end}"
            rows = "not analyzed" if p.rows < 0 else f"about {p.rows:,} rows"
            self.stdout.write(f"{p.name}  {span}  {rows}")
