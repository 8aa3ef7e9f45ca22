"""Opening a billing file (a local path or s3://) and reading it in chunks.

The format is sniffed from the first bytes rather than trusted from the name: CSV, gzipped
CSV or Parquet. Every source yields Arrow tables of the wanted columns; as_strings() turns
them into the string columns that validation expects, whatever the format.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from accounts import aws

from .columns import COLUMNS
from .errors import ImportFailed

# Rows validated and aggregated together: big enough that pyarrow's per-call overhead vanishes,
# small enough that a chunk's working set stays a few tens of megabytes.
CHUNK_ROWS = 65_536
# pyarrow's CSV reader reads a bounded number of blocks ahead of the parser, so the block size
# bounds the reader's memory (about 32 MiB queued at 1 MiB); a single row must fit in one block.
CSV_BLOCK_BYTES = 1 << 20
HEAD_BYTES = 64 << 10
PARQUET_SPOOL_CHUNK = 8 << 20


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
def open_source(uri: str, wanted: tuple[str, ...] = COLUMNS) -> Iterator[Source]:
    """Open URI, sniff its format from its first bytes and describe it as a Source whose
    chunks hold the WANTED columns the file has (as_strings() adds the others, empty)."""
    with ExitStack() as stack:
        raw, size, path = _open_raw(uri, stack)
        head = _read_head(raw)
        if head.startswith(b"PAR1"):
            yield _parquet_source(uri, head, raw, path, stack, wanted)
        elif head.startswith(b"PK\x03\x04"):
            raise ImportFailed("zip archives are not supported: import the CSV inside it")
        else:
            yield _csv_source(uri, head, raw, size, wanted)


def _csv_source(uri: str, head: bytes, raw: BinaryIO, size: int | None, wanted) -> Source:
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
    present = [c for c in wanted if c in columns]
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


def _parquet_source(
    uri: str, head: bytes, raw: BinaryIO, path: str | None, stack, wanted
) -> Source:
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
    present = [c for c in wanted if c in columns]
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


def as_strings(table: pa.Table) -> pa.Table:
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
