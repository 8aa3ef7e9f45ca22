"""The shipped on-demand price table: its provenance, its figures and the derived prices."""

import itertools
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from costs import pricing

SIZES = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge"]
FAMILIES = {
    "t2": SIZES[:7],
    "t3": SIZES[:7],
    "t3a": SIZES[:7],
    "t4g": SIZES[:7],
    "m5": SIZES[4:],
    "m5a": SIZES[4:],
    "m6i": SIZES[4:],
    "m6g": SIZES[3:],
    "m7i": SIZES[4:],
    "c5": SIZES[4:],
    "c6i": SIZES[4:],
    "c6g": SIZES[3:],
    "c7i": SIZES[4:],
    "r5": SIZES[4:],
    "r6i": SIZES[4:],
    "r6g": SIZES[3:],
    # Previous generations and the Graviton families they and x86 types move to (issue 20).
    "m4": SIZES[4:],
    "c4": SIZES[4:],
    "r4": SIZES[4:],
    "m7g": SIZES[3:],
    "c7g": SIZES[3:],
    "r7g": SIZES[3:],
}


def test_the_table_says_when_and_where_its_prices_come_from():
    raw = json.loads(pricing.PRICE_TABLE_PATH.read_text())

    assert pricing.PRICE_TABLE_AS_OF.isoformat() == "2025-01-01"
    assert raw["region"] == pricing.PRICE_TABLE_REGION == "us-east-1"
    assert raw["ec2_on_demand_hourly"]["operating_system"] == "Linux/UNIX"
    assert raw["ec2_on_demand_hourly"]["tenancy"] == "shared"
    assert "as published in 2025" in pricing.PRICE_TABLE_SOURCE
    assert "transcribed, not fetched live" in pricing.PRICE_TABLE_SOURCE
    assert "verify before relying on exact figures" in pricing.PRICE_TABLE_SOURCE
    assert pricing.HOURS_PER_MONTH == 730


def test_every_common_family_and_size_has_a_price():
    expected = {f"{name}.{size}" for name, sizes in FAMILIES.items() for size in sizes}
    assert set(pricing.known_instance_types()) == expected


def test_each_size_costs_twice_the_one_below_it():
    # On-demand prices double with each size inside a family: a typo breaks the pattern.
    by_family = defaultdict(list)
    for instance_type in pricing.known_instance_types():
        name, size = instance_type.split(".")
        by_family[name].append((SIZES.index(size), pricing.instance_hourly(instance_type)))
    for name, prices in by_family.items():
        ordered = [price for _, price in sorted(prices)]
        for smaller, larger in itertools.pairwise(ordered):
            assert abs(larger / smaller - 2) <= Decimal("0.02"), (name, smaller, larger)


@pytest.mark.parametrize(
    ("instance_type", "hourly", "monthly"),
    [
        ("m5.2xlarge", "0.384", "280.32"),
        ("m5.xlarge", "0.192", "140.16"),
        ("t3.micro", "0.0104", "7.592"),
        ("c7i.large", "0.08925", "65.1525"),
        ("r6g.medium", "0.0504", "36.792"),
    ],
)
def test_instance_prices_are_exact_decimals(instance_type, hourly, monthly):
    assert pricing.instance_hourly(instance_type) == Decimal(hourly)
    assert pricing.instance_monthly(instance_type) == Decimal(monthly)


def test_unknown_instance_types_have_no_price():
    assert pricing.instance_hourly("x2iedn.32xlarge") is None
    assert pricing.instance_monthly("m5.24xlarge") is None


@pytest.mark.parametrize(
    ("volume_type", "size", "iops", "monthly"),
    [
        ("gp2", 100, None, "10.00"),
        ("gp3", 100, None, "8.00"),
        ("gp3", 100, 3000, "8.00"),  # 3,000 IOPS are included
        ("gp3", 100, 5000, "18.00"),  # 2,000 extra at $0.005
        ("io1", 100, 1000, "77.50"),  # 12.50 storage + 1,000 x $0.065
        ("io2", 100, 40000, "2456.50"),  # 32,000 x 0.065 + 8,000 x 0.0455 + 12.50
        ("st1", 500, None, "22.50"),
        ("sc1", 500, None, "7.50"),
        ("standard", 10, None, "0.50"),
    ],
)
def test_volume_prices(volume_type, size, iops, monthly):
    assert pricing.volume_monthly(volume_type, size, iops) == Decimal(monthly)


def test_unknown_volume_types_have_no_price():
    assert pricing.volume_monthly("gp9", 100) is None


def test_gp2_to_gp3_saves_two_cents_per_gb_month_for_ordinary_volumes():
    assert pricing.gp3_saving_monthly(100) == Decimal("2.00")
    assert pricing.gp3_saving_monthly(1000) == Decimal("20.00")


def test_gp3_keeps_the_baseline_iops_of_a_large_gp2_volume():
    # 2,000 GiB of gp2 has 6,000 baseline IOPS; the gp3 equivalent pays for 3,000 extra.
    assert pricing.gp3_equivalent_iops(2000) == 6000
    assert pricing.gp3_equivalent_monthly(2000) == Decimal("175.00")
    assert pricing.gp3_saving_monthly(2000) == Decimal("25.00")


def test_gp2_baseline_iops_is_bounded():
    assert pricing.gp2_baseline_iops(10) == 100
    assert pricing.gp2_baseline_iops(8000) == 16000


def test_an_idle_elastic_ip_costs_half_a_cent_an_hour():
    assert pricing.eip_monthly() == Decimal("3.65")


def test_other_regions_are_marked_as_using_us_east_1_prices():
    assert pricing.basis_label("us-east-1") == "price table"
    assert pricing.basis_label("eu-west-1") == "price table (us-east-1 prices)"
    evidence = pricing.table_evidence("eu-west-1")
    assert evidence["basis"] == "price table (us-east-1 prices)"
    assert evidence["price_table_as_of"] == "2025-01-01"
    assert evidence["hours_per_month"] == 730
    json.dumps(evidence)  # stored in a JSONField
