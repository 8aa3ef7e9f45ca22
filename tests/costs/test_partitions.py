"""The cost store's monthly partitions (PostgreSQL) and its retention (both databases)."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum

from accounts.models import Organization
from allocation.models import AllocationRollup, Dimension
from commitments.models import CommitmentDay
from config.schedules import ensure_schedules
from costs import bulk, partitions
from costs.ingest.focus import import_billing
from costs.models import (
    COST_RECORD_KEY,
    CommitmentUsageHour,
    CostRecord,
    CostRollup,
    CostSource,
    TagSpend,
)
from costs.summary import counted_once
from costs.tasks import maintain_cost_partitions
from tests.costs.test_focus import SAMPLE
from tests.marks import postgresql_only

partitioned = postgresql_only("declarative partitions")
BEFORE = [("costs", "0011_billing_import_query_cost")]
SEPTEMBER = date(2024, 9, 1)


def record(organization, day, amount="1", source=CostSource.EXPLORER, **extra):
    fields = {
        "organization": organization,
        "source": source,
        "metric": "unblended" if source == CostSource.EXPLORER else "billed",
        "sub_account_id": "111111111111",
        "usage_date": day,
        "service": "Amazon EC2",
        "region": "us-east-1",
        "amount": Decimal(amount),
        **extra,
    }
    return CostRecord.objects.create(**fields)


def partition_of(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM costs_costrecord WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def table_exists(name) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


# --- The migration ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_row_with_its_id():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    # Only costs went back: the organisations' table is today's.
    org = Organization.objects.create(name="Old", slug="old")
    Record = old.get_model("costs", "CostRecord")
    common = {"organization_id": org.pk, "source": "explorer", "metric": "unblended"}
    days = [date(2019, 3, 31), date(2024, 9, 1), date(2024, 9, 30), date(2024, 10, 1)]
    for n, day in enumerate(days):
        Record.objects.create(
            **common,
            sub_account_id="1",
            usage_date=day,
            service="S",
            amount=Decimal(n + 1),
        )
    Record.objects.filter(usage_date=date(2024, 10, 1)).delete()  # the sequence moved past it
    before = sorted(Record.objects.values_list("id", "usage_date", "amount"))

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    after = sorted(CostRecord.objects.values_list("id", "usage_date", "amount"))
    assert after == before and len(after) == 3
    newest = record(org, date(2024, 9, 2))
    assert newest.pk > max(pk for pk, _, _ in before) + 1  # no id of a deleted row reused
    if connection.vendor == "postgresql":
        assert {partition_of(pk) for pk, _, _ in after} == {
            "costs_costrecord_p2019_03",
            "costs_costrecord_p2024_09",
        }
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'costs_costrecord_pkey'"
            )
            assert cursor.fetchone()[0] == "PRIMARY KEY (id, usage_date)"
        assert partitions.list_partitions()[-1].name == partitions.DEFAULT_PARTITION


# --- Partitions ahead, and the DEFAULT partition's rows --------------------------------------


@partitioned
def test_partitions_ahead_are_created_once(db, settings):
    settings.COST_PARTITIONS_AHEAD_MONTHS = 3
    today = date(2031, 11, 15)

    created = partitions.ensure_ahead(today)
    again = partitions.ensure_ahead(today)

    assert created == [
        "costs_costrecord_p2031_11",
        "costs_costrecord_p2031_12",
        "costs_costrecord_p2032_01",
        "costs_costrecord_p2032_02",
    ]
    assert again == []
    bounds = {p.name: (p.start, p.end) for p in partitions.list_partitions()}
    assert bounds["costs_costrecord_p2031_12"] == (date(2031, 12, 1), date(2032, 1, 1))


@partitioned
def test_a_month_created_later_takes_its_rows_from_the_default_partition(acme):
    stray = record(acme, date(2035, 6, 10), "4")
    other = record(acme, date(2035, 7, 1), "5")
    assert partition_of(stray.pk) == partition_of(other.pk) == partitions.DEFAULT_PARTITION

    created = partitions.ensure_months([date(2035, 6, 1)], today=date(2035, 6, 1))

    assert created == ["costs_costrecord_p2035_06"]
    assert partition_of(stray.pk) == "costs_costrecord_p2035_06"
    assert partition_of(other.pk) == partitions.DEFAULT_PARTITION
    moved = CostRecord.objects.get(pk=stray.pk)
    assert (moved.usage_date, moved.amount) == (date(2035, 6, 10), Decimal("4"))
    assert CostRecord.objects.count() == 2


@partitioned
def test_an_import_far_ahead_or_long_expired_leaves_its_month_to_the_default(db, settings):
    settings.COST_RETENTION_MONTHS = 12
    created = partitions.ensure_months(
        [date(1970, 1, 1), date(2099, 1, 1), date(2031, 2, 1)], today=date(2031, 1, 10)
    )
    assert created == ["costs_costrecord_p2031_02"]


# --- Retention -------------------------------------------------------------------------------


@pytest.fixture
def aged_store(acme, acme_account, settings):
    """Rows on both sides of the cutoff of 3 months kept on 2031-05-20 (2031-02-01)."""
    if connection.vendor == "postgresql":
        partitions.ensure_months(
            partitions.months_between(date(2030, 12, 1), date(2031, 5, 1)),
            today=date(2031, 5, 20),
        )
    settings.COST_RETENTION_MONTHS = 3
    days = [date(2030, 11, 30), date(2030, 12, 31), date(2031, 1, 31), date(2031, 2, 1)]
    days.append(date(2031, 5, 1))
    for day in days:
        record(acme, day, account=acme_account)
        CostRollup.objects.create(
            organization=acme, usage_date=day, dimension="service", key="EC2", amount=1
        )
        TagSpend.objects.create(
            organization=acme,
            account=acme_account,
            sub_account_id="111111111111",
            usage_date=day,
            service="EC2",
            tag_key="team",
            amount=1,
        )
        CommitmentUsageHour.objects.create(
            organization=acme,
            sub_account_id="111111111111",
            hour=datetime(day.year, day.month, day.day, 23, tzinfo=UTC),
            bucket="on_demand",
            effective_cost=1,
            billing_period=day.replace(day=1),
        )
    # What later stages derived from those days.
    team = Dimension.objects.create(organization=acme, name="Team", slug="team")
    for day in days:
        AllocationRollup.objects.create(
            dimension=team, usage_date=day, value="payments", service="EC2", kind="direct", amount=1
        )
        for source in CommitmentDay.Source.values:
            CommitmentDay.objects.create(
                account=acme_account, day=day, kind="savings_plan", source=source
            )
    return date(2031, 5, 20)


def test_retention_drops_exactly_the_expired_months(aged_store):
    dropped = partitions.drop_expired(today=aged_store)

    kept = [date(2031, 2, 1), date(2031, 5, 1)]
    assert dropped.cutoff == date(2031, 2, 1)
    assert sorted(CostRecord.objects.values_list("usage_date", flat=True)) == kept
    assert sorted(CostRollup.objects.values_list("usage_date", flat=True)) == kept
    assert sorted(TagSpend.objects.values_list("usage_date", flat=True)) == kept
    hours = CommitmentUsageHour.objects.values_list("hour__date", flat=True)
    assert sorted(hours) == kept
    assert (dropped.rollups_deleted, dropped.tag_spend_deleted) == (3, 3)
    assert sorted(AllocationRollup.objects.values_list("usage_date", flat=True)) == kept
    assert sorted(set(CommitmentDay.objects.values_list("day", flat=True))) == kept
    assert dropped.derived == {"allocation rollups": 3, "commitment days": 6}
    if connection.vendor == "postgresql":
        names = {p.name for p in dropped.partitions}
        assert {"costs_costrecord_p2030_12", "costs_costrecord_p2031_01"} <= names
        assert all(p.end <= dropped.cutoff for p in dropped.partitions)
        assert not table_exists("costs_costrecord_p2031_01")
        left = [p for p in partitions.list_partitions() if not p.is_default]
        assert all(p.start >= dropped.cutoff for p in left)
        assert {"costs_costrecord_p2031_02", "costs_costrecord_p2031_05"} <= {p.name for p in left}
        assert dropped.records_deleted == 1  # 2030-11-30, from the DEFAULT partition
    else:
        assert dropped.partitions == [] and dropped.records_deleted == 3


def test_the_daily_task_reports_what_later_stages_lost_and_drops_their_cache(
    aged_store, acme, monkeypatch
):
    monkeypatch.setattr(partitions.timezone, "localdate", lambda: aged_store)
    team = Dimension.objects.get(organization=acme, slug="team")
    other = Dimension.objects.create(organization=acme, name="Product", slug="product")
    AllocationRollup.objects.create(
        dimension=other, usage_date=date(2031, 5, 1), value="shop", service="EC2", kind="direct",
        amount=1,
    )  # fmt: skip
    versions = {d.pk: d.rollups_version for d in (team, other)}

    result = maintain_cost_partitions()

    assert "3 allocation rollups, 6 commitment days" in result
    team.refresh_from_db()
    other.refresh_from_db()
    assert team.rollups_version != versions[team.pk]  # its cached summaries counted those days
    assert other.rollups_version == versions[other.pk]  # nothing of it expired


def test_a_dry_run_changes_nothing_and_says_what_would_go(aged_store, capsys, monkeypatch):
    monkeypatch.setattr(partitions.timezone, "localdate", lambda: aged_store)

    call_command("cost_partitions", "--drop-expired", "--dry-run")

    out = capsys.readouterr().out
    assert "data before 2031-02-01" in out
    if connection.vendor == "postgresql":
        assert "would drop costs_costrecord_p2031_01" in out
        assert "would drop costs_costrecord_p2031_02" not in out
    else:
        assert "would delete 3 cost records" in out
    assert "would delete 3 allocation rollups" in out
    assert "would delete 6 commitment days" in out
    assert CostRecord.objects.count() == 5
    assert CostRollup.objects.count() == 5
    assert AllocationRollup.objects.count() == 5
    assert CommitmentDay.objects.count() == 10


def test_without_retention_nothing_is_dropped(aged_store, settings):
    settings.COST_RETENTION_MONTHS = 0

    dropped = partitions.drop_expired(today=aged_store)

    assert dropped.cutoff is None and dropped.partitions == []
    assert CostRecord.objects.count() == 5


def test_dry_run_needs_drop_expired(db):
    with pytest.raises(CommandError, match="--dry-run goes with --drop-expired"):
        call_command("cost_partitions", "--dry-run")


def test_the_daily_schedule_keeps_the_partitions(db, settings):
    settings.COST_RETENTION_MONTHS = 0
    assert "cost-partitions" in ensure_schedules()

    result = maintain_cost_partitions()

    assert "COST_RETENTION_MONTHS is 0" in result
    if connection.vendor == "postgresql":
        month = date.today().replace(day=1)
        assert partitions.partition_name(month) in {p.name for p in partitions.list_partitions()}


# --- Re-imports and reads --------------------------------------------------------------------


def snapshot(queryset):
    """Each row's id, and on PostgreSQL its physical version (ctid, xmin): an UPDATE or a
    re-insert of the same values would change them."""
    ids = list(queryset.values_list("pk", flat=True))
    if connection.vendor != "postgresql":
        return sorted(queryset.values_list("pk", "amount"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ctid::text, xmin::text FROM costs_costrecord WHERE id = ANY(%s)", [ids]
        )
        return sorted(cursor.fetchall())


def test_a_reimport_leaves_other_months_rows_untouched(acme):
    first = import_billing(str(SAMPLE), acme)
    august = [
        record(acme, date(2024, 8, 31), "7"),
        record(
            acme,
            date(2024, 8, 15),
            "8",
            source=CostSource.FOCUS,
            provider="AWS",
            sub_account_id="11353890204",
            billing_period=date(2024, 8, 1),
        ),
    ]
    october = record(acme, date(2024, 10, 1), "9")
    others = CostRecord.objects.filter(pk__in=[r.pk for r in [*august, october]])
    before = snapshot(others)
    imported = set(CostRecord.objects.filter(billing_import=first).values_list("pk"))

    again = import_billing(str(SAMPLE), acme)

    assert snapshot(others) == before
    assert again.records_replaced == len(imported)
    assert not imported & set(CostRecord.objects.values_list("pk"))
    if connection.vendor == "postgresql":
        written = CostRecord.objects.filter(billing_import=again)
        assert {partition_of(pk) for pk in written.values_list("pk", flat=True)} <= {
            "costs_costrecord_p2024_09",
            "costs_costrecord_p2024_10",  # the sample's one row of the next period
        }


def test_a_reimport_replaces_the_periods_rows_dated_outside_it(acme):
    import_billing(str(SAMPLE), acme)
    total = CostRecord.objects.filter(organization=acme).aggregate(s=Sum("amount"))["s"]
    # A late charge of the September period, dated in July (a row the new file no longer has).
    late = record(
        acme,
        date(2024, 7, 3),
        "100",
        source=CostSource.FOCUS,
        provider="AWS",
        sub_account_id="11353890204",
        billing_period=SEPTEMBER,
    )

    import_billing(str(SAMPLE), acme)

    assert not CostRecord.objects.filter(pk=late.pk).exists()
    assert CostRecord.objects.filter(organization=acme).aggregate(s=Sum("amount"))["s"] == total


@partitioned
def test_a_summary_of_one_month_reads_one_partition(acme):
    import_billing(str(SAMPLE), acme)
    record(acme, date(2024, 10, 5), "3")
    record(acme, date(2024, 8, 5), "3")
    records = CostRecord.objects.filter(organization=acme, currency="USD", service="Amazon EC2")
    start, end = date(2024, 9, 1), date(2024, 9, 30)
    query = (
        counted_once(records, start, end)
        .filter(usage_date__gte=start, usage_date__lte=end)
        .values("region")
        .annotate(total=Sum("amount"))
        .order_by()
    )

    plan = query.explain()

    read = set(re.findall(r"costs_costrecord_(p\d{4}_\d{2}|default)\b", plan))
    assert read == {"p2024_09"}, plan


def test_an_upsert_on_the_natural_key_updates_in_place(acme):
    # ON CONFLICT needs a unique index the partitions share: the natural key has usage_date.
    key = list(COST_RECORD_KEY)
    fields = [*key, "currency", "estimated", "amount"]
    common = (acme.pk, "explorer", "unblended", "AWS", "1")
    rest = ("S", "r", "", "", "", "USD", False)
    rows = [
        (*common, date(2024, 9, 3), *rest, Decimal("1")),
        (*common, date(2031, 1, 3), *rest, Decimal("2")),
    ]
    with transaction.atomic():
        bulk.upsert(CostRecord, fields, rows, key)
    first = dict(CostRecord.objects.values_list("usage_date", "pk"))

    with transaction.atomic():
        bulk.upsert(CostRecord, fields, [(*rows[1][:-1], Decimal("5"))], key)

    stored = {r.usage_date: (r.pk, r.amount) for r in CostRecord.objects.all()}
    assert stored == {
        date(2024, 9, 3): (first[date(2024, 9, 3)], Decimal("1")),
        date(2031, 1, 3): (first[date(2031, 1, 3)], Decimal("5")),
    }
