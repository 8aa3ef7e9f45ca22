"""Test connection against the emulator with IAM enforcement switched on.

moto evaluates IAM policies once `reset-auth` sets its no-auth budget to 0: the platform is an
IAM user that may assume only some roles, and each customer role gets exactly the permissions
a test wants, so every AccessDenied below is produced by the emulator, not by a mock.
"""

import json

import pytest
import requests
from django.core.management import call_command

from accounts import aws as aws_module
from accounts.connection import COMMITMENT_PERMISSIONS, WASTE_PERMISSIONS, check_connection
from accounts.models import CloudAccount

READ_ALL = ["ce:GetCostAndUsage", "ec2:Describe*", "cloudwatch:GetMetricData"]
REQUIRED = [
    "sts:AssumeRole",
    "ce:GetCostAndUsage",
    "ec2:DescribeInstances",
    "cloudwatch:GetMetricData",
]
# moto checks GetMetricData under CloudWatch's signing name, "monitoring".
MOTO_ALIASES = {"cloudwatch:GetMetricData": "monitoring:GetMetricData"}


def policy(actions, resource="*"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
    )


def as_account(endpoint, account_id, service):
    """A client acting inside ACCOUNT_ID (moto binds assumed-role keys to the role's account)."""
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/setup", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@pytest.fixture
def enforced_iam(aws, monkeypatch):
    """Returns grant(account_id, actions) to create customer roles, then enforces IAM."""
    import boto3

    aws_module.clear_credential_cache()
    iam = boto3.client("iam", endpoint_url=aws, region_name="us-east-1")
    iam.create_user(UserName="spendlens-platform")
    iam.put_user_policy(
        UserName="spendlens-platform",
        PolicyName="assume-customer-roles",
        PolicyDocument=policy(["sts:AssumeRole"], "arn:aws:iam::111111111111:role/*"),
    )
    key = iam.create_access_key(UserName="spendlens-platform")["AccessKey"]

    def grant(account_id, actions):
        customer_iam = as_account(aws, account_id, "iam")
        customer_iam.create_role(
            RoleName="SpendlensAccess", AssumeRolePolicyDocument=policy(["sts:AssumeRole"])
        )
        allowed = [*actions, *(MOTO_ALIASES[a] for a in actions if a in MOTO_ALIASES)]
        customer_iam.put_role_policy(
            RoleName="SpendlensAccess", PolicyName="read", PolicyDocument=policy(allowed)
        )

    def enforce():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        requests.post(f"{aws}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()

    grant.enforce = enforce
    yield grant
    requests.post(f"{aws}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
    aws_module.clear_credential_cache()


@pytest.fixture
def commitment_probes(aws_faults):
    """answer(): the commitments' probes answered by the fault proxy (the emulator serves none
    of them): allowed, unless the test scripted a refusal before."""

    def answer():
        aws_faults.answer("DescribeSavingsPlans", {"savingsPlans": []})
        aws_faults.answer_xml(
            "DescribeReservedInstances",
            '<DescribeReservedInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            "<requestId>r</requestId><reservedInstancesSet/></DescribeReservedInstancesResponse>",
        )
        aws_faults.answer_xml(
            "DescribeReservedDBInstances",
            '<DescribeReservedDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
            "<DescribeReservedDBInstancesResult><ReservedDBInstances/>"
            "</DescribeReservedDBInstancesResult></DescribeReservedDBInstancesResponse>",
        )
        aws_faults.answer("GetSavingsPlansCoverage", {"SavingsPlansCoverages": []})
        # No Savings Plan to report on: proves access as well as an answer would.
        aws_faults.fail("GetSavingsPlansUtilization", "DataUnavailableException", "no data")
        aws_faults.answer("GetReservationCoverage", {"CoveragesByTime": []})
        aws_faults.answer("GetReservationUtilization", {"UtilizationsByTime": []})
        aws_faults.answer("GetSavingsPlansPurchaseRecommendation", {"Metadata": {}})

    return answer


def make_account(org, account_id="111111111111"):
    return CloudAccount.objects.create(
        organization=org,
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/SpendlensAccess",
        regions=["us-east-1"],
    )


@pytest.mark.django_db
def test_every_permission_present(enforced_iam, acme):
    enforced_iam("111111111111", READ_ALL)
    enforced_iam.enforce()

    report = check_connection(make_account(acme))

    # The emulator serves none of the commitments' reads: they warn, the connection works.
    assert report.ok, report.summary()
    assert [c.name for c in report.checks] == [
        *REQUIRED,
        *WASTE_PERMISSIONS,
        *COMMITMENT_PERMISSIONS,
    ]
    assert [c.name for c in report.checks if c.required] == REQUIRED
    assert all(c.ok for c in report.checks if c.required), report.summary()


@pytest.mark.django_db
def test_waste_reads_are_probed_and_a_missing_one_warns_with_its_hint(enforced_iam, acme):
    # ec2:Describe* covers snapshots and NAT gateways; the RDS read is left out.
    enforced_iam("111111111111", [*READ_ALL, "elasticloadbalancing:DescribeLoadBalancers"])
    enforced_iam.enforce()

    report = check_connection(make_account(acme))

    waste = {c.name: c for c in report.checks if c.name in WASTE_PERMISSIONS}
    assert report.ok, report.summary()
    assert {name for name, check in waste.items() if check.ok} == {
        "ec2:DescribeSnapshots",
        "ec2:DescribeNatGateways",
        "elasticloadbalancing:DescribeLoadBalancers",
    }, report.summary()
    denied = waste["rds:DescribeDBInstances"]
    assert not denied.required
    assert denied.hint.startswith("Add rds:DescribeDBInstances to the role's policy")
    assert "WARN rds:DescribeDBInstances" in report.summary()


@pytest.mark.django_db
def test_a_missing_commitments_permission_warns_and_names_it(aws_faults, commitment_probes, acme):
    # Through the fault proxy, without IAM enforcement (the emulator checks signatures then,
    # and the proxy's host is not the one signed): the refusals are scripted.
    aws_faults.fail(
        "DescribeSavingsPlans",
        "AccessDeniedException",
        "User is not authorized to perform: savingsplans:DescribeSavingsPlans",
        status=403,
    )
    aws_faults.fail("GetReservationCoverage", "AccessDeniedException", "not authorized")
    commitment_probes()

    report = check_connection(make_account(acme))

    # The connection works: only the commitments pages lack data.
    failed = {c.name: c for c in report.checks if not c.ok}
    assert report.ok and report.first_error() == ""
    assert list(failed) == ["savingsplans:DescribeSavingsPlans", "ce:GetReservationCoverage"]
    assert failed["savingsplans:DescribeSavingsPlans"].hint.startswith(
        "Add savingsplans:DescribeSavingsPlans to the role's policy"
    )
    assert "WARN savingsplans:DescribeSavingsPlans: AccessDeniedException" in report.summary()
    assert "OK   ce:GetSavingsPlansUtilization: allowed (DataUnavailableException)" in (
        report.summary()
    )


@pytest.mark.django_db
def test_missing_cost_explorer_permission_says_what_to_add(enforced_iam, acme):
    enforced_iam("111111111111", ["ec2:Describe*", "cloudwatch:GetMetricData"])
    enforced_iam.enforce()

    report = check_connection(make_account(acme))

    failed = {c.name: c for c in report.checks if not c.ok and c.required}
    assert list(failed) == ["ce:GetCostAndUsage"]
    assert "Add ce:GetCostAndUsage" in failed["ce:GetCostAndUsage"].hint
    assert "Cost Explorer is enabled" in failed["ce:GetCostAndUsage"].hint


@pytest.mark.django_db
def test_missing_describe_and_metrics_permissions(enforced_iam, acme):
    enforced_iam("111111111111", ["ce:GetCostAndUsage"])
    enforced_iam.enforce()

    report = check_connection(make_account(acme))

    hints = {c.name: c.hint for c in report.checks if not c.ok and c.required}
    assert hints == {
        "ec2:DescribeInstances": "Add ec2:Describe* to the role's policy.",
        "cloudwatch:GetMetricData": "Add cloudwatch:GetMetricData to the role's policy.",
    }


@pytest.mark.django_db
def test_refused_assume_role_points_at_trust_policy_and_external_id(enforced_iam, acme):
    enforced_iam.enforce()
    account = make_account(acme, "222222222222")

    report = check_connection(account)

    assert not report.ok
    assert [c.name for c in report.checks] == ["sts:AssumeRole"]
    hint = report.checks[0].hint
    assert "trust policy" in hint
    assert account.external_id in hint


@pytest.mark.django_db
def test_add_account_prints_external_id_and_the_test_result(enforced_iam, capsys):
    enforced_iam("111111111111", READ_ALL)
    enforced_iam.enforce()

    call_command(
        "add_account",
        "--org=newco",
        "--account-id=111111111111",
        "--role-arn=arn:aws:iam::111111111111:role/SpendlensAccess",
        "--regions=us-east-1,eu-west-1",
        "--name=Newco prod",
    )

    out = capsys.readouterr().out
    account = CloudAccount.objects.get(organization__slug="newco")
    assert f"ExternalId: {account.external_id}" in out
    assert "OK   sts:AssumeRole" in out
    assert "OK   ce:GetCostAndUsage" in out
    assert account.regions == ["us-east-1", "eu-west-1"]
