"""Old EBS snapshots: storage kept for a volume that is gone, or superseded by a newer one.

A completed snapshot older than snapshot_age_days is flagged when
- its source volume is gone (no present volume of the account has its volume_id; snapshots
  copied from another snapshot carry vol-ffffffff, which never exists), or
- it is not the latest snapshot of its volume (a newer completed one exists).

A snapshot a registered AMI uses cannot be deleted until the AMI is deregistered. It is still
flagged (not excluded), with the AMIs named and the action to deregister them first if they
are unused: an AMI nobody launches is the most common reason old snapshots pile up, and
hiding it would hide that cost.

Snapshots in progress, or whose start time is unknown, are not judged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from findings import resource_savings
from findings.models import Recommendation
from findings.recommendations import Finding

COMPLETED = "completed"
VOLUME_GONE = "volume_gone"
SUPERSEDED = "superseded"


def _latest_by_volume(snapshots) -> dict[tuple[str, str], object]:
    latest: dict[tuple[str, str], object] = {}
    for snapshot in snapshots:
        if snapshot.state != COMPLETED or snapshot.started_at is None or not snapshot.volume_id:
            continue
        key = (snapshot.region, snapshot.volume_id)
        current = latest.get(key)
        if current is None or (snapshot.started_at, snapshot.snapshot_id) > (
            current.started_at,
            current.snapshot_id,
        ):
            latest[key] = snapshot
    return latest


def reason(snapshot, volume_ids: set[str], latest: dict) -> tuple[str, object] | None:
    """Why SNAPSHOT is waste (VOLUME_GONE or SUPERSEDED, with the newer snapshot), or None."""
    if snapshot.volume_id not in volume_ids:
        return VOLUME_GONE, None
    newest = latest.get((snapshot.region, snapshot.volume_id))
    if newest is not None and newest.snapshot_id != snapshot.snapshot_id:
        return SUPERSEDED, newest
    return None


def finding(account, snapshot, why: str, newer, age_days: int, settings, today) -> Finding:
    saving, basis, saving_evidence = resource_savings.snapshot_saving(account, snapshot, today)
    evidence = {
        "snapshot_id": snapshot.snapshot_id,
        "volume_id": snapshot.volume_id,
        "size_gib": snapshot.size_gib,
        "storage_tier": snapshot.storage_tier,
        "started_at": snapshot.started_at.isoformat(),
        "age_days": age_days,
        "snapshot_age_days": settings.snapshot_age_days,
        "reason": why,
        "image_ids": list(snapshot.image_ids or []),
        "description": snapshot.description,
        "saving": saving_evidence,
    }
    label = f"{snapshot} from {age_days} days ago"
    if why == VOLUME_GONE:
        summary = f"{label}: its volume {snapshot.volume_id} no longer exists"
        action = "Delete the snapshot if its data is no longer needed."
    else:
        evidence["newer_snapshot_id"] = newer.snapshot_id
        evidence["newer_started_at"] = newer.started_at.isoformat()
        summary = (
            f"{label} is not the latest of volume {snapshot.volume_id} "
            f"({newer.snapshot_id} is newer)"
        )
        action = (
            "Delete the snapshot if you do not need to restore the volume to this point in time; "
            "the newer snapshots stay restorable."
        )
    if snapshot.image_ids:
        amis = ", ".join(snapshot.image_ids)
        summary += f"; used by AMI {amis}"
        action = (
            f"Deregister AMI {amis} first if unused (a snapshot an AMI uses cannot be deleted), "
            f"then: {action[0].lower()}{action[1:]}"
        )
    return Finding(
        kind=Recommendation.Kind.OLD_SNAPSHOT,
        resource_id=snapshot.snapshot_id,
        region=snapshot.region,
        summary=summary,
        action=action,
        monthly_saving=saving,
        saving_basis=basis,
        evidence=evidence,
    )


def find_old_snapshots(account, snapshots, volumes, settings, now: datetime) -> list[Finding]:
    """Old-snapshot findings among ACCOUNT's present SNAPSHOTS, given its present VOLUMES."""
    snapshots = [s for s in snapshots if s.gone_at is None]
    volume_ids = {v.volume_id for v in volumes if v.gone_at is None}
    latest = _latest_by_volume(snapshots)
    cutoff = now - timedelta(days=settings.snapshot_age_days)
    findings = []
    for snapshot in snapshots:
        if snapshot.state != COMPLETED or snapshot.started_at is None:
            continue
        if snapshot.started_at > cutoff:
            continue
        why = reason(snapshot, volume_ids, latest)
        if why is None:
            continue
        age_days = (now - snapshot.started_at).days
        findings.append(finding(account, snapshot, *why, age_days, settings, now.date()))
    return findings
