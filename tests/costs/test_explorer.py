from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from accounts import aws as aws_module
from costs.ingest import explorer
from costs.models import CostRecord, SyncRun
from tests.conftest import queue_cost_explorer

TODAY = date(2026, 11, 23)
ACCOUNT = "111111111111"


def day(when: date, groups: dict, estimated=False, metric="UnblendedCost"):
    return {
        "TimePeriod": {"Start": when.isoformat(), "End": (when + timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {"Keys": list(keys), "Metrics": {metric: {"Amount": str(amount), "Unit": "USD"}}}
            for keys, amount in groups.items()
        ],
        "Estimated": estimated,
    }


def page(days, token=None):
    result = {"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": []}
    if token:
        result["NextPageToken"] = token
    return result


def history(start: date, end: date, estimated_from: date | None = None):
    """One EC2 and one S3 group per day; EC2 costs 10 + day-of-month, S3 costs 1."""
    days, current = [], start
    while current < end:
        days.append(
            day(
                current,
                {
                    ("Amazon Elastic Compute Cloud - Compute", "us-east-1"): Decimal(
                        10 + current.day
                    ),
                    ("Amazon Simple Storage Service", "NoRegion"): Decimal("1.00"),
                },
                estimated=bool(estimated_from and current >= estimated_from),
            )
        )
        current += timedelta(days=1)
    return days


@pytest.fixture(autouse=True)
def fresh_credentials():
    aws_module.clear_credential_cache()
    yield
    aws_module.clear_credential_cache()


def total(account):
    return CostRecord.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]


@pytest.mark.django_db
class TestWindow:
    def test_first_run_backfills_three_months(self, acme_account):
        start, end = explorer.sync_window(acme_account, TODAY)
        assert (start, end) == (date(2026, 8, 1), date(2026, 11, 24))

    def test_backfill_is_configurable(self, acme_account, settings):
        settings.CE_BACKFILL_MONTHS = 13
        assert explorer.sync_window(acme_account, TODAY)[0] == date(2025, 10, 1)

    def test_later_runs_start_at_the_oldest_estimated_day(self, acme_account):
        for offset, estimated in ((10, False), (6, True), (1, True)):
            CostRecord.objects.create(
                organization=acme_account.organization,
                account=acme_account,
                source="explorer",
                metric="unblended",
                sub_account_id=ACCOUNT,
                usage_date=TODAY - timedelta(days=offset),
                service="S3",
                amount=1,
                estimated=estimated,
            )
        assert explorer.sync_window(acme_account, TODAY)[0] == TODAY - timedelta(days=6)

    def test_later_runs_reach_back_a_few_trailing_days(self, acme_account):
        CostRecord.objects.create(
            organization=acme_account.organization,
            account=acme_account,
            source="explorer",
            metric="unblended",
            sub_account_id=ACCOUNT,
            usage_date=TODAY - timedelta(days=1),
            service="S3",
            amount=1,
        )
        assert explorer.sync_window(acme_account, TODAY)[0] == TODAY - timedelta(days=3)


