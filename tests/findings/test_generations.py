"""Old generation and Graviton moves, and at most one type change per instance."""

from datetime import timedelta
from decimal import Decimal

import pytest

from findings import generations
from findings.models import DetectionSettings, Recommendation
from findings.rightsizing import InstanceSpec, find_rightsizing
from fleet.models import Instance, UtilizationDay
from tests.findings.resources import TODAY, billed

Kind = Recommendation.Kind
SPECS = {
    "m4.large": InstanceSpec(2, 8192),
    "m4.xlarge": InstanceSpec(4, 16384),
    "m4.2xlarge": InstanceSpec(8, 32768),
    "m5.large": InstanceSpec(2, 8192),
    "m5.xlarge": InstanceSpec(4, 16384),
    "m5.2xlarge": InstanceSpec(8, 32768),
}


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def make(account, instance_type="m5.large", instance_id="i-01", **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "instance_id": instance_id,
        "instance_type": instance_type,
        "state": "running",
        "platform": "Linux/UNIX",
        "verdict": "not_idle",
        **fields,
    }
    return Instance.objects.create(**values)


def days(instance, p95):
    for i in range(14):
        UtilizationDay.objects.create(
            instance=instance,
            day=TODAY - timedelta(days=14 - i),
            hours=24,
            cpu_avg=p95 - 4,
            cpu_max=p95 + 10,
            cpu_p95=p95,
            cpu_peak_hour_avg=p95 + 1,
            network_hours=24,
            network_bytes=500 * 1024 * 1024,
            memory_max=20.0,
        )
    return list(UtilizationDay.objects.filter(instance=instance))


def rightsizing_run(account, settings_row, *instances, p95=15.0):
    utilization = {i.pk: days(i, p95) for i in instances}
    return find_rightsizing(account, list(instances), utilization, settings_row, SPECS, TODAY)


def test_previous_generation_moves_to_the_current_one_same_size(acme_account, settings_row):
    instance = make(acme_account, "t2.large")

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert finding.kind == Kind.OLD_GENERATION
    assert finding.target_type == "t3.large"
    # ($0.0928 - $0.0832) x 730
    assert finding.monthly_saving == Decimal("7.008")
    assert finding.saving_basis == Recommendation.SavingBasis.PRICE_TABLE
    assert finding.evidence["saving"]["current_price"] == "0.0928"
    assert finding.evidence["saving"]["target_price"] == "0.0832"
    assert finding.evidence["saving"]["target_price_source"] == "price_table"
    alternative = finding.evidence["graviton_alternative"]
    assert alternative["type"] == "t4g.large"
    assert alternative["monthly_saving"] == "18.69"  # (0.0928 - 0.0672) x 730
    assert "arm64" in alternative["note"]
    assert finding.instance_pk == instance.pk


@pytest.mark.parametrize(
    ("old", "new"),
    [("m4.xlarge", "m6i.xlarge"), ("c4.large", "c6i.large"), ("r4.2xlarge", "r6i.2xlarge")],
)
def test_each_old_family_maps_to_its_current_generation(acme_account, settings_row, old, new):
    instance = make(acme_account, old)

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert (finding.kind, finding.target_type) == (Kind.OLD_GENERATION, new)
    assert finding.monthly_saving > 0


def test_x86_linux_moves_to_graviton(acme_account, settings_row):
    instance = make(acme_account, "m5.large")

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert (finding.kind, finding.target_type) == (Kind.GRAVITON, "m7g.large")
    # (0.096 - 0.0816) x 730
    assert finding.monthly_saving == Decimal("10.512")
    assert "arm64" in finding.evidence["architecture_note"]
    assert "arm64 AMI" in finding.action


@pytest.mark.parametrize(
    ("platform", "offered"),
    [
        ("Red Hat Enterprise Linux", True),
        ("SUSE Linux", True),
        ("Windows", False),
        ("Windows with SQL Server Standard", False),
        ("Linux with SQL Server Standard", False),
        ("", False),
    ],
)
def test_graviton_only_where_the_platform_runs_on_arm(
    acme_account, settings_row, platform, offered
):
    instance = make(acme_account, "c5.large", platform=platform)

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert (finding is not None) is offered


