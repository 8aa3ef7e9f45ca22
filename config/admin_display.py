"""How every admin page writes money, percentages, durations, links and evidence.

One style across the apps: money as $1,234.56 (right-aligned by the change-list templates in
templates/admin/money_columns.html, which match display methods named *_money), nothing
known as an em dash, durations in the two largest units, JSON evidence as a nested table.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

EMPTY = "—"
CENT = Decimal("0.01")


def money(amount, currency: str = "USD", per: str = "") -> str:
    """$1,234.56; a non-zero amount under a cent reads <$0.01 rather than a false $0.00."""
    if amount is None:
        return EMPTY
    amount = Decimal(amount)
    sign = "-" if amount < 0 else ""
    symbol, code = ("$", "") if currency == "USD" else ("", f" {currency}")
    if amount and abs(amount) < CENT:
        return f"{sign}<{symbol}0.01{code}{per}"
    return f"{sign}{symbol}{abs(amount):,.2f}{code}{per}"


def percent(value) -> str:
    return EMPTY if value is None else f"{value:.1f}%"


def duration(delta: timedelta | None) -> str:
    """The two largest non-zero units: "45 s", "2 min 5 s", "3 h 10 min", "4 days 3 h"."""
    if delta is None:
        return EMPTY
    seconds = max(0, int(delta.total_seconds()))
    parts = []
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            plural = "s" if unit == "day" and count != 1 else ""
            parts.append(f"{count} {unit}{plural}")
    return " ".join(parts[:2]) or "0 s"


def admin_link(model, pk, label, title: str = "") -> str:
    """A link to the change page of MODEL's row PK, built from the key alone (no query)."""
    if pk is None:
        return EMPTY
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    if title:
        return format_html('<a href="{}" title="{}">{}</a>', url, title, label)
    return format_html('<a href="{}">{}</a>', url, label)


def account_link(account) -> str:
    """An AWS account by its name, the 12-digit ID on hover: the list columns stay narrow."""
    if account is None:
        return EMPTY
    label = account.name or account.account_id
    return admin_link(type(account), account.pk, label, title=f"AWS account {account.account_id}")


@admin.display(description="AWS account", ordering="account__name")
def account_column(obj) -> str:
    """list_display entry for any model with an `account` (select_related it)."""
    return account_link(obj.account)


def evidence_table(value) -> str:
    """A recommendation's or alert's evidence as nested key/value tables, in their own order."""
    if isinstance(value, dict):
        if not value:
            return EMPTY
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((str(key).replace("_", " "), evidence_table(item)) for key, item in value.items()),
        )
        return format_html('<table class="evidence">{}</table>', rows)
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return ", ".join(str(item) for item in value) or EMPTY
        return format_html_join("", "<div>{}</div>", ((evidence_table(item),) for item in value))
    if value is None or value == "":
        return EMPTY
    return str(value)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heat_map(figures: dict, time_zone: str) -> str:
    """A schedule finding's weekly heat map: the busiest hourly CPU % seen in each local hour of
    the week, shaded in five steps; a cell with a busy hour is marked, one never seen is empty."""
    header = format_html_join("", '<th scope="col">{}</th>', ((f"{h:02d}",) for h in range(24)))
    rows = []
    for day, cells in enumerate(figures.get("max_cpu", [])):
        busy = figures.get("busy_hours", [[0] * 24] * 7)[day]
        shaded = format_html_join(
            "",
            '<td class="sl-heat-{}{}" title="{} {}:00 {}: {}">{}</td>',
            (
                (
                    "none" if value is None else min(4, int(value // 20)),
                    " sl-busy" if busy[hour] else "",
                    WEEKDAYS[day],
                    f"{hour:02d}",
                    time_zone,
                    "no data" if value is None else f"max {value:g} % CPU",
                    "" if value is None else f"{value:.0f}",
                )
                for hour, value in enumerate(cells)
            ),
        )
        rows.append(format_html('<tr><th scope="row">{}</th>{}</tr>', WEEKDAYS[day], shaded))
    return format_html(
        '<table class="sl-heat-map"><caption>Busiest hourly CPU % by hour of the week ({}); '
        "outlined: a busy hour</caption><tr><th></th>{}</tr>{}</table>",
        time_zone,
        header,
        format_html_join("", "{}", ((row,) for row in rows)),
    )
