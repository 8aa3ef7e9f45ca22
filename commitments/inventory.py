"""Commitments inventory: Savings Plans (savingsplans:DescribeSavingsPlans), EC2 Reserved
Instances (ec2:DescribeReservedInstances) and RDS reserved DB instances
(rds:DescribeReservedDBInstances), in every configured region for the reservations.

Each part (Savings Plans; each kind of reservation in each region) is read completely before
anything is written. A part the role may not read is reported with the permission to add and
leaves its stored rows as they were; the other parts still sync. Then the parts that answered
replace the account's stored rows in one transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from django.db import transaction
from django.utils import timezone

from accounts import aws
from accounts.connection import describe, is_denied
from commitments.models import BASE_CURRENCY, Commitment

logger = logging.getLogger(__name__)

Kind = Commitment.Kind
PERMISSIONS = {
    Kind.SAVINGS_PLAN: "savingsplans:DescribeSavingsPlans",
    Kind.EC2_RESERVED: "ec2:DescribeReservedInstances",
    Kind.RDS_RESERVED: "rds:DescribeReservedDBInstances",
}
# Savings Plans are global; their API answers in us-east-1 only.
SAVINGS_PLANS_REGION = "us-east-1"
SECONDS_PER_YEAR = 365 * 24 * 3600
PAYMENT_OPTIONS = {
    "no upfront": Commitment.PaymentOption.NO_UPFRONT,
    "partial upfront": Commitment.PaymentOption.PARTIAL_UPFRONT,
    "all upfront": Commitment.PaymentOption.ALL_UPFRONT,
    "heavy utilization": Commitment.PaymentOption.LEGACY,
    "medium utilization": Commitment.PaymentOption.LEGACY,
    "light utilization": Commitment.PaymentOption.LEGACY,
}


class Unreadable(ValueError):
    """AWS answered something the inventory cannot read: the part is reported, not stored."""


@dataclass
class InventoryResult:
    stored: int = 0
    requests: int = 0
    parts_ok: int = 0
    problems: dict[str, str] = field(default_factory=dict)  # permission -> message
    notes: list[str] = field(default_factory=list)


# --- Reading AWS's answers ---------------------------------------------------------------------


def _decimal(value, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError) as exc:
        raise Unreadable(f"unreadable {what} {value!r}") from exc


def _payment_option(value: str) -> str:
    try:
        return PAYMENT_OPTIONS[(value or "").strip().lower()]
    except KeyError:
        raise Unreadable(f"unknown payment option {value!r}") from None


def _term_years(seconds) -> int:
    return max(1, round(int(seconds) / SECONDS_PER_YEAR))


def _moment(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Unreadable(f"unreadable date {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hourly_recurring(charges, amount_key: str, frequency_key: str) -> Decimal:
    return sum(
        (
            _decimal(charge.get(amount_key, 0), "recurring charge")
            for charge in charges or []
            if charge.get(frequency_key) == "Hourly"
        ),
        Decimal(0),
    )


def savings_plan_fields(raw: dict) -> dict:
    try:
        return {
            "kind": Kind.SAVINGS_PLAN,
            "commitment_id": raw["savingsPlanId"],
            "region": raw.get("region") or "",
            "plan_type": raw.get("savingsPlanType") or "",
            "instance_family": raw.get("ec2InstanceFamily") or "",
            "term_years": _term_years(raw["termDurationInSeconds"]),
            "payment_option": _payment_option(raw.get("paymentOption")),
            "hourly_commitment": _decimal(raw["commitment"], "hourly commitment"),
            "upfront_fee": _decimal(raw.get("upfrontPaymentAmount") or 0, "upfront payment"),
            "recurring_hourly": _decimal(
                raw.get("recurringPaymentAmount") or 0, "recurring payment"
            ),
            "currency": raw.get("currency") or BASE_CURRENCY,
            "start": _moment(raw["start"]),
            "end": _moment(raw["end"]),
            "state": raw.get("state") or "",
        }
    except KeyError as exc:
        raise Unreadable(f"Savings Plan without {exc.args[0]}") from None


def ec2_reservation_fields(raw: dict, region: str) -> dict:
    try:
        count = int(raw["InstanceCount"])
        # The offering's prices are per instance; the row holds the reservation's total.
        hourly = _hourly_recurring(raw.get("RecurringCharges"), "Amount", "Frequency")
        hourly += _decimal(raw.get("UsagePrice") or 0, "usage price")
        return {
            "kind": Kind.EC2_RESERVED,
            "commitment_id": raw["ReservedInstancesId"],
            "region": region,
            "instance_type": raw["InstanceType"],
            "instance_count": count,
            "platform": raw.get("ProductDescription") or "",
            "term_years": _term_years(raw["Duration"]),
            "payment_option": _payment_option(raw.get("OfferingType")),
            "upfront_fee": _decimal(raw.get("FixedPrice") or 0, "fixed price") * count,
            "recurring_hourly": hourly * count,
            "currency": raw.get("CurrencyCode") or BASE_CURRENCY,
            "start": _moment(raw["Start"]),
            "end": _moment(raw["End"]),
            "state": raw.get("State") or "",
        }
    except (KeyError, ValueError) as exc:
        if isinstance(exc, Unreadable):
            raise
        raise Unreadable(f"reserved instance without a readable {exc.args[0]}") from None


def rds_reservation_fields(raw: dict, region: str) -> dict:
    try:
        count = int(raw["DBInstanceCount"])
        start = _moment(raw["StartTime"])
        hourly = _hourly_recurring(
            raw.get("RecurringCharges"), "RecurringChargeAmount", "RecurringChargeFrequency"
        )
        hourly += _decimal(raw.get("UsagePrice") or 0, "usage price")
        platform = raw.get("ProductDescription") or ""
        if raw.get("MultiAZ"):
            platform = f"{platform} (Multi-AZ)".strip()
        return {
            "kind": Kind.RDS_RESERVED,
            "commitment_id": raw["ReservedDBInstanceId"],
            "region": region,
            "instance_type": raw["DBInstanceClass"],
            "instance_count": count,
            "platform": platform,
            "term_years": _term_years(raw["Duration"]),
            "payment_option": _payment_option(raw.get("OfferingType")),
            "upfront_fee": _decimal(raw.get("FixedPrice") or 0, "fixed price") * count,
            "recurring_hourly": hourly * count,
            "currency": raw.get("CurrencyCode") or BASE_CURRENCY,
            "start": start,
            # RDS states no end: the term runs from the start.
            "end": start + timedelta(seconds=int(raw["Duration"])),
            "state": raw.get("State") or "",
        }
    except (KeyError, ValueError) as exc:
        if isinstance(exc, Unreadable):
            raise
        raise Unreadable(f"reserved DB instance without a readable {exc.args[0]}") from None


# --- Fetching ----------------------------------------------------------------------------------


def read_savings_plans(session, counter: list[int]) -> list[dict]:
    client = aws.client(session, "savingsplans", SAVINGS_PLANS_REGION)
    plans, token = [], None
    while True:
        counter[0] += 1
        page = client.describe_savings_plans(**({"nextToken": token} if token else {}))
        plans += page.get("savingsPlans") or []
        token = page.get("nextToken")
        if not token:
            return plans


def read_ec2_reservations(session, region: str, counter: list[int]) -> list[dict]:
    counter[0] += 1  # DescribeReservedInstances has no pages
    return aws.client(session, "ec2", region).describe_reserved_instances()["ReservedInstances"]


def read_rds_reservations(session, region: str, counter: list[int]) -> list[dict]:
    paginator = aws.client(session, "rds", region).get_paginator("describe_reserved_db_instances")
    rows = []
    for page in paginator.paginate():
        counter[0] += 1
        rows += page.get("ReservedDBInstances") or []
    return rows


@dataclass
class Part:
    kind: str
    region: str  # "" for Savings Plans
    rows: dict[str, dict] | None = None  # commitment ID -> fields; None: not read
    denied: bool = False
    error: str = ""


def _read_part(role: aws.RoleSession, part: Part, counter: list[int]) -> None:
    def read(session):
        if part.kind == Kind.SAVINGS_PLAN:
            return [savings_plan_fields(raw) for raw in read_savings_plans(session, counter)]
        if part.kind == Kind.EC2_RESERVED:
            raw_rows = read_ec2_reservations(session, part.region, counter)
            return [ec2_reservation_fields(raw, part.region) for raw in raw_rows]
        raw_rows = read_rds_reservations(session, part.region, counter)
        return [rds_reservation_fields(raw, part.region) for raw in raw_rows]

    try:
        rows = role.run(read)
    except ClientError as exc:
        part.denied, part.error = is_denied(exc), describe(exc)
        return
    except (BotoCoreError, ResponseParserError, Unreadable) as exc:
        # ResponseParserError: an answer that is not AWS's (a proxy's error page).
        part.error = str(exc).splitlines()[0]
        return
    # The same ID twice (a repeated page) is the same commitment: keep the latest.
    part.rows = {row["commitment_id"]: row for row in rows}


def _problems(parts: list[Part]) -> dict[str, str]:
    """One message per permission, naming it and, for reservations, the regions affected."""
    failed: dict[str, list[Part]] = defaultdict(list)
    for part in parts:
        if part.rows is None:
            failed[PERMISSIONS[part.kind]].append(part)
    problems = {}
    for permission, failures in failed.items():
        regions = ", ".join(p.region for p in failures if p.region)
        where = f" in {regions}" if regions else ""
        if all(p.denied for p in failures):
            problems[permission] = (
                f"{permission} is not allowed by the role{where}: add it to the role's policy "
                f"(AWS said {failures[0].error})."
            )
        else:
            details = "; ".join(dict.fromkeys(p.error for p in failures))
            problems[permission] = f"{permission} failed{where}: {details}"
    return problems


def _replace(account, parts: list[Part], now) -> int:
    """The read parts' rows replace the stored ones, in one transaction. Rows keep their
    primary key across syncs (links to them stay valid): updated in place, created, deleted."""
    read = [part for part in parts if part.rows is not None]
    fresh = {cid: fields for part in read for cid, fields in part.rows.items()}
    with transaction.atomic():
        stored = Commitment.objects.select_for_update().filter(account=account)
        in_scope = Commitment.objects.none()
        for part in read:
            rows = stored.filter(kind=part.kind)
            in_scope |= rows if part.kind == Kind.SAVINGS_PLAN else rows.filter(region=part.region)
        # Regions no longer configured hold reservations nobody will refresh.
        in_scope |= stored.exclude(kind=Kind.SAVINGS_PLAN).exclude(region__in=account.regions)
        existing = {row.commitment_id: row for row in stored.filter(pk__in=in_scope.values("pk"))}
        gone = [row.pk for cid, row in existing.items() if cid not in fresh]
        Commitment.objects.filter(pk__in=gone).delete()
        # An ID moving between parts (a reservation now listed in another region) is one row.
        moved = stored.filter(commitment_id__in=list(fresh)).exclude(
            commitment_id__in=list(existing)
        )
        existing.update({row.commitment_id: row for row in moved})
        to_create, to_update = [], []
        for cid, fields in fresh.items():
            row = existing.get(cid)
            if row is None:
                to_create.append(Commitment(account=account, fetched_at=now, **fields))
                continue
            for name, value in fields.items():
                setattr(row, name, value)
            row.fetched_at = now
            to_update.append(row)
        Commitment.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            names = sorted({name for fields in fresh.values() for name in fields} | {"fetched_at"})
            Commitment.objects.bulk_update(to_update, names, batch_size=1000)
    return len(fresh)


def sync_inventory(account, role: aws.RoleSession) -> InventoryResult:
    """Read every part, store those that answered; never raises for AWS-side failures."""
    result = InventoryResult()
    parts = [Part(Kind.SAVINGS_PLAN, "")]
    for region in account.regions:
        parts += [Part(Kind.EC2_RESERVED, region), Part(Kind.RDS_RESERVED, region)]
    counter = [0]
    for part in parts:
        _read_part(role, part, counter)
    result.requests = counter[0]
    result.problems = _problems(parts)
    result.parts_ok = sum(part.rows is not None for part in parts)
    result.stored = _replace(account, parts, timezone.now())
    for part in parts:
        for fields in (part.rows or {}).values():
            if fields["currency"] != BASE_CURRENCY:
                result.notes.append(
                    f"{fields['commitment_id']} is billed in {fields['currency']}: stored with "
                    f"its currency, never summed with {BASE_CURRENCY} figures."
                )
    if result.problems:
        logger.warning("commitments inventory of %s: %s", account.account_id, result.problems)
    return result
