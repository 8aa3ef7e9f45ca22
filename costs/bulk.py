"""Bulk writes of many rows: COPY on PostgreSQL, the ORM's bulk operations elsewhere.

The ORM's bulk_create(update_conflicts=True) and bulk_update() build one large statement per
batch (bulk_update a CASE per column per row), which costs tens of microseconds per row. A
detection run writes a row per instance-day and a verdict per instance, so on PostgreSQL the
rows are streamed by COPY into a temporary table and applied with one INSERT ... ON CONFLICT
or UPDATE ... FROM. SQLite (the demo's embedded database) keeps the ORM path.

upsert() takes model field names and rows as tuples in that order, a foreign key's value
being the related row's id. Call both inside a transaction: the temporary table lives until
commit. The SQL is built only from model metadata (quoted identifiers), never from values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models
from psycopg.types.json import Jsonb

BATCH = 2000


def _use_copy() -> bool:
    return connection.vendor == "postgresql"


def _copy_into_temp(model, fields: Sequence[models.Field], rows: Iterable[tuple]) -> str:
    """Create a temporary table shaped like MODEL's FIELDS and COPY ROWS into it."""
    quote = connection.ops.quote_name
    temp = f"bulk_{model._meta.db_table}"
    columns = ", ".join(quote(f.column) for f in fields)
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(temp)}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(temp)} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {quote(model._meta.db_table)} WITH NO DATA"
        )
        with cursor.copy(f"COPY {quote(temp)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if json_positions:
                    row = list(row)
                    for i in json_positions:
                        row[i] = Jsonb(row[i])
                copy.write_row(row)
    return temp


def upsert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: list[tuple],
    unique_fields: Sequence[str],
) -> int:
    """Insert ROWS, or update every other field of the row with the same UNIQUE_FIELDS."""
    if not rows:
        return 0
    columns = [model._meta.get_field(name) for name in fields]
    unique = [model._meta.get_field(name) for name in unique_fields]
    if not _use_copy():
        model.objects.bulk_create(
            [model(**dict(zip([f.attname for f in columns], row, strict=True))) for row in rows],
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=[f.name for f in unique],
            update_fields=[f.name for f in columns if f not in unique],
        )
        return len(rows)
    quote = connection.ops.quote_name
    temp = _copy_into_temp(model, columns, rows)
    names = ", ".join(quote(f.column) for f in columns)
    updates = ", ".join(
        f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in columns if f not in unique
    )
    conflict = ", ".join(quote(f.column) for f in unique)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT {names} FROM {quote(temp)} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {quote(temp)}")
    return len(rows)


def update(model: type[models.Model], objects: list[models.Model], fields: Sequence[str]) -> int:
    """Save FIELDS of OBJECTS (existing rows, matched by primary key)."""
    if not objects:
        return 0
    if not _use_copy():
        model.objects.bulk_update(objects, fields, batch_size=BATCH)
        return len(objects)
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    rows = (tuple(getattr(obj, f.attname) for f in columns) for obj in objects)
    quote = connection.ops.quote_name
    temp = _copy_into_temp(model, columns, rows)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sets = ", ".join(f"{quote(f.column)} = t.{quote(f.column)}" for f in columns[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM {quote(temp)} t "  # noqa: S608
            f"WHERE {table}.{pk} = t.{pk}"
        )
        cursor.execute(f"DROP TABLE {quote(temp)}")
    return len(objects)
