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
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import operator
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import aws
from accounts.models import CloudAccount, Organization

from . import rollup
from .models import BillingImport, CostMetric, CostRecord, CostSource

logger = logging.getLogger(__name__)

REJECT_SAMPLE_LIMIT = 20
# Rows validated and aggregated together: big enough that pyarrow's per-call overhead vanishes,
# small enough that a chunk's working set stays a few tens of megabytes.
CHUNK_ROWS = 65_536
# pyarrow's CSV reader reads a bounded number of blocks ahead of the parser, so the block size
# bounds the reader's memory (about 32 MiB queued at 1 MiB); a single row must fit in one block.
CSV_BLOCK_BYTES = 1 << 20
HEAD_BYTES = 64 << 10
PARQUET_SPOOL_CHUNK = 8 << 20

AMOUNT_TYPE = pa.decimal128(38, 12)
STORED_AMOUNT_TYPE = pa.decimal128(38, 10)
# CostRecord.amount has 24 digits with 10 places.
AMOUNT_LIMIT = 10.0**14

REQUIRED_COLUMNS = (
    "BilledCost",
    "EffectiveCost",
    "ChargePeriodStart",
    "BillingPeriodStart",
    "BillingCurrency",
    "ProviderName",
    "SubAccountId",
    "ServiceName",
    "ChargeCategory",
)
# Conditional in FOCUS 1.0: a file without them is still usable.
OPTIONAL_COLUMNS = ("SubAccountName", "RegionId", "ResourceId", "Tags")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Store fields and their FOCUS columns; the group key is CostRecord's natural key.
KEY_COLUMNS = {
    "provider": "ProviderName",
    "sub_account_id": "SubAccountId",
    "usage_date": "ChargePeriodStart",
    "service": "ServiceName",
    "region": "RegionId",
    "resource_id": "ResourceId",
    "charge_category": "ChargeCategory",
}
MAX_LENGTHS = {
    column: CostRecord._meta.get_field(name).max_length
    for name, column in KEY_COLUMNS.items()
    if name != "usage_date"
}

NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# FOCUS date-times are UTC; a date alone is accepted too. Other offsets are refused rather than
# guessed, since they could move a charge to another day.
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]00(:?00)?)?$"
CURRENCY_RE = r"^[A-Z]{3}$"

Progress = Callable[[int, int | None, str], None]


class ImportFailed(Exception):
    """The import could not run to the end; nothing in the cost store was changed."""

    def __init__(self, message: str, billing_import: BillingImport | None = None):
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.billing_import = billing_import


ERROR_CHARS = 1000


