"""Rightsizing: specs from DescribeInstanceTypes, the next smaller size, and when it fits."""

import json
from datetime import date, timedelta
from decimal import Decimal

import boto3
import pytest

from costs.models import CostRecord
from findings.models import DetectionSettings, Recommendation
from findings.recommendations import reconcile
from findings.rightsizing import (
    NO_MEMORY_METRIC,
    InstanceSpec,
    check,
    fetch_instance_specs,
    find_rightsizing,
    next_smaller,
)
from fleet.models import Instance, UtilizationDay

TODAY = date(2026, 11, 23)
RIGHTSIZE = Recommendation.Kind.RIGHTSIZE

SPECS = {
    "m5.large": InstanceSpec(2, 8192),
    "m5.xlarge": InstanceSpec(4, 16384),
    "m5.2xlarge": InstanceSpec(8, 32768),
    "m5.4xlarge": InstanceSpec(16, 65536),
    "m5a.xlarge": InstanceSpec(4, 16384),
    "t3.medium": InstanceSpec(2, 4096),
    "t3.large": InstanceSpec(2, 8192),
}


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", endpoint_url=aws, region_name="us-east-1")


@pytest.fixture
def settings_row(acme):
    return DetectionSettings.for_organization(acme)


def make_instance(account, **fields):
    values = {
        "account": account,
        "region": "us-east-1",
        "instance_id": "i-0big",
        "name": "reporting-db-proxy-01",
        "instance_type": "m5.2xlarge",
        "state": "running",
        "verdict": "not_idle",
        **fields,
    }
    return Instance.objects.create(**values)


def record_days(instance, n=14, hours=24, p95=15.0, avg=11.0, cpu_max=24.0, memory=20.0):
    for i in range(n):
        UtilizationDay.objects.create(
            instance=instance,
            day=TODAY - timedelta(days=n - i),
            hours=hours,
            cpu_avg=avg,
            cpu_max=cpu_max,
            cpu_p95=p95,
            cpu_peak_hour_avg=p95 + 1,
            network_hours=hours,
            network_bytes=200 * 1024 * 1024,
            memory_max=memory,
        )
    return {instance.pk: list(UtilizationDay.objects.filter(instance=instance))}


def run(account, instance, utilization, settings_row, specs=SPECS):
    return find_rightsizing(account, [instance], utilization, settings_row, specs, TODAY)


class TestSpecs:
    def test_moto_describes_the_m5_family(self, ec2):
        specs = fetch_instance_specs(ec2, ["m5.2xlarge"])

        assert specs["m5.2xlarge"] == InstanceSpec(vcpus=8, memory_mib=32768)
        assert specs["m5.xlarge"] == InstanceSpec(vcpus=4, memory_mib=16384)
        assert specs["m5.large"] == InstanceSpec(vcpus=2, memory_mib=8192)
        # The filter is per family: m5a and m5d are other families.
        assert {name.split(".")[0] for name in specs} == {"m5"}

    def test_one_call_covers_every_family_in_the_fleet(self, ec2):
        specs = fetch_instance_specs(ec2, ["m5.2xlarge", "t3.large", "m5.large"])

        assert {name.split(".")[0] for name in specs} == {"m5", "t3"}
        assert specs["t3.nano"] == InstanceSpec(vcpus=2, memory_mib=512)

    def test_next_smaller_with_moto_specs(self, ec2):
        specs = fetch_instance_specs(ec2, ["m5.2xlarge", "t3.large"])

        assert next_smaller("m5.2xlarge", specs) == "m5.xlarge"
        assert next_smaller("m5.xlarge", specs) == "m5.large"
        assert next_smaller("m5.large", specs) is None
        # Same vCPUs, half the memory: still strictly smaller.
        assert next_smaller("t3.large", specs) == "t3.medium"
        assert next_smaller("t3.nano", specs) is None
        # metal has the same size as 24xlarge: that is not smaller.
        assert next_smaller("m5.metal", specs) == "m5.16xlarge"

    def test_next_smaller_of_an_unknown_type_is_none(self):
        assert next_smaller("z9.large", SPECS) is None


