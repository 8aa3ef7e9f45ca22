"""Cost Explorer sync: daily costs per service and region into the cost store.

Cost Explorer bills $0.01 per request, so a sync asks only for what can have changed: the
first run backfills CE_BACKFILL_MONTHS; later runs start at the oldest day still marked
Estimated, or a few trailing days back (late adjustments), whichever is earlier. Every page is
fetched before anything is written, and the reported days are then replaced in one
transaction, so a failure half-way leaves the store exactly as it was.

Requests per sync: 1 + its extra pages for the costs, plus 1 (+ its extra pages) per TagKey of
the organisation. Cost Explorer groups by at most two keys, so each tag key is its own request,
grouped by SERVICE and TAG: TagSpend, the split of a (day, service) by that key's values.
A management account's cost request already spends both group-bys on LINKED_ACCOUNT and
SERVICE; splitting its tag request per linked account would cost a request per account, so its
TagSpend is stored under the management account's own ID (the organisation-wide split of each
service), and the allocation engine matches it only to costs billed to that ID: linked
accounts' Cost Explorer costs reach allocation untagged (their FOCUS export carries the tags).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts import aws
from accounts.connection import describe, error_code
from accounts.models import CloudAccount
from costs import rollup
from costs.models import CostMetric, CostRecord, CostSource, SyncRun, TagKey, TagSpend

logger = logging.getLogger(__name__)

# Metric names in the API -> our metric names.
CE_METRICS = {"UnblendedCost": CostMetric.UNBLENDED, "AmortizedCost": CostMetric.AMORTIZED}
# Tag shares only divide the headline figure (the store's primary explorer metric).
TAG_METRIC = "UnblendedCost"
# Cost Explorer names a TAG group "<key>$<value>"; "<key>$" is the spend without the tag.
TAG_SEPARATOR = "$"
TAG_VALUE_MAX = TagSpend._meta.get_field("tag_value").max_length  # AWS's limit too
MAX_BACKFILL_MONTHS = 13
TRAILING_DAYS = 3
NO_REGION = "NoRegion"  # what Cost Explorer calls global services' region
# Every error a cost sync records on the account starts with this (see CloudAccount.clear_error).
ERROR_PREFIX = "Cost Explorer"


class SyncError(Exception):
    pass


class MalformedAnswer(SyncError):
    """Cost Explorer answered something the sync cannot read: recorded, nothing written."""


@dataclass(frozen=True)
class CostRow:
    sub_account_id: str
    usage_date: date
    service: str
    region: str
    metric: str
    amount: Decimal
    currency: str
    estimated: bool

    def key(self):
        return (self.metric, self.sub_account_id, self.usage_date, self.service, self.region)


@dataclass(frozen=True)
class TagRow:
    usage_date: date
    service: str
    tag_key: str
    tag_value: str
    amount: Decimal
    estimated: bool

    def key(self):
        return (self.usage_date, self.service, self.tag_key, self.tag_value)


def backfill_start(today: date) -> date:
    months = min(max(1, settings.CE_BACKFILL_MONTHS), MAX_BACKFILL_MONTHS)
    return (today - relativedelta(months=months)).replace(day=1)


def sync_window(account, today: date, since: date | None = None) -> tuple[date, date]:
    """[start, end) to request: end is tomorrow so today's (estimated) partial day is included."""
    end = today + timedelta(days=1)
    earliest = today - relativedelta(months=MAX_BACKFILL_MONTHS)
    if since is not None:
        return max(since, earliest), end
    stored = CostRecord.objects.filter(account=account, source=CostSource.EXPLORER)
    latest = stored.aggregate(latest=Max("usage_date"))["latest"]
    if latest is None:
        return backfill_start(today), end
    oldest_estimated = stored.filter(estimated=True).aggregate(d=Min("usage_date"))["d"]
    # A long pause between syncs leaves a gap after the latest stored day: fill it too.
    candidates = [today - timedelta(days=TRAILING_DAYS), latest + timedelta(days=1)]
    if oldest_estimated is not None:
        candidates.append(oldest_estimated)
    return max(min(candidates), earliest), end


