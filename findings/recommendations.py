"""The recommendation lifecycle, shared by every detector (idle, rightsizing, waste).

Detectors return Findings; reconcile() turns one detection run's findings for one account into
rows: a finding with no live recommendation opens one; an open one is updated in place; a
dismissed one stays dismissed until its snooze date passes, then reopens; a live
recommendation whose condition no longer holds is resolved. "Live" (open or dismissed) is
unique per (account, kind, resource) at the database level, so two detection workers racing
on the same account cannot create duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from costs import bulk
from findings.models import Recommendation

LIVE = (Recommendation.Status.OPEN, Recommendation.Status.DISMISSED)


@dataclass
class Finding:
    kind: str
    resource_id: str
    region: str
    summary: str
    action: str
    monthly_saving: Decimal
    saving_basis: str
    evidence: dict = field(default_factory=dict)
    target_type: str = ""
    instance_pk: int | None = None

    def key(self) -> tuple[str, str]:
        return self.kind, self.resource_id


@dataclass
class ReconcileResult:
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    resolved: int = 0


def _apply(rec: Recommendation, finding: Finding, now) -> None:
    rec.region = finding.region
    rec.summary = finding.summary[:300]
    rec.action = finding.action
    rec.monthly_saving = finding.monthly_saving.quantize(Decimal("0.01"))
    rec.saving_basis = finding.saving_basis
    rec.evidence = finding.evidence
    rec.target_type = finding.target_type
    rec.instance_id = finding.instance_pk
    rec.updated_at = now


UPDATED_FIELDS = [
    "region",
    "summary",
    "action",
    "monthly_saving",
    "saving_basis",
    "evidence",
    "target_type",
    "instance",
    "updated_at",
    "status",
    "dismissed_reason",
    "snoozed_until",
]


def _create(recs: list[Recommendation]) -> int:
    """Insert RECS in bulk; returns how many were opened.

    If another detection run opened one of them meanwhile, the live-recommendation constraint
    fails the batch; then each is inserted on its own and theirs stands.
    """
    try:
        with transaction.atomic():
            Recommendation.objects.bulk_create(recs, batch_size=1000)
        return len(recs)
    except IntegrityError:
        opened = 0
        for rec in recs:
            rec.pk, rec._state.adding = None, True
            try:
                with transaction.atomic():
                    rec.save()
            except IntegrityError:
                continue
            opened += 1
        return opened


def reconcile(account, kinds: list[str], findings: list[Finding], now=None) -> ReconcileResult:
    """Make ACCOUNT's live recommendations of KINDS match FINDINGS."""
    now = now or timezone.now()
    today = now.date()
    result = ReconcileResult()
    wanted = {f.key(): f for f in findings}
    with transaction.atomic():
        live = {
            (rec.kind, rec.resource_id): rec
            for rec in Recommendation.objects.select_for_update().filter(
                account=account, kind__in=kinds, status__in=LIVE
            )
        }
        new, changed = [], []
        for key, finding in wanted.items():
            rec = live.pop(key, None)
            if rec is None:
                rec = Recommendation(account=account, kind=finding.kind, resource_id=key[1])
                _apply(rec, finding, now)
                rec.created_at = now
                new.append(rec)
                continue
            if (
                rec.status == Recommendation.Status.DISMISSED
                and rec.snoozed_until
                and rec.snoozed_until <= today
            ):
                rec.status = Recommendation.Status.OPEN
                rec.dismissed_reason, rec.snoozed_until = "", None
                result.reopened += 1
            else:
                result.updated += 1
            _apply(rec, finding, now)
            changed.append(rec)
        bulk.update(Recommendation, changed, UPDATED_FIELDS)
        result.opened = _create(new)
        for rec in live.values():
            rec.status = Recommendation.Status.RESOLVED
            rec.resolved_at = now
            rec.updated_at = now
        result.resolved = bulk.update(
            Recommendation, list(live.values()), ["status", "resolved_at", "updated_at"]
        )
    return result


def dismiss(rec: Recommendation, reason: str, snooze_until=None) -> Recommendation:
    rec.status = Recommendation.Status.DISMISSED
    rec.dismissed_reason = reason[:300]
    rec.snoozed_until = snooze_until
    rec.updated_at = timezone.now()
    rec.save(update_fields=["status", "dismissed_reason", "snoozed_until", "updated_at"])
    return rec
