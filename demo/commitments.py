"""The demo's commitments story, as recorded AWS answers (served by demo/aws_front.py).

Production holds a Compute Savings Plan of $0.75/hour bought a year ago, expiring in 45 days
(the 90-day expiry alert fires), well used (98 %) but covering only about a third of the
eligible compute: the coverage gap the what-to-buy page sizes. It also holds one RDS reserved
instance, fully used. Staging and Development hold nothing, so their eligible spend is all
on demand. AWS's own recommendation for Production is there to compare with Spendlens's.

The figures follow the demo's bill (demo/costs.py): on-demand eligible spend is each day's EC2
compute and Lambda cost, so the coverage pages agree with the cost pages.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from werkzeug.wrappers import Response

from demo.costs import CE_DAYS, EC2_COMPUTE, LAMBDA, RDS, daily_costs
from demo.spec import PRODUCTION

PLAN_HOURLY = Decimal("0.75")
PLAN_DISCOUNT = Decimal("0.28")  # a 1-year No Upfront Compute Savings Plan, about
PLAN_UTILIZATION = Decimal("0.98")
PLAN_DAYS_LEFT = 45
RESERVATION_DAILY_FEE = Decimal("4.10")
RESERVATION_DAYS_LEFT = 200
RESERVATION_COVERED_HOURS = Decimal("0.5")  # one of the two database instances
_CENTS = Decimal("0.000001")


def _today() -> date:
    return datetime.now(UTC).date()


def _eligible_and_rds(account_id: str) -> dict[date, tuple[Decimal, Decimal]]:
    """Per day of the demo's bill: (Savings Plan eligible on-demand cost, RDS cost)."""
    days: dict[date, list[Decimal]] = {}
    for (day, service, _), amount in daily_costs(account_id, _today(), CE_DAYS).items():
        figures = days.setdefault(day, [Decimal(0), Decimal(0)])
        if service in (EC2_COMPUTE, LAMBDA):
            figures[0] += amount
        elif service == RDS:
            figures[1] += amount
    return {day: (eligible, rds) for day, (eligible, rds) in days.items()}


def _days(body: dict, account_id: str):
    period = body.get("TimePeriod", {})
    start = date.fromisoformat(period.get("Start", _today().isoformat()))
    end = date.fromisoformat(period.get("End", _today().isoformat()))
    bill = _eligible_and_rds(account_id)
    return [(day, bill[day]) for day in sorted(bill) if start <= day < end]


def _period(day: date) -> dict:
    return {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}


def _percent(part: Decimal, whole: Decimal) -> str:
    return str((Decimal(100) * part / whole).quantize(Decimal("0.001"))) if whole else "0"


def _plan_day() -> tuple[Decimal, Decimal, Decimal]:
    """(used, unused, on-demand equivalent of the covered usage) of Production's plan a day."""
    commitment = PLAN_HOURLY * 24
    used = (commitment * PLAN_UTILIZATION).quantize(_CENTS)
    return used, commitment - used, (used / (1 - PLAN_DISCOUNT)).quantize(_CENTS)


def savings_plans_coverage(account_id: str, body: dict) -> dict:
    holds_plan = account_id == PRODUCTION.account_id
    entries = []
    for day, (eligible, _) in _days(body, account_id):
        covered = _plan_day()[2] if holds_plan else Decimal(0)
        entries.append(
            {
                "Attributes": {},
                "Coverage": {
                    "SpendCoveredBySavingsPlans": str(covered),
                    "OnDemandCost": str(eligible),
                    "TotalCost": str(covered + eligible),
                    "CoveragePercentage": _percent(covered, covered + eligible),
                },
                "TimePeriod": _period(day),
            }
        )
    return {"SavingsPlansCoverages": entries}


