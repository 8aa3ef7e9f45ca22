"""PostgreSQL: costs_costrecord becomes a table range-partitioned by month on usage_date.

A billing export of a large organisation is billions of rows a year: by month, a re-import
replaces the rows of one partition, a summary of a month reads one, and retention drops whole
months (costs/partitions.py) instead of deleting rows.

What changes on PostgreSQL (SQLite, the demo's database, keeps its plain table; Django's model
state does not change, so this is plain RunPython):

- The primary key becomes (id, usage_date): every unique constraint of a partitioned table must
  include the partition key. Django still treats `id` as the primary key; ids stay unique because
  the identity sequence keeps numbering them (it is set past the old table's sequence). Nothing
  has a foreign key to CostRecord, so no other table references the key.
- unique_cost_record already includes usage_date; it and every other index keep their names.
- One partition per month that holds rows, the current month and the three ahead, and a DEFAULT
  partition for any other date (an odd date in a billing file must never fail an import).
- Every row is moved, ids included, inside the migration's transaction: a failure leaves the old
  table as it was. The table is locked meanwhile (ACCESS EXCLUSIVE): plan the downtime for a
  large store, about a minute per 10 million rows.

The reverse migration moves the rows back into a plain table of the same shape.
"""

from datetime import date

from django.db import migrations

TABLE = "costs_costrecord"
OLD = "costs_costrecord_unpartitioned"
DEFAULT_PARTITION = "costs_costrecord_default"
AHEAD = 3


def _month_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _definitions(cursor, table):
    """The table's foreign keys, unique constraints and plain indexes, as SQL to re-create them
    (named as now) on TABLE."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'p') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        [table],
    )
    return constraints, cursor.fetchall()


def _columns(cursor, table) -> str:
    cursor.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    return cursor.fetchone()[0]


def _rebuild(cursor, partitioned: bool) -> None:
    """Move costs_costrecord into a new table of the same shape, partitioned or plain."""
    cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    constraints, indexes = _definitions(cursor, TABLE)
    cursor.execute(
        f"SELECT pg_get_serial_sequence('{TABLE}', 'id'), coalesce(max(id), 0) FROM {TABLE}"  # noqa: S608
    )
    sequence, max_id = cursor.fetchone()
    cursor.execute(f"SELECT last_value FROM {sequence}")  # noqa: S608 (a catalog name)
    next_id = max(max_id, cursor.fetchone()[0]) + 1
    # Index names are unique per schema: the old table's go before the new ones are made.
    for name, kind, _ in constraints:
        if kind != "f":
            cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    partition_by = " PARTITION BY RANGE (usage_date)" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY){partition_by}"
    )
    if partitioned:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', usage_date)::date FROM {OLD} "  # noqa: S608
            f"UNION SELECT date_trunc('month', current_date + make_interval(months => n))::date "
            f"FROM generate_series(0, {AHEAD}) n ORDER BY 1"
        )
        for (month,) in cursor.fetchall():
            cursor.execute(
                f"CREATE TABLE {_month_name(month)} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{month}') TO ('{_next_month(month)}')"
            )
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
    columns = _columns(cursor, OLD)
    cursor.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {OLD}")  # noqa: S608
    cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
    cursor.execute(f"SELECT setval('{cursor.fetchone()[0]}', {next_id}, false)")
    cursor.execute(f"DROP TABLE {OLD}")
    # Keep the sequence's usual name, which the old table's sequence held until now.
    cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
    new_sequence = cursor.fetchone()[0]
    if new_sequence.split(".")[-1].strip('"') != f"{TABLE}_id_seq":
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {TABLE}_id_seq")
    for name, kind, definition in constraints:
        if kind == "p":
            definition = "PRIMARY KEY (id, usage_date)" if partitioned else "PRIMARY KEY (id)"
        elif kind == "u" and partitioned and "usage_date" not in definition:
            raise RuntimeError(f"{name} lacks the partition key usage_date: {definition}")
        if kind == "f":
            continue
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        cursor.execute(definition)  # read before the rename: "... ON public.costs_costrecord ..."
    for name, kind, definition in constraints:
        if kind == "f":
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    cursor.execute(f"ANALYZE {TABLE}")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("costs", "0011_billing_import_query_cost"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
