"""What an athena:// URI names, and the table it names as the Glue catalog describes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from costs.ingest.focus.columns import REQUIRED_COLUMNS
from costs.ingest.focus.errors import ImportFailed

from . import cur2
from .sql import PARTITION_COLUMN, READ_COLUMNS, Table

SCHEME = "athena://"
FORMAT = "athena://WORKGROUP/DATABASE.TABLE?period=YYYY-MM[&region=REGION]"
# Athena's own limits for workgroup names; Glue's names (lower-cased by Glue) for the rest.
# Anything else is refused before it gets near a query, so no URI can inject SQL.
WORKGROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True)
class Target:
    workgroup: str
    database: str
    table: str
    period: str  # YYYY-MM
    region: str | None = None


def is_athena(uri: str) -> bool:
    return uri.lower().startswith(SCHEME)


def parse(uri: str) -> Target:
    """The parts of URI, each checked; ImportFailed says what is wrong and the right form."""

    def refuse(problem: str) -> ImportFailed:
        return ImportFailed(f"{uri!r} is not a valid Athena URI: {problem} (expected {FORMAT})")

    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise refuse(str(exc)) from exc
    if parts.scheme.lower() != "athena":
        raise refuse("the scheme must be athena://")
    if parts.fragment or parts.username or parts.password or parts.port:
        raise refuse("unexpected user, port or #fragment")
    workgroup = parts.netloc
    if not WORKGROUP_RE.match(workgroup):
        raise refuse(f"bad workgroup name {workgroup!r}")
    database, dot, table = parts.path.removeprefix("/").partition(".")
    if not dot or not NAME_RE.match(database) or not NAME_RE.match(table):
        raise refuse(f"bad DATABASE.TABLE {parts.path.removeprefix('/')!r}")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise refuse(f"bad query string: {exc}") from exc
    unknown = set(query) - {"period", "region"}
    if unknown:
        raise refuse(f"unknown parameter(s) {', '.join(sorted(unknown))}")
    if any(len(values) > 1 for values in query.values()):
        raise refuse("a parameter is given twice")
    period = query.get("period", [""])[0]
    if not PERIOD_RE.match(period) or period < "0001-01":
        raise refuse(f"period must be YYYY-MM, got {period!r}")
    region = query.get("region", [None])[0]
    if region is not None and not REGION_RE.match(region):
        raise refuse(f"bad region {region!r}")
    return Target(workgroup, database.lower(), table.lower(), period, region)


def aws_error(action: str, exc: Exception) -> ImportFailed:
    """A clear ImportFailed for a boto3 error while doing ACTION."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", str(exc))
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            return ImportFailed(
                f"access denied to {action}: {message}. The platform role needs the "
                "permissions listed in the README (Importing from Athena)"
            )
        return ImportFailed(f"cannot {action}: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return ImportFailed(f"cannot {action}: {exc}")
    raise exc


def describe(glue, target: Target) -> Table:
    """The table as Glue describes it, checked for FOCUS's required columns up front."""
    try:
        response = glue.get_table(DatabaseName=target.database, Name=target.table)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            raise ImportFailed(
                f"the Glue catalog has no table {target.database}.{target.table} "
                f"({exc.response['Error'].get('Message', '')})"
            ) from exc
        raise aws_error(f"read the table {target.database}.{target.table} from Glue", exc) from exc
    except BotoCoreError as exc:
        raise aws_error("read the table from Glue", exc) from exc
    glue_table = response["Table"]
    found = {
        c["Name"].lower(): (c["Name"], c.get("Type", "string"))
        for c in glue_table.get("StorageDescriptor", {}).get("Columns", [])
    }
    partitions = {c["Name"].lower() for c in glue_table.get("PartitionKeys", [])}
    partitioned = PARTITION_COLUMN in partitions
    # Glue lower-cases column names: BilledCost is billedcost there.
    columns = {c: found[c.lower()] for c in READ_COLUMNS if c.lower() in found}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if not missing:
        return Table(target.database, target.table, columns, partitioned)
    if cur2.is_cur2(found):
        expressions = cur2.expressions(found)
        return Table(target.database, target.table, {}, partitioned, expressions, "CUR 2.0")
    names = [name for name, _ in found.values()]
    cur_missing = [c for c in cur2.REQUIRED if c not in found]
    raise ImportFailed(
        f"the table {target.database}.{target.table} is neither a FOCUS 1.0 export (it lacks "
        f"{', '.join(missing)}) nor a CUR 2.0 one (it lacks {', '.join(cur_missing)}) "
        f"(found: {', '.join(names[:50]) or 'no columns'})"
    )
