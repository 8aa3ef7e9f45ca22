"""The faster JSON parser returns exactly what botocore's own parser returns."""

import json

import boto3
from botocore import parsers

from accounts.aws_parsing import ListJSONParser, ParserFactory

HOUR = 3600
START = 1_763_856_000  # 2025-11-23T00:00:00Z


def parse_both(service: str, operation: str, body: dict) -> tuple[dict, dict]:
    client = boto3.client(service, region_name="us-east-1")
    shape = client.meta.service_model.operation_model(operation).output_shape
    response = {"status_code": 200, "headers": {}, "body": json.dumps(body).encode()}
    ours = ListJSONParser(timestamp_parser=ParserFactory()._defaults["timestamp_parser"])
    return ours.parse(dict(response), shape), parsers.JSONParser().parse(dict(response), shape)


def test_get_metric_data_answers_are_identical():
    results = [
        {
            "Id": f"i{n}{suffix}",
            "Label": f"label {n}",
            "Timestamps": [START + HOUR * h for h in range(48)] + [START + 0.5],
            "Values": [n * 1.5 + h for h in range(48)] + [0],
            "StatusCode": "PartialData",
            "Messages": [{"Code": "MaxDatapoints", "Value": "x"}],
        }
        for n in range(3)
        for suffix in "amn"
    ]
    body = {"MetricDataResults": results, "NextToken": "abc", "Messages": []}

    ours, theirs = parse_both("cloudwatch", "GetMetricData", body)

    assert ours == theirs
    assert ours["MetricDataResults"][0]["Timestamps"][1].isoformat() == (
        "2025-11-23T01:00:00+00:00"
    )


def test_iso_timestamps_and_nested_structures_are_identical():
    body = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
                "Groups": [
                    {
                        "Keys": ["Amazon EC2", "us-east-1"],
                        "Metrics": {"UnblendedCost": {"Amount": "1.5", "Unit": "USD"}},
                    }
                ],
                "Estimated": True,
            }
        ],
        "DimensionValueAttributes": [],
    }

    ours, theirs = parse_both("ce", "GetCostAndUsage", body)

    assert ours == theirs


def test_string_timestamps_go_through_botocore_default_parser():
    body = {"MetricAlarms": [{"AlarmName": "a", "StateUpdatedTimestamp": "2026-11-23T10:00:00Z"}]}

    ours, theirs = parse_both("cloudwatch", "DescribeAlarms", body)

    assert ours == theirs