@pytest.mark.django_db
class TestSync:
    def test_first_sync_follows_every_page_and_stores_each_day(self, aws, acme_account):
        days = history(date(2026, 8, 1), date(2026, 11, 24), estimated_from=date(2026, 11, 22))
        queue_cost_explorer(aws, ACCOUNT, [page(days[:60], token="p2"), page(days[60:])])

        run = explorer.sync_account(acme_account, today=TODAY)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.requests_made == 2
        assert run.rows_inserted == len(days) * 2
        assert CostRecord.objects.count() == len(days) * 2
        expected = sum(Decimal(10 + d.day) + 1 for d in _dates(date(2026, 8, 1), TODAY))
        assert total(acme_account) == expected
        s3 = CostRecord.objects.filter(service="Amazon Simple Storage Service").first()
        assert s3.region == ""  # Cost Explorer's "NoRegion"
        assert CostRecord.objects.filter(estimated=True).count() == 4
        acme_account.refresh_from_db()
        assert acme_account.last_synced_at is not None

    def test_incremental_sync_with_nothing_new_changes_nothing_in_one_request(
        self, aws, acme_account
    ):
        days = history(date(2026, 8, 1), date(2026, 11, 24))
        queue_cost_explorer(aws, ACCOUNT, [page(days)])
        explorer.sync_account(acme_account, today=TODAY)
        before = total(acme_account)
        queue_cost_explorer(
            aws, ACCOUNT, [page(history(TODAY - timedelta(days=3), TODAY + timedelta(days=1)))]
        )

        run = explorer.sync_account(acme_account, today=TODAY)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert run.requests_made <= 2
        assert (run.rows_inserted, run.rows_updated, run.rows_deleted) == (0, 0, 0)
        assert total(acme_account) == before

    def test_estimated_days_are_updated_in_place_not_duplicated(self, aws, acme_account):
        first = history(
            TODAY - timedelta(days=5),
            TODAY + timedelta(days=1),
            estimated_from=TODAY - timedelta(days=1),
        )
        queue_cost_explorer(aws, ACCOUNT, [page(first)])
        explorer.sync_account(acme_account, since=TODAY - timedelta(days=5), today=TODAY)
        final = history(TODAY - timedelta(days=3), TODAY + timedelta(days=1))
        final[-2]["Groups"][0]["Metrics"]["UnblendedCost"]["Amount"] = "99.5"
        queue_cost_explorer(aws, ACCOUNT, [page(final)])

        run = explorer.sync_account(acme_account, today=TODAY)

        assert run.window_start == TODAY - timedelta(days=3)
        assert run.rows_updated == 4  # both groups of the two formerly estimated days
        assert CostRecord.objects.count() == 12
        assert not CostRecord.objects.filter(usage_date__lt=TODAY, estimated=True).exists()
        changed = CostRecord.objects.get(usage_date=TODAY - timedelta(days=1), region="us-east-1")
        assert changed.amount == Decimal("99.5")

    def test_a_group_that_vanished_from_a_reported_day_is_removed(
        self, aws_faults, aws, acme_account
    ):
        queue_cost_explorer(aws, ACCOUNT, [page(history(TODAY, TODAY + timedelta(days=1)))])
        explorer.sync_account(acme_account, since=TODAY, today=TODAY)
        # moto answers an identical request from its cache, so the proxy gives the new answer.
        aws_faults.answer(
            "GetCostAndUsage",
            page([day(TODAY, {("Amazon Simple Storage Service", "NoRegion"): 1})]),
        )

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.rows_deleted == 1
        assert list(CostRecord.objects.values_list("service", flat=True)) == [
            "Amazon Simple Storage Service"
        ]

    def test_management_account_is_grouped_by_linked_account(self, aws, acme_account):
        acme_account.is_management = True
        acme_account.save()
        queue_cost_explorer(
            aws,
            ACCOUNT,
            [
                page(
                    [
                        day(
                            TODAY,
                            {("222222222222", "AWS Lambda"): 3, ("333333333333", "AWS Lambda"): 4},
                        )
                    ]
                )
            ],
        )

        explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert dict(CostRecord.objects.values_list("sub_account_id", "amount")) == {
            "222222222222": Decimal(3),
            "333333333333": Decimal(4),
        }