def test_windows_on_an_old_generation_gets_no_graviton_alternative(acme_account, settings_row):
    instance = make(acme_account, "t2.large", platform="Windows")

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert finding.kind == Kind.OLD_GENERATION
    assert finding.evidence["graviton_alternative"] is None
    assert "Windows" in finding.evidence["saving"]["price_notes"][0]


@pytest.mark.parametrize(
    "fields",
    [
        {"state": "stopped"},
        {"verdict": "idle"},
        {"verdict": "protected"},
        {"verdict": "asg_member"},
        {"verdict": "not_enough_data"},
        {"lifecycle": "spot"},
        {"tags": {"spendlens:protect": "true"}},
    ],
)
def test_no_type_change_for_instances_that_should_not_get_one(acme_account, settings_row, fields):
    instance = make(acme_account, "t2.large", **fields)

    assert generations.generation_finding(acme_account, instance, settings_row, TODAY) is None


def test_only_when_the_target_price_is_known(acme_account, settings_row):
    # m6i.16xlarge and c7g.9xlarge are not in the price table (c5.9xlarge has no c7g twin).
    assert (
        generations.generation_finding(
            acme_account, make(acme_account, "m4.16xlarge"), settings_row, TODAY
        )
        is None
    )
    assert (
        generations.generation_finding(
            acme_account, make(acme_account, "c5.9xlarge", instance_id="i-02"), settings_row, TODAY
        )
        is None
    )


def test_an_auto_scaling_member_is_told_to_change_its_launch_template(acme_account, settings_row):
    instance = make(acme_account, "m4.large", auto_scaling_group="web-asg")

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert "launch template" in finding.action
    assert "web-asg" in finding.summary


def test_billed_cost_is_scaled_by_the_price_ratio(acme_account, settings_row):
    instance = make(acme_account, "m5.large")
    billed(acme_account, "i-01", "3.00")  # $90 over 30 days

    finding = generations.generation_finding(acme_account, instance, settings_row, TODAY)

    assert finding.saving_basis == Recommendation.SavingBasis.BILLED
    # 90 x (1 - 0.0816 / 0.096) = 13.50
    assert finding.monthly_saving.quantize(Decimal("0.01")) == Decimal("13.50")
    assert finding.evidence["saving"]["price_ratio"] == "0.8500"


# --- With rightsizing: one type change per instance ---


def test_an_oversized_old_generation_instance_gets_one_rightsize_to_the_current_generation(
    acme_account, settings_row
):
    instance = make(acme_account, "m4.xlarge")

    [finding] = rightsizing_run(acme_account, settings_row, instance)

    assert finding.kind == Kind.RIGHTSIZE
    assert finding.target_type == "m6i.large"
    assert finding.evidence["generation_move"]["smaller_size"] == "m4.large"
    # m4.xlarge $0.20 - m6i.large $0.096, x 730
    assert finding.monthly_saving == Decimal("75.920")
    assert finding.evidence["graviton_alternative"]["type"] == "m7g.large"
    assert "m6i.large" in finding.action


def test_an_oversized_current_instance_keeps_its_family_and_shows_graviton(
    acme_account, settings_row
):
    instance = make(acme_account, "m5.2xlarge")

    [finding] = rightsizing_run(acme_account, settings_row, instance)

    assert (finding.kind, finding.target_type) == (Kind.RIGHTSIZE, "m5.xlarge")
    assert "generation_move" not in finding.evidence
    assert finding.evidence["graviton_alternative"]["type"] == "m7g.xlarge"


def test_a_busy_instance_gets_the_generation_move_instead(acme_account, settings_row):
    old = make(acme_account, "m4.xlarge", instance_id="i-old")
    x86 = make(acme_account, "m5.xlarge", instance_id="i-x86")
    windows = make(acme_account, "m5.xlarge", instance_id="i-win", platform="Windows")

    findings = rightsizing_run(acme_account, settings_row, old, x86, windows, p95=70.0)

    assert sorted((f.resource_id, f.kind, f.target_type) for f in findings) == [
        ("i-old", Kind.OLD_GENERATION, "m6i.xlarge"),
        ("i-x86", Kind.GRAVITON, "m7g.xlarge"),
    ]