def _one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """TEXT as one bounded line: errors may quote a file's row (pyarrow's parse errors do),
    which can hold line breaks, megabytes, or NULs that PostgreSQL text columns refuse."""
    text = " ".join(_storable(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _storable(text: str) -> str:
    # PostgreSQL's text and jsonb cannot hold NUL; show it rather than fail on it.
    return text.replace("\x00", "\\x00")


# --- Reading ---------------------------------------------------------------------------------


class _Replay(io.RawIOBase):
    """SOURCE with HEAD (bytes already read from it to sniff the format) put back in front.

    Also counts the bytes taken from SOURCE, which is what progress reports.
    """

    def __init__(self, head: bytes, source: BinaryIO):
        self._head = head
        self._source = source
        self.position = len(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _read_head(stream, limit: int = HEAD_BYTES) -> bytes:
    parts, size = [], 0
    while size < limit:
        data = stream.read(limit - size)
        if not data:
            break
        parts.append(bytes(data))
        size += len(data)
    return b"".join(parts)


def _header(head: bytes) -> list[str]:
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) >= HEAD_BYTES:
        raise ImportFailed(f"no CSV header line in the first {HEAD_BYTES // 1024} KiB")
    if b"\x00" in line:
        # UTF-16 without a byte-order mark is valid UTF-8 (ASCII with NULs between): read as
        # such it only lacked every column, and the NULs in the names it "found" could not
        # even be stored in the error (PostgreSQL text refuses NUL).
        raise ImportFailed(_not_utf8("the header line (NUL bytes: UTF-16?)"))
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise ImportFailed(_not_utf8(f"the header line (byte {exc.start})")) from exc
    return next(csv.reader([text]), [])


def _not_utf8(where: str) -> str:
    return (
        f"the file is not UTF-8 text: invalid bytes in {where}. FOCUS exports are UTF-8; "
        "convert the file (e.g. iconv -f LATIN1 -t UTF-8) and import it again"
    )


@dataclass
class Source:
    """An opened billing file: its format, its columns and a way to read them in chunks."""

    uri: str
    file_format: str  # "csv", "csv.gz" or "parquet"
    columns: list[str]
    total: int | None  # progress total (bytes for CSV, rows for Parquet)
    unit: str
    chunks: Callable[[], Iterator[pa.Table]]
    position: Callable[[], int]
    invalid_rows: list[pa_csv.InvalidRow] = field(default_factory=list)


def _open_raw(uri: str, stack: ExitStack) -> tuple[BinaryIO, int | None, str | None]:
    """The raw byte stream of URI, its size and, for local files, its path (Parquet seeks)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket or not key:
            raise ImportFailed(f"{uri} is not an s3://bucket/key URI")
        try:
            response = aws.platform_client("s3").get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ImportFailed(
                f"cannot read {uri}: {error.get('Code', 'error')}: {error.get('Message', exc)}"
            ) from exc
        except BotoCoreError as exc:
            raise ImportFailed(f"cannot read {uri}: {exc}") from exc
        body = response["Body"]
        stack.callback(body.close)
        return body, response.get("ContentLength"), None
    path = uri.removeprefix("file://")
    try:
        stream = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    except OSError as exc:
        raise ImportFailed(f"cannot open {path}: {exc.strerror}") from exc
    return stream, _size(stream), path


def _size(stream) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError):
        return None


@contextmanager
def open_source(uri: str) -> Iterator[Source]:
    """Open URI, sniff its format from its first bytes and describe it as a Source."""
    with ExitStack() as stack:
        raw, size, path = _open_raw(uri, stack)
        head = _read_head(raw)
        if head.startswith(b"PAR1"):
            yield _parquet_source(uri, head, raw, path, stack)
        elif head.startswith(b"PK\x03\x04"):
            raise ImportFailed("zip archives are not supported: import the CSV inside it")
        else:
            yield _csv_source(uri, head, raw, size)


def _csv_source(uri: str, head: bytes, raw: BinaryIO, size: int | None) -> Source:
    replay = _Replay(head, raw)
    stream = pa.PythonFile(replay, mode="r")
    file_format = "csv"
    if head.startswith(b"\x1f\x8b"):
        file_format = "csv.gz"
        stream = pa.CompressedInputStream(stream, "gzip")
        try:
            text_head = _read_head(stream)
        except (OSError, pa.ArrowException) as exc:
            raise ImportFailed(f"{uri} is not a readable gzip file: {exc}") from exc
        stream = pa.PythonFile(_Replay(text_head, stream), mode="r")
    else:
        text_head = head
    columns = _header(text_head)
    present = [c for c in COLUMNS if c in columns]
    invalid_rows: list[pa_csv.InvalidRow] = []
    # pyarrow refuses a file that is only a header; for us it is an export with no charges.
    no_rows = len(text_head) < HEAD_BYTES and not text_head.partition(b"\n")[2].strip()

    def skip_invalid(row: pa_csv.InvalidRow) -> str:
        # Called from the reader's threads; list.append is atomic.
        invalid_rows.append(row)
        return "skip"

    def chunks() -> Iterator[pa.Table]:
        if no_rows:
            return
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=True),
            parse_options=pa_csv.ParseOptions(
                # Descriptions may hold quoted line breaks; this costs nothing measurable.
                newlines_in_values=True,
                invalid_row_handler=skip_invalid,
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=present,
                column_types=dict.fromkeys(present, pa.string()),
                null_values=["NULL", ""],
                strings_can_be_null=True,
                # "NULL" in quotes is a string that happens to say NULL.
                quoted_strings_can_be_null=False,
            ),
        )
        yield from _rechunk(reader)

    return Source(
        uri=uri,
        file_format=file_format,
        columns=columns,
        total=size,
        unit="B",
        chunks=lambda: _arrow_errors(chunks()),
        position=lambda: replay.position,
        invalid_rows=invalid_rows,
    )


def _rechunk(batches) -> Iterator[pa.Table]:
    """Tables of about CHUNK_ROWS rows from the reader's small batches."""
    pending, rows = [], 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _arrow_errors(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    try:
        yield from chunks
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "UTF-8" in message:
            raise ImportFailed(_not_utf8(message.split(": CSV conversion")[0])) from exc
        if "straddling object" in message:
            # pyarrow's own wording ("try to increase block size?") is advice for a programmer.
            raise ImportFailed(
                "a CSV row is too long for the reader (rows must stay within about "
                f"{CSV_BLOCK_BYTES >> 20} MiB): is a cell megabytes long?"
            ) from exc
        raise ImportFailed(f"the file cannot be parsed: {message}") from exc
    except (OSError, pa.ArrowException) as exc:
        raise ImportFailed(f"the file cannot be read: {exc}") from exc


def _parquet_source(uri: str, head: bytes, raw: BinaryIO, path: str | None, stack) -> Source:
    if path is None:
        # Parquet keeps its schema at the end of the file: spool the object to disk to seek.
        spool = stack.enter_context(tempfile.TemporaryFile(suffix=".parquet"))  # noqa: SIM115
        spool.write(head)
        shutil.copyfileobj(raw, spool, PARQUET_SPOOL_CHUNK)
        spool.seek(0)
        target = spool
    else:
        target = path
    try:
        parquet = pq.ParquetFile(target)
    except (OSError, pa.ArrowException) as exc:
        raise ImportFailed(f"{uri} is not a readable Parquet file: {exc}") from exc
    columns = parquet.schema_arrow.names
    present = [c for c in COLUMNS if c in columns]
    rows_done = [0]

    def chunks() -> Iterator[pa.Table]:
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=present):
            rows_done[0] += batch.num_rows
            yield pa.Table.from_batches([batch])

    return Source(
        uri=uri,
        file_format="parquet",
        columns=columns,
        total=parquet.metadata.num_rows,
        unit="rows",
        chunks=lambda: _arrow_errors(chunks()),
        position=lambda: rows_done[0],
    )


def _as_strings(table: pa.Table) -> pa.Table:
    """Every wanted column as a string column (Parquet brings typed ones, some may be absent),
    so that one validation path serves every format."""
    columns = {}
    for name in COLUMNS:
        if name not in table.column_names:
            columns[name] = pa.nulls(table.num_rows, pa.string())
            continue
        column = table[name]
        if pa.types.is_timestamp(column.type) and column.type.tz:
            # Printed in their own zone they would carry an offset; the day is the UTC day.
            column = pc.cast(column, pa.timestamp(column.type.unit, "UTC"))
        if column.type != pa.string():
            column = pc.cast(column, pa.string())
        columns[name] = column
    return pa.table(columns)


# --- Validation ------------------------------------------------------------------------------


def _matches(values, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _blank(values) -> pa.Array:
    # utf8_is_space is false for "", hence the length test.
    empty = pc.equal(pc.utf8_length(values), 0)
    return pc.fill_null(pc.or_(empty, pc.utf8_is_space(values)), True)


def _too_long(values, limit: int) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(values), limit), False)


def _spread(column: pa.Array, per_value: Callable[[pa.Array], list]) -> list[pa.Array]:
    """PER_VALUE's arrays computed once per distinct value of COLUMN, spread back to the rows
    (null rows get null). Dates, currencies, providers, services and sub-accounts repeat on
    almost every row, so this is far cheaper than checking each row."""
    encoded = pc.dictionary_encode(column)
    return [pc.take(result, encoded.indices) for result in per_value(encoded.dictionary)]


Check = tuple[str, str, pa.Array]  # (reason, FOCUS column, mask of the rows that fail)


def _has_nul(values) -> pa.Array:
    return pc.fill_null(pc.match_substring(values, "\x00"), False)


def _text_checks(columns, name: str, required: bool) -> list[Check]:
    limit = MAX_LENGTHS[name]
    blank, too_long, nul = _spread(
        columns[name],
        lambda values: [_blank(values), _too_long(values, limit), _has_nul(values)],
    )
    checks = [(f"missing {name}", name, pc.fill_null(blank, True))] if required else []
    too_long = pc.fill_null(too_long, False)
    return [
        *checks,
        (f"{name} longer than {limit} characters", name, too_long),
        # PostgreSQL text cannot hold NUL: without this one such row failed the whole import
        # there (and was stored on SQLite).
        (f"{name} contains a NUL character", name, pc.fill_null(nul, False)),
    ]


def _parse_dates(values: pa.Array) -> list[pa.Array]:
    day = pc.utf8_slice_codeunits(values, 0, 10)
    parsed = pc.cast(pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True), "date32")
    # strptime rolls 2024-02-30 over into March: a real date prints back as itself. Year 0
    # prints back too, but neither Python nor PostgreSQL has it (it failed the whole import).
    real = pc.fill_null(
        pc.and_(pc.equal(pc.cast(parsed, pa.string()), day), pc.greater_equal(pc.year(parsed), 1)),
        False,
    )
    return [_blank(values), pc.invert(pc.and_(_matches(values, DATETIME_RE), real)), parsed]


