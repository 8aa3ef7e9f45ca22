"""Money as the API and the evidence write it: a string of whole cents (JSON has no decimal)."""

from decimal import Decimal

CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
