"""The weekly report's chart: this week's daily spend against the week before, as a PNG.

Drawn server-side with matplotlib's Agg backend (no display, no GUI toolkit) through its
object-oriented API: a Figure of our own rather than pyplot's global state, so two workers
drawing at once never share a figure. The image is small (600 by 240 pixels at 100 dpi) and
carries no Software metadata, so the same series gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

WIDTH, HEIGHT, DPI = 600, 240, 100
THIS_WEEK, LAST_WEEK = "#2563eb", "#cbd5e1"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _dollars(value, _position) -> str:
    if abs(value) >= 10_000:
        return f"${value / 1000:,.0f}k"
    return f"${value:,.0f}"


def png(daily: list[tuple[date, Decimal]], this_label: str, last_label: str) -> bytes:
    """Bars per weekday: the last 7 days of DAILY against the 7 before (14 days, oldest first)."""
    # Imported here: alerts.delivery reaches this module, and every web process imports that;
    # matplotlib and numpy (tens of MB) load only in the worker that draws a chart.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    amounts = [float(amount) for _, amount in daily[-14:]]
    amounts = [0.0] * (14 - len(amounts)) + amounts
    last, this = amounts[:7], amounts[7:]
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(7)
    axes.bar([p - 0.2 for p in positions], last, width=0.4, color=LAST_WEEK, label=last_label)
    axes.bar([p + 0.2 for p in positions], this, width=0.4, color=THIS_WEEK, label=this_label)
    axes.set_xticks(list(positions), DAYS)
    axes.yaxis.set_major_formatter(FuncFormatter(_dollars))
    axes.set_ylim(bottom=0, top=max([*amounts, 1.0]) * 1.15)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    axes.legend(fontsize=8, frameon=False, loc="upper left", ncols=2)
    axes.set_title("Daily spend", fontsize=9, loc="left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