def _date_checks(columns, name: str) -> tuple[list[Check], pa.Array]:
    blank, invalid, parsed = _spread(columns[name], _parse_dates)
    checks = [
        (f"missing {name}", name, pc.fill_null(blank, True)),
        (f"invalid {name}", name, pc.fill_null(invalid, True)),
    ]
    return checks, parsed


def _amount_checks(columns, name: str) -> list[Check]:
    column = columns[name]
    malformed = pc.invert(_matches(column, NUMBER_RE))
    # Scientific notation can write numbers the store cannot hold: range-check them as floats.
    as_float = pc.cast(pc.if_else(malformed, "0", column), pa.float64())
    huge = pc.greater_equal(pc.abs(as_float), AMOUNT_LIMIT)
    # What _decimal() cannot cut to 38 digits (an exponent form with a longer mantissa) would
    # be parsed wrongly: refuse it rather than store a wrong amount.
    mantissa = pc.replace_substring_regex(_cut_places(column), r"[eE].*$", "")
    digits = pc.utf8_length(pc.replace_substring_regex(mantissa, r"[^0-9]", ""))
    too_precise = pc.fill_null(pc.greater(digits, DECIMAL_DIGITS), False)
    return [
        (f"missing {name}", name, pc.is_null(column)),
        (f"malformed {name}", name, malformed),
        (f"{name} out of range", name, huge),
        (f"{name} has more than {DECIMAL_DIGITS} digits", name, too_precise),
    ]


