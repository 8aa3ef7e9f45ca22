"""Benchmark: `manage.py import_billing` against PostgreSQL's own COPY of the same FOCUS file.

Derives a 1,000,000-row FOCUS 1.0 CSV from the real sample (every sample row replicated, its
charge hour moved within its billing period and its amounts scaled, all deterministically),
then times on PostgreSQL:

(a) COPY of the file into a table with one text column per CSV column, streamed through
    psycopg (what psql's \\copy does): the floor for "getting this file into the database";
(b) `manage.py import_billing FILE --org bench` as a subprocess: validation, daily
    aggregation and the replacement of the billing period included.

Targets: import wall <= 1.0x the raw COPY, import peak RSS <= 512 MB.
Run: .venv/bin/python bench/focus_import.py [--rows N]   (or `make bench` for all benchmarks)
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from _machine import describe
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "focus" / "focus_sample.csv"
OUT = ROOT / "bench" / "out"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/spendlens_bench"
DEFAULT_ROWS = 1_000_000
ORG_SLUG = "bench"
RAW_TABLE = "bench_focus_raw"
# Bumped whenever the generator changes, so a stale file in bench/out/ is never reused.
GENERATOR_VERSION = 1

TARGET_RATIO = 1.0
TARGET_RSS_MB = 512

# Columns scaled per replica, so that amounts differ while staying consistent with each other.
AMOUNT_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
AMOUNT_FACTORS = tuple(Decimal(f) for f in ("1", "1.1", "0.9", "1.25", "0.75", "1.5", "0.5"))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
RAW_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,"\r\n]*')


# --- The data set ----------------------------------------------------------------------------


def raw_fields(line: str) -> list[str]:
    """Split one CSV line into its fields as written, quotes included (the sample's own style:
    bare NULL and numbers, quoted strings), so replicas look exactly like the original."""
    fields, pos = [], 0
    while True:
        match = RAW_FIELD.match(line, pos)
        fields.append(match.group(0))
        pos = match.end()
        if pos >= len(line):
            return fields
        pos += 1  # the comma


@dataclass
class Template:
    """One sample row, prepared so that a replica costs a few string operations."""

    fields: list[str]
    period_start: datetime
    period_hours: int
    start_offset_hours: int
    duration: timedelta
    amounts: dict[int, list[str]]  # column index -> the value for each factor


def load_templates(header: list[str], lines: list[str]) -> list[Template]:
    col = {name: i for i, name in enumerate(header)}
    templates = []
    for line, row in zip(lines, csv.reader(lines), strict=True):
        fields = raw_fields(line)
        if len(fields) != len(header):
            raise ValueError(f"cannot replicate a sample row with embedded newlines: {line[:80]}")
        period_start = datetime.strptime(row[col["BillingPeriodStart"]], TIME_FORMAT)
        period_end = datetime.strptime(row[col["BillingPeriodEnd"]], TIME_FORMAT)
        start = datetime.strptime(row[col["ChargePeriodStart"]], TIME_FORMAT)
        end = datetime.strptime(row[col["ChargePeriodEnd"]], TIME_FORMAT)
        amounts = {}
        for name in AMOUNT_COLUMNS:
            value = row[col[name]]
            if value != "NULL":
                amounts[col[name]] = [f"{Decimal(value) * f:.11f}" for f in AMOUNT_FACTORS]
        templates.append(
            Template(
                fields=fields,
                period_start=period_start,
                period_hours=int((period_end - period_start).total_seconds() // 3600),
                start_offset_hours=int((start - period_start).total_seconds() // 3600),
                duration=end - start,
                amounts=amounts,
            )
        )
    return templates


def generate(path: Path, rows: int) -> None:
    """Write ROWS FOCUS rows derived from the sample to PATH (deterministic)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    header = next(csv.reader(lines[:1]))
    col = {name: i for i, name in enumerate(header)}
    templates = load_templates(header, lines[1:])
    i_start, i_end, i_id = col["ChargePeriodStart"], col["ChargePeriodEnd"], col["Id"]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write(lines[0] + "\n")
        for n in range(rows):
            replica, t = divmod(n, len(templates))
            template = templates[t]
            fields = list(template.fields)
            # A prime stride spreads each template's replicas over every hour of its period.
            hour = (template.start_offset_hours + replica * 37) % template.period_hours
            start = template.period_start + timedelta(hours=hour)
            fields[i_start] = f'"{start:{TIME_FORMAT}}"'
            fields[i_end] = f'"{start + template.duration:{TIME_FORMAT}}"'
            fields[i_id] = str(n + 1)
            factor = replica % len(AMOUNT_FACTORS)
            for index, values in template.amounts.items():
                fields[index] = values[factor]
            out.write(",".join(fields) + "\n")
    tmp.replace(path)


