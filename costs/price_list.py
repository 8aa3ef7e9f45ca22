"""Fill the price cache (costs.PriceQuote) from the AWS Price List Query API.

The caller says which (price key, region) pairs it wants: the cost store does not know the
fleet (findings/price_refresh.py collects what the inventory uses). Each pair becomes a
GetProducts query with TERM_MATCH filters; pairs that share a query (the NAT hour and the NAT
GB, say) share one paginated call. The product's usage type (without its region prefix,
"EUW1-BoxUsage:m5.large" -> "BoxUsage:m5.large") picks the right product among those the
filters leave, and its on-demand price dimension gives the figure.

Failures never delete anything: a refused API keeps the shipped table in use, a throttled or
malformed answer keeps the figure already cached for that key, and a product the API does not
list is remembered as NOT_LISTED so lookups use the table (marked as such) without guessing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from accounts import aws
from costs import prices
from costs.models import PriceQuote
from costs.price_queries import REGION_PREFIX, UNITS, Query, query_for

logger = logging.getLogger(__name__)

# The Query API is served only from us-east-1, ap-south-1 and eu-central-1; any of them
# answers for every region.
PRICING_REGION = "us-east-1"
NOT_ALLOWED = "Price List API not allowed: the shipped table stays in use"


class MalformedAnswer(ValueError):
    pass


@dataclass(frozen=True)
class Product:
    sku: str
    usage: str  # region prefix removed
    raw: dict


def _product(text: str) -> Product:
    try:
        raw = json.loads(text)
        product = raw["product"]
        usage = product["attributes"]["usagetype"]
        return Product(product["sku"], REGION_PREFIX.sub("", usage), raw)
    except (TypeError, ValueError, KeyError) as exc:
        raise MalformedAnswer(f"unreadable product: {exc!r}") from exc


def on_demand_price(product: Product, unit: str) -> Decimal:
    """The product's on-demand USD price per UNIT: its first tier (beginRange 0)."""
    try:
        offers = product.raw["terms"]["OnDemand"].values()
        dimensions = [d for offer in offers for d in offer["priceDimensions"].values()]
        found = {}
        for dimension in dimensions:
            if UNITS.get(dimension["unit"].lower()) != unit:
                continue
            begin = Decimal(dimension.get("beginRange", "0"))
            found.setdefault(begin, set()).add(Decimal(dimension["pricePerUnit"]["USD"]))
    except (AttributeError, TypeError, KeyError, InvalidOperation) as exc:
        raise MalformedAnswer(f"unreadable price of {product.sku}: {exc!r}") from exc
    if not found:
        raise MalformedAnswer(f"no on-demand price per {unit} for {product.sku}")
    first = found[min(found)]
    if len(first) > 1:
        raise MalformedAnswer(f"several on-demand prices for {product.sku}: {sorted(first)}")
    return prices.plain(first.pop())


@dataclass(frozen=True)
class KeyOutcome:
    key: str
    region: str
    status: str  # STORED, NOT_LISTED, ERROR or UNSUPPORTED
    amount: Decimal | None = None
    message: str = ""

    def line(self) -> str:
        if self.status == STORED:
            return f"{self.region} {self.key}: {self.amount}"
        return f"{self.region} {self.key}: {self.status} {self.message}".rstrip()


STORED, NOT_LISTED, ERROR, UNSUPPORTED = "stored", "not_listed", "error", "unsupported"


@dataclass
class RefreshResult:
    outcomes: list[KeyOutcome] = field(default_factory=list)
    error: str = ""  # the whole refresh failed (e.g. not allowed); nothing was changed for it
    calls: int = 0
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def ok(self) -> bool:
        return not self.error and not self.count(ERROR)

    def summary(self) -> str:
        if self.error:
            return self.error
        verb = "fetched (dry run, nothing stored)" if self.dry_run else "stored"
        return (
            f"{self.count(STORED)} prices {verb}, {self.count(NOT_LISTED)} not listed, "
            f"{self.count(ERROR)} errors, {self.count(UNSUPPORTED)} not asked "
            f"({self.calls} GetProducts calls)"
        )


class NotAllowed(Exception):
    pass


def pricing_client():
    """The platform's own identity: prices are public, not any customer's."""
    return aws.client(aws.platform_session(PRICING_REGION), "pricing", PRICING_REGION)