# pyarrow parses a decimal string at the string's own precision before rescaling it, and with
# safe=False a string of more than 38 significant digits wraps around silently:
# "1.0000000000000000000000000000000000000000" became 0.0131811359, "-0.999...9" (39 nines)
# +0.0208471008. Digits beyond the 12th place are dropped anyway, so they are cut from the
# text first (plain notation; leading zeros are harmless), which leaves at most 14 + 12 digits
# for any amount in range.
DECIMAL_DIGITS = 38
BEYOND_12_PLACES = r"^([+-]?\d*\.\d{12})\d+$"


def _cut_places(column) -> pa.Array:
    column = pc.replace_substring_regex(column, BEYOND_12_PLACES, r"\1")
    # Leading zeros count as digits for the parser's precision too.
    return pc.replace_substring_regex(column, r"^([+-]?)0+(\d)", r"\1\2")


def _decimal(column) -> pa.Array:
    """The amounts at 12 places, digits beyond them dropped (the regex vouched for the rest)."""
    # The same wrap-around hits tiny exponent forms: "4.851243698375387e-65" (a float printed
    # by some exporter) became 70.3078796866. Below 1E-12 the amount is 0 at 12 places anyway.
    tiny = pc.less(pc.abs(pc.cast(column, pa.float64())), 1e-12)
    return pc.cast(pc.if_else(tiny, "0", _cut_places(column)), AMOUNT_TYPE, safe=False)


def _currency_checks(columns) -> list[Check]:
    name = "BillingCurrency"
    (invalid,) = _spread(columns[name], lambda values: [pc.invert(_matches(values, CURRENCY_RE))])
    return [
        (f"missing {name}", name, pc.is_null(columns[name])),
        (f"invalid {name}", name, pc.fill_null(invalid, True)),
    ]


def _validate(columns: dict[str, pa.Array]) -> tuple[list[Check], dict[str, pa.Array]]:
    """Every check, in the order reasons are given (a row gets the first reason it fails),
    and the parsed dates."""
    checks: list[Check] = []
    for name in ("SubAccountId", "ServiceName", "ProviderName"):
        checks += _text_checks(columns, name, required=True)
    dates = {}
    for name in ("ChargePeriodStart", "BillingPeriodStart"):
        date_checks, dates[name] = _date_checks(columns, name)
        checks += date_checks
    checks += _amount_checks(columns, "BilledCost") + _amount_checks(columns, "EffectiveCost")
    checks += _currency_checks(columns)
    for name in ("RegionId", "ChargeCategory"):
        checks += _text_checks(columns, name, required=False)
    limit = MAX_LENGTHS["ResourceId"]
    too_long = _too_long(columns["ResourceId"], limit)
    checks.append((f"ResourceId longer than {limit} characters", "ResourceId", too_long))
    nul = _has_nul(columns["ResourceId"])
    checks.append(("ResourceId contains a NUL character", "ResourceId", nul))
    return checks, dates


@dataclass
class Tally:
    """What happened to the rows: read, skipped (other sub-accounts), rejected and why."""

    rows_read: int = 0
    rows_skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.reasons.values())

    def reject(self, reason: str, count: int, examples: list[dict]) -> None:
        self.reasons[reason] += count
        # Malformed CSV lines may have no known row number: they come last.
        self.samples = sorted(
            self.samples + examples, key=lambda s: (s["row"] is None, s["row"] or 0)
        )
        del self.samples[REJECT_SAMPLE_LIMIT:]


def _sample_value(value):
    if isinstance(value, str):
        value = _storable(value)  # kept in a JSON column: jsonb refuses \u0000
        if len(value) > 200:
            return value[:200] + "..."
    return value


