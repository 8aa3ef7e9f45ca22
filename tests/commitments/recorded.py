"""Recorded AWS answers for the commitments APIs, served over HTTP by the fault proxy (the
emulator serves none of them): Savings Plans (REST-JSON), EC2 and RDS reservations (XML),
Cost Explorer's coverage and utilization (JSON)."""

from __future__ import annotations

from datetime import date, timedelta

TODAY = date(2026, 11, 20)


def window(today: date) -> list[date]:
    """The first sync's 30 days before TODAY."""
    return [today - timedelta(days=n) for n in range(30, 0, -1)]


WINDOW = window(TODAY)


def savings_plan(plan_id="sp-1", **overrides) -> dict:
    plan = {
        "savingsPlanId": plan_id,
        "savingsPlanArn": f"arn:aws:savingsplans::111111111111:savingsplan/{plan_id}",
        "savingsPlanType": "Compute",
        "paymentOption": "No Upfront",
        "state": "active",
        "start": "2026-01-01T00:00:00.000Z",
        "end": "2027-01-01T00:00:00.000Z",
        "termDurationInSeconds": 31536000,
        "commitment": "2.5",
        "upfrontPaymentAmount": "0",
        "recurringPaymentAmount": "2.5",
        "currency": "USD",
    }
    return {**plan, **overrides}


def ec2_reservations_xml(*items: dict) -> str:
    rows = "".join(
        "<item>"
        f"<reservedInstancesId>{i['id']}</reservedInstancesId>"
        f"<instanceType>{i.get('type', 'm5.large')}</instanceType>"
        "<start>2026-03-01T00:00:00.000Z</start><end>2029-03-01T00:00:00.000Z</end>"
        "<duration>94608000</duration><usagePrice>0.0</usagePrice>"
        f"<fixedPrice>{i.get('fixed', '600.0')}</fixedPrice>"
        f"<instanceCount>{i.get('count', 2)}</instanceCount>"
        "<productDescription>Linux/UNIX</productDescription><state>active</state>"
        f"<currencyCode>{i.get('currency', 'USD')}</currencyCode>"
        "<offeringType>Partial Upfront</offeringType><offeringClass>standard</offeringClass>"
        "<recurringCharges><item><frequency>Hourly</frequency><amount>0.025</amount></item>"
        "</recurringCharges><scope>Region</scope>"
        "</item>"
        for i in items
    )
    return (
        '<DescribeReservedInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>recorded</requestId><reservedInstancesSet>{rows}</reservedInstancesSet>"
        "</DescribeReservedInstancesResponse>"
    )


def rds_reservations_xml(*items: dict, marker: str = "") -> str:
    rows = "".join(
        "<ReservedDBInstance>"
        f"<ReservedDBInstanceId>{i['id']}</ReservedDBInstanceId>"
        "<DBInstanceClass>db.r5.large</DBInstanceClass>"
        "<StartTime>2026-06-01T00:00:00Z</StartTime><Duration>31536000</Duration>"
        "<FixedPrice>1200.0</FixedPrice><UsagePrice>0.0</UsagePrice>"
        f"<CurrencyCode>{i.get('currency', 'USD')}</CurrencyCode>"
        "<DBInstanceCount>1</DBInstanceCount><ProductDescription>postgresql</ProductDescription>"
        "<OfferingType>All Upfront</OfferingType><MultiAZ>true</MultiAZ><State>active</State>"
        "<RecurringCharges/>"
        "</ReservedDBInstance>"
        for i in items
    )
    more = f"<Marker>{marker}</Marker>" if marker else ""
    return (
        '<DescribeReservedDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<DescribeReservedDBInstancesResult>{more}<ReservedDBInstances>{rows}"
        "</ReservedDBInstances></DescribeReservedDBInstancesResult>"
        "<ResponseMetadata><RequestId>recorded</RequestId></ResponseMetadata>"
        "</DescribeReservedDBInstancesResponse>"
    )


def period(day: date) -> dict:
    return {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}


def sp_coverage(days, percent="80", covered="40", on_demand="10", token=None) -> dict:
    page = {
        "SavingsPlansCoverages": [
            {
                "Attributes": {},
                "Coverage": {
                    "SpendCoveredBySavingsPlans": covered,
                    "OnDemandCost": on_demand,
                    "TotalCost": "50",
                    "CoveragePercentage": percent,
                },
                "TimePeriod": period(day),
            }
            for day in days
        ]
    }
    return {**page, "NextToken": token} if token else page


def sp_utilization(days, percent="96", used="57.6", unused="2.4", savings="18") -> dict:
    return {
        "SavingsPlansUtilizationsByTime": [
            {
                "TimePeriod": period(day),
                "Utilization": {
                    "TotalCommitment": "60",
                    "UsedCommitment": used,
                    "UnusedCommitment": unused,
                    "UtilizationPercentage": percent,
                },
                "Savings": {"NetSavings": savings, "OnDemandCostEquivalent": "75.6"},
            }
            for day in days
        ],
        "Total": {"Utilization": {"UtilizationPercentage": percent}},
    }


