"""Re-allocating history: a preview that changes nothing, then all of the window or none."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from allocation import engine, reallocation
from allocation.models import AllocationRollup, AllocationRule, Reallocation
from tests.allocation.helpers import DAY, focus, team, written

pytestmark = pytest.mark.django_db
TAG = {"kind": "tag", "tag_key": "team"}


@pytest.fixture
def history(acme):
    """Two months allocated under a rule that knows only the team tag, then a rule change:
    the platform account's untagged spend now belongs to "platform"."""
    dimension = team(acme, TAG)
    earlier = DAY - timedelta(days=31)
    for day in (earlier, DAY):
        focus(acme, "10", tags={"team": "payments"}, day=day)
        focus(acme, "4", account="222222222222", day=day)
    written(acme, earlier, DAY)
    AllocationRule.objects.create(
        dimension=dimension, position=1, kind="account", mapping={"222222222222": "platform"}
    )
    engine.mark_rules_changed(dimension)
    dimension.refresh_from_db()
    return dimension, earlier


def test_the_preview_shows_before_and_after_per_value_and_changes_nothing(history):
    dimension, earlier = history
    rows = AllocationRollup.objects.count()

    found = reallocation.preview(dimension, earlier, DAY)

    assert [(c.value, c.before, c.after, c.difference) for c in found] == [
        ("payments", Decimal(20), Decimal(20), Decimal(0)),
        ("platform", Decimal(0), Decimal(8), Decimal(8)),
        ("Unallocated", Decimal(8), Decimal(0), Decimal(-8)),
    ]
    assert reallocation.moved(found) == Decimal(8)
    assert AllocationRollup.objects.count() == rows
    assert engine.rollup_totals(dimension, earlier, DAY)["Unallocated"] == Decimal(8)
    assert not Reallocation.objects.exists()


def test_apply_rewrites_the_window_and_records_who_and_what(history, alice):
    dimension, earlier = history
    assert dimension.history_is_stale

    record = reallocation.apply(dimension, DAY.replace(day=1), DAY, user=alice)

    # Only the window: the earlier month keeps the rules it was allocated with.
    assert engine.rollup_totals(dimension, DAY.replace(day=1), DAY) == {
        "payments": Decimal(10),
        "platform": Decimal(4),
    }
    assert engine.rollup_totals(dimension, earlier, earlier) == {
        "payments": Decimal(10),
        "Unallocated": Decimal(4),
    }
    record.refresh_from_db()
    assert (record.start, record.end, record.requested_by) == (DAY.replace(day=1), DAY, alice)
    assert record.before == {"Unallocated": "4.0000000000", "payments": "10.0000000000"}
    assert record.after == {"payments": "10.0000000000", "platform": "4.0000000000"}
    assert record.finished_at >= record.requested_at
    dimension.refresh_from_db()
    assert dimension.reallocated_at == record.finished_at
    assert not dimension.history_is_stale


def test_apply_keeps_the_call_the_benchmark_makes(history):
    """bench/cost_allocation.py: apply(dimension, start, end, user=None), then .after."""
    dimension, earlier = history

    done = reallocation.apply(dimension, earlier, DAY, user=None)

    assert sorted(done.after.items())[:2] == [
        ("payments", "20.0000000000"),
        ("platform", "8.0000000000"),
    ]
    assert done.requested_by is None


def test_a_failed_reallocation_leaves_nothing_half_applied(history, monkeypatch):
    dimension, earlier = history
    before = list(AllocationRollup.objects.order_by("pk").values_list("pk", "value", "amount"))

    def store_then_fail(*args, **kwargs):
        # The engine's own store, then the failure a crash or a full disk would be.
        original_store(*args, **kwargs)
        raise RuntimeError("disk full")

    original_store = engine.store
    monkeypatch.setattr(engine, "store", store_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        reallocation.apply(dimension, earlier, DAY)

    assert list(AllocationRollup.objects.order_by("pk").values_list("pk", "value", "amount")) == (
        before
    )
    assert not Reallocation.objects.exists()
    dimension.refresh_from_db()
    assert dimension.reallocated_at is None


def test_the_default_window_starts_at_the_first_day_the_store_holds(history, acme):
    dimension, earlier = history

    assert reallocation.first_day(dimension) == earlier
    assert reallocation.first_day(team(acme, TAG, name="Empty")) == earlier  # the store's
    empty = team(acme.__class__.objects.create(name="New", slug="new"), TAG)
    assert reallocation.first_day(empty) is None


def test_recorded_changes_read_back_exactly(history):
    dimension, _ = history
    record = Reallocation.objects.create(
        dimension=dimension,
        start=date(2026, 11, 1),
        end=DAY,
        before={"a": "0.0000000001"},
        after={"a": "0.0000000002", "b": "1"},
    )

    assert [(c.value, c.difference) for c in reallocation.recorded_changes(record)] == [
        ("b", Decimal(1)),
        ("a", Decimal("0.0000000001")),
    ]