def _clean_chunk(
    table: pa.Table, first_row: int, tally: Tally, account_id: str | None, tags: TagNumbers
) -> pa.Table:
    """The usable rows of TABLE as store fields; the others counted in TALLY."""
    positions = None
    if account_id is not None:
        keep = pc.fill_null(pc.equal(table["SubAccountId"], account_id), False)
        positions = pc.indices_nonzero(keep)
        tally.rows_skipped += table.num_rows - len(positions)
        table = table.filter(keep)
    columns = {name: _array(table[name]) for name in COLUMNS}
    checks, dates = _validate(columns)
    rejected = None
    for reason, column, mask in checks:
        bad = mask if rejected is None else pc.and_not(mask, rejected)
        count = pc.sum(bad).as_py() or 0
        if count:
            rejected = bad if rejected is None else pc.or_(rejected, bad)
            examples = _examples(reason, columns[column], bad, first_row, positions)
            tally.reject(reason, count, examples)
    if rejected is not None:
        keep = pc.invert(rejected)
        columns = {name: column.filter(keep) for name, column in columns.items()}
        dates = {name: column.filter(keep) for name, column in dates.items()}
    return _store_fields(columns, dates, tags)


def _array(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _examples(reason: str, column, bad, first_row: int, positions) -> list[dict]:
    where = pc.indices_nonzero(bad)[:REJECT_SAMPLE_LIMIT]
    rows = where if positions is None else positions.take(where)
    values = column.take(where).to_pylist()
    return [
        {"row": first_row + row, "reason": reason, "value": _sample_value(value)}
        for row, value in zip(rows.to_pylist(), values, strict=True)
    ]


def _store_fields(columns, dates, tags: TagNumbers) -> pa.Table:
    def text(name):
        return pc.fill_null(columns[name], "")

    return pa.table(
        {
            "provider": columns["ProviderName"],
            "sub_account_id": columns["SubAccountId"],
            "usage_date": dates["ChargePeriodStart"],
            "service": columns["ServiceName"],
            "region": text("RegionId"),
            "resource_id": text("ResourceId"),
            "charge_category": text("ChargeCategory"),
            "currency": columns["BillingCurrency"],
            "billing_period": dates["BillingPeriodStart"],
            "billed": _decimal(columns["BilledCost"]),
            "effective": _decimal(columns["EffectiveCost"]),
            "tag_id": tags.number(columns["Tags"]),
            "sub_account_name": columns["SubAccountName"],
        }
    )


class TagNumbers:
    """Numbers for the distinct Tags values that are JSON objects (others get none).

    Daily groups keep their first Tags object; grouping carries a small integer instead of
    the JSON text, which is several times cheaper, and each distinct text is parsed once.
    """

    def __init__(self):
        self._numbers: dict[str, int | None] = {}
        self.texts: list[str] = []
        self.objects: list[dict] = []

    def number(self, tags: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(tags)
        numbers = pa.array([self._number(t) for t in encoded.dictionary.to_pylist()], pa.int32())
        return pc.take(numbers, encoded.indices)

    def _number(self, text: str) -> int | None:
        if text not in self._numbers:
            try:
                value = json.loads(text)
                # jsonb refuses \u0000 and lone surrogates ("\ud800"), which json accepts:
                # one such Tags value failed the whole import on PostgreSQL. Ignore it.
                if "\\u0000" in json.dumps(value):
                    value = None
                else:
                    json.dumps(value, ensure_ascii=False).encode("utf-8")
            except (ValueError, RecursionError):
                value = None
            self._numbers[text] = len(self.objects) if isinstance(value, dict) else None
            if isinstance(value, dict):
                self.texts.append(text)
                self.objects.append(value)
        return self._numbers[text]


# --- Aggregation -----------------------------------------------------------------------------

NATURAL_KEY = list(KEY_COLUMNS)
# Currency and period ride along in the key while reading (cheaper than min/max aggregates);
# the final pass folds them into the natural key.
CHUNK_KEY = [*NATURAL_KEY, "currency", "billing_period"]
SUMS = [("billed", "sum"), ("effective", "sum"), ("tag_id", "first")]
FINAL = [
    *SUMS,
    ("currency", "min"),
    ("currency", "max"),
    ("billing_period", "min"),
]
SCOPE_KEY = ["billing_period", "provider", "sub_account_id"]


def _aggregate(table: pa.Table, keys, aggregates) -> pa.Table:
    # Single-threaded grouping keeps the order of rows, which "first" (the Tags) relies on;
    # re-aggregating partial results this way equals aggregating the rows at once.
    grouped = table.group_by(keys, use_threads=False).aggregate(aggregates)
    names = {f"{c}_{f}": c for c, f in aggregates if (c, f) in SUMS}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


class DailyTotals:
    """Daily groups of the rows added so far. Per-chunk results are merged whenever they
    outgrow the merged ones, so memory follows the number of groups, not of rows."""

    def __init__(self):
        self._merged: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        # (billing period, provider, sub-account) -> its first SubAccountName
        self.scopes: dict[tuple, str | None] = {}

    def add(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        self._pending.append(_aggregate(rows, CHUNK_KEY, SUMS))
        self._pending_rows += self._pending[-1].num_rows
        for scope in _aggregate(rows, SCOPE_KEY, [("sub_account_name", "first")]).to_pylist():
            key = tuple(scope[k] for k in SCOPE_KEY)
            if self.scopes.get(key) is None:
                self.scopes[key] = scope["sub_account_name_first"]
        merged_rows = self._merged.num_rows if self._merged is not None else 0
        if self._pending_rows > max(CHUNK_ROWS, merged_rows):
            self._merge()

    def _merge(self) -> None:
        parts = ([self._merged] if self._merged is not None else []) + self._pending
        if parts:
            self._merged = _aggregate(pa.concat_tables(parts), CHUNK_KEY, SUMS)
        self._pending, self._pending_rows = [], 0

    def groups(self) -> pa.Table | None:
        """One row per natural key, with its currency (min and max) and billing period."""
        self._merge()
        if self._merged is None:
            return None
        return _aggregate(self._merged, NATURAL_KEY, FINAL)


# --- Writing ---------------------------------------------------------------------------------


def _records(groups: pa.Table, billing_import: BillingImport, accounts, tags: TagNumbers):
    """The CostRecord rows for GROUPS, one per group and metric, as an Arrow table named
    after the model's fields."""
    mixed = pc.not_equal(groups["currency_min"], groups["currency_max"])
    if pc.any(mixed).as_py():
        example = groups.filter(mixed).slice(0, 1).to_pylist()[0]
        raise ImportFailed(
            "rows of one daily group are billed in different currencies "
            f"({example['currency_min']} and {example['currency_max']}: "
            f"{example['provider']} {example['sub_account_id']} {example['service']} "
            f"on {example['usage_date']}); import each currency separately"
        )
    account = pc.if_else(
        pc.equal(groups["provider"], "AWS"),
        pc.take(
            pa.array(list(accounts.values()), pa.int64()),
            pc.index_in(groups["sub_account_id"], pa.array(list(accounts), pa.string())),
        ),
        pa.scalar(None, pa.int64()),
    )

    def constant(value, type_):
        return pa.repeat(pa.scalar(value, type_), groups.num_rows)

    tables = []
    for metric, column in ((CostMetric.BILLED, "billed"), (CostMetric.EFFECTIVE, "effective")):
        rounded = pc.round(groups[column], ndigits=10, round_mode="half_towards_infinity")
        amount = pc.cast(rounded, STORED_AMOUNT_TYPE)
        if pc.any(pc.greater_equal(pc.abs(pc.cast(amount, pa.float64())), AMOUNT_LIMIT)).as_py():
            raise ImportFailed(f"a daily {column} total exceeds what the cost store can hold")
        tables.append(
            pa.table(
                {
                    "organization": constant(billing_import.organization_id, pa.int64()),
                    "account": account,
                    "source": constant(CostSource.FOCUS.value, pa.string()),
                    "metric": constant(metric.value, pa.string()),
                    "provider": groups["provider"],
                    "sub_account_id": groups["sub_account_id"],
                    "usage_date": groups["usage_date"],
                    "service": groups["service"],
                    "region": groups["region"],
                    "resource_id": groups["resource_id"],
                    "usage_type": constant("", pa.string()),
                    "charge_category": groups["charge_category"],
                    "amount": amount,
                    "currency": groups["currency_min"],
                    "estimated": constant(False, pa.bool_()),
                    "billing_import": constant(billing_import.pk, pa.int64()),
                    "billing_period": groups["billing_period_min"],
                    "tags": pc.take(pa.array(tags.texts, pa.string()), groups["tag_id"]),
                }
            )
        )
    return pa.concat_tables(tables)


def _copy_records(records: pa.Table) -> None:
    """PostgreSQL: stream the records through COPY, formatted as CSV by pyarrow."""
    meta = CostRecord._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in records.column_names)
    statement = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN (FORMAT csv)"
    # Quoting every non-null value keeps "" (an empty region) apart from NULL (no account).
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    # psycopg raises its own errors from inside COPY; Django's wrapper makes them DatabaseError.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for batch in records.to_batches(max_chunksize=CHUNK_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())


def _create_records(records: pa.Table, tags: TagNumbers) -> None:
    """Any other database: bulk_create in batches."""
    objects_by_text = dict(zip(tags.texts, tags.objects, strict=True))
    foreign_keys = ("organization", "account", "billing_import")
    for batch in records.to_batches(max_chunksize=5_000):
        objects = []
        for row in batch.to_pylist():
            row.update({f"{name}_id": row.pop(name) for name in foreign_keys})
            row["tags"] = objects_by_text.get(row["tags"])
            objects.append(CostRecord(**row))
        CostRecord.objects.bulk_create(objects)


def _replace(organization: Organization, scopes, records: pa.Table, tags: TagNumbers) -> int:
    """Delete the stored records of SCOPES and write RECORDS; returns the records deleted.

    Run inside the caller's transaction.
    """
    # One import per organisation at a time: two imports of one period must not interleave.
    Organization.objects.select_for_update().get(pk=organization.pk)
    by_period: dict[tuple, list[str]] = {}
    for period, provider, sub_account in scopes:
        by_period.setdefault((period, provider), []).append(sub_account)
    replaced = 0
    if by_period:
        scope = functools.reduce(
            operator.or_,
            (
                Q(billing_period=period, provider=provider, sub_account_id__in=sub_accounts)
                for (period, provider), sub_accounts in by_period.items()
            ),
        )
        stored = CostRecord.objects.filter(organization=organization, source=CostSource.FOCUS)
        replaced = stored.filter(scope).delete()[0]
    if records.num_rows:
        if connection.vendor == "postgresql":
            _copy_records(records)
        else:
            _create_records(records, tags)
    _refresh_rollups(organization, by_period, records)
    return replaced


def _next_month(day: date) -> date:
    # A (nonsensical, but valid) period of December 9999 has no next month: OverflowError.
    if (day.year, day.month) == (date.max.year, 12):
        return date.max
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _refresh_rollups(organization: Organization, by_period: dict, records: pa.Table) -> None:
    """Rollups of every day the import replaced or wrote."""
    starts = [period for period, _ in by_period if period]
    ends = [_next_month(period) for period in starts]
    if records.num_rows:
        low, high = pc.min_max(records.column("usage_date")).values()
        starts.append(low.as_py())
        ends.append(high.as_py())
    if starts:
        rollup.refresh(organization, min(starts), max(ends))


# --- The import ------------------------------------------------------------------------------


def _connected_accounts(organization: Organization) -> dict[str, int]:
    return dict(
        CloudAccount.objects.filter(organization=organization).values_list("account_id", "pk")
    )


def _check_columns(source: Source) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in source.columns]
    if missing:
        raise ImportFailed(
            f"the file lacks required FOCUS column(s): {', '.join(missing)} "
            f"(found: {', '.join(source.columns[:50]) or 'no header'})"
        )


def _read(
    source: Source, tally: Tally, tags: TagNumbers, account_id: str | None, progress
) -> DailyTotals:
    totals = DailyTotals()
    for chunk in source.chunks():
        first_row = tally.rows_read + 1
        tally.rows_read += chunk.num_rows
        totals.add(_clean_chunk(_as_strings(chunk), first_row, tally, account_id, tags))
        if progress is not None:
            progress(source.position(), source.total, source.unit)
    _count_invalid_rows(source, tally)
    return totals


def _count_invalid_rows(source: Source, tally: Tally) -> None:
    if not source.invalid_rows:
        return
    tally.rows_read += len(source.invalid_rows)
    examples = []
    for row in source.invalid_rows[:REJECT_SAMPLE_LIMIT]:
        examples.append(
            {
                "row": row.number,
                "reason": "malformed CSV row",
                "value": _sample_value(
                    f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text}"
                ),
            }
        )
    tally.reject("malformed CSV row", len(source.invalid_rows), examples)