def savings_plans_utilization(account_id: str, body: dict) -> dict:
    if account_id != PRODUCTION.account_id:
        return {"SavingsPlansUtilizationsByTime": []}  # no plan: no utilization at all
    used, unused, covered = _plan_day()
    entries = [
        {
            "TimePeriod": _period(day),
            "Utilization": {
                "TotalCommitment": str(used + unused),
                "UsedCommitment": str(used),
                "UnusedCommitment": str(unused),
                "UtilizationPercentage": _percent(used, used + unused),
            },
            "Savings": {
                "NetSavings": str(covered - used - unused),
                "OnDemandCostEquivalent": str(covered),
            },
        }
        for day, _ in _days(body, account_id)
    ]
    return {"SavingsPlansUtilizationsByTime": entries, "Total": {}}


def reservation_coverage(account_id: str, body: dict) -> dict:
    share = RESERVATION_COVERED_HOURS if account_id == PRODUCTION.account_id else Decimal(0)
    entries = []
    for day, (_, rds) in _days(body, account_id):
        entries.append(
            {
                "TimePeriod": _period(day),
                "Groups": [],
                "Total": {
                    "CoverageHours": {"CoverageHoursPercentage": _percent(share, Decimal(1))},
                    "CoverageCost": {"OnDemandCost": str((rds * (1 - share)).quantize(_CENTS))},
                },
            }
        )
    return {"CoveragesByTime": entries}


def reservation_utilization(account_id: str, body: dict) -> dict:
    if account_id != PRODUCTION.account_id:
        return {"UtilizationsByTime": []}
    entries = [
        {
            "TimePeriod": _period(day),
            "Groups": [],
            "Total": {
                "UtilizationPercentage": "100",
                "TotalAmortizedFee": str(RESERVATION_DAILY_FEE),
                "RICostForUnusedHours": "0",
                # The other, uncovered, database instance costs the same on demand.
                "NetRISavings": str((rds - RESERVATION_DAILY_FEE * 2).quantize(_CENTS)),
            },
        }
        for day, (_, rds) in _days(body, account_id)
    ]
    return {"UtilizationsByTime": entries}


def purchase_recommendation(account_id: str, body: dict) -> dict:
    plan_type, term = body.get("SavingsPlansType"), body.get("TermInYears")
    details = []
    if account_id == PRODUCTION.account_id:
        hourly = {"COMPUTE_SP": "1.05", "EC2_INSTANCE_SP": "0.80"}[plan_type]
        rate = Decimal("0.72" if term == "ONE_YEAR" else "0.50")
        monthly = (Decimal(hourly) / rate - Decimal(hourly)) * 730
        details.append(
            {
                "SavingsPlansDetails": {"Region": "us-east-1", "InstanceFamily": "m5"},
                "AccountId": account_id,
                "UpfrontCost": "0",
                "CurrencyCode": "USD",
                "HourlyCommitmentToPurchase": hourly,
                "EstimatedAverageUtilization": "97.5",
                "EstimatedMonthlySavingsAmount": str(monthly.quantize(Decimal("0.01"))),
            }
        )
    recommendation = {
        "AccountScope": "LINKED",
        "SavingsPlansType": plan_type,
        "TermInYears": term,
        "PaymentOption": body.get("PaymentOption", "NO_UPFRONT"),
        "LookbackPeriodInDays": body.get("LookbackPeriodInDays", "THIRTY_DAYS"),
        "SavingsPlansPurchaseRecommendationDetails": details,
    }
    if details:
        recommendation["SavingsPlansPurchaseRecommendationSummary"] = {
            "EstimatedSavingsPercentage": "28.0" if term == "ONE_YEAR" else "50.0",
            "CurrencyCode": "USD",
        }
    return {
        "Metadata": {
            "RecommendationId": f"demo-{account_id}-{plan_type}-{term}",
            "GenerationTimestamp": f"{_today().isoformat()}T06:00:00Z",
            "LookbackPeriodInDays": body.get("LookbackPeriodInDays", "THIRTY_DAYS"),
        },
        "SavingsPlansPurchaseRecommendation": recommendation,
    }


