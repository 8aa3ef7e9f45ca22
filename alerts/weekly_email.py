"""The weekly report as an e-mail: HTML with the chart inline, and a plain-text alternative.

The chart is drawn again at send time from the event's evidence (alerts/weekly_chart.py), so
the stored event stays a few hundred bytes. It travels as an inline image part whose
Content-ID the HTML's <img src="cid:..."> names: anymail's attach_inline_image() builds that
part the way each Django version wants it, and mixed_subtype "related" (Django's documented
switch) makes the message multipart/related, so mail clients show the image in the body
instead of listing it as an attachment.
"""

from __future__ import annotations

from anymail.message import attach_inline_image
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from alerts import weekly_chart
from alerts.weekly import WeeklyReport, signed, usd

CHART_FILENAME = "weekly-spend.png"


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path if path else ""


def chart(report: WeeklyReport) -> bytes:
    return weekly_chart.png(report.daily, str(report.week), str(report.week.previous))


def figures(report: WeeklyReport) -> list[tuple[str, str]]:
    """The figures table: (label, amount) rows, money already written for people."""
    percent = report.change_percent
    rows = [
        (f"This week ({report.week})", usd(report.this_week)),
        (f"Week before ({report.week.previous})", usd(report.last_week)),
        ("Change", signed(report.change) + (f" ({percent:+}%)" if percent is not None else "")),
        (f"{report.month:%B} to date", usd(report.month_to_date)),
    ]
    rows += [
        (f"Budget {b.name}", f"{b.percent}% of {usd(b.monthly_amount)}") for b in report.budgets
    ]
    if report.savings_count is not None:
        rows.append(
            (
                "Open savings",
                f"{report.savings_count} recommendation{'' if report.savings_count == 1 else 's'}"
                f", {usd(report.savings_monthly)} a month",
            )
        )
    if report.actions is not None:
        a = report.actions
        rows.append(
            (
                "Actions taken",
                f"{a.stops} stops, {a.starts} starts "
                f"({a.by_schedules} by schedules, {a.by_auto_stop} by auto-stop)",
            )
        )
    return rows


def movers(report: WeeklyReport) -> list[tuple[str, str, str, str]]:
    return [
        (m.service, usd(m.last_week), usd(m.this_week), signed(m.change)) for m in report.movers
    ]


def render_email(event) -> EmailMultiAlternatives:
    report = WeeklyReport.from_evidence(event.evidence["report"])
    message = EmailMultiAlternatives(
        subject=f"[Spendlens] {event.title}",
        to=[event.address],
        headers={"X-Spendlens-Alert": f"{event.kind} {event.pk}"},
    )
    context = {
        "event": event,
        "report": report,
        "lines": event.evidence.get("lines", []),
        "link": _absolute(event.link),
        "preferences_url": _absolute(reverse("profile")) + "#alerts",
        "chart_cid": "",
        "figures": figures(report),
        "movers": movers(report),
    }
    message.body = render_to_string("alerts/weekly_report.txt", context)
    if report.has_spend:
        context["chart_cid"] = attach_inline_image(message, chart(report), CHART_FILENAME)
        message.mixed_subtype = "related"
    message.attach_alternative(render_to_string("alerts/weekly_report.html", context), "text/html")
    return message