def import_billing(
    uri: str,
    organization: Organization,
    account_id: str | None = None,
    progress: Progress | None = None,
) -> BillingImport:
    """Import the FOCUS file at URI (path or s3://bucket/key) for ORGANIZATION.

    Only rows of sub-account ACCOUNT_ID when given. PROGRESS, if given, is called after each
    chunk with (done, total or None, unit). Returns the succeeded BillingImport (with a
    `rows_skipped` attribute); raises ImportFailed, after recording the failure, when the file
    cannot be imported.
    """
    billing_import = BillingImport.objects.create(organization=organization, uri=uri)
    tally = Tally()
    try:
        _run(billing_import, tally, account_id, progress)
    except ImportFailed as exc:
        _finish_failed(billing_import, tally, exc.message)
        raise ImportFailed(exc.message, billing_import) from exc
    except Exception as exc:
        logger.exception("Import %s of %s failed unexpectedly", billing_import.pk, uri)
        _finish_failed(billing_import, tally, f"unexpected error: {exc!r}")
        raise
    billing_import.rows_skipped = tally.rows_skipped
    return billing_import


def _run(billing_import: BillingImport, tally: Tally, account_id, progress) -> None:
    tags = TagNumbers()
    with open_source(billing_import.uri) as source:
        billing_import.file_format = source.file_format
        _check_columns(source)
        totals = _read(source, tally, tags, account_id, progress)
    groups = totals.groups()
    organization = billing_import.organization
    if groups is None:
        records = pa.table({})
    else:
        records = _records(groups, billing_import, _connected_accounts(organization), tags)
    try:
        with transaction.atomic():
            replaced = _replace(organization, totals.scopes, records, tags)
            _record_outcome(billing_import, tally, totals, records.num_rows, replaced)
    except DatabaseError as exc:
        raise ImportFailed(_database_message(exc)) from exc


