"""Allocation rollups follow every write to the cost store, and its retention (costs/signals.py)."""

from allocation import engine


def reallocate_changed_days(sender, organization, start, end, **kwargs):
    engine.refresh(organization, start, end)


def expire_old_days(sender, before, dry_run, **kwargs):
    return {"allocation rollups": engine.expire_before(before, dry_run)}