def ri_coverage(days, percent="75", on_demand="4.5", token=None) -> dict:
    page = {
        "CoveragesByTime": [
            {
                "TimePeriod": period(day),
                "Groups": [],
                "Total": {
                    "CoverageHours": {
                        "OnDemandHours": "12",
                        "ReservedHours": "36",
                        "TotalRunningHours": "48",
                        "CoverageHoursPercentage": percent,
                    },
                    "CoverageCost": {"OnDemandCost": on_demand},
                },
            }
            for day in days
        ]
    }
    return {**page, "NextPageToken": token} if token else page


def ri_utilization(days, percent="90", fee="10", unused_cost="1", savings="5", token=None):
    page = {
        "UtilizationsByTime": [
            {
                "TimePeriod": period(day),
                "Groups": [],
                "Total": {
                    "UtilizationPercentage": percent,
                    "TotalAmortizedFee": fee,
                    "RICostForUnusedHours": unused_cost,
                    "NetRISavings": savings,
                },
            }
            for day in days
        ]
    }
    return {**page, "NextPageToken": token} if token else page


def answer_inventory(proxy, plans=(), ec2=(), rds=(), recommendations=True):
    """The inventory's answers, and (RECOMMENDATIONS) AWS's four recommendations the sync asks
    for last: scripted here so every sync test gets an answer for them from the proxy."""
    proxy.answer("DescribeSavingsPlans", {"savingsPlans": list(plans)})
    proxy.answer_xml("DescribeReservedInstances", ec2_reservations_xml(*ec2))
    proxy.answer_xml("DescribeReservedDBInstances", rds_reservations_xml(*rds))
    if recommendations:
        answer_recommendations(proxy)


# The order the sync asks for AWS's recommendations in (commitments.aws_recommendation.VARIANTS).
VARIANTS = [
    ("COMPUTE_SP", "ONE_YEAR"),
    ("COMPUTE_SP", "THREE_YEARS"),
    ("EC2_INSTANCE_SP", "ONE_YEAR"),
    ("EC2_INSTANCE_SP", "THREE_YEARS"),
]


def recommendation_detail(hourly="1.5", monthly="300", use="95", currency="USD", **more) -> dict:
    return {
        "SavingsPlansDetails": {"Region": "eu-west-1", "InstanceFamily": "m5", "OfferingId": "o"},
        "AccountId": "111111111111",
        "UpfrontCost": "0",
        "EstimatedROI": "25",
        "CurrencyCode": currency,
        "EstimatedSPCost": "1095",
        "EstimatedOnDemandCost": "1395",
        "EstimatedSavingsAmount": "300",
        "HourlyCommitmentToPurchase": hourly,
        "EstimatedAverageUtilization": use,
        "EstimatedMonthlySavingsAmount": monthly,
        **more,
    }


def recommendation(
    plan_type="COMPUTE_SP", term="ONE_YEAR", details=None, percent="21.5", token=None, summary=True
) -> dict:
    """One page of GetSavingsPlansPurchaseRecommendation; DETAILS None: one default detail."""
    details = [recommendation_detail()] if details is None else details
    body = {
        "AccountScope": "PAYER",
        "SavingsPlansType": plan_type,
        "TermInYears": term,
        "PaymentOption": "NO_UPFRONT",
        "LookbackPeriodInDays": "THIRTY_DAYS",
        "SavingsPlansPurchaseRecommendationDetails": details,
    }
    if summary and details:
        body["SavingsPlansPurchaseRecommendationSummary"] = {
            "EstimatedSavingsPercentage": percent,
            "CurrencyCode": "USD",
        }
    page = {
        "Metadata": {
            "RecommendationId": f"rec-{plan_type}-{term}",
            "GenerationTimestamp": "2026-11-19T06:00:00Z",
            "LookbackPeriodInDays": "THIRTY_DAYS",
        },
        "SavingsPlansPurchaseRecommendation": body,
    }
    return {**page, "NextPageToken": token} if token else page


def answer_recommendations(proxy, pages=None):
    """PAGES: the answers in order; None: one page with one detail for every variant."""
    for page in pages if pages is not None else [recommendation(*v) for v in VARIANTS]:
        proxy.answer("GetSavingsPlansPurchaseRecommendation", page)


def answer_explorer(proxy, days=WINDOW):
    proxy.answer("GetSavingsPlansCoverage", sp_coverage(days))
    proxy.answer("GetSavingsPlansUtilization", sp_utilization(days))
    proxy.answer("GetReservationCoverage", ri_coverage(days))
    proxy.answer("GetReservationUtilization", ri_utilization(days))


def no_explorer_data(proxy):
    for operation in ("GetSavingsPlansCoverage", "GetReservationCoverage"):
        proxy.fail(operation, "DataUnavailableException", "No data")