def _database_message(exc: DatabaseError) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    if isinstance(exc, IntegrityError):
        return (
            "the file has daily records that already exist under another billing period "
            f"(a charge reported again in a later period?); nothing was changed: {text}"
        )
    if "numeric field overflow" in text:
        # Each daily record was range-checked, but the day's rollup (all services, regions or
        # sub-accounts of the organisation added up) can still outgrow numeric(24, 10).
        return (
            "a day's total across the organisation's records exceeds what the cost store can "
            f"hold (10^14); nothing was changed: {text}"
        )
    return f"the database refused the records; nothing was changed: {text}"


def _record_outcome(billing_import, tally: Tally, totals: DailyTotals, written, replaced):
    billing_import.status = BillingImport.Status.SUCCEEDED
    billing_import.finished_at = timezone.now()
    _copy_tally(billing_import, tally)
    billing_import.records_written = written
    billing_import.records_replaced = replaced
    billing_import.billing_periods = sorted({p.isoformat() for p, _, _ in totals.scopes})
    sub_accounts = {}
    for (_, provider, sub_account), name in totals.scopes.items():
        if sub_accounts.get((provider, sub_account)) is None:
            sub_accounts[(provider, sub_account)] = name and _storable(name)
    billing_import.sub_accounts = [
        {"provider": provider, "id": sub_account, "name": name}
        for (provider, sub_account), name in sorted(sub_accounts.items())
    ]
    billing_import.save()


