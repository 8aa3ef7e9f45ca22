"""The dashboard's "Commitments" card: last week's coverage and utilization of the
organisation's Savings Plans and reservations (weighted over its accounts, as the API's), the
next one to expire, and, for staff who may read them, links to the admin's commitment pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from commitments import report
from commitments.models import Commitment, CommitmentDay

CARD_DAYS = 7


@dataclass(frozen=True)
class CommitmentsCard:
    summary: report.Summary | None  # None: no commitment at all (the empty state)
    days: int
    admin_links: bool


def commitments_card(user, today: date) -> CommitmentsCard:
    commitments = Commitment.objects.for_user(user)
    links = user.is_staff and user.has_perm("commitments.view_commitment")
    if not commitments.exists():
        return CommitmentsCard(None, CARD_DAYS, links)
    days = CommitmentDay.objects.for_user(user)
    end = today - timedelta(days=1)  # today's figures are not complete yet
    found = report.summary(commitments, days, end - timedelta(days=CARD_DAYS - 1), end)
    return CommitmentsCard(found, CARD_DAYS, links)
