"""Test connection: assume the account's role, then one cheap read per required permission.

Each failure is reported with what the customer has to fix, because "AccessDenied" alone sends
people hunting through IAM for the wrong thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from botocore.parsers import ResponseParserError

from accounts import aws

DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
}
CREDENTIAL_CODES = {"ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    hint: str = ""
    # Optional checks (the commitments' reads) warn without failing the connection: the rest
    # of Spendlens works without them, and roles created before them lack them.
    required: bool = True


@dataclass
class ConnectionReport:
    account_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks if check.required)

    def summary(self) -> str:
        lines = []
        for check in self.checks:
            mark = "OK  " if check.ok else ("FAIL" if check.required else "WARN")
            line = f"{mark} {check.name}"
            if check.detail:
                line += f": {check.detail}"
            lines.append(line)
            if check.hint:
                lines.append(f"     -> {check.hint}")
        return "\n".join(lines)

    def first_error(self) -> str:
        failed = next((c for c in self.checks if not c.ok and c.required), None)
        return f"{failed.name}: {failed.detail}. {failed.hint}".strip() if failed else ""


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "ClientError")
    return exc.__class__.__name__


def is_denied(exc: Exception) -> bool:
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in DENIED_CODES or (
        status == 403 and error_code(exc) not in CREDENTIAL_CODES
    )


def describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip(": ")
    return str(exc)


def _assume_role_hint(account, exc: Exception) -> str:
    code = error_code(exc)
    if is_denied(exc):
        return (
            f"AWS refused AssumeRole on {account.role_arn}. Check that the role exists, that "
            "its trust policy names the Spendlens platform principal, and that its "
            f"sts:ExternalId condition is exactly {account.external_id} (see the onboarding "
            "page for the policy to paste)."
        )
    if code in CREDENTIAL_CODES:
        return (
            "Spendlens's own AWS credentials are invalid or expired: fix the task role or the "
            "environment credentials of the Spendlens deployment."
        )
    if isinstance(exc, EndpointConnectionError):
        return "AWS could not be reached: check the network path (NAT, VPC endpoints, proxy)."
    return "Unexpected error while assuming the role; see the detail."


PERMISSION_HINTS = {
    "ce:GetCostAndUsage": (
        "Add ce:GetCostAndUsage to the role, and make sure Cost Explorer is enabled for the "
        "account (Billing console > Cost Explorer; the first data takes up to 24 hours)."
    ),
    "ec2:DescribeInstances": "Add ec2:Describe* to the role's policy.",
    "cloudwatch:GetMetricData": "Add cloudwatch:GetMetricData to the role's policy.",
}
# The commitments' reads (Savings Plans and reservations): optional, see Check.required.
COMMITMENT_PERMISSIONS = [
    "savingsplans:DescribeSavingsPlans",
    "ec2:DescribeReservedInstances",
    "rds:DescribeReservedDBInstances",
    "ce:GetSavingsPlansCoverage",
    "ce:GetSavingsPlansUtilization",
    "ce:GetReservationCoverage",
    "ce:GetReservationUtilization",
    "ce:GetSavingsPlansPurchaseRecommendation",
]
for _permission in COMMITMENT_PERMISSIONS:
    PERMISSION_HINTS[_permission] = (
        f"Add {_permission} to the role's policy to see Savings Plans and reservations "
        "(the rest of Spendlens works without it)."
    )
# The reads of the waste findings beyond EC2 (snapshots, databases, NAT gateways, load
# balancers): optional too, since each finder records its own denial and the rest works.
WASTE_PERMISSIONS = [
    "ec2:DescribeSnapshots",
    "rds:DescribeDBInstances",
    "ec2:DescribeNatGateways",
    "elasticloadbalancing:DescribeLoadBalancers",
]
for _permission in WASTE_PERMISSIONS:
    PERMISSION_HINTS[_permission] = (
        f"Add {_permission} to the role's policy to find waste beyond EC2 instances "
        "(the onboarding policy lists it; the rest of Spendlens works without it)."
    )
# A missing feature is not a missing permission: these answers prove access works (Cost
# Explorer not enabled yet, or no commitment to report on).
ACCEPTABLE_CODES = {
    "ce:GetCostAndUsage": {"DataUnavailableException"},
    **{p: {"DataUnavailableException"} for p in COMMITMENT_PERMISSIONS if p.startswith("ce:")},
}


def _permission_checks(account, session):
    region = account.regions[0] if account.regions else None
    end = datetime.now(UTC).date()
    start = end - timedelta(days=1)

    def cost_explorer():
        aws.client(session, "ce").get_cost_and_usage(
            TimePeriod={"Start": start.isoformat(), "End": end.isoformat()},
            Granularity="DAILY",
            Metrics=["UnblendedCost"],
        )

    def ec2():
        aws.client(session, "ec2", region).describe_instances(MaxResults=5)

    def cloudwatch():
        now = datetime.now(UTC)
        aws.client(session, "cloudwatch", region).get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "probe",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"},
                        "Period": 3600,
                        "Stat": "Average",
                    },
                }
            ],
            StartTime=now - timedelta(hours=1),
            EndTime=now,
        )

    return [
        ("ce:GetCostAndUsage", cost_explorer, True),
        ("ec2:DescribeInstances", ec2, True),
        ("cloudwatch:GetMetricData", cloudwatch, True),
        *((permission, probe, False) for permission, probe in _waste_probes(session, region)),
        *((permission, probe, False) for permission, probe in _commitment_probes(account, session)),
    ]


def _waste_probes(session, region):
    """One small read per service the waste finders inventory."""
    return [
        (
            "ec2:DescribeSnapshots",
            lambda: aws.client(session, "ec2", region).describe_snapshots(
                OwnerIds=["self"], MaxResults=5
            ),
        ),
        (
            "rds:DescribeDBInstances",
            lambda: aws.client(session, "rds", region).describe_db_instances(MaxRecords=20),
        ),
        (
            "ec2:DescribeNatGateways",
            lambda: aws.client(session, "ec2", region).describe_nat_gateways(MaxResults=5),
        ),
        (
            "elasticloadbalancing:DescribeLoadBalancers",
            lambda: aws.client(session, "elbv2", region).describe_load_balancers(PageSize=1),
        ),
    ]


def _commitment_probes(account, session):
    """One cheap read per commitments permission (each Cost Explorer one bills $0.01)."""
    region = account.regions[0] if account.regions else None
    end = datetime.now(UTC).date()
    period = {
        "TimePeriod": {"Start": (end - timedelta(days=1)).isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
    }

    def ce():
        return aws.client(session, "ce", "us-east-1")

    return [
        (
            "savingsplans:DescribeSavingsPlans",
            lambda: aws.client(session, "savingsplans", "us-east-1").describe_savings_plans(
                maxResults=1
            ),
        ),
        (
            "ec2:DescribeReservedInstances",
            lambda: aws.client(session, "ec2", region).describe_reserved_instances(),
        ),
        (
            "rds:DescribeReservedDBInstances",
            lambda: aws.client(session, "rds", region).describe_reserved_db_instances(
                MaxRecords=20
            ),
        ),
        ("ce:GetSavingsPlansCoverage", lambda: ce().get_savings_plans_coverage(**period)),
        ("ce:GetSavingsPlansUtilization", lambda: ce().get_savings_plans_utilization(**period)),
        ("ce:GetReservationCoverage", lambda: ce().get_reservation_coverage(**period)),
        ("ce:GetReservationUtilization", lambda: ce().get_reservation_utilization(**period)),
        (
            "ce:GetSavingsPlansPurchaseRecommendation",
            lambda: ce().get_savings_plans_purchase_recommendation(
                SavingsPlansType="COMPUTE_SP",
                TermInYears="ONE_YEAR",
                PaymentOption="NO_UPFRONT",
                LookbackPeriodInDays="SEVEN_DAYS",
            ),
        ),
    ]


def check_connection(account) -> ConnectionReport:
    """Run every check and return the report; never raises for AWS-side failures."""
    report = ConnectionReport(account_id=account.account_id)
    try:
        session = aws.assumed_session(
            account.role_arn, account.external_id, label=f"check-{account.account_id}"
        )
    except (ClientError, BotoCoreError) as exc:
        report.checks.append(
            Check("sts:AssumeRole", False, describe(exc), _assume_role_hint(account, exc))
        )
        return report
    report.checks.append(Check("sts:AssumeRole", True, f"assumed {account.role_arn}"))

    for permission, probe, required in _permission_checks(account, session):
        try:
            probe()
        except ClientError as exc:
            code = error_code(exc)
            if code in ACCEPTABLE_CODES.get(permission, set()):
                report.checks.append(Check(permission, True, f"allowed ({code})", "", required))
                continue
            hint = PERMISSION_HINTS[permission] if is_denied(exc) else ""
            report.checks.append(Check(permission, False, describe(exc), hint, required))
        except (BotoCoreError, ResponseParserError) as exc:
            # ResponseParserError: an answer that is not AWS's (a proxy's error page).
            report.checks.append(Check(permission, False, describe(exc), "", required))
        else:
            report.checks.append(Check(permission, True, "allowed", "", required))
    return report
