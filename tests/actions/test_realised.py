"""Realised savings: a stop that fixes a finding applies it, and its saving accrues from then.

The stops and starts go through the real path (actions/stop_start.py) against the emulator's EC2;
the accrual arithmetic is checked on hand-written action rows with hand-computed figures.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from actions import realised, stop_start
from actions.admin.log import RealisedSavingAdmin
from actions.models import InstanceAction, RealisedSaving
from dashboard import overview
from findings.models import Recommendation
from fleet.models import Instance
from tests.actions.test_actions import idle_recommendation
from tests.fleet.emulator import ec2_client, launch, synced

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_credentials")]
Result = InstanceAction.Result
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def box(aws, acme_account):
    return synced(acme_account, launch(ec2_client(acme_account), "dev-box"))


def fix(instance, saving, stopped_at, action="stop", result=Result.SUCCEEDED):
    """An action row as actions/stop_start.py writes it."""
    return InstanceAction.objects.create(
        organization=instance.account.organization,
        account=instance.account,
        instance=instance,
        aws_instance_id=instance.instance_id,
        region=instance.region,
        action=action,
        actor_label="alice",
        result=result,
        monthly_saving=Decimal(saving),
        requested_at=stopped_at - timedelta(seconds=5),
        finished_at=stopped_at,
    )


def quiet_instance(account, name, state="stopped", state_since=None):
    return Instance.objects.create(
        account=account,
        region="us-east-1",
        instance_id=f"i-{name}",
        name=name,
        instance_type="t3.large",
        state=state,
        state_since=state_since,
    )


class TestAStopAppliesTheFinding:
    def test_a_stop_without_a_named_recommendation_applies_the_open_idle_one(self, alice, box):
        """The reported case: the admin's Instances action passes no recommendation."""
        rec = idle_recommendation(box, saving="60.74")

        result = stop_start.stop_instance(box, actor=alice)

        assert result.result == Result.SUCCEEDED
        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.APPLIED
        row = InstanceAction.objects.get()
        assert row.recommendation == rec
        assert row.monthly_saving == Decimal("60.74")

    def test_potential_savings_drop_it_and_realised_savings_take_it(self, alice, box, acme):
        idle_recommendation(box, saving="60.74")
        before = overview.stat_cards(overview.Organization.objects.filter(pk=acme.pk), NOW.date())

        stop_start.stop_instance(box, actor=alice)

        after = overview.stat_cards(overview.Organization.objects.filter(pk=acme.pk), NOW.date())
        assert (before.open_idle_instances, before.potential_monthly_savings) == (
            1,
            Decimal("60.74"),
        )
        assert (after.open_idle_instances, after.potential_monthly_savings) == (0, Decimal(0))
        assert after.realised.fixes == 1
        assert after.realised.in_force_monthly == Decimal("60.74")

    def test_a_start_applies_nothing_and_ends_the_saving(self, alice, box):
        rec = idle_recommendation(box, saving="73.00")
        stop_start.stop_instance(box, actor=alice)

        stop_start.start_instance(box, actor=alice)

        start = InstanceAction.objects.get(action="start")
        assert (start.recommendation, start.monthly_saving) == (None, Decimal(0))
        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.APPLIED
        found = realised.realised_savings(InstanceAction.objects.all())
        assert found.total.fixes == 1
        assert found.total.in_force_monthly == 0  # running again: no longer saving

    def test_a_dismissed_finding_is_not_claimed(self, alice, box):
        rec = idle_recommendation(box)
        rec.status = Recommendation.Status.DISMISSED
        rec.save()

        stop_start.stop_instance(box, actor=alice)

        row = InstanceAction.objects.get()
        assert (row.recommendation, row.monthly_saving) == (None, Decimal(0))

    def test_a_refused_stop_applies_nothing(self, bob, box):
        rec = idle_recommendation(box)

        assert stop_start.stop_instance(box, actor=bob).result == Result.REFUSED

        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.OPEN
        assert InstanceAction.objects.get().monthly_saving == 0

    def test_a_dry_run_applies_nothing(self, alice, box):
        rec = idle_recommendation(box)

        stop_start.stop_instance(box, actor=alice, dry_run=True)

        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.OPEN


