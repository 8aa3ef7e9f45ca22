"""Per-API token buckets in the database, shared by every worker process (AWS_API_RATE_LIMITS).

AWS throttles each API per calling account (and per region for regional services): a
thousand accounts' inventories fanned out over many workers must never add up to more calls
per second on one API than its limit, and the platform's own account (every AssumeRole comes
from it) sees the sum of all of them. So every boto3 client built by accounts/aws.py takes a
token before each HTTP attempt (botocore's before-send, so throttled retries pay too) from the
bucket of its key:

    <limit name>@<calling account>[/<region>]     e.g. ec2.read@111111111111/us-east-1
                                                       sts@platform, ce@222222222222

The limit name is the most specific entry of AWS_API_RATE_LIMITS for the call (`ec2.read`,
else `ec2`, else the service under `*`'s rate); the calling account is the assumed role's
account, or `platform` for Spendlens's own identity; global services (Cost Explorer, STS,
Organizations...) drop the region.

A bucket is one row (ApiRateBucket). Taking a token is one UPDATE ... RETURNING that refills
the bucket by the time elapsed on the database's clock and takes a token, possibly one not yet
refilled (the count goes negative): the row lock makes the statements of concurrent processes
run one after another, so no two ever get the same token, and each caller learns from its own
result how long to sleep until its token is due. One statement per call and one sleep, no
polling. A call that would wait longer than AWS_API_RATE_MAX_WAIT gives its token back and
fails with RateLimitTimeout (a BotoCoreError, so the callers record it like a timeout).

Inside a transaction the bucket's row stays locked until that transaction ends: the stages
call AWS before they open theirs (fetch first, write last), which keeps the lock to one
statement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

PLATFORM = "platform"
READ_PREFIXES = ("Describe", "Get", "List", "Lookup", "Search", "BatchGet")
# Throttled per account, whatever the region (one endpoint, or one quota behind several).
GLOBAL_SERVICES = frozenset(
    {"ce", "sts", "organizations", "pricing", "iam", "savingsplans", "budgets", "cur"}
)

TABLE = "accounts_apiratebucket"
_NOW = {
    "postgresql": "EXTRACT(EPOCH FROM statement_timestamp())::float8",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
_LEAST = {"postgresql": "LEAST", "sqlite": "MIN"}
_GREATEST = {"postgresql": "GREATEST", "sqlite": "MAX"}


class RateLimitTimeout(BotoCoreError):
    fmt = (
        "Spendlens's rate limit {key} had no token free within {seconds:g} s "
        "(AWS_API_RATE_MAX_WAIT): too many calls are queued for this API."
    )


@dataclass(frozen=True)
class Grant:
    key: str
    at: float  # when the token is due, on the database's clock (epoch seconds)
    wait: float  # seconds the caller sleeps before its call


def family(operation: str) -> str:
    return "read" if operation.startswith(READ_PREFIXES) else "write"


def limit_for(service: str, operation: str, limits=None) -> tuple[str, float, int] | None:
    """(bucket name, rate per second, burst) of a call, or None when it is not limited."""
    limits = settings.AWS_API_RATE_LIMITS if limits is None else limits
    for name in (f"{service}.{family(operation)}", service, "*"):
        if name in limits:
            rate, burst = limits[name]
            # Services under `*` each get a bucket of their own at its rate.
            return (service if name == "*" else name), rate, burst
    return None


def bucket_key(name: str, service: str, account: str, region: str | None) -> str:
    scope = account if service in GLOBAL_SERVICES or not region else f"{account}/{region}"
    return f"{name}@{scope}"


def _sql(vendor: str) -> tuple[str, str, str]:
    if vendor not in _NOW:
        raise ImproperlyConfigured(f"AWS rate limits need PostgreSQL or SQLite, not {vendor}.")
    # Only constants of this module are formatted in; the values are parameters.
    now, least, greatest = _NOW[vendor], _LEAST[vendor], _GREATEST[vendor]
    take = (
        f"UPDATE {TABLE} SET tokens = "  # noqa: S608
        f"{least}(%s, tokens + {greatest}(0, {now} - updated_at) * %s) - 1, "
        f'updated_at = {greatest}(updated_at, {now}) WHERE "key" = %s '
        "RETURNING tokens, updated_at"
    )
    create = (
        f'INSERT INTO {TABLE} ("key", tokens, updated_at) VALUES (%s, %s, {now}) '  # noqa: S608
        'ON CONFLICT ("key") DO NOTHING'
    )
    give_back = f'UPDATE {TABLE} SET tokens = tokens + 1 WHERE "key" = %s'  # noqa: S608
    return take, create, give_back


def reserve(key: str, rate: float, burst: int, max_wait: float | None = None) -> Grant:
    """Take KEY's next token: when it is due and how long to wait for it (no sleeping here)."""
    max_wait = settings.AWS_API_RATE_MAX_WAIT if max_wait is None else max_wait
    take, create, give_back = _sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(take, [burst, rate, key])
        row = cursor.fetchone()
        if row is None:  # the key's first call anywhere: a full bucket
            cursor.execute(create, [key, burst])
            cursor.execute(take, [burst, rate, key])
            row = cursor.fetchone()
        tokens, now = row
        wait = -tokens / rate if tokens < 0 else 0.0
        if wait > max_wait:
            cursor.execute(give_back, [key])
            raise RateLimitTimeout(key=key, seconds=max_wait)
    return Grant(key=key, at=now + wait, wait=wait)


def acquire(service: str, operation: str, account: str, region: str | None) -> Grant | None:
    """Block until the call may go (at most AWS_API_RATE_MAX_WAIT); None when not limited."""
    limit = limit_for(service, operation)
    if limit is None:
        return None
    name, rate, burst = limit
    grant = reserve(bucket_key(name, service, account, region), rate, burst)
    if grant.wait > 0:
        time.sleep(grant.wait)
    return grant


def install(client, service: str, account: str) -> None:
    """Make CLIENT take a token before every HTTP attempt (retries included)."""
    if not settings.AWS_API_RATE_LIMITS:
        return
    region = client.meta.region_name

    def before_send(event_name: str, **_) -> None:
        # botocore would take anything returned here for the response: return nothing.
        acquire(service, event_name.rsplit(".", 1)[-1], account, region)

    client.meta.events.register("before-send", before_send)
