"""The price cache's refresh from the AWS Price List Query API: a real pricing client with
botocore's Stubber, answers shaped like AWS's (PriceList JSON strings, region-prefixed usage
types, OnDemand and Reserved terms), and the failures the issue names."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from botocore.stub import Stubber

from costs import price_list, prices
from costs.models import PriceQuote

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def product(sku, usage_type, price, unit="Hrs", *, family="Compute Instance", **attributes):
    """A PriceList entry as AWS returns it: a JSON string with product, terms and version."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": family,
                "attributes": {
                    "regionCode": "eu-west-1",
                    "location": "EU (Ireland)",
                    "locationType": "AWS Region",
                    "servicecode": "AmazonEC2",
                    "usagetype": usage_type,
                    **attributes,
                },
                "sku": sku,
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    term: {
                        "offerTermCode": "JRTCKXETXF",
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${price} per {unit}",
                                "appliesTo": [],
                                "rateCode": f"{term}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": price},
                            }
                        },
                        "termAttributes": {},
                    }
                },
                "Reserved": {
                    f"{sku}.4NA7Y494T4": {
                        "priceDimensions": {
                            f"{sku}.4NA7Y494T4.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "beginRange": "0",
                                "endRange": "Inf",
                                "pricePerUnit": {"USD": "0.0010000000"},
                            }
                        },
                        "termAttributes": {"LeaseContractLength": "1yr"},
                    }
                },
            },
            "version": "20261127200000",
            "publicationDate": "2026-11-27T20:00:00Z",
        }
    )


def filters(*pairs):
    return [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in pairs]


EC2_M5_LARGE = {
    "ServiceCode": "AmazonEC2",
    "FormatVersion": "aws_v1",
    "Filters": filters(
        ("regionCode", "eu-west-1"),
        ("instanceType", "m5.large"),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
    ),
}
NAT = {
    "ServiceCode": "AmazonEC2",
    "FormatVersion": "aws_v1",
    "Filters": filters(("regionCode", "eu-west-1"), ("productFamily", "NAT Gateway")),
}
M5_LARGE = product("PBX8M5YHSTR2CFMF", "EUW1-BoxUsage:m5.large", "0.1070000000")


@pytest.fixture
def pricing():
    client = price_list.pricing_client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def answer(*entries, token=None):
    response = {"FormatVersion": "aws_v1", "PriceList": list(entries)}
    if token:
        response["NextToken"] = token
    return response


def test_the_client_is_the_platforms_own_on_the_us_east_1_endpoint(aws):
    client = price_list.pricing_client()

    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == aws  # AWS_ENDPOINT_URL is honoured


def test_an_ec2_price_is_stored_and_looked_up_for_its_region(pricing):
    client, stubber = pricing
    stubber.add_response("get_products", answer(M5_LARGE), EC2_M5_LARGE)

    result = price_list.refresh(["eu-west-1"], ["ec2:m5.large"], client=client, now=NOW)

    assert (result.count(price_list.STORED), result.calls, result.ok) == (1, 1, True)
    quote = PriceQuote.objects.get(key="ec2:m5.large", region="eu-west-1")
    assert (quote.amount, quote.unit, quote.sku, quote.status) == (
        Decimal("0.107"),
        "hour",
        "PBX8M5YHSTR2CFMF",
        "ok",
    )
    price = prices.ec2_hourly("m5.large", "eu-west-1")
    assert price == prices.Price(Decimal("0.107"), "hour", "eu-west-1", "price_list", NOW.date())
    # Another region is not eu-west-1's: the table's us-east-1 figure, marked as such.
    elsewhere = prices.ec2_hourly("m5.large", "ap-south-1")
    assert (elsewhere.source, elsewhere.region) == ("price_table", "us-east-1")


def test_rds_takes_the_single_az_standard_instance_not_io_optimized(pricing):
    client, stubber = pricing
    aurora = {
        "ServiceCode": "AmazonRDS",
        "FormatVersion": "aws_v1",
        "Filters": filters(
            ("regionCode", "eu-west-1"),
            ("instanceType", "db.r6g.large"),
            ("databaseEngine", "Aurora PostgreSQL"),
        ),
    }
    stubber.add_response(
        "get_products",
        answer(
            product(
                "IOOPT", "EUW1-InstanceUsageIOOptimized:db.r6g.large", "0.3510000000", family="x"
            ),
            product("STD", "EUW1-InstanceUsage:db.r6g.large", "0.2700000000", family="x"),
        ),
        aurora,
    )
    postgres = {
        "ServiceCode": "AmazonRDS",
        "FormatVersion": "aws_v1",
        "Filters": filters(
            ("regionCode", "eu-west-1"),
            ("instanceType", "db.m5.large"),
            ("databaseEngine", "PostgreSQL"),
            ("deploymentOption", "Single-AZ"),
        ),
    }
    stubber.add_response(
        "get_products",
        answer(product("PG", "EUW1-InstanceUsage:db.m5.large", "0.1910000000")),
        postgres,
    )

    price_list.refresh_pairs(
        [
            ("rds:aurora-postgresql:db.r6g.large", "eu-west-1"),
            ("rds:postgres:db.m5.large", "eu-west-1"),
        ],
        client=client,
        now=NOW,
    )

    assert prices.rds_hourly("db.r6g.large", "aurora-postgresql", "eu-west-1").amount == Decimal(
        "0.27"
    )
    assert prices.rds_hourly("db.m5.large", "postgres", "eu-west-1").amount == Decimal("0.191")