class TestAccrual:
    def test_hand_computed_figures_this_month_and_to_date(self, acme_account):
        # $73/month is $0.10 an hour (730 hours a month).
        box = quiet_instance(acme_account, "a")
        fix(box, "73.00", NOW - timedelta(days=10))  # 26 Nov 12:00, still stopped

        found = realised.realised_savings(InstanceAction.objects.all(), NOW)

        # To date: 240 h x $0.10. This month: 1 Dec 00:00 to 6 Dec 12:00 = 132 h x $0.10.
        assert found.total.to_date == Decimal("24.00")
        assert found.total.this_month == Decimal("13.20")
        assert found.total.in_force_monthly == Decimal("73.00")

    def test_a_start_through_spendlens_ends_the_accrual(self, acme_account):
        box = quiet_instance(acme_account, "b", state="running")
        fix(box, "73.00", NOW - timedelta(hours=100))
        fix(box, "0", NOW - timedelta(hours=40), action="start")

        found = realised.realised_savings(InstanceAction.objects.all(), NOW)

        assert found.total.to_date == Decimal("6.00")  # 60 h stopped x $0.10
        assert found.total.in_force_monthly == 0

    def test_a_start_outside_spendlens_ends_it_when_the_inventory_sees_it(self, acme_account):
        started = NOW - timedelta(hours=10)
        box = quiet_instance(acme_account, "c", state="running", state_since=started)
        fix(box, "73.00", NOW - timedelta(hours=30))

        found = realised.realised_savings(InstanceAction.objects.all(), NOW)

        assert found.total.to_date == Decimal("2.00")  # 20 h x $0.10

    def test_only_successful_stops_that_applied_a_saving_count(self, acme_account):
        box = quiet_instance(acme_account, "d")
        fix(box, "73.00", NOW - timedelta(hours=10), result=Result.DRY_RUN)
        fix(box, "73.00", NOW - timedelta(hours=10), result=Result.FAILED)
        fix(box, "0", NOW - timedelta(hours=10))  # a stop that applied no recommendation

        assert realised.realised_savings(InstanceAction.objects.all(), NOW).total.fixes == 0

    def test_per_account_and_per_organisation(self, acme_account, globex_account):
        from accounts.models import CloudAccount

        second = CloudAccount.objects.create(
            organization=acme_account.organization,
            name="Acme staging",
            account_id="222222222222",
            role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
            regions=["us-east-1"],
        )
        fix(quiet_instance(acme_account, "e"), "73.00", NOW - timedelta(hours=10))
        fix(quiet_instance(second, "f"), "146.00", NOW - timedelta(hours=10))
        fix(quiet_instance(globex_account, "g"), "730.00", NOW - timedelta(hours=10))

        acme = InstanceAction.objects.filter(organization=acme_account.organization)
        found = realised.realised_savings(acme, NOW)

        assert found.total.to_date == Decimal("3.00")
        assert [(a.account_id, r.to_date) for a, r in found.accounts] == [
            ("222222222222", Decimal("2.00")),
            ("111111111111", Decimal("1.00")),
        ]


class TestWhereItShows:
    def test_the_card_on_the_dashboard_and_the_admin_index(self, client, alice, acme_account):
        fix(quiet_instance(acme_account, "h"), "60.74", NOW - timedelta(days=2))
        client.force_login(alice)

        for url in (reverse("dashboard"), reverse("admin:index")):
            alice.is_staff = url.startswith("/admin")
            alice.save()
            body = client.get(url).content.decode()
            assert "Realised savings" in body, url
            assert "$60.74<span" in body, url
            assert "1 fix applied" in body, url

    def test_the_api_reports_it_for_the_callers_organisations_only(
        self, client, alice, acme_account, globex_account
    ):
        fix(quiet_instance(acme_account, "i"), "73.00", NOW - timedelta(hours=10))
        fix(quiet_instance(globex_account, "j"), "730.00", NOW - timedelta(hours=10))
        client.force_login(alice)

        body = client.get(reverse("api:action-realised-savings")).json()

        assert body["fixes"] == 1
        assert body["in_force_monthly"] == "73.00"
        assert [a["account"] for a in body["accounts"]] == ["111111111111"]
        assert Decimal(body["to_date"]) >= Decimal("1.00")

    def test_metrics_expose_it(self, client, acme_account, settings):
        settings.METRICS_PUBLIC = True
        fix(quiet_instance(acme_account, "k"), "73.00", NOW - timedelta(hours=10))

        body = client.get("/metrics").content.decode()

        assert (
            'spendlens_realised_savings_in_force_monthly_usd{account="111111111111",'
            'organization="acme"} 73.0' in body
        )
        assert 'spendlens_realised_savings_usd{account="111111111111",organization="acme",' in body

    def test_the_admin_lists_the_fixes_with_what_they_saved(self, alice, acme_account):
        fix(quiet_instance(acme_account, "l"), "73.00", NOW - timedelta(days=400))
        alice.is_superuser = alice.is_staff = True
        alice.save()
        request = RequestFactory().get("/")
        request.user = alice
        page = RealisedSavingAdmin(RealisedSaving, admin.site)

        (row,) = page.get_queryset(request)

        assert page.saving_until(row) == "still stopped"
        assert page.monthly_saving_money(row) == "$73.00/month"
        assert page.to_date_money(row).startswith("$9")  # about 400 days x $2.40 a day

    def test_the_dashboard_instance_list_says_saved_not_saving_if_stopped(self, client, alice, box):
        idle_recommendation(box, saving="60.74")
        stop_start.stop_instance(box, actor=alice)
        client.force_login(alice)

        body = client.get(reverse("instance-list")).content.decode()

        assert "if stopped" not in body
        assert "$60.74/month saved" in body
        assert ">idle<" not in body  # the verdict of a stopped box is history
