"""Allocation rollups follow every write to the cost store (costs/signals.py)."""

from allocation import engine


def reallocate_changed_days(sender, organization, start, end, **kwargs):
    engine.refresh(organization, start, end)