def test_the_nat_hour_and_gb_share_one_call(pricing):
    client, stubber = pricing
    stubber.add_response(
        "get_products",
        answer(
            product("NATH", "EUW1-NatGateway-Hours", "0.0480000000", family="NAT Gateway"),
            product("NATB", "EUW1-NatGateway-Bytes", "0.0480000000", "GB", family="NAT Gateway"),
        ),
        NAT,
    )

    result = price_list.refresh(["eu-west-1"], ["nat:hour", "nat:gb"], client=client, now=NOW)

    assert (result.calls, result.count(price_list.STORED)) == (1, 2)
    assert prices.nat_hourly("eu-west-1").amount == Decimal("0.048")
    per_gb = prices.nat_per_gb("eu-west-1")
    assert (per_gb.amount, per_gb.unit, per_gb.source) == (Decimal("0.048"), "GB", "price_list")


def test_an_application_load_balancer_hour_and_lcu(pricing):
    client, stubber = pricing
    family = "Load Balancer-Application"
    stubber.add_response(
        "get_products",
        answer(
            product("ALBH", "EUW1-LoadBalancerUsage", "0.0252000000", family=family),
            product("ALBL", "EUW1-LCUUsage", "0.0080000000", "LCU-Hrs", family=family),
        ),
        {
            "ServiceCode": "AWSELB",
            "FormatVersion": "aws_v1",
            "Filters": filters(("regionCode", "eu-west-1"), ("productFamily", family)),
        },
    )

    price_list.refresh(
        ["eu-west-1"], ["lb:application:hour", "lb:application:lcu"], client=client, now=NOW
    )

    assert prices.lb_hourly("application", "eu-west-1").amount == Decimal("0.0252")
    assert prices.lb_capacity_unit_hourly("application", "eu-west-1").amount == Decimal("0.008")


def test_snapshot_tiers_and_pages(pricing):
    client, stubber = pricing
    query = {
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "Filters": filters(("regionCode", "eu-west-1"), ("productFamily", "Storage Snapshot")),
    }
    family = "Storage Snapshot"
    stubber.add_response(
        "get_products",
        answer(
            product(
                "FSR", "EUW1-EBS:FastSnapshotRestore", "0.8300000000", "DSU-Hrs", family=family
            ),
            product("SNAP", "EUW1-EBS:SnapshotUsage", "0.0530000000", "GB-Mo", family=family),
            token="page-2",
        ),
        query,
    )
    stubber.add_response(
        "get_products",
        answer(
            product("ARCH", "EUW1-EBS:SnapshotArchiveStorage", "0.0132", "GB-Mo", family=family)
        ),
        {**query, "NextToken": "page-2"},
    )

    result = price_list.refresh(
        ["eu-west-1"], ["snapshot:standard", "snapshot:archive"], client=client, now=NOW
    )

    assert result.calls == 2
    assert prices.snapshot_gb_month("standard", "eu-west-1").amount == Decimal("0.053")
    archive = prices.snapshot_gb_month("archive", "eu-west-1")
    assert (archive.amount, archive.unit) == (Decimal("0.0132"), "GB-month")


def test_a_refused_api_changes_nothing_and_says_the_table_stays(pricing):
    client, stubber = pricing
    PriceQuote.objects.create(
        key="ec2:m5.large", region="eu-west-1", amount="0.1", unit="hour", fetched_at=NOW
    )
    stubber.add_client_error(
        "get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts"
    )

    result = price_list.refresh(
        ["eu-west-1"], ["ec2:m5.large", "nat:hour"], client=client, now=LATER
    )

    assert result.error == "Price List API not allowed: the shipped table stays in use"
    assert not result.ok and result.summary() == result.error
    quote = PriceQuote.objects.get()
    assert (quote.amount, quote.fetched_at) == (Decimal("0.1"), NOW)


def test_throttling_keeps_the_old_figure_and_the_other_queries_go_on(pricing):
    client, stubber = pricing
    PriceQuote.objects.create(
        key="ec2:m5.large", region="eu-west-1", amount="0.1", unit="hour", fetched_at=NOW
    )
    stubber.add_client_error("get_products", "ThrottlingException", "Rate exceeded")
    stubber.add_response(
        "get_products",
        answer(product("NATH", "EUW1-NatGateway-Hours", "0.048", family="NAT Gateway")),
        NAT,
    )

    result = price_list.refresh(
        ["eu-west-1"], ["ec2:m5.large", "nat:hour"], client=client, now=LATER
    )

    throttled, nat = result.outcomes
    assert throttled.status == price_list.ERROR
    assert "throttled by the Price List API" in throttled.message
    assert "the figure fetched 2026-12-01 stays in use" in throttled.message
    assert nat.status == price_list.STORED
    assert PriceQuote.objects.get(key="ec2:m5.large").amount == Decimal("0.1")
    assert prices.ec2_hourly("m5.large", "eu-west-1").as_of == date(2026, 12, 1)
    assert not result.ok


