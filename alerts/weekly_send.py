"""Raising the weekly reports: each member gets each report once, on the day they chose.

Every member picks a weekday (Profile.weekly_report_weekday, Monday by default) or turns the
report off. A run (hourly, config/schedules.py) works in the organisation's time zone: the
report is of the last full ISO week, and it goes to the members whose day has come, that is
an earlier weekday, or today once it is REPORT_HOUR (the week's last day of costs has landed
by then). A run later in the week adds the members whose day came since.

The guarantee is per member, not per subject: the subject names the report ("2026-W49", or
"2026-W49 team=payments" for a followed value) and a member receives a subject at most once,
because in the organisation's raising() turn the run first reads who already has an event of
that subject and raises it for the others only. So nobody gets it twice (two runs take turns;
the second sees the first's events), and nobody is missed (whoever is due and has no event
gets one at the next run, even after changing their day to one already past). A member who
muted the kind gets a skipped event, as for every alert. The per-subject ONCE_PER_SUBJECT
guard of alerts/delivery.py does not fit: it would stop the later days' members.

A value's report goes to the members who follow the value (FollowedValue), on the same days.
Each run builds the report afresh, so a later day's members read figures that late costs may
have completed since.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Weekday
from alerts import delivery
from alerts.models import AlertEvent, AlertKind
from alerts.weekly import Week, WeeklyReport, organization_report, usd, value_report
from allocation.models import FollowedValue

REPORT_HOUR = 8
KIND = AlertKind.WEEKLY_REPORT


def local_now(organization, now: datetime | None = None) -> datetime:
    return (now or timezone.now()).astimezone(ZoneInfo(organization.time_zone))


def due_members(organization, local: datetime, everyone: bool = False) -> set[int]:
    """Members who want the report and whose weekday has come by LOCAL (all, with EVERYONE),
    among those with an address (delivery.recipients() would leave the others out anyway)."""
    rows = Membership.objects.filter(organization=organization, user__is_active=True).values_list(
        "user_id",
        "user__profile__weekly_report_enabled",
        "user__profile__weekly_report_weekday",
        "user__email",
        "user__profile__alert_email",
    )
    today = local.weekday()
    due = set()
    for user_id, enabled, weekday, email, alert_email in rows:
        if not (alert_email or email):
            continue
        # A member without a profile row yet has the defaults.
        enabled = True if enabled is None else enabled
        weekday = Weekday.MONDAY if weekday is None else weekday
        come = weekday < today or (weekday == today and local.hour >= REPORT_HOUR)
        if enabled and (everyone or come):
            due.add(user_id)
    return due


def subject(week: Week, dimension=None, value: str = "") -> str:
    if dimension is None:
        return week.label
    return f"{week.label} {dimension.slug}={value}"[:200]


def title(report: WeeklyReport) -> str:
    if not report.has_spend:
        return f"Weekly report {report.week}: {report.name}, no spend recorded"
    percent = report.change_percent
    trend = f" ({percent:+}%)" if percent is not None else ""
    return f"Weekly report {report.week}: {report.name}, {usd(report.this_week)}{trend}"


def alert(
    organization, subject_text: str, report: WeeklyReport, users, allocation=None
) -> delivery.Alert:
    return delivery.Alert(
        organization,
        KIND,
        subject_text,
        title(report),
        report.lines(),
        {
            "week": report.week.label,
            "scope": report.scope or organization.name,
            "this_week": str(report.this_week),
            "last_week": str(report.last_week),
            "change": str(report.change),
            "month_to_date": str(report.month_to_date),
            # The whole report, which the e-mail and its chart are rendered from.
            "report": report.to_evidence(),
        },
        link=reverse("dashboard"),
        users=frozenset(users),
        allocation=allocation,
    )


def send_weekly_reports(
    organization, now: datetime | None = None, week: Week | None = None, everyone: bool = False
) -> list[WeeklyReport]:
    """Raise ORGANIZATION's reports for the members due and not yet served; the reports raised.

    WEEK defaults to the last full week in the organisation's time zone; EVERYONE raises them
    for every member who wants the report, whatever their day (the management command).
    """
    local = local_now(organization, now)
    week = week or Week.last_full(local.date())
    due = due_members(organization, local, everyone)
    if not due:
        return []
    following = defaultdict(set)
    dimensions = {}
    rows = FollowedValue.objects.filter(dimension__organization=organization).select_related(
        "dimension"
    )
    for followed in rows.order_by("dimension__slug", "value"):
        dimensions[followed.dimension_id] = followed.dimension
        following[(followed.dimension_id, followed.value)].add(followed.user_id)
    raised = []
    with delivery.raising(organization):
        served = defaultdict(set)
        events = AlertEvent.objects.filter(
            organization=organization, kind=KIND, subject__startswith=week.label
        )
        for subject_text, user_id in events.values_list("subject", "recipient_id"):
            served[subject_text].add(user_id)
        users = due - served[subject(week)]
        if users:
            report = organization_report(organization, week)
            if delivery.raise_alert(alert(organization, subject(week), report, users), now):
                raised.append(report)
        for (dimension_id, value), followers in following.items():
            dimension = dimensions[dimension_id]
            subject_text = subject(week, dimension, value)
            users = (followers & due) - served[subject_text]
            if not users:
                continue
            report = value_report(dimension, value, week, organization.name)
            about = alert(organization, subject_text, report, users, (dimension_id, value))
            if delivery.raise_alert(about, now):
                raised.append(report)
    return raised