def data_file(rows: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"focus_{rows}_v{GENERATOR_VERSION}.csv"
    if not path.exists():
        started = time.perf_counter()
        print(f"generating {path.relative_to(ROOT)} ...", flush=True)
        generate(path, rows)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return path


# --- The database ----------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info["dbname"]
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(url: str, *args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def django_env(url: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=url)
    # The bench process is not a deployment: give Django a throwaway key if none is set.
    env.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    return env


def prepare_django(url: str) -> None:
    env = django_env(url)
    subprocess.run(manage(url, "migrate", "--verbosity", "0"), env=env, check=True, cwd=ROOT)
    create_org = (
        "from accounts.models import Organization;"
        f"Organization.objects.get_or_create(slug={ORG_SLUG!r}, defaults={{'name': 'Bench'}})"
    )
    subprocess.run(manage(url, "shell", "-v", "0", "-c", create_org), env=env, check=True, cwd=ROOT)


# --- The two measurements --------------------------------------------------------------------


@dataclass
class Timing:
    wall: float
    rows: int
    peak_rss_mb: float | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall


def warm_page_cache(path: Path) -> None:
    """Read the file once, so that neither measurement pays for the first read from disk."""
    with path.open("rb") as f:
        while f.read(8 << 20):
            pass


def checkpoint(url: str) -> None:
    """Flush dirty pages now, so one measurement does not pay for the other's writes (the
    COPY leaves ~1 GB of WAL behind, which would otherwise be checkpointed during the import)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        print("note: no privilege for CHECKPOINT; timings may include the other's writes")


def raw_copy(url: str, path: Path, rows: int) -> Timing:
    """PostgreSQL's COPY of the whole file into text columns, streamed like psql's \\copy."""
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in header)
    copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true, NULL 'NULL')").format(
        sql.Identifier(RAW_TABLE)
    )
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(RAW_TABLE)))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(RAW_TABLE), columns))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(copy) as pipe, path.open("rb") as f:
            while chunk := f.read(1 << 20):
                pipe.write(chunk)
        conn.commit()
        wall = time.perf_counter() - started
        copied = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(RAW_TABLE)))
        count = copied.fetchone()[0]
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(RAW_TABLE)))
        conn.commit()
    if count != rows:
        raise RuntimeError(f"COPY loaded {count} rows, expected {rows}")
    return Timing(wall=wall, rows=rows)


def run_import(url: str, path: Path, rows: int, org: str = ORG_SLUG) -> tuple[Timing, str, str]:
    """Time `manage.py import_billing` as a subprocess; also return its output and command."""
    command = manage(url, "import_billing", str(path), "--org", org, "--quiet")
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=django_env(url), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        # wait4 gives this child's own peak RSS, whatever ran before it.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"import_billing failed ({process.returncode}):\n{output}")
    # ru_maxrss is in kilobytes on Linux.
    timing = Timing(wall=wall, rows=rows, peak_rss_mb=usage.ru_maxrss / 1024)
    return timing, output, " ".join(command)


def children_peak_rss_mb() -> float:
    """getrusage(RUSAGE_CHILDREN): the largest peak RSS of any child waited for so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --- Report ----------------------------------------------------------------------------------


def machine() -> str:
    return describe()


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args(argv if argv is not None else [])
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)

    print("== FOCUS import vs PostgreSQL COPY ==")
    print(f"machine: {machine()}")
    path = data_file(args.rows)
    size_mb = path.stat().st_size / 2**20
    print(f"file: {path.relative_to(ROOT)} ({args.rows:,} rows, {size_mb:,.0f} MiB)")
    ensure_database(url)
    prepare_django(url)
    print(f"database: {url} (PostgreSQL {server_version(url)})")

    warm_page_cache(path)
    checkpoint(url)
    copy = raw_copy(url, path, args.rows)
    checkpoint(url)
    imported, summary, command = run_import(url, path, args.rows)
    ratio = imported.wall / copy.wall
    print(f"command: DATABASE_URL={url} {command}")
    print(summary.rstrip())
    print(f"(a) COPY   : {copy.wall:7.2f} s  {copy.rows_per_second:12,.0f} rows/s")
    print(f"(b) import : {imported.wall:7.2f} s  {imported.rows_per_second:12,.0f} rows/s")
    print(f"import / COPY wall: {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x)")
    print(
        f"import peak RSS: {imported.peak_rss_mb:,.0f} MB (target <= {TARGET_RSS_MB} MB; "
        f"RUSAGE_CHILDREN max over every child so far: {children_peak_rss_mb():,.0f} MB)"
    )
    met = ratio <= TARGET_RATIO and imported.peak_rss_mb <= TARGET_RSS_MB
    print("targets: " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    main(sys.argv[1:])