def test_the_standard_retry_mode_retries_throttling():
    config = price_list.pricing_client().meta.config
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] >= 3


def test_a_product_the_api_does_not_list_is_remembered_and_the_table_used(pricing):
    client, stubber = pricing
    stubber.add_response("get_products", answer(), EC2_M5_LARGE)

    result = price_list.refresh(["eu-west-1"], ["ec2:m5.large"], client=client, now=NOW)

    assert result.outcomes[0].status == price_list.NOT_LISTED
    quote = PriceQuote.objects.get()
    assert (quote.status, quote.amount) == ("not_listed", None)
    price = prices.ec2_hourly("m5.large", "eu-west-1")
    assert (price.source, price.region, price.amount) == (
        "price_table",
        "us-east-1",
        Decimal("0.096"),
    )


def test_a_malformed_answer_errors_that_key_and_stores_the_others(pricing):
    client, stubber = pricing
    broken = json.loads(
        product("NATB", "EUW1-NatGateway-Bytes", "0.048", "GB", family="NAT Gateway")
    )
    del broken["terms"]["OnDemand"]["NATB.JRTCKXETXF"]["priceDimensions"]
    stubber.add_response("get_products", answer("{not json"), EC2_M5_LARGE)
    stubber.add_response(
        "get_products",
        answer(
            "{not json",
            json.dumps(broken),
            product("NATH", "EUW1-NatGateway-Hours", "0.048", family="NAT Gateway"),
        ),
        NAT,
    )

    result = price_list.refresh(
        ["eu-west-1"], ["ec2:m5.large", "nat:gb", "nat:hour"], client=client, now=NOW
    )

    by_key = {o.key: o for o in result.outcomes}
    assert by_key["nat:hour"].status == price_list.STORED
    assert by_key["nat:gb"].status == price_list.ERROR
    assert "unreadable price of NATB" in by_key["nat:gb"].message
    assert by_key["ec2:m5.large"].status == price_list.ERROR
    assert "malformed answer" in by_key["ec2:m5.large"].message
    assert "no cached figure: the shipped table stays in use" in by_key["ec2:m5.large"].message
    assert set(PriceQuote.objects.values_list("key", flat=True)) == {"nat:hour"}


def test_a_dimension_in_another_unit_is_not_taken_for_the_price(pricing):
    client, stubber = pricing
    stubber.add_response(
        "get_products",
        answer(product("X", "EUW1-BoxUsage:m5.large", "0.107", "GB-Mo")),
        EC2_M5_LARGE,
    )

    result = price_list.refresh(["eu-west-1"], ["ec2:m5.large"], client=client, now=NOW)

    assert result.outcomes[0].status == price_list.ERROR
    assert "no on-demand price per hour" in result.outcomes[0].message


def test_a_new_refresh_updates_the_figure_and_its_date(pricing):
    client, stubber = pricing
    stubber.add_response("get_products", answer(M5_LARGE), EC2_M5_LARGE)
    stubber.add_response(
        "get_products",
        answer(product("PBX8M5YHSTR2CFMF", "EUW1-BoxUsage:m5.large", "0.1100000000")),
        EC2_M5_LARGE,
    )
    price_list.refresh(["eu-west-1"], ["ec2:m5.large"], client=client, now=NOW)
    assert prices.ec2_hourly("m5.large", "eu-west-1").amount == Decimal("0.107")

    price_list.refresh(client=client, now=LATER)  # what the cache holds, again

    assert PriceQuote.objects.count() == 1
    price = prices.ec2_hourly("m5.large", "eu-west-1")
    assert (price.amount, price.as_of) == (Decimal("0.11"), LATER.date())


def test_a_dry_run_asks_but_stores_nothing(pricing):
    client, stubber = pricing
    stubber.add_response("get_products", answer(M5_LARGE), EC2_M5_LARGE)

    result = price_list.refresh(
        ["eu-west-1"], ["ec2:m5.large"], client=client, now=NOW, dry_run=True
    )

    assert result.outcomes[0].amount == Decimal("0.107")
    assert "dry run, nothing stored" in result.summary()
    assert not PriceQuote.objects.exists()


def test_a_key_the_price_list_is_not_asked_for_makes_no_call(pricing):
    client, _ = pricing

    result = price_list.refresh(["eu-west-1"], ["rds:oracle-ee:db.m5.large"], client=client)

    assert (result.outcomes[0].status, result.calls) == (price_list.UNSUPPORTED, 0)