def savings_plans(account_id: str) -> dict:
    if account_id != PRODUCTION.account_id:
        return {"savingsPlans": []}
    end = datetime.combine(_today() + timedelta(days=PLAN_DAYS_LEFT), datetime.min.time(), UTC)
    start = end - timedelta(days=365)
    return {
        "savingsPlans": [
            {
                "savingsPlanId": "demo-compute-plan",
                "savingsPlanArn": f"arn:aws:savingsplans::{account_id}:savingsplan/demo-compute",
                "savingsPlanType": "Compute",
                "paymentOption": "No Upfront",
                "state": "active",
                "start": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "termDurationInSeconds": 31536000,
                "commitment": str(PLAN_HOURLY),
                "upfrontPaymentAmount": "0",
                "recurringPaymentAmount": str(PLAN_HOURLY),
                "currency": "USD",
            }
        ]
    }


def reserved_db_instances_xml(account_id: str) -> str:
    rows = ""
    if account_id == PRODUCTION.account_id:
        start = _today() + timedelta(days=RESERVATION_DAYS_LEFT) - timedelta(days=365)
        rows = (
            "<ReservedDBInstance><ReservedDBInstanceId>demo-orders-db</ReservedDBInstanceId>"
            "<DBInstanceClass>db.r6g.large</DBInstanceClass>"
            f"<StartTime>{start.isoformat()}T00:00:00Z</StartTime><Duration>31536000</Duration>"
            f"<FixedPrice>{RESERVATION_DAILY_FEE * 365}</FixedPrice><UsagePrice>0.0</UsagePrice>"
            "<CurrencyCode>USD</CurrencyCode><DBInstanceCount>1</DBInstanceCount>"
            "<ProductDescription>postgresql</ProductDescription>"
            "<OfferingType>All Upfront</OfferingType><MultiAZ>false</MultiAZ>"
            "<State>active</State><RecurringCharges/></ReservedDBInstance>"
        )
    return (
        '<DescribeReservedDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<DescribeReservedDBInstancesResult><ReservedDBInstances>{rows}</ReservedDBInstances>"
        "</DescribeReservedDBInstancesResult>"
        "<ResponseMetadata><RequestId>demo</RequestId></ResponseMetadata>"
        "</DescribeReservedDBInstancesResponse>"
    )


EMPTY_EC2_RESERVATIONS = (
    '<DescribeReservedInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
    "<requestId>demo</requestId><reservedInstancesSet/></DescribeReservedInstancesResponse>"
)
EXPLORER = {
    "GetSavingsPlansCoverage": savings_plans_coverage,
    "GetSavingsPlansUtilization": savings_plans_utilization,
    "GetReservationCoverage": reservation_coverage,
    "GetReservationUtilization": reservation_utilization,
    "GetSavingsPlansPurchaseRecommendation": purchase_recommendation,
}

RECORDED_OPERATIONS = (
    *EXPLORER,
    "DescribeSavingsPlans",
    "DescribeReservedDBInstances",
    "DescribeReservedInstances",
)


def recorded_answer(operation: str, account_id: str, call, body: dict) -> Response | None:
    """The recorded answer to OPERATION for ACCOUNT_ID, or None to let the emulator answer."""
    if operation in EXPLORER:
        answer = EXPLORER[operation](account_id, body)
        return Response(json.dumps(answer), content_type="application/x-amz-json-1.1")
    if operation == "DescribeSavingsPlans":
        return Response(json.dumps(savings_plans(account_id)), content_type="application/json")
    if operation == "DescribeReservedDBInstances":
        return Response(reserved_db_instances_xml(account_id), content_type="text/xml")
    if operation == "DescribeReservedInstances":
        return Response(EMPTY_EC2_RESERVATIONS, content_type="text/xml")
    return None
