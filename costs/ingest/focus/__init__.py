"""Import FOCUS 1.0 billing exports into the cost store.

A FOCUS file (CSV, CSV.gz or Parquet; a local path or an s3:// URI) is read in bounded chunks
by pyarrow, reading only the columns the store needs. Each chunk is validated with vectorised
pyarrow compute (no per-row Python), its usable rows are summed to daily groups keyed exactly
like CostRecord's natural key, and the running groups are merged now and then, so memory
follows the number of daily groups, not the size of the file. Amounts stay decimal end to end
(decimal128 with 12 places, digits beyond the 12th dropped, then each daily group rounded
half away from zero to the store's 10 places). A group keeps its first Tags value that is a
JSON object; other Tags values are ignored.

Re-importing replaces: every (billing period, provider, sub-account) that has usable rows in
the file is deleted and written again in one transaction at the end, so a re-import never
double-counts and a failed import leaves the store as it was. A sub-account that is absent
from the new file keeps its records for that period (a partial export cannot erase data it
does not mention).

The natural key has no billing period: a daily record that is already stored under another
period (a charge re-reported by a later period's export) fails the import, with nothing
changed, rather than being double-counted or silently overwritten.

ChargePeriodStart and BillingPeriodStart are read as YYYY-MM-DD, optionally followed by a
time and a UTC designator (Z, +00:00); the day is the UTC day. Other offsets are rejected.

Rows that cannot be used are counted per reason and the first few are kept with their row
number (1 = the first row after the header) and the offending value; nothing is dropped
silently. Rows of other sub-accounts when --account is given are skipped, not rejected.

The package, by stage:

- source.py: opens the file (local path or S3), sniffs CSV, CSV.gz or Parquet, reads it in
  chunks of string columns;
- validation.py: the per-row checks, the Tally of rejected rows and the cleaned store fields;
- aggregate.py: Tags numbering, daily totals and the CostRecord rows they become;
- store.py: the replacement of the stored billing periods (COPY or bulk_create) and the
  rollup refresh;
- importer.py: import_billing itself, the BillingImport bookkeeping and its summary.
"""

from .aggregate import DailyTotals, TagNumbers
from .errors import ImportFailed
from .importer import Progress, import_billing, summary
from .source import Source, open_source
from .validation import Tally

__all__ = [
    "DailyTotals",
    "ImportFailed",
    "Progress",
    "Source",
    "TagNumbers",
    "Tally",
    "import_billing",
    "open_source",
    "summary",
]
