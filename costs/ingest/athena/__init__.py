"""Import a FOCUS 1.0 billing period that AWS Data Exports keeps in S3, aggregated by Athena.

`import_billing athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM` runs the file importer's
validation and daily grouping as one Athena query (sql.py, generated from the same rules in
costs/ingest/focus/columns.py), then loads the daily groups from the query's CSV result through
the file importer's store. By stage:

- catalog.py: the URI's parts, checked; the table's columns from Glue, checked up front;
- sql.py: the query;
- query.py: starting, polling (with a deadline) and stopping it;
- importer.py: reading the result, the BillingImport bookkeeping, the replacement.
"""

from .catalog import is_athena
from .importer import import_athena

__all__ = ["import_athena", "is_athena"]