def _get_products(client, query: Query) -> tuple[list[str], int]:
    filters = [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in query.filters]
    pages, calls, token = [], 0, None
    while True:
        params = {"ServiceCode": query.service, "Filters": filters, "FormatVersion": "aws_v1"}
        if token:
            params["NextToken"] = token
        calls += 1
        try:
            answer = client.get_products(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "AccessDeniedException":
                raise NotAllowed(NOT_ALLOWED) from exc
            raise
        pages.extend(answer.get("PriceList", []))
        token = answer.get("NextToken")
        if not token:
            return pages, calls


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ThrottlingException":
            return "throttled by the Price List API after retries"
        return f"{code}: {exc.response.get('Error', {}).get('Message', '')}".strip()
    return str(exc)


def _kept(key: str, region: str) -> str:
    quote = PriceQuote.objects.filter(key=key, region=region, status="ok").first()
    if quote is None:
        return "no cached figure: the shipped table stays in use"
    return f"the figure fetched {timezone.localdate(quote.fetched_at).isoformat()} stays in use"


def _pick(key: str, region: str, query: Query, texts: list[str]) -> tuple[KeyOutcome, str]:
    products, malformed = [], []
    for text in texts:
        try:
            products.append(_product(text))
        except MalformedAnswer as exc:
            malformed.append(str(exc))
    matches = sorted((p for p in products if query.usage(p.usage)), key=lambda p: p.sku)
    if not matches:
        if malformed:
            message = f"malformed answer ({malformed[0]}); {_kept(key, region)}"
            return KeyOutcome(key, region, ERROR, message=message), ""
        return KeyOutcome(
            key, region, NOT_LISTED, message="the Price List lists no such product"
        ), ""
    try:
        amounts = {p.sku: on_demand_price(p, query.unit) for p in matches}
    except MalformedAnswer as exc:
        return KeyOutcome(key, region, ERROR, message=f"{exc}; {_kept(key, region)}"), ""
    if len(set(amounts.values())) > 1:
        message = (
            f"several products, several prices {sorted(amounts.items())}; {_kept(key, region)}"
        )
        return KeyOutcome(key, region, ERROR, message=message), ""
    sku = matches[0].sku
    return KeyOutcome(key, region, STORED, amount=amounts[sku]), sku


def _store(outcome: KeyOutcome, unit: str, sku: str, now: datetime) -> None:
    status = PriceQuote.Status.OK if outcome.status == STORED else PriceQuote.Status.NOT_LISTED
    PriceQuote.objects.update_or_create(
        key=outcome.key,
        region=outcome.region,
        defaults={
            "amount": outcome.amount,
            "unit": unit,
            "sku": sku,
            "status": status,
            "fetched_at": now,
        },
    )


def refresh_pairs(
    pairs: Iterable[tuple[str, str]],
    *,
    client=None,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[KeyOutcome], None] | None = None,
) -> RefreshResult:
    """Ask the Price List for each (key, region) in PAIRS and store what it answers."""
    now = now or timezone.now()
    result = RefreshResult(dry_run=dry_run)
    report = progress or (lambda outcome: None)
    groups: dict[tuple, list[tuple[str, str, Query]]] = {}
    for key, region in sorted(set(pairs)):
        query = query_for(key, region)
        if query is None:
            outcome = KeyOutcome(key, region, UNSUPPORTED, message="not a Price List key")
            result.outcomes.append(outcome)
            report(outcome)
            continue
        groups.setdefault((query.service, query.filters), []).append((key, region, query))
    if groups and client is None:
        client = pricing_client()
    for members in groups.values():
        try:
            texts, calls = _get_products(client, members[0][2])
            result.calls += calls
        except NotAllowed as exc:
            result.calls += 1
            result.error = str(exc)
            logger.warning("%s", exc)
            break
        except (ClientError, BotoCoreError) as exc:
            result.calls += 1
            for key, region, _query in members:
                message = f"{_describe(exc)}; {_kept(key, region)}"
                outcome = KeyOutcome(key, region, ERROR, message=message)
                result.outcomes.append(outcome)
                report(outcome)
            continue
        for key, region, query in members:
            outcome, sku = _pick(key, region, query, texts)
            if outcome.status in (STORED, NOT_LISTED) and not dry_run:
                _store(outcome, query.unit, sku, now)
            result.outcomes.append(outcome)
            report(outcome)
    if not dry_run:
        prices.forget_snapshot()
    return result


def refresh(
    regions: Iterable[str] | None = None,
    keys: Iterable[str] | None = None,
    *,
    client=None,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[KeyOutcome], None] | None = None,
) -> RefreshResult:
    """Every key in KEYS for every region in REGIONS; either left out means those cached."""
    cached = PriceQuote.objects.values_list("key", "region")
    regions = sorted(set(regions) if regions is not None else {r for _, r in cached})
    keys = sorted(set(keys) if keys is not None else {k for k, _ in cached})
    return refresh_pairs(
        [(key, region) for key in keys for region in regions],
        client=client,
        now=now,
        dry_run=dry_run,
        progress=progress,
    )
