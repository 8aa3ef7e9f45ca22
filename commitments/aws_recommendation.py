"""AWS's own Savings Plan purchase recommendation (Cost Explorer's
GetSavingsPlansPurchaseRecommendation), stored to be shown next to Spendlens's engine.

One request per variant and page ($0.01 each, every page counted): Compute and EC2 Instance
Savings Plans, one and three years, No Upfront by default (VARIANTS), on the last 30 days.
A variant's details (EC2 Instance plans are recommended per family and region) are summed
over every page into one row, in the units Spendlens's plans are shown in.

The account's rows are replaced in one transaction, and only when every variant answered:
a variant refused or failed keeps the previous rows (with their fetched_at) rather than a
half-replaced set. A variant with no details is "AWS recommends no purchase": no row, a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import aws
from accounts.connection import describe, error_code, is_denied
from commitments.explorer import CE_REGION, NO_DATA, RepeatedToken
from commitments.models import BASE_CURRENCY, AwsPurchaseRecommendation

Rec = AwsPurchaseRecommendation
PERMISSION = "ce:GetSavingsPlansPurchaseRecommendation"
LOOKBACK = ("THIRTY_DAYS", 30)
# Four requests by default: the payment option changes little of AWS's advice on the volume.
VARIANTS = [
    (plan_type, term, Rec.PaymentOption.NO_UPFRONT)
    for plan_type in Rec.PlanType.values
    for term in Rec.Term.values
]


@dataclass
class RecommendationResult:
    stored: int = 0
    requests: int = 0
    parts_ok: int = 0
    problems: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Unreadable(ValueError):
    """A figure AWS gave cannot be read as a number: the variant is not stored."""


def _label(plan_type: str, term: str, payment: str) -> str:
    return (
        f"{Rec.PlanType(plan_type).label}, {Rec.Term(term).label}, "
        f"{Rec.PaymentOption(payment).label}"
    )


def _number(raw: dict, key: str) -> Decimal | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Unreadable(f"unreadable {key} {value!r}") from None


def fetch_pages(ce, plan_type: str, term: str, payment: str, count) -> list[dict]:
    """Every page of one variant's recommendation, following NextPageToken."""
    pages, token, seen = [], None, set()
    while True:
        count()
        page = ce.get_savings_plans_purchase_recommendation(
            SavingsPlansType=plan_type,
            TermInYears=term,
            PaymentOption=payment,
            LookbackPeriodInDays=LOOKBACK[0],
            **({"NextPageToken": token} if token else {}),
        )
        pages.append(page)
        token = page.get("NextPageToken")
        if not token:
            return pages
        if token in seen:
            raise RepeatedToken(f"{PERMISSION} repeated the page token {token[:40]!r}")
        seen.add(token)


def read_variant(pages: list[dict], plan_type: str, term: str, payment: str) -> dict | None:
    """The fields of one row, or None when AWS recommends no purchase of this variant."""
    details = []
    for page in pages:
        body = page.get("SavingsPlansPurchaseRecommendation") or {}
        details += body.get("SavingsPlansPurchaseRecommendationDetails") or []
    if not details:
        return None
    summary = (pages[0].get("SavingsPlansPurchaseRecommendation") or {}).get(
        "SavingsPlansPurchaseRecommendationSummary"
    ) or {}
    currencies = {d.get("CurrencyCode") or BASE_CURRENCY for d in details}
    if len(currencies) > 1:
        raise Unreadable(f"details in several currencies ({', '.join(sorted(currencies))})")
    hourly = monthly = upfront = weighted_use = Decimal(0)
    saved = on_demand = Decimal(0)
    used_known = percent_known = True
    for detail in details:
        commitment = _number(detail, "HourlyCommitmentToPurchase")
        if commitment is None:
            raise Unreadable("a detail without HourlyCommitmentToPurchase")
        hourly += commitment
        monthly += _number(detail, "EstimatedMonthlySavingsAmount") or 0
        upfront += _number(detail, "UpfrontCost") or 0
        use = _number(detail, "EstimatedAverageUtilization")
        used_known &= use is not None
        weighted_use += (use or 0) * commitment
        amount, cost = (
            _number(detail, k) for k in ("EstimatedSavingsAmount", "EstimatedOnDemandCost")
        )
        percent_known &= amount is not None and bool(cost)
        saved, on_demand = saved + (amount or 0), on_demand + (cost or 0)
    # The summary's percentage covers the whole recommendation; without it, the details'.
    percent = _number(summary, "EstimatedSavingsPercentage")
    if percent is None and percent_known:
        percent = Decimal(100) * saved / on_demand
    generated = (pages[0].get("Metadata") or {}).get("GenerationTimestamp")
    generated_at = parse_datetime(generated) if isinstance(generated, str) else generated
    if isinstance(generated_at, datetime) and timezone.is_naive(generated_at):
        generated_at = generated_at.replace(tzinfo=UTC)
    return {
        "plan_type": plan_type,
        "term": term,
        "payment_option": payment,
        "lookback_days": LOOKBACK[1],
        "hourly_commitment": hourly,
        "monthly_savings": monthly,
        "savings_percent": None if percent is None else round(percent, 3),
        # Utilization weighted by each detail's commitment: a share of the whole commitment.
        "utilization_percent": round(weighted_use / hourly, 3) if used_known and hourly else None,
        "upfront_cost": upfront,
        "currency": currencies.pop(),
        "generated_at": generated_at,
    }


def sync_recommendations(account, role: aws.RoleSession, variants=VARIANTS) -> RecommendationResult:
    result = RecommendationResult()

    def count() -> None:
        result.requests += 1

    rows, complete = [], True
    for plan_type, term, payment in variants:
        label = _label(plan_type, term, payment)
        try:
            pages = role.run(
                lambda session, v=(plan_type, term, payment): fetch_pages(
                    aws.client(session, "ce", CE_REGION), *v, count
                )
            )
            fields = read_variant(pages, plan_type, term, payment)
        except ClientError as exc:
            if error_code(exc) == NO_DATA:
                fields = None
            elif is_denied(exc):
                # Every variant is the same permission: asking again only costs requests.
                result.problems[PERMISSION] = (
                    f"{PERMISSION} is not allowed by the role: add it to the role's policy "
                    f"(AWS said {describe(exc)})."
                )
                complete = False
                break
            else:
                result.problems[f"{PERMISSION} ({label})"] = (
                    f"{PERMISSION} failed (AWS said {describe(exc).splitlines()[0]})."
                )
                complete = False
                continue
        except (BotoCoreError, ResponseParserError, RepeatedToken, Unreadable) as exc:
            first_line = str(exc).splitlines()[0]
            result.problems[f"{PERMISSION} ({label})"] = (
                f"AWS's recommendation for {label} could not be read: {first_line}"
            )
            complete = False
            continue
        if fields is None:
            result.notes.append(f"{label}: AWS recommends no purchase.")
            continue
        if fields["currency"] != BASE_CURRENCY:
            result.notes.append(
                f"AWS's recommendation for {label} is in {fields['currency']}: stored with its "
                f"currency, never compared with {BASE_CURRENCY} figures."
            )
        rows.append(fields)
    if not complete:
        if rows or Rec.objects.filter(account=account).exists():
            result.notes.append(
                "AWS's recommendations were not replaced: not every variant answered, the "
                "previous ones are kept."
            )
        return result
    now = timezone.now()
    with transaction.atomic():
        Rec.objects.filter(account=account).delete()
        Rec.objects.bulk_create(Rec(account=account, fetched_at=now, **f) for f in rows)
    result.stored = len(rows)
    result.parts_ok = 1
    return result