@pytest.mark.django_db
class TestFaults:
    def test_throttling_backs_off_and_retries(self, aws_faults, aws, acme_account):
        aws_faults.fail("GetCostAndUsage", "LimitExceededException", times=2)
        queue_cost_explorer(aws, ACCOUNT, [page(history(TODAY, TODAY + timedelta(days=1)))])

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert run.requests_made == 3  # two throttled attempts + the one that succeeded
        assert CostRecord.objects.count() == 2

    def test_data_unavailable_is_reported_not_crashed_on(self, aws_faults, acme_account):
        aws_faults.fail("GetCostAndUsage", "DataUnavailableException", "Data is not available.")

        run = explorer.sync_account(acme_account, today=TODAY)

        assert run.status == SyncRun.Status.NO_DATA
        acme_account.refresh_from_db()
        assert "no data" in acme_account.last_error

    def test_a_page_failing_half_way_leaves_the_store_untouched(
        self, aws_faults, aws, acme_account
    ):
        queue_cost_explorer(
            aws, ACCOUNT, [page(history(TODAY - timedelta(days=2), TODAY + timedelta(days=1)))]
        )
        explorer.sync_account(acme_account, since=TODAY - timedelta(days=2), today=TODAY)
        before = list(CostRecord.objects.order_by("pk").values_list("pk", "amount"))
        changed = history(TODAY - timedelta(days=2), TODAY + timedelta(days=1))
        changed[0]["Groups"][0]["Metrics"]["UnblendedCost"]["Amount"] = "1000"
        aws_faults.answer("GetCostAndUsage", page(changed[:1], token="next"))
        aws_faults.fail("GetCostAndUsage", "AccessDeniedException", "not authorized", status=400)

        failed = explorer.sync_account(acme_account, since=TODAY - timedelta(days=2), today=TODAY)

        assert failed.status == SyncRun.Status.FAILED
        assert "AccessDeniedException" in failed.error
        assert list(CostRecord.objects.order_by("pk").values_list("pk", "amount")) == before
        acme_account.refresh_from_db()
        assert "AccessDeniedException" in acme_account.last_error

        aws_faults.answer("GetCostAndUsage", page(changed))
        recovered = explorer.sync_account(
            acme_account, since=TODAY - timedelta(days=2), today=TODAY
        )
        assert recovered.status == SyncRun.Status.SUCCEEDED
        assert recovered.rows_updated == 1
        acme_account.refresh_from_db()
        assert acme_account.last_error == ""


@pytest.mark.django_db
class TestLock:
    def test_a_second_sync_of_the_same_account_is_skipped(self, acme_account):
        SyncRun.objects.create(account=acme_account, status=SyncRun.Status.RUNNING)

        run = explorer.sync_account(acme_account, today=TODAY)

        assert run.status == SyncRun.Status.SKIPPED
        assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count() == 1

    def test_a_run_abandoned_by_a_dead_worker_does_not_block_forever(
        self, aws, acme_account, settings
    ):
        from django.utils import timezone

        stale = SyncRun.objects.create(account=acme_account, status=SyncRun.Status.RUNNING)
        SyncRun.objects.filter(pk=stale.pk).update(
            started_at=timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
        )

        run = explorer.sync_account(acme_account, today=TODAY)

        stale.refresh_from_db()
        assert stale.status == SyncRun.Status.FAILED
        assert "Abandoned" in stale.error
        assert run.status == SyncRun.Status.SUCCEEDED


@pytest.mark.django_db
class TestCommandAndTasks:
    def test_sync_costs_prints_each_account_and_its_request_count(self, aws, acme_account, capsys):
        queue_cost_explorer(aws, ACCOUNT, [page(history(TODAY, TODAY + timedelta(days=1)))])

        call_command("sync_costs", "--account", ACCOUNT, "--since", TODAY.isoformat())

        out = capsys.readouterr().out
        assert "1 requests ($0.01)" in out
        assert "+4 ~0 -0 rows" in out or "+2 ~0 -0 rows" in out

    def test_sync_costs_rejects_a_bad_date(self, acme_account):
        with pytest.raises(CommandError, match="--since must be a date like"):
            call_command("sync_costs", "--since", "yesterday")

    def test_sync_costs_rejects_an_unknown_account(self, acme_account):
        with pytest.raises(CommandError, match="No active account with ID 999999999999"):
            call_command("sync_costs", "--account", "999999999999")

    def test_the_schedule_fans_out_one_task_per_active_account(
        self, aws, acme_account, acme, monkeypatch
    ):
        from django_q.conf import Conf
        from django_q.models import Success

        from accounts.models import CloudAccount
        from costs.tasks import sync_all_account_costs

        CloudAccount.objects.create(
            organization=acme,
            account_id="222222222222",
            role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
            regions=["us-east-1"],
            is_active=False,
        )
        monkeypatch.setattr(Conf, "SYNC", True)

        assert sync_all_account_costs() == 1
        assert SyncRun.objects.filter(account=acme_account).count() == 1
        success = Success.objects.get(func="accounts.tasks.run_for_account")
        assert success.args[:2] == ("costs.tasks.sync_account_costs", acme_account.pk)


def _dates(start, end):
    current = start
    while current <= end:
        yield current
        current += timedelta(days=1)


# --- Tag keys: one extra request each, TagSpend replaced with the costs ------------------------

EC2 = "Amazon Elastic Compute Cloud - Compute"
S3 = "Amazon Simple Storage Service"


