"""Athena import: loading an aggregated result (the part that runs on our side).

The query itself runs in Athena and is billed there; what Spendlens does is read the result
CSV from S3, check it and replace the period's records. This measures that for a result of
--groups daily groups (default 1,000,000: a month of ~33,000 resources a day), with Glue and
Athena answered by botocore's Stubber (recorded responses, tests/costs/data/athena) and the
result in a local moto S3 server. PostgreSQL (BENCH_DATABASE_URL) as in focus_import.py.

    .venv/bin/python bench/athena_load.py [--groups N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import describe  # noqa: E402
from focus_import import DEFAULT_DATABASE_URL, ensure_database, prepare_django  # noqa: E402

DATA = ROOT / "tests" / "costs" / "data" / "athena"
QUERY_ID = "c6d9f0e3-58a1-4bd2-9f0c-2c1f3a7d5e41"
BUCKET = "spendlens-athena-results"
KEY = f"spendlens/{QUERY_ID}.csv"
ORG_SLUG = "bench"


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def result_csv(groups: int, columns: tuple[str, ...]) -> bytes:
    """A result of GROUPS daily groups over 30 days of September 2024, in Athena's CSV form."""
    out = io.StringIO()
    out.write(",".join(f'"{c}"' for c in columns) + "\n")
    per_day = -(-groups // 30)
    for i in range(groups):
        day, resource_number = divmod(i, per_day)
        row = {
            "is_total": "false",
            "provider": "AWS",
            "sub_account_id": f"{100000000000 + resource_number % 1000:012d}",
            "usage_date": f"2024-09-{day + 1:02d}",
            "service": ("Amazon Elastic Compute Cloud", "Amazon Simple Storage Service")[i % 2],
            "region": "us-east-1",
            "resource_id": f"i-{resource_number:017x}",
            "charge_category": "Usage",
            "currency_min": "USD",
            "currency_max": "USD",
            "billing_period_min": "2024-09-01",
            "billing_period_max": "2024-09-01",
            "billed": f"{(i % 997) / 7:.12f}",
            "effective": f"{(i % 991) / 9:.12f}",
            "tags": json.dumps({"team": f"t{resource_number % 50}"}),
            "sub_account_name": f"account {resource_number % 1000}",
            "row_count": "24",
            "rows_skipped": "0",
        }
        out.write(",".join(quoted(row.get(c, "0")) for c in columns) + "\n")
    total = dict.fromkeys(columns, "0")
    total.update(is_total="true", row_count=str(groups * 24))
    out.write(",".join("" if c.endswith("_example") else f'"{total[c]}"' for c in columns))
    out.write("\n")
    return out.getvalue().encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    args = parser.parse_args(argv if argv is not None else [])
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    ensure_database(url)
    prepare_django(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    django.setup()
    import boto3
    from botocore.stub import ANY, Stubber
    from django.conf import settings

    from accounts import aws
    from accounts.models import Organization
    from costs.ingest.athena import import_athena
    from costs.ingest.athena.sql import RESULT_COLUMNS
    from costs.ingest.focus import summary

    settings.AWS_ENDPOINT_URL = os.environ["AWS_ENDPOINT_URL"]
    print("== Athena import: loading an aggregated result ==")
    print(f"machine: {describe()}")
    body = result_csv(args.groups, RESULT_COLUMNS)
    print(f"result: {args.groups:,} daily groups, {len(body) / 2**20:,.0f} MiB CSV")
    s3 = boto3.client("s3", endpoint_url=settings.AWS_ENDPOINT_URL, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    organization = Organization.objects.get(slug=ORG_SLUG)
    uri = "athena://spendlens/billing.focus_export?period=2024-09"
    for attempt in ("first import", "re-import (replaces)"):
        glue, athena = aws.platform_client("glue"), aws.platform_client("athena")
        with Stubber(glue) as glue_stub, Stubber(athena) as athena_stub:
            glue_stub.add_response(
                "get_table", json.loads((DATA / "get_table_focus.json").read_text())
            )
            athena_stub.add_response(
                "start_query_execution",
                {"QueryExecutionId": QUERY_ID},
                {
                    "QueryString": ANY,
                    "ClientRequestToken": ANY,
                    "QueryExecutionContext": ANY,
                    "WorkGroup": "spendlens",
                },
            )
            athena_stub.add_response(
                "get_query_execution",
                json.loads((DATA / "get_query_execution_succeeded.json").read_text()),
            )
            start = time.perf_counter()
            billing_import = import_athena(uri, organization, athena=athena, glue=glue)
            wall = time.perf_counter() - start
        print(
            f"{attempt}: {wall:6.2f} s, {args.groups / wall:,.0f} groups/s, "
            f"{billing_import.records_written:,} records written, "
            f"{billing_import.records_replaced:,} replaced"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (the result CSV held in memory for the upload included): {peak:,.0f} MB")
    print(summary(billing_import))
    print(
        f"command: BENCH_DATABASE_URL={url} .venv/bin/python bench/athena_load.py "
        f"--groups {args.groups}"
    )
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
