"""Old EBS snapshots: volume gone or superseded, AMIs named, priced per tier."""

from datetime import timedelta
from decimal import Decimal

import pytest

from findings.models import DetectionSettings, Recommendation
from findings.snapshots import SUPERSEDED, VOLUME_GONE, find_old_snapshots
from fleet.models import Snapshot, Volume
from tests.findings.resources import NOW, billed, snapshot, volume

PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def run(account, settings_row, now=NOW):
    return find_old_snapshots(
        account,
        list(Snapshot.objects.filter(account=account)),
        list(Volume.objects.filter(account=account)),
        settings_row,
        now,
    )


def test_an_old_snapshot_of_a_deleted_volume_is_priced_per_gb_month(acme_account, settings_row):
    snapshot(acme_account, size_gib=100, days_old=120)

    [finding] = run(acme_account, settings_row)

    assert finding.kind == Recommendation.Kind.OLD_SNAPSHOT
    assert finding.resource_id == "snap-01"
    assert finding.evidence["reason"] == VOLUME_GONE
    assert finding.evidence["age_days"] == 120
    assert "vol-gone no longer exists" in finding.summary
    # 100 GiB x $0.05 standard tier, an upper bound: snapshots are incremental.
    assert finding.monthly_saving == Decimal("5.00")
    assert finding.saving_basis == PRICE_TABLE
    assert finding.evidence["saving"]["snapshot_price"] == "0.05"
    assert finding.evidence["saving"]["snapshot_price_source"] == "price_table"
    assert "incremental" in finding.evidence["saving"]["size_note"]
    assert finding.instance_pk is None


def test_archive_tier_is_priced_at_the_archive_rate(acme_account, settings_row):
    snapshot(acme_account, size_gib=100, storage_tier="archive")

    [finding] = run(acme_account, settings_row)

    assert finding.monthly_saving == Decimal("1.25")
    assert "full copy" in finding.evidence["saving"]["size_note"]


def test_age_boundary(acme_account, settings_row):
    snapshot(acme_account, "snap-old", days_old=90)
    snapshot(acme_account, "snap-young", days_old=89)

    assert [f.resource_id for f in run(acme_account, settings_row)] == ["snap-old"]

    settings_row.snapshot_age_days = 30
    assert {f.resource_id for f in run(acme_account, settings_row)} == {"snap-old", "snap-young"}


def test_the_latest_snapshot_of_a_present_volume_is_kept(acme_account, settings_row):
    volume(acme_account, "vol-live")
    snapshot(acme_account, "snap-a", volume_id="vol-live", days_old=300)
    snapshot(acme_account, "snap-b", volume_id="vol-live", days_old=200)
    snapshot(acme_account, "snap-c", volume_id="vol-live", days_old=100)

    findings = run(acme_account, settings_row)

    assert sorted(f.resource_id for f in findings) == ["snap-a", "snap-b"]
    assert {f.evidence["reason"] for f in findings} == {SUPERSEDED}
    assert {f.evidence["newer_snapshot_id"] for f in findings} == {"snap-c"}


def test_a_newer_snapshot_in_progress_does_not_supersede(acme_account, settings_row):
    volume(acme_account, "vol-live")
    snapshot(acme_account, "snap-a", volume_id="vol-live", days_old=300)
    snapshot(acme_account, "snap-b", volume_id="vol-live", days_old=0, state="pending")

    assert run(acme_account, settings_row) == []


def test_an_old_snapshot_whose_volume_was_deleted_since_is_flagged_even_if_latest(
    acme_account, settings_row
):
    volume(acme_account, "vol-live", gone_at=NOW - timedelta(days=3))
    snapshot(acme_account, "snap-a", volume_id="vol-live", days_old=100)

    [finding] = run(acme_account, settings_row)
    assert finding.evidence["reason"] == VOLUME_GONE


def test_copied_snapshots_with_no_source_volume_count_as_volume_gone(acme_account, settings_row):
    snapshot(acme_account, "snap-a", volume_id="vol-ffffffff", days_old=100)
    snapshot(acme_account, "snap-b", volume_id="vol-ffffffff", days_old=200)

    findings = run(acme_account, settings_row)
    assert {f.evidence["reason"] for f in findings} == {VOLUME_GONE}
    assert len(findings) == 2


def test_a_snapshot_used_by_an_ami_names_it_and_says_deregister_first(acme_account, settings_row):
    snapshot(acme_account, image_ids=["ami-0123", "ami-0456"])

    [finding] = run(acme_account, settings_row)

    assert finding.evidence["image_ids"] == ["ami-0123", "ami-0456"]
    assert "AMI ami-0123, ami-0456" in finding.summary
    assert finding.action.startswith("Deregister AMI ami-0123, ami-0456 first if unused")


def test_pending_gone_or_undated_snapshots_are_not_judged(acme_account, settings_row):
    snapshot(acme_account, "snap-pending", state="pending")
    snapshot(acme_account, "snap-gone", gone_at=NOW - timedelta(days=1))
    snapshot(acme_account, "snap-undated", started_at=None)

    assert run(acme_account, settings_row) == []


def test_billed_cost_comes_first(acme_account, settings_row):
    snapshot(acme_account, size_gib=500)
    billed(acme_account, "arn:aws:ec2:us-east-1::snapshot/snap-01", "0.04")

    [finding] = run(acme_account, settings_row)

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    assert finding.monthly_saving == Decimal("1.20")


def test_an_unknown_tier_has_no_price_and_no_invented_saving(acme_account, settings_row):
    snapshot(acme_account, storage_tier="glacier-deep")

    [finding] = run(acme_account, settings_row)

    assert finding.monthly_saving == Decimal(0)
    assert "no price for glacier-deep snapshot storage" in finding.evidence["saving"]["note"]
    assert "saving not estimated" in finding.evidence["saving"]["note"]