class TestFindRightsizing:
    def test_oversized_m5_2xlarge_with_low_memory_moves_to_m5_xlarge(
        self, acme_account, settings_row
    ):
        instance = make_instance(acme_account)
        utilization = record_days(instance, p95=15.0, memory=20.0)

        [finding] = run(acme_account, instance, utilization, settings_row)

        assert finding.kind == RIGHTSIZE
        assert finding.resource_id == "i-0big"
        assert finding.target_type == "m5.xlarge"
        assert finding.monthly_saving == Decimal("140.16")
        assert finding.saving_basis == Recommendation.SavingBasis.PRICE_TABLE
        assert finding.instance_pk == instance.pk
        evidence = finding.evidence
        assert evidence["cpu_p95"] == 15.0
        assert (evidence["lookback_days"], evidence["days_with_data"]) == (14, 14)
        assert evidence["cpu_avg"] == 11.0
        assert evidence["cpu_max"] == 24.0
        assert evidence["current"] == {"type": "m5.2xlarge", "vcpus": 8, "memory_gib": 32.0}
        assert evidence["target"] == {"type": "m5.xlarge", "vcpus": 4, "memory_gib": 16.0}
        assert evidence["memory_max_percent"] == 20.0
        assert evidence["projected_memory_peak_percent"] == 40.0
        assert evidence["projected_cpu_p95_on_target"] == 30.0
        assert evidence["saving"]["current_monthly"] == "280.32"
        assert evidence["saving"]["target_monthly"] == "140.16"
        assert "m5.xlarge" in finding.action
        assert "p95 CPU 15.0% over 14 days, peak memory 20.0%" in finding.summary

    def test_the_finding_becomes_a_stored_recommendation(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        findings = run(acme_account, instance, record_days(instance), settings_row)

        reconcile(acme_account, [RIGHTSIZE], findings)

        rec = Recommendation.objects.get(account=acme_account, kind=RIGHTSIZE)
        assert rec.target_type == "m5.xlarge"
        assert rec.monthly_saving == Decimal("140.16")
        assert rec.evidence["target"]["type"] == "m5.xlarge"

    def test_memory_at_70_percent_would_not_fit_and_says_why(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        utilization = record_days(instance, memory=70.0)

        assert run(acme_account, instance, utilization, settings_row) == []

        decision = check(instance, utilization[instance.pk], settings_row, SPECS)
        assert decision.target_type is None
        assert "would not fit" in decision.reason
        assert "140.0%" in decision.reason
        assert decision.evidence["memory_fits"] is False
        # The reason is kept with the verdict, for "why was this not resized?".
        assert "would not fit" in instance.verdict_evidence["rightsizing"]["reason"]

    def test_projected_memory_must_stay_below_the_fit_threshold(self, acme_account, settings_row):
        instance = make_instance(acme_account)

        assert run(acme_account, instance, record_days(instance, memory=40.0), settings_row) == []
        UtilizationDay.objects.all().delete()
        assert run(acme_account, instance, record_days(instance, memory=39.9), settings_row)

    def test_without_a_memory_metric_it_is_recommended_and_says_so(
        self, acme_account, settings_row
    ):
        instance = make_instance(acme_account)
        utilization = record_days(instance, memory=None)

        [finding] = run(acme_account, instance, utilization, settings_row)

        assert finding.target_type == "m5.xlarge"
        assert finding.evidence["memory"] == NO_MEMORY_METRIC
        assert finding.evidence["memory_metric"] is False
        assert NO_MEMORY_METRIC in finding.action
        assert "16.0 GiB" in finding.action
        assert NO_MEMORY_METRIC in finding.summary

    def test_the_smallest_size_in_its_family_gets_nothing(self, acme_account, settings_row):
        instance = make_instance(acme_account, instance_type="m5.large")
        utilization = record_days(instance)

        assert run(acme_account, instance, utilization, settings_row) == []
        assert "smallest" in check(instance, utilization[instance.pk], settings_row, SPECS).reason

    def test_a_nightly_hour_at_90_percent_keeps_the_size(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        utilization = record_days(instance, p95=3.0, avg=5.0, cpu_max=95.0)
        UtilizationDay.objects.filter(instance=instance).update(cpu_peak_hour_avg=90.0)
        utilization = {instance.pk: list(UtilizationDay.objects.filter(instance=instance))}

        assert run(acme_account, instance, utilization, settings_row) == []
        reason = instance.verdict_evidence["rightsizing"]["reason"]
        assert (
            reason
            == "would not fit: the busiest hour (90.0% CPU) becomes 180.0% on m5.xlarge, above 90%"
        )

    def test_p95_at_the_threshold_is_not_oversized(self, acme_account, settings_row):
        instance = make_instance(acme_account)

        assert run(acme_account, instance, record_days(instance, p95=40.0), settings_row) == []

    def test_one_busy_day_keeps_the_size(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        utilization = record_days(instance)
        utilization[instance.pk][5].cpu_p95 = 65.0

        assert run(acme_account, instance, utilization, settings_row) == []

    def test_the_threshold_is_per_organisation(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        settings_row.rightsize_cpu_p95_percent = 10.0

        assert run(acme_account, instance, record_days(instance, p95=15.0), settings_row) == []

    @pytest.mark.parametrize("verdict", ["idle", "protected", "asg_member"])
    def test_idle_instances_are_left_to_the_stop_recommendation(
        self, acme_account, settings_row, verdict
    ):
        instance = make_instance(acme_account, verdict=verdict)

        assert run(acme_account, instance, record_days(instance), settings_row) == []

    def test_stopped_instances_are_not_resized(self, acme_account, settings_row):
        instance = make_instance(acme_account, state="stopped")

        assert run(acme_account, instance, record_days(instance), settings_row) == []

    def test_not_enough_data_decides_nothing(self, acme_account, settings_row):
        instance = make_instance(acme_account)

        assert run(acme_account, instance, record_days(instance, hours=21), settings_row) == []
        assert run(acme_account, instance, {}, settings_row) == []

    def test_an_unknown_type_is_skipped(self, acme_account, settings_row):
        instance = make_instance(acme_account, instance_type="z9.2xlarge")

        assert run(acme_account, instance, record_days(instance), settings_row) == []

    def test_auto_scaling_members_get_launch_template_advice(self, acme_account, settings_row):
        instance = make_instance(acme_account, auto_scaling_group="report-workers")

        [finding] = run(acme_account, instance, record_days(instance), settings_row)

        assert "launch template" in finding.action
        assert "report-workers" in finding.action
        assert "report-workers" in finding.summary

    def test_billed_cost_is_the_basis_when_the_store_has_it(self, acme_account, settings_row):
        instance = make_instance(acme_account)
        for days_ago in range(1, 31):
            CostRecord.objects.create(
                organization=acme_account.organization,
                account=acme_account,
                source="focus",
                metric="billed",
                sub_account_id=acme_account.account_id,
                usage_date=TODAY - timedelta(days=days_ago),
                service="Amazon Elastic Compute Cloud",
                region="us-east-1",
                resource_id="arn:aws:ec2:us-east-1:111111111111:instance/i-0big",
                amount=Decimal("7.00"),
            )

        [finding] = run(acme_account, instance, record_days(instance), settings_row)

        assert finding.saving_basis == Recommendation.SavingBasis.BILLED
        assert finding.monthly_saving == Decimal("105.00")  # 210.00 x (1 - 0.192 / 0.384)
        assert finding.evidence["saving"]["billed_cost_30_days"] == "210.00"

    def test_other_regions_use_us_east_1_prices_and_say_so(self, acme_account, settings_row):
        instance = make_instance(acme_account, region="eu-west-1")

        [finding] = run(acme_account, instance, record_days(instance), settings_row)

        assert finding.region == "eu-west-1"
        assert finding.evidence["saving"]["basis"] == "price table (us-east-1 prices)"

    def test_end_to_end_with_specs_from_the_emulator(self, ec2, acme_account, settings_row):
        instance = make_instance(acme_account)
        specs = fetch_instance_specs(ec2, [instance.instance_type])

        [finding] = run(acme_account, instance, record_days(instance), settings_row, specs)

        assert finding.target_type == "m5.xlarge"
        json.dumps(finding.evidence)
