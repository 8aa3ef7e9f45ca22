"""django-q2 entry points: thin wrappers over alerts.rules and alerts.delivery.

Each organisation's rules run in its raising() turn (alerts/rules.py), so overlapping runs take
turns; e-mails are sent afterwards, outside that transaction.
"""

from __future__ import annotations

import logging

from accounts.models import Organization
from alerts import commitments, delivery, rules, weekly_send

logger = logging.getLogger(__name__)


def check_budgets_all() -> dict:
    """Budgets and commitments: the thresholds on money committed, on the same schedule."""
    raised = sum(
        rules.check_budgets(org) + commitments.check_commitments(org)
        for org in Organization.objects.all()
    )
    return {"raised": raised, **delivery.deliver_pending()}


def send_alerts_all() -> dict:
    raised = sum(rules.check_alerts(org) for org in Organization.objects.all())
    result = {"raised": raised, **delivery.deliver_pending()}
    logger.info("alerts: %s", result)
    return result


def send_weekly_reports_all() -> dict:
    """Hourly: each organisation's weekly reports for the members whose day has come."""
    raised = sum(len(weekly_send.send_weekly_reports(org)) for org in Organization.objects.all())
    return {"raised": raised, **delivery.deliver_pending()}