def _group_by(account) -> list[dict]:
    if account.is_management:
        return [
            {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
            {"Type": "DIMENSION", "Key": "SERVICE"},
        ]
    return [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"}]


def tag_keys(account) -> list[str]:
    """The organisation's tag keys, in the order their requests are made."""
    keys = TagKey.objects.filter(organization_id=account.organization_id)
    return list(keys.order_by("key").values_list("key", flat=True))


def _tag_group_by(key: str) -> list[dict]:
    return [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": key}]


def fetch_pages(
    ce,
    start: date,
    end: date,
    group_by,
    count: Callable[[int], None],
    metrics: list[str] | None = None,
) -> Iterator:
    """Yield every page; COUNT receives each request that reached Cost Explorer ($0.01 each).

    That is every HTTP attempt that got an answer or timed out waiting for one: throttled and
    timed-out retries included, refused connections (which never reached AWS) not. botocore
    reports retries only on answered calls (RetryAttempts), so a page that failed on read
    timeouts counted none of its six attempts: they are counted as botocore makes them.
    """

    def attempt(response=None, caught_exception=None, **_) -> None:
        if response is not None or isinstance(caught_exception, ReadTimeoutError):
            count(1)

    event = f"needs-retry.{ce.meta.service_model.service_id.hyphenize()}.GetCostAndUsage"
    ce.meta.events.register(event, attempt)
    params = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": metrics or list(CE_METRICS),
        "GroupBy": group_by,
    }
    token = None
    try:
        while True:
            request = {**params, "NextPageToken": token} if token else params
            page = ce.get_cost_and_usage(**request)
            yield page
            token = page.get("NextPageToken")
            if not token:
                return
    finally:
        ce.meta.events.unregister(event, attempt)


def reported_days(page: dict) -> set[date]:
    return {date.fromisoformat(day["TimePeriod"]["Start"]) for day in page.get("ResultsByTime", [])}


def parse_page(page: dict, account) -> Iterator[CostRow]:
    for day in page.get("ResultsByTime", []):
        usage_date = date.fromisoformat(day["TimePeriod"]["Start"])
        estimated = bool(day.get("Estimated", False))
        for group in day.get("Groups", []):
            keys = group.get("Keys", [])
            if account.is_management:
                sub_account, service, region = keys[0], keys[1], ""
            else:
                sub_account, service = account.account_id, keys[0]
                region = keys[1] if len(keys) > 1 else ""
            if region == NO_REGION:
                region = ""
            for api_name, metric in CE_METRICS.items():
                value = group.get("Metrics", {}).get(api_name)
                if value is None:
                    continue
                yield CostRow(
                    sub_account_id=sub_account,
                    usage_date=usage_date,
                    service=service,
                    region=region,
                    metric=metric,
                    amount=Decimal(value["Amount"]),
                    currency=value.get("Unit") or "USD",
                    estimated=estimated,
                )


def tag_value(key: str, group_key) -> str:
    """The value in Cost Explorer's "<key>$<value>" ("" when untagged)."""
    prefix = f"{key}{TAG_SEPARATOR}"
    if not isinstance(group_key, str) or not group_key.startswith(prefix):
        raise MalformedAnswer(
            f"unreadable tag group {group_key!r} for tag key {key!r} "
            f"(expected '{key}{TAG_SEPARATOR}<value>')."
        )
    return group_key[len(prefix) :]


def _amount(value: dict, where: str) -> Decimal:
    try:
        return Decimal(value["Amount"])
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise MalformedAnswer(f"unreadable amount {value!r} in {where}.") from exc


def parse_tag_page(page: dict, key: str) -> Iterator[TagRow]:
    """KEY's TagRows in a page grouped by SERVICE and TAG KEY."""
    for day in page.get("ResultsByTime", []):
        usage_date = date.fromisoformat(day["TimePeriod"]["Start"])
        estimated = bool(day.get("Estimated", False))
        for group in day.get("Groups", []):
            keys = group.get("Keys", [])
            if len(keys) != 2:
                raise MalformedAnswer(
                    f"tag group {keys!r} for tag key {key!r} is not (service, tag)."
                )
            service, value = keys[0], tag_value(key, keys[1])
            if len(value) > TAG_VALUE_MAX:
                raise MalformedAnswer(f"tag value of {key!r} longer than {TAG_VALUE_MAX}.")
            metric = group.get("Metrics", {}).get(TAG_METRIC)
            if metric is None:
                continue
            yield TagRow(
                usage_date=usage_date,
                service=service,
                tag_key=key,
                tag_value=value,
                amount=_amount(metric, f"tag group {keys!r}"),
                estimated=estimated,
            )


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


def replace_days(
    account, days: set[date], rows: list[CostRow], tags: list[TagRow] = ()
) -> WriteResult:
    """Make the stored DAYS equal ROWS: insert new keys, update changed ones, drop vanished;
    and the account's TagSpend of those days equal TAGS, in the same transaction.

    Only days Cost Explorer reported on are touched: a day it returned with no groups really
    cost nothing, but a day missing from the answer says nothing about the stored figures.
    """
    result = WriteResult()
    fresh: dict[tuple, CostRow] = {}
    for row in rows:
        # Repeated keys across pages are the same cost reported twice: keep the latest.
        fresh[row.key()] = row
    with transaction.atomic():
        stored = {
            (r.metric, r.sub_account_id, r.usage_date, r.service, r.region): r
            for r in CostRecord.objects.select_for_update().filter(
                account=account, source=CostSource.EXPLORER, usage_date__in=days
            )
        }
        to_insert, to_update = [], []
        for key, row in fresh.items():
            record = stored.pop(key, None)
            if record is None:
                to_insert.append(
                    CostRecord(
                        organization_id=account.organization_id,
                        account=account,
                        source=CostSource.EXPLORER,
                        metric=row.metric,
                        provider="AWS",
                        sub_account_id=row.sub_account_id,
                        usage_date=row.usage_date,
                        service=row.service,
                        region=row.region,
                        amount=row.amount,
                        currency=row.currency,
                        estimated=row.estimated,
                    )
                )
            elif (record.amount, record.estimated, record.currency) != (
                row.amount,
                row.estimated,
                row.currency,
            ):
                record.amount, record.estimated, record.currency = (
                    row.amount,
                    row.estimated,
                    row.currency,
                )
                to_update.append(record)
        CostRecord.objects.bulk_create(to_insert, batch_size=2000)
        # By id within these days: on PostgreSQL the days name the partitions to read, the id
        # alone would probe every month's.
        these_days = CostRecord.objects.filter(usage_date__in=days)
        these_days.bulk_update(to_update, ["amount", "estimated", "currency"], batch_size=2000)
        if stored:
            these_days.filter(pk__in=[r.pk for r in stored.values()]).delete()
        superseded = _drop_superseded(account, days, fresh.values())
        tags_changed = _replace_tag_spend(account, days, tags)
        if days and (to_insert or to_update or stored or superseded or tags_changed):
            # The allocation of these days reads both (costs/signals.py store_changed).
            rollup.refresh(account.organization, min(days), max(days))
        result.inserted, result.updated, result.deleted = (
            len(to_insert),
            len(to_update),
            len(stored) + superseded,
        )
    return result


def _drop_superseded(account, days: set[date], rows) -> int:
    """A management account's answer supersedes what its linked accounts synced themselves.

    Before their management account was connected, linked accounts stored their own Cost
    Explorer rows; for the days the payer now reports a linked account, keeping them would
    count its cost twice. Accounts the payer does not report (outside its AWS Organization)
    keep theirs.
    """
    if not account.is_management or not days:
        return 0
    reported = {row.sub_account_id for row in rows} - {account.account_id}
    if not reported:
        return 0
    return (
        CostRecord.objects.filter(
            organization_id=account.organization_id,
            source=CostSource.EXPLORER,
            usage_date__in=days,
            sub_account_id__in=reported,
        )
        .exclude(account=account)
        .delete()[0]
    )


def _replace_tag_spend(account, days: set[date], tags: list[TagRow]) -> bool:
    """The account's TagSpend of DAYS := TAGS (inside the caller's transaction); changed?"""
    fresh: dict[tuple, TagRow] = {}
    for tag in tags:
        if tag.usage_date in days:
            fresh[tag.key()] = tag  # repeated across pages: keep the latest, as for costs
    stored = TagSpend.objects.filter(account=account, usage_date__in=days)
    fields = ("usage_date", "service", "tag_key", "tag_value", "amount", "estimated")
    before = set(stored.values_list(*fields))
    if before == {(*key, tag.amount, tag.estimated) for key, tag in fresh.items()}:
        return False  # nothing to re-allocate
    stored.delete()
    TagSpend.objects.bulk_create(
        [
            TagSpend(
                organization_id=account.organization_id,
                account=account,
                # Cost Explorer's tag split is per request's account (see the module docstring).
                sub_account_id=account.account_id,
                usage_date=tag.usage_date,
                service=tag.service,
                tag_key=tag.tag_key,
                tag_value=tag.tag_value,
                amount=tag.amount,
                estimated=tag.estimated,
            )
            for tag in fresh.values()
        ],
        batch_size=2000,
    )
    return True


def management_accounts(organization_ids) -> dict[int, CloudAccount]:
    """Organisation id -> its (first) active management account, for ORGANIZATION_IDS."""
    found = CloudAccount.objects.filter(
        organization_id__in=set(organization_ids), is_active=True, is_management=True
    ).order_by("organization_id", "account_id")
    covering: dict[int, CloudAccount] = {}
    for payer in found:
        covering.setdefault(payer.organization_id, payer)
    return covering


def split_by_coverage(accounts) -> tuple[list, list[tuple]]:
    """ACCOUNTS as (to sync, [(covered account, its management account)]).

    A management account's answer is grouped by LINKED_ACCOUNT: it carries the costs of every
    account of its AWS Organization, stored under the payer with each one's ID as
    sub_account_id, which is what every per-account view filters on. So when an organisation
    has an active management account, only the management account(s) ask Cost Explorer, and
    the organisation's other accounts are not synced themselves: one request (plus pages and
    tag keys) a day for the whole organisation, whatever its number of accounts, and no
    linked account's cost stored twice (once under the payer, once under itself).
    """
    accounts = list(accounts)
    payers = management_accounts(a.organization_id for a in accounts)
    to_sync, covered = [], []
    for account in accounts:
        payer = payers.get(account.organization_id)
        if payer is None or account.is_management:
            to_sync.append(account)
        else:
            covered.append((account, payer))
    return to_sync, covered


def claim(account) -> SyncRun | None:
    """Record a running sync, or return None when another one holds the account."""
    stale_before = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    # A worker killed mid-sync never finishes its run; after the task timeout it is dead.
    SyncRun.objects.filter(
        account=account, status=SyncRun.Status.RUNNING, started_at__lt=stale_before
    ).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Abandoned: the worker stopped before finishing.",
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(account=account, status=SyncRun.Status.RUNNING)
    except IntegrityError:
        return None


def _finish(run: SyncRun, status: str, error: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


def _failed(run: SyncRun, account, detail: str) -> SyncRun:
    """Record a failed sync on the run and the account: one line, AWS's code and message."""
    message = f"{ERROR_PREFIX}: {detail}"
    account.record_error(message, timezone.now())
    logger.warning("cost sync of %s failed: %s", account.account_id, message)
    return _finish(run, SyncRun.Status.FAILED, message)


def sync_account(account, *, since: date | None = None, today: date | None = None) -> SyncRun:
    """Sync one account's Cost Explorer costs; always returns the recorded SyncRun."""
    run = claim(account)
    if run is None:
        return SyncRun.objects.create(
            account=account,
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error="Another sync of this account is running.",
        )
    today = today or timezone.now().date()
    started = time.monotonic()
    try:
        start, end = sync_window(account, today, since)
        run.window_start, run.window_end = start, end

        def count(attempts: int) -> None:
            run.requests_made += attempts

        try:
            role = aws.RoleSession(
                account.role_arn, account.external_id, region="us-east-1", label="costs"
            )
        except (ClientError, BotoCoreError) as exc:
            # Said apart from a Cost Explorer refusal: the fix is in the role's trust policy.
            return _failed(run, account, f"AssumeRole failed: {describe(exc)}")

        keys = tag_keys(account)

        def fetch(session) -> tuple[list[dict], list[tuple[str, list[dict]]]]:
            # Expired credentials on a later page restart the fetch from the first page
            # (RoleSession.run): nothing is written until every page is in.
            ce = aws.client(session, "ce")
            pages = list(fetch_pages(ce, start, end, _group_by(account), count))
            by_tag = [
                (key, list(fetch_pages(ce, start, end, _tag_group_by(key), count, [TAG_METRIC])))
                for key in keys
            ]
            return pages, by_tag

        pages, by_tag = role.run(fetch)
        days = set().union(*(reported_days(page) for page in pages))
        rows = [row for page in pages for row in parse_page(page, account)]
        tags = [
            tag
            for key, tag_pages in by_tag
            for page in tag_pages
            for tag in parse_tag_page(page, key)
        ]
        written = replace_days(account, days, rows, tags)
    except MalformedAnswer as exc:
        return _failed(run, account, str(exc))
    except ClientError as exc:
        code = error_code(exc)
        if code == "DataUnavailableException":
            message = f"{ERROR_PREFIX} has no data for this account yet (new or not enabled)."
            account.record_error(message, timezone.now())
            return _finish(run, SyncRun.Status.NO_DATA, message)
        return _failed(run, account, describe(exc))
    except BotoCoreError as exc:
        # A read timeout or a refused connection, after botocore's retries.
        return _failed(run, account, str(exc))
    except Exception as exc:
        # A bug must not leave the account locked until the stale timeout.
        _finish(run, SyncRun.Status.FAILED, f"Internal error: {exc.__class__.__name__}")
        raise
    run.rows_inserted, run.rows_updated, run.rows_deleted = (
        written.inserted,
        written.updated,
        written.deleted,
    )
    now = timezone.now()
    account.last_synced_at = now
    CloudAccount.objects.filter(pk=account.pk).update(last_synced_at=now)
    account.clear_error(ERROR_PREFIX)
    logger.info(
        "cost sync of %s: %s requests, +%s ~%s -%s rows in %.1fs",
        account.account_id,
        run.requests_made,
        written.inserted,
        written.updated,
        written.deleted,
        time.monotonic() - started,
    )
    return _finish(run, SyncRun.Status.SUCCEEDED)
