"""Regional price lookups: the cached Price List figure for the region, else the shipped table
marked as us-east-1's; the cache read once per process, not once per lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from costs import prices
from costs.models import PriceQuote

pytestmark = pytest.mark.django_db

FETCHED = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def quote(key, region="eu-west-1", amount="0.107", unit="hour", **fields):
    return PriceQuote.objects.create(
        key=key, region=region, amount=amount, unit=unit, fetched_at=FETCHED, **fields
    )


def test_without_a_cached_figure_the_table_answers_as_us_east_1():
    price = prices.ec2_hourly("m5.large", "eu-west-1")

    assert price == prices.Price(
        Decimal("0.096"), "hour", "us-east-1", "price_table", date(2025, 1, 1)
    )
    assert price.evidence("instance") == {
        "instance_price": "0.096",
        "instance_unit": "hour",
        "instance_price_source": "price_table",
        "instance_price_region": "us-east-1",
        "instance_price_as_of": "2025-01-01",
    }


def test_a_cached_figure_answers_for_its_region_only():
    quote("ec2:m5.large")
    quote("rds-storage:gp3", amount="0.127", unit="GB-month")

    ireland = prices.ec2_hourly("m5.large", "eu-west-1")
    virginia = prices.ec2_hourly("m5.large", "us-east-1")

    assert ireland == prices.Price(
        Decimal("0.107"), "hour", "eu-west-1", "price_list", FETCHED.date()
    )
    assert virginia.source == "price_table"
    assert prices.rds_storage_gb_month("gp3", "eu-west-1").amount == Decimal("0.127")


def test_a_product_the_price_list_does_not_list_falls_back_to_the_table():
    PriceQuote.objects.create(
        key="ebs:gp3", region="eu-west-1", unit="GB-month", status="not_listed", fetched_at=FETCHED
    )

    price = prices.ebs_gb_month("gp3", "eu-west-1")

    assert (price.source, price.region, price.amount) == (
        "price_table",
        "us-east-1",
        Decimal("0.08"),
    )


def test_an_unknown_price_is_none_not_zero():
    assert prices.ec2_hourly("x9.galactic", "eu-west-1") is None


def test_thousands_of_lookups_read_the_cache_once(django_assert_num_queries):
    quote("ec2:m5.large")
    quote("ec2:m5.xlarge", amount="0.214")

    with django_assert_num_queries(1):
        for _ in range(500):
            assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_list"
            assert prices.ec2_hourly("m5.xlarge", "eu-west-1").amount == Decimal("0.214")
            assert prices.nat_hourly("eu-west-1").source == "price_table"


def test_the_snapshot_is_reloaded_when_dropped_here_or_expired_for_another_process():
    assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_table"
    quote("ec2:m5.large")
    # Still the loaded snapshot: the write came from elsewhere.
    assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_table"

    cache.delete(prices.SNAPSHOT_MARKER)  # what SNAPSHOT_SECONDS does in another process
    assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_list"

    PriceQuote.objects.filter(key="ec2:m5.large").update(amount="0.2")
    prices.forget_snapshot()  # what a refresh in this process does
    assert prices.ec2_hourly("m5.large", "eu-west-1").amount == Decimal("0.2")


def test_table_only_ignores_the_cache():
    quote("ec2:m5.large")

    with prices.table_only():
        assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_table"
    assert prices.ec2_hourly("m5.large", "eu-west-1").source == "price_list"


def test_the_basis_names_source_region_and_date_and_flags_old_figures():
    quote("ec2:m5.large")
    listed = prices.ec2_hourly("m5.large", "eu-west-1")
    table = prices.ec2_hourly("m5.large", "ap-south-1")

    assert (
        prices.basis_label(listed, "eu-west-1", date(2026, 12, 7))
        == "AWS Price List (eu-west-1, fetched 2026-12-01)"
    )
    assert (
        prices.basis_label(listed, "eu-west-1", date(2027, 1, 15))
        == "AWS Price List (eu-west-1, fetched 2026-12-01, over 35 days old)"
    )
    assert prices.basis_label(table, "ap-south-1") == "price table (us-east-1 prices)"
