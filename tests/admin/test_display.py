"""How the admin writes money, durations and evidence."""

from datetime import timedelta
from decimal import Decimal

import pytest

from config.admin_display import EMPTY, duration, evidence_table, money, percent


@pytest.mark.parametrize(
    ("amount", "currency", "per", "shown"),
    [
        (Decimal("1234.5678"), "USD", "", "$1,234.57"),
        (Decimal("-12.5"), "USD", "", "-$12.50"),
        (Decimal("0.000042"), "USD", "", "<$0.01"),
        (Decimal("0"), "USD", "", "$0.00"),
        (Decimal("70.08"), "USD", "/month", "$70.08/month"),
        (Decimal("9.99"), "EUR", "", "9.99 EUR"),
        (None, "USD", "", EMPTY),
    ],
)
def test_money(amount, currency, per, shown):
    assert money(amount, currency, per) == shown


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=2, seconds=5), "2 min 5 s"),
        (timedelta(hours=3, minutes=10, seconds=9), "3 h 10 min"),
        (timedelta(days=1, hours=3), "1 day 3 h"),
        (timedelta(days=4, seconds=7), "4 days 7 s"),
        (timedelta(0), "0 s"),
        (None, EMPTY),
    ],
)
def test_duration(delta, shown):
    assert duration(delta) == shown


def test_percent():
    assert (percent(3.14159), percent(None)) == ("3.1%", EMPTY)


def test_evidence_is_a_nested_table_and_escaped():
    shown = evidence_table(
        {"rules_met": ["a", "b"], "thresholds": {"cpu": 10}, "<b>": "<script>", "none": None}
    )

    assert str(shown) == (
        '<table class="evidence">'
        '<tr><th scope="row">rules met</th><td>a, b</td></tr>'
        '<tr><th scope="row">thresholds</th><td><table class="evidence">'
        '<tr><th scope="row">cpu</th><td>10</td></tr></table></td></tr>'
        '<tr><th scope="row">&lt;b&gt;</th><td>&lt;script&gt;</td></tr>'
        f'<tr><th scope="row">none</th><td>{EMPTY}</td></tr>'
        "</table>"
    )
    assert evidence_table({}) == EMPTY
