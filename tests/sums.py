"""Comparing money totals read back from the database."""

from decimal import Decimal

from django.db import connection

HALF_A_CENT = Decimal("0.005")


def assert_same_total(total: Decimal, expected: Decimal) -> None:
    """TOTAL equals EXPECTED exactly on PostgreSQL (numeric columns, exact sums); within half a
    cent on SQLite, where a decimal column is stored as a double, SUM() works in floating point
    and Django reads 15 significant digits back, so two ways to add the same dollars can
    differ in the last digits (13410.51540325001 against 13410.5154032500)."""
    if connection.vendor == "postgresql":
        assert total == expected
    else:
        assert abs(total - expected) < HALF_A_CENT, (total, expected)
