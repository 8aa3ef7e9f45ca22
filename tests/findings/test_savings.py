"""Savings: the resource's own billed cost first, the dated price table otherwise."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from costs.models import CostRecord, PriceQuote
from findings import savings
from findings.models import Recommendation
from fleet.models import ElasticIP, Instance, Volume

TODAY = date(2026, 11, 23)
BILLED = Recommendation.SavingBasis.BILLED
PRICE_TABLE = Recommendation.SavingBasis.PRICE_TABLE
PRICE_LIST = Recommendation.SavingBasis.PRICE_LIST
ARN = "arn:aws:ec2:us-east-1:111111111111"


def cost(owner, resource_id, amount, days_ago=1, source="focus", metric="billed", **extra):
    values = {
        "organization": owner.organization,
        "account": owner,
        "source": source,
        "metric": metric,
        "sub_account_id": owner.account_id,
        "usage_date": TODAY - timedelta(days=days_ago),
        "service": "Amazon Elastic Compute Cloud",
        "region": "us-east-1",
        "resource_id": resource_id,
        "amount": Decimal(amount),
        **extra,
    }
    return CostRecord.objects.create(**values)


def daily_costs(account, resource_id, amount, days=30, **extra):
    for days_ago in range(1, days + 1):
        cost(account, resource_id, amount, days_ago=days_ago, **extra)


@pytest.fixture(autouse=True, params=["one query each", "preloaded index"])
def billed_lookup(request, acme_account):
    """Every test runs both ways: detection preloads all billed costs in one query."""
    if request.param == "one query each":
        yield
        return
    with savings.billed_costs(acme_account, TODAY):
        yield


@pytest.fixture
def instance(acme_account):
    return Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0abc",
        instance_type="m5.2xlarge",
        state="running",
    )


class TestBilledMonthlyCost:
    def test_sums_the_last_30_days_of_the_bare_id(self, acme_account):
        daily_costs(acme_account, "i-0abc", "9.00")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("270.00")

    def test_matches_an_arn_ending_in_the_id_but_not_a_longer_id(self, acme_account):
        cost(acme_account, f"{ARN}:instance/i-0abc", "5.00")
        cost(acme_account, f"{ARN}:instance/i-0abcd", "7.00")
        cost(acme_account, "i-0abcd", "11.00")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("5.00")

    def test_a_bare_id_and_its_arn_on_the_same_day_count_the_day_once(self, acme_account):
        cost(acme_account, f"{ARN}:instance/i-0abc", "5.00", days_ago=2)
        cost(acme_account, "i-0abc", "1.00", days_ago=2)
        cost(acme_account, "i-0abc", "1.00", days_ago=3)

        billed = savings.billed_cost(acme_account, ["i-0abc"], TODAY)

        assert (billed.amount, billed.days_billed) == (Decimal("7.00"), 2)

    def test_only_the_30_days_before_today_count(self, acme_account):
        cost(acme_account, "i-0abc", "1.00", days_ago=0)
        cost(acme_account, "i-0abc", "2.00", days_ago=30)
        cost(acme_account, "i-0abc", "4.00", days_ago=31)

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("2.00")

    def test_only_each_sources_primary_metric_counts(self, acme_account):
        cost(acme_account, "i-0abc", "3.00", metric="billed")
        cost(acme_account, "i-0abc", "2.50", metric="effective")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("3.00")

    def test_the_billing_export_wins_over_cost_explorer_instead_of_adding_up(self, acme_account):
        cost(acme_account, "i-0abc", "3.00", source="focus", metric="billed")
        cost(acme_account, "i-0abc", "3.10", source="explorer", metric="unblended")

        billed = savings.billed_cost(acme_account, ["i-0abc"], TODAY)

        assert billed.amount == Decimal("3.00")
        assert billed.source == "focus"

    def test_cost_explorer_alone_is_used_with_its_primary_metric(self, acme_account):
        cost(acme_account, "i-0abc", "3.10", source="explorer", metric="unblended")
        cost(acme_account, "i-0abc", "2.90", source="explorer", metric="amortized")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("3.10")

    def test_another_accounts_costs_are_not_this_resources(self, acme_account, globex_account):
        cost(globex_account, "i-0abc", "8.00")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) is None

    def test_an_unlinked_export_row_of_the_same_sub_account_counts(self, acme_account):
        cost(acme_account, "i-0abc", "6.00", account=None)

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) == Decimal("6.00")

    def test_none_without_rows(self, acme_account):
        cost(acme_account, "", "100.00")

        assert savings.billed_monthly_cost(acme_account, "i-0abc", TODAY) is None


class TestInstanceStop:
    def test_price_table_when_the_store_has_no_cost_for_it(self, acme_account, instance):
        saving, basis, evidence = savings.instance_stop_saving(acme_account, instance, TODAY)

        assert (saving, basis) == (Decimal("280.32"), PRICE_TABLE)
        assert evidence["basis"] == "price table"
        assert evidence["hourly"] == "0.384"
        assert evidence["monthly"] == "280.32"
        assert evidence["price_table_as_of"] == "2025-01-01"
        json.dumps(evidence)

    def test_billed_cost_when_the_store_has_it(self, acme_account, instance):
        daily_costs(acme_account, f"{ARN}:instance/i-0abc", "8.50")

        saving, basis, evidence = savings.instance_stop_saving(acme_account, instance, TODAY)

        assert (saving, basis) == (Decimal("255.00"), BILLED)
        assert evidence["billed_cost_30_days"] == "255.00"
        assert evidence["days_billed"] == 30
        assert evidence["billed_metric"] == "billed"
        json.dumps(evidence)

    def test_windows_and_spot_instances_are_flagged_on_the_price_table(self, acme_account):
        box = Instance.objects.create(
            account=acme_account,
            region="eu-west-1",
            instance_id="i-0win",
            instance_type="t3.large",
            state="running",
            platform="Windows",
            lifecycle="spot",
        )

        saving, basis, evidence = savings.instance_stop_saving(acme_account, box, TODAY)

        assert basis == PRICE_TABLE
        assert saving == Decimal("60.736")
        assert evidence["basis"] == "price table (us-east-1 prices)"
        assert "Windows" in evidence["price_notes"][0]
        assert "spot" in evidence["price_notes"][1]

    def test_an_unpriced_type_saves_nothing_and_says_why(self, acme_account):
        box = Instance.objects.create(
            account=acme_account,
            region="us-east-1",
            instance_id="i-0big",
            instance_type="x2iedn.32xlarge",
            state="running",
        )

        saving, basis, evidence = savings.instance_stop_saving(acme_account, box, TODAY)

        assert (saving, basis) == (Decimal(0), PRICE_TABLE)
        assert "x2iedn.32xlarge" in evidence["note"]


class TestResize:
    def test_price_table_difference(self, acme_account, instance):
        saving, basis, evidence = savings.resize_saving(acme_account, instance, "m5.xlarge", TODAY)

        assert (saving, basis) == (Decimal("140.16"), PRICE_TABLE)
        assert evidence["current_monthly"] == "280.32"
        assert evidence["target_monthly"] == "140.16"
        assert evidence["target_hourly"] == "0.192"

    def test_billed_cost_scaled_by_the_price_ratio(self, acme_account, instance):
        # A discounted instance: 6.00 a day instead of 9.216 on demand.
        daily_costs(acme_account, "i-0abc", "6.00")

        saving, basis, evidence = savings.resize_saving(acme_account, instance, "m5.xlarge", TODAY)

        assert (saving, basis) == (Decimal("90.00"), BILLED)
        assert evidence["price_ratio"] == "0.5000"
        assert evidence["billed_cost_30_days"] == "180.00"

    def test_unpriced_target_saves_nothing_and_says_why(self, acme_account, instance):
        saving, _, evidence = savings.resize_saving(acme_account, instance, "m5.nano", TODAY)

        assert saving == Decimal(0)
        assert "m5.nano" in evidence["note"]


class TestVolumesAndAddresses:
    def volume(self, account, **fields):
        values = {
            "account": account,
            "region": "us-east-1",
            "volume_id": "vol-01",
            "volume_type": "io1",
            "size_gib": 100,
            "iops": 1000,
            "state": "available",
            **fields,
        }
        return Volume.objects.create(**values)

    def test_a_volume_saves_its_storage_and_iops(self, acme_account):
        saving, basis, evidence = savings.volume_saving(
            acme_account, self.volume(acme_account), TODAY
        )

        assert (saving, basis) == (Decimal("77.50"), PRICE_TABLE)
        assert evidence["iops"] == 1000

    def test_a_volume_with_billed_cost_saves_that(self, acme_account):
        daily_costs(acme_account, f"{ARN}:volume/vol-01", "2.00", days=10)

        saving, basis, _ = savings.volume_saving(acme_account, self.volume(acme_account), TODAY)

        assert (saving, basis) == (Decimal("20.00"), BILLED)

    def test_gp2_to_gp3_from_the_billed_cost(self, acme_account):
        volume = self.volume(acme_account, volume_type="gp2", iops=300, state="in-use")
        daily_costs(acme_account, "vol-01", "0.50")

        saving, basis, evidence = savings.gp2_to_gp3_saving(acme_account, volume, TODAY)

        assert (saving, basis) == (Decimal("3.00"), BILLED)  # 15.00 x (1 - 8/10)
        assert evidence["gp3_monthly"] == "8.00"

    def test_gp2_to_gp3_from_the_price_table(self, acme_account):
        volume = self.volume(acme_account, volume_type="gp2", iops=300, state="in-use")

        saving, basis, evidence = savings.gp2_to_gp3_saving(acme_account, volume, TODAY)

        assert (saving, basis) == (Decimal("2.00"), PRICE_TABLE)
        assert evidence["gp2_monthly"] == "10.00"

    def test_an_elastic_ip_without_billed_cost_uses_the_price_table(self, acme_account):
        address = ElasticIP.objects.create(
            account=acme_account,
            region="us-east-1",
            allocation_id="eipalloc-01",
            public_ip="203.0.113.7",
        )

        assert savings.eip_saving(acme_account, address, TODAY)[:2] == (
            Decimal("3.65"),
            PRICE_TABLE,
        )

    def test_an_elastic_ip_billed_under_its_allocation_arn(self, acme_account):
        address = ElasticIP.objects.create(
            account=acme_account,
            region="us-east-1",
            allocation_id="eipalloc-01",
            public_ip="203.0.113.7",
        )
        daily_costs(acme_account, f"{ARN}:elastic-ip/eipalloc-01", "0.12")

        assert savings.eip_saving(acme_account, address, TODAY)[:2] == (Decimal("3.60"), BILLED)

    def test_an_elastic_ip_billed_under_its_address(self, acme_account):
        address = ElasticIP.objects.create(
            account=acme_account,
            region="us-east-1",
            allocation_id="eipalloc-01",
            public_ip="203.0.113.7",
        )
        daily_costs(acme_account, "203.0.113.7", "0.10")

        assert savings.eip_saving(acme_account, address, TODAY)[:2] == (Decimal("3.00"), BILLED)


def listed(key, amount, unit="hour", region="eu-west-1", fetched=date(2026, 11, 20)):
    PriceQuote.objects.create(
        key=key,
        region=region,
        amount=Decimal(amount),
        unit=unit,
        fetched_at=datetime(fetched.year, fetched.month, fetched.day, 4, tzinfo=UTC),
    )


class TestRegionalPrices:
    """Outside us-east-1 the cached Price List figure for the region, shown with its source and
    date; the table's us-east-1 figure, marked as such, when the cache has none."""

    @pytest.fixture
    def box(self, acme_account):
        return Instance.objects.create(
            account=acme_account,
            region="eu-west-1",
            instance_id="i-0eu",
            instance_type="m5.2xlarge",
            state="running",
        )

    def test_stopping_uses_the_cached_regional_price(self, acme_account, box):
        listed("ec2:m5.2xlarge", "0.428")

        saving, basis, evidence = savings.instance_stop_saving(acme_account, box, TODAY)

        assert (saving, basis) == (Decimal("312.44"), PRICE_LIST)  # 0.428 x 730
        assert evidence["basis"] == "AWS Price List (eu-west-1, fetched 2026-11-20)"
        assert evidence["hourly"] == "0.428"
        assert evidence["instance_price_source"] == "price_list"
        assert evidence["instance_price_region"] == "eu-west-1"
        assert evidence["instance_price_as_of"] == "2026-11-20"
        assert "price_table_as_of" not in evidence
        json.dumps(evidence)

    def test_without_a_cached_price_the_table_marked_us_east_1(self, acme_account, box):
        listed("ec2:m5.2xlarge", "0.5", region="ap-south-1")  # another region's figure

        saving, basis, evidence = savings.instance_stop_saving(acme_account, box, TODAY)

        assert (saving, basis) == (Decimal("280.32"), PRICE_TABLE)
        assert evidence["basis"] == "price table (us-east-1 prices)"
        assert evidence["instance_price_region"] == "us-east-1"
        assert evidence["instance_price_as_of"] == "2025-01-01"

    def test_an_old_figure_is_used_and_says_so(self, acme_account, box):
        listed("ec2:m5.2xlarge", "0.428", fetched=date(2026, 9, 1))

        _, basis, evidence = savings.instance_stop_saving(acme_account, box, TODAY)

        assert basis == PRICE_LIST
        assert evidence["basis"] == (
            "AWS Price List (eu-west-1, fetched 2026-09-01, over 35 days old)"
        )

    def test_billed_cost_stays_first(self, acme_account, box):
        listed("ec2:m5.2xlarge", "0.428")
        listed("ec2:m5.xlarge", "0.214")
        daily_costs(acme_account, "i-0eu", "6.00")

        saving, basis, evidence = savings.resize_saving(acme_account, box, "m5.xlarge", TODAY)

        assert (saving, basis) == (Decimal("90.00"), BILLED)
        assert evidence["basis"] == "billed cost, last 30 days"
        assert evidence["price_ratio"] == "0.5000"
        assert evidence["current_price_source"] == "price_list"

    def test_a_resize_takes_both_prices_from_one_source(self, acme_account, box):
        listed("ec2:m5.2xlarge", "0.428")  # the target, m5.xlarge, is not cached

        saving, basis, evidence = savings.resize_saving(acme_account, box, "m5.xlarge", TODAY)

        # Not 0.428 - 0.192 (Ireland minus Virginia): both from the table.
        assert (saving, basis) == (Decimal("140.16"), PRICE_TABLE)
        assert evidence["current_price_source"] == evidence["target_price_source"] == "price_table"

        listed("ec2:m5.xlarge", "0.214")
        from costs import prices

        prices.forget_snapshot()
        saving, basis, evidence = savings.resize_saving(acme_account, box, "m5.xlarge", TODAY)
        assert (saving, basis) == (Decimal("156.22"), PRICE_LIST)
        assert evidence["target_hourly"] == "0.214"

    def test_volumes_gp3_and_addresses(self, acme_account):
        listed("ebs:gp2", "0.11", "GB-month")
        listed("ebs:gp3", "0.088", "GB-month")
        listed("ipv4:hour", "0.005")
        volume = Volume.objects.create(
            account=acme_account,
            region="eu-west-1",
            volume_id="vol-eu",
            volume_type="gp2",
            size_gib=100,
            state="in-use",
        )
        address = ElasticIP.objects.create(
            account=acme_account,
            region="eu-west-1",
            allocation_id="eipalloc-eu",
            public_ip="203.0.113.9",
        )

        assert savings.volume_saving(acme_account, volume, TODAY)[:2] == (
            Decimal("11.00"),
            PRICE_LIST,
        )
        saving, basis, evidence = savings.gp2_to_gp3_saving(acme_account, volume, TODAY)
        assert (saving, basis) == (Decimal("2.200"), PRICE_LIST)
        assert (evidence["gp2_price"], evidence["gp3_price"]) == ("0.11", "0.088")
        saving, basis, evidence = savings.eip_saving(acme_account, address, TODAY)
        assert (saving, basis, evidence["address_price_region"]) == (
            Decimal("3.65"),
            PRICE_LIST,
            "eu-west-1",
        )

    def test_provisioned_iops_from_the_table_make_the_basis_the_tables(self, acme_account):
        listed("ebs:io1", "0.138", "GB-month")
        volume = Volume.objects.create(
            account=acme_account,
            region="eu-west-1",
            volume_id="vol-io",
            volume_type="io1",
            size_gib=100,
            iops=1000,
            state="available",
        )

        saving, basis, evidence = savings.volume_saving(acme_account, volume, TODAY)

        assert (saving, basis) == (Decimal("78.80"), PRICE_TABLE)  # 13.80 + 1000 x 0.065
        assert evidence["storage_price_source"] == "price_list"
        assert evidence["basis"] == (
            "price table (us-east-1 prices) and AWS Price List (eu-west-1, fetched 2026-11-20)"
        )