def _copy_tally(billing_import: BillingImport, tally: Tally) -> None:
    billing_import.rows_read = tally.rows_read
    billing_import.rows_rejected = tally.rows_rejected
    billing_import.rejects = tally.samples
    billing_import.reject_reasons = dict(tally.reasons.most_common())


def _finish_failed(billing_import: BillingImport, tally: Tally, message: str) -> None:
    billing_import.status = BillingImport.Status.FAILED
    billing_import.finished_at = timezone.now()
    billing_import.error = message
    _copy_tally(billing_import, tally)
    billing_import.records_written = 0
    billing_import.records_replaced = 0
    # Nothing was imported; and if saving these is what the database refused, this save must
    # not fail the same way.
    billing_import.billing_periods, billing_import.sub_accounts = [], []
    billing_import.save()


def summary(billing_import: BillingImport, account_id: str | None = None) -> str:
    """A few human lines about an import, for the command and the logs."""
    lines = [
        f"Import {billing_import.pk} of {billing_import.uri} ({billing_import.file_format}): "
        f"{billing_import.status}",
        f"  rows read: {billing_import.rows_read:,}, rejected: {billing_import.rows_rejected:,}",
    ]
    skipped = getattr(billing_import, "rows_skipped", 0)
    if account_id is not None:
        lines.append(f"  only sub-account {account_id}: {skipped:,} rows of others skipped")
    if billing_import.rows_rejected:
        lines.append("  top reject reasons:")
        for reason, count in list(billing_import.reject_reasons.items())[:5]:
            lines.append(f"    {count:,} {reason}")
        lines.append("  first rejected rows:")
        for sample in billing_import.rejects[:5]:
            row = sample["row"] if sample["row"] is not None else "?"
            lines.append(f"    row {row}: {sample['reason']} ({sample['value']!r})")
    lines.append(
        f"  records written: {billing_import.records_written:,}, "
        f"replaced: {billing_import.records_replaced:,}"
    )
    lines.append(f"  billing periods: {', '.join(billing_import.billing_periods) or 'none'}")
    providers = Counter(s["provider"] for s in billing_import.sub_accounts)
    detail = ", ".join(f"{p} {n}" for p, n in sorted(providers.items()))
    lines.append(
        f"  sub-accounts: {len(billing_import.sub_accounts)}" + (f" ({detail})" if detail else "")
    )
    if billing_import.error:
        lines.append(f"  error: {billing_import.error}")
    return "\n".join(lines)