def tag_day(when: date, key: str, groups: dict, estimated=False):
    """A day grouped by SERVICE and TAG KEY: {(service, value): amount}, value "" = untagged."""
    return day(
        when, {(service, f"{key}${value}"): amount for (service, value), amount in groups.items()},
        estimated,
    )  # fmt: skip


def tag_spend(account):
    from costs.models import TagSpend

    return {
        (t.usage_date, t.service, t.tag_key, t.tag_value): t.amount
        for t in TagSpend.objects.filter(account=account)
    }


@pytest.mark.django_db
class TestTags:
    def test_each_tag_key_costs_one_request_plus_its_pages_and_its_split_is_stored(
        self, aws, acme_account
    ):
        from allocation import summary
        from costs.models import TagKey

        for key in ("Team", "user:équipe"):
            TagKey.objects.create(organization=acme_account.organization, key=key)
        queue_cost_explorer(
            aws,
            ACCOUNT,
            [
                page(history(TODAY, TODAY + timedelta(days=1))),
                # Keys are asked in order: "Team" (on two pages), then "user:équipe".
                page([tag_day(TODAY, "Team", {(EC2, "payments"): 20})], token="team-2"),
                page([tag_day(TODAY, "Team", {(EC2, "search"): 10, (EC2, ""): 3, (S3, ""): 1})]),
                page([tag_day(TODAY, "user:équipe", {(EC2, "paiements"): 33, (S3, "données"): 1})]),
            ],
        )

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.requests_made == 1 + 2 + 1  # costs, Team's two pages, user:équipe
        assert run.request_cost == Decimal("0.04")
        assert tag_spend(acme_account) == {
            (TODAY, EC2, "Team", "payments"): 20,
            (TODAY, EC2, "Team", "search"): 10,
            (TODAY, EC2, "Team", ""): 3,
            (TODAY, S3, "Team", ""): 1,
            (TODAY, EC2, "user:équipe", "paiements"): 33,
            (TODAY, S3, "user:équipe", "données"): 1,
        }
        # The store's EC2 cost that day (33) is divided by the tag's shares; S3 is untagged.
        org = acme_account.organization
        assert summary.tag_totals(org, "Team", TODAY, TODAY) == {
            "payments": Decimal(20),
            "search": Decimal(10),
            summary.UNTAGGED: Decimal(4),
        }

    def test_without_tag_keys_the_sync_makes_no_extra_request(self, aws, acme_account):
        from costs.models import TagSpend

        queue_cost_explorer(aws, ACCOUNT, [page(history(TODAY, TODAY + timedelta(days=1)))])

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.requests_made == 1
        assert not TagSpend.objects.exists()

    def test_a_resync_replaces_the_days_tag_spend_rather_than_adding_to_it(
        self, aws_faults, aws, acme_account
    ):
        from costs.models import TagKey

        TagKey.objects.create(organization=acme_account.organization, key="Team")
        costs = page(history(TODAY - timedelta(days=1), TODAY + timedelta(days=1)))
        first = [
            tag_day(TODAY - timedelta(days=1), "Team", {(EC2, "payments"): 22}),
            tag_day(TODAY, "Team", {(EC2, "payments"): 20, (EC2, "search"): 3}),
        ]
        aws_faults.answer("GetCostAndUsage", costs)
        aws_faults.answer("GetCostAndUsage", page(first))
        explorer.sync_account(acme_account, since=TODAY - timedelta(days=1), today=TODAY)
        # Later, the search instance was retagged "plat" and the day's figures settled.
        aws_faults.answer("GetCostAndUsage", costs)
        aws_faults.answer(
            "GetCostAndUsage",
            page(
                [
                    tag_day(TODAY - timedelta(days=1), "Team", {(EC2, "payments"): 22}),
                    tag_day(TODAY, "Team", {(EC2, "payments"): 21, (EC2, "plat"): 2}),
                ]
            ),
        )

        run = explorer.sync_account(acme_account, since=TODAY - timedelta(days=1), today=TODAY)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.requests_made == 2
        assert tag_spend(acme_account) == {
            (TODAY - timedelta(days=1), EC2, "Team", "payments"): 22,
            (TODAY, EC2, "Team", "payments"): 21,
            (TODAY, EC2, "Team", "plat"): 2,
        }

    def test_a_failed_tag_request_leaves_costs_and_tag_spend_as_they_were(
        self, aws_faults, aws, acme_account
    ):
        from costs.models import TagKey, TagSpend

        TagKey.objects.create(organization=acme_account.organization, key="Team")
        costs = history(TODAY, TODAY + timedelta(days=1))
        aws_faults.answer("GetCostAndUsage", page(costs))
        aws_faults.answer("GetCostAndUsage", page([tag_day(TODAY, "Team", {(EC2, "a"): 33})]))
        explorer.sync_account(acme_account, since=TODAY, today=TODAY)
        records = list(CostRecord.objects.order_by("pk").values_list("pk", "amount"))
        tags = list(TagSpend.objects.order_by("pk").values_list("pk", "tag_value", "amount"))
        costs[0]["Groups"][0]["Metrics"]["UnblendedCost"]["Amount"] = "99"
        aws_faults.answer("GetCostAndUsage", page(costs))
        aws_faults.fail("GetCostAndUsage", "AccessDeniedException", "no tags for you", status=400)

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.status == SyncRun.Status.FAILED
        assert run.requests_made == 2
        assert "AccessDeniedException" in run.error
        assert list(CostRecord.objects.order_by("pk").values_list("pk", "amount")) == records
        assert (
            list(TagSpend.objects.order_by("pk").values_list("pk", "tag_value", "amount")) == tags
        )

    @pytest.mark.parametrize(
        "keys",
        [[EC2, "payments"], [EC2, "Owner$payments"], [EC2], "Team$payments"],
        ids=["no separator", "another key", "one key", "not a list"],
    )
    def test_an_unreadable_tag_group_fails_the_sync_with_a_clear_error(
        self, aws_faults, aws, acme_account, keys
    ):
        from costs.models import TagKey, TagSpend

        TagKey.objects.create(organization=acme_account.organization, key="Team")
        aws_faults.answer("GetCostAndUsage", page(history(TODAY, TODAY + timedelta(days=1))))
        bad = day(TODAY, {})
        bad["Groups"] = [{"Keys": keys, "Metrics": {"UnblendedCost": {"Amount": "1"}}}]
        aws_faults.answer("GetCostAndUsage", page([bad]))

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.status == SyncRun.Status.FAILED
        assert run.error.startswith("Cost Explorer: ")
        assert "Team" in run.error
        assert not CostRecord.objects.exists()
        assert not TagSpend.objects.exists()
        acme_account.refresh_from_db()
        assert acme_account.last_error == run.error

    def test_an_unreadable_tag_amount_fails_the_sync_with_a_clear_error(
        self, aws_faults, aws, acme_account
    ):
        from costs.models import TagKey

        TagKey.objects.create(organization=acme_account.organization, key="Team")
        aws_faults.answer("GetCostAndUsage", page(history(TODAY, TODAY + timedelta(days=1))))
        bad = tag_day(TODAY, "Team", {(EC2, "a"): 1})
        bad["Groups"][0]["Metrics"]["UnblendedCost"]["Amount"] = "lots"
        aws_faults.answer("GetCostAndUsage", page([bad]))

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.status == SyncRun.Status.FAILED
        assert "unreadable amount" in run.error
        assert not CostRecord.objects.exists()

    def test_a_management_accounts_tag_split_is_stored_under_its_own_id(self, aws, acme_account):
        from costs.models import TagKey, TagSpend

        acme_account.is_management = True
        acme_account.save()
        TagKey.objects.create(organization=acme_account.organization, key="Team")
        queue_cost_explorer(
            aws,
            ACCOUNT,
            [
                page([day(TODAY, {("222222222222", EC2): 3, ("333333333333", EC2): 4})]),
                page([tag_day(TODAY, "Team", {(EC2, "payments"): 5, (EC2, ""): 2})]),
            ],
        )

        run = explorer.sync_account(acme_account, since=TODAY, today=TODAY)

        assert run.requests_made == 2
        assert set(TagSpend.objects.values_list("sub_account_id", "tag_value", "amount")) == {
            (ACCOUNT, "payments", Decimal(5)),
            (ACCOUNT, "", Decimal(2)),
        }
