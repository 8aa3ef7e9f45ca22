"""import_billing athena:// of a CUR 2.0 table: the FOCUS query over CUR 2.0's columns.

As in test_athena_sql.py, the generated query is translated to DuckDB and run for real, its
result imported through the Athena path (Stubber for Glue and Athena, the result in moto's S3).
The CUR 2.0 table is made from the FOCUS sample's AWS rows, so that the same charges imported
from a FOCUS file must store the same records; crafted rows check each amortization rule.
"""

import io
import json
from datetime import datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
import sqlglot

from costs.ingest.athena import sql as athena_sql
from costs.ingest.athena.catalog import describe, parse
from costs.ingest.focus import ImportFailed, import_billing
from costs.models import BillingImport

from .conftest import RESULTS_BUCKET
from .test_athena import (
    RESULT_KEY,
    expect_query,
    focus_table,
    groups_with_several_tags,
    run_athena,
    stored,
    without_tags,
)
from .test_focus import SAMPLE, read_rows, write_rows

URI = "athena://spendlens/billing.cur_export?period=2024-09"
MAPS = ("product", "resource_tags")
TEXT_COLUMNS = (
    "identity_line_item_id",
    "bill_billing_period_start_date",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_unblended_cost",
    "line_item_currency_code",
    "product_region_code",
    "product_servicecode",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_reservation_a_r_n",
)


DATES = ("bill_billing_period_start_date", "line_item_usage_start_date")
COSTS = tuple(
    c for c in TEXT_COLUMNS if c.endswith(("_cost", "_fee", "_to_date", "_commitment", "_period"))
)


def glue_type(name: str, parquet: bool) -> str:
    """A column's type: all text (a CSV export), or as AWS's Parquet export types it."""
    if parquet and name in DATES:
        return "timestamp"
    if parquet and name in COSTS:
        return "double"
    return "string"


def cur_table(parquet=False):
    """Glue's description of a CUR 2.0 export: its columns, the product and tag maps."""
    answer = focus_table()
    columns = [{"Name": name, "Type": glue_type(name, parquet)} for name in TEXT_COLUMNS]
    columns += [{"Name": name, "Type": "map<string,string>"} for name in MAPS]
    answer["Table"]["Name"] = "cur_export"
    answer["Table"]["StorageDescriptor"]["Columns"] = columns
    answer["Table"]["PartitionKeys"] = []
    return answer


def query_for(answer, period="2024-09") -> str:
    glue = type("Glue", (), {"get_table": lambda self, **kw: answer})()
    return athena_sql.aggregation_query(describe(glue, parse(URI)), period)


ARROW_TYPES = {"string": pa.string(), "timestamp": pa.timestamp("ms"), "double": pa.float64()}


def run_in_duckdb(query: str, rows: list[dict], parquet=False) -> pa.Table:
    translated = sqlglot.transpile(query, read="trino", write="duckdb")[0]
    # Trino names regex groups $1, DuckDB (RE2) \1; sqlglot keeps the replacement text.
    translated = translated.replace("$1", "\\1").replace("$2", "\\2")
    schema = pa.schema(
        [(name, ARROW_TYPES[glue_type(name, parquet)]) for name in TEXT_COLUMNS]
        + [(name, pa.map_(pa.string(), pa.string())) for name in MAPS]
    )
    source = pa.Table.from_pylist(
        [{**dict.fromkeys(schema.names), **row} for row in rows], schema=schema
    )
    con = duckdb.connect()
    # Trino's to_iso8601 of a timestamp(3), which DuckDB lacks.
    con.execute("CREATE MACRO to_iso8601(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%g')")
    con.execute("CREATE SCHEMA billing")
    con.register("source", source)
    con.execute("CREATE TABLE billing.cur_export AS SELECT * FROM source")
    result = con.sql(translated).to_arrow_table()
    assert result.column_names == list(athena_sql.RESULT_COLUMNS)
    return result


def athena_csv(result: pa.Table) -> bytes:
    out = io.BytesIO()
    pa_csv.write_csv(result, out, pa_csv.WriteOptions(quoting_style="all_valid"))
    return out.getvalue()


def null(value: str):
    return None if value == "NULL" else value


def as_cur(row: dict) -> tuple[dict, dict]:
    """A FOCUS sample row as a CUR 2.0 row, and the FOCUS row that says what CUR 2.0 says: a
    usage row whose effective cost differs is Savings Plan covered usage; other charges have
    their billed cost as effective cost in CUR 2.0 (no commitment behind them here)."""
    covered = row["ChargeCategory"] == "Usage" and row["BilledCost"] != row["EffectiveCost"]
    kind = "SavingsPlanCoveredUsage" if covered else row["ChargeCategory"]
    tags = json.loads(row["Tags"]) if row["Tags"] != "NULL" else {}
    assert all(isinstance(v, str) for v in tags.values())
    cur = {
        "bill_billing_period_start_date": null(row["BillingPeriodStart"]),
        "line_item_usage_account_id": null(row["SubAccountId"]),
        "line_item_usage_account_name": null(row["SubAccountName"]),
        "line_item_line_item_type": kind,
        "line_item_usage_start_date": null(row["ChargePeriodStart"]),
        "line_item_product_code": null(row["ServiceName"]),
        "line_item_resource_id": null(row["ResourceId"]),
        "line_item_unblended_cost": null(row["BilledCost"]),
        "line_item_currency_code": null(row["BillingCurrency"]),
        "product_region_code": null(row["RegionId"]),
        "product": {"product_name": row["ServiceName"]} if row["ServiceName"] != "NULL" else {},
        "resource_tags": {f"user_{key}": value for key, value in tags.items()},
    }
    if covered:
        cur["savings_plan_savings_plan_effective_cost"] = row["EffectiveCost"]
    focus = {**row, "EffectiveCost": row["EffectiveCost"] if covered else row["BilledCost"]}
    return cur, focus


def test_a_cur2_table_is_read_through_expressions_and_the_query_is_valid_trino():
    answer = cur_table()
    glue = type("Glue", (), {"get_table": lambda self, **kw: answer})()

    table = describe(glue, parse(URI))

    assert table.kind == "CUR 2.0"
    assert set(table.expressions) == set(athena_sql.READ_COLUMNS)
    parsed = sqlglot.parse_one(query_for(answer), read="trino")
    assert parsed.find(sqlglot.exp.GroupingSets) is not None
    # The partition filter still applies to a partitioned export (BILLING_PERIOD=YYYY-MM).
    answer["Table"]["PartitionKeys"] = [{"Name": "billing_period", "Type": "string"}]
    assert "\"billing_period\" = '2024-09'" in query_for(answer)


def test_the_sample_as_cur2_stores_what_the_same_charges_as_focus_store(
    acme, globex, stubs, results, tmp_path
):
    header, rows = read_rows(SAMPLE)
    aws_rows = [r for r in rows if r["ProviderName"] == "AWS"]
    converted = [as_cur(r) for r in aws_rows]
    as_focus = write_rows(tmp_path / "as_focus.csv", header, [focus for _, focus in converted])
    by_file = import_billing(str(as_focus), acme)
    glue, glue_stub, athena, athena_stub = stubs
    answer = cur_table()
    query = query_for(answer)
    glue_stub.add_response("get_table", answer)
    expect_query(athena_stub, query, states=("succeeded",))
    result = run_in_duckdb(query, [cur for cur, _ in converted])
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=athena_csv(result))

    by_athena = run_athena(globex, glue, athena, uri=URI)

    september = [f for _, f in converted if f["BillingPeriodStart"].startswith("2024-09")]
    assert by_athena.rows_read == len(september) > 900
    assert by_athena.rows_rejected == 0
    assert by_athena.file_format == "athena CUR 2.0"
    several = groups_with_several_tags(september)
    expected = {r for r in stored(acme) if r[11].isoformat() == "2024-09-01"}
    assert without_tags(stored(globex), several) == without_tags(expected, several)
    assert by_athena.records_written == len(expected)
    assert by_file.status == by_athena.status == BillingImport.Status.SUCCEEDED


def charge(kind: str, cost: str, **columns) -> dict:
    return {
        "bill_billing_period_start_date": "2024-09-01T00:00:00.000Z",
        "line_item_usage_account_id": "111111111111",
        "line_item_line_item_type": kind,
        "line_item_usage_start_date": "2024-09-02T00:00:00.000Z",
        "line_item_product_code": "AmazonEC2",
        "line_item_unblended_cost": cost,
        "line_item_currency_code": "USD",
        "product_region_code": "us-east-1",
        # Each charge its own group: the resource id names the row.
        "line_item_resource_id": kind + columns.pop("suffix", ""),
        **columns,
    }


AMORTIZATION = [
    # (the charge, FOCUS ChargeCategory, BilledCost, EffectiveCost)
    (charge("Usage", "2.5"), "Usage", "2.5", "2.5"),
    (
        charge("SavingsPlanCoveredUsage", "4", savings_plan_savings_plan_effective_cost="1.75"),
        "Usage",
        "4",
        "1.75",
    ),
    (charge("SavingsPlanNegation", "-4"), "Usage", "-4", "0"),
    (
        charge(
            "SavingsPlanRecurringFee",
            "10",
            savings_plan_total_commitment_to_date="10",
            savings_plan_used_commitment="7.25",
        ),
        "Purchase",
        "10",
        "2.75",
    ),
    (charge("SavingsPlanUpfrontFee", "1000"), "Purchase", "1000", "0"),
    (charge("DiscountedUsage", "0", reservation_effective_cost="0.5"), "Usage", "0", "0.5"),
    (
        charge(
            "RIFee",
            "3",
            reservation_unused_amortized_upfront_fee_for_billing_period="0.25",
            reservation_unused_recurring_fee="0.5",
        ),
        "Purchase",
        "3",
        "0.75",
    ),
    (
        charge("Fee", "500", reservation_reservation_a_r_n="arn:aws:ec2:ri/1"),
        "Purchase",
        "500",
        "0",
    ),
    (charge("Fee", "12", suffix="-marketplace"), "Purchase", "12", "12"),
    (charge("Tax", "1.2"), "Tax", "1.2", "1.2"),
    (charge("Credit", "-3"), "Credit", "-3", "-3"),
    (charge("Refund", "-1"), "Credit", "-1", "-1"),
    (charge("EdpDiscount", "-0.5"), "Credit", "-0.5", "-0.5"),
    (charge("SomethingNew", "0.1"), "Adjustment", "0.1", "0.1"),
]


def groups(result: pa.Table) -> dict[str, dict]:
    """The daily groups by resource id (the rejected rows' group has no key: the importer
    leaves it out too)."""
    return {
        row["resource_id"]: row
        for row in result.to_pylist()
        if not row["is_total"] and row["provider"] is not None
    }


def test_each_charge_type_gets_its_focus_category_and_amortized_cost():
    result = run_in_duckdb(query_for(cur_table()), [c for c, *_ in AMORTIZATION])

    found = groups(result)
    assert len(found) == len(AMORTIZATION)
    for cur, category, billed, effective in AMORTIZATION:
        row = found[cur["line_item_resource_id"]]
        assert row["charge_category"] == category, cur
        assert (Decimal(row["billed"]), Decimal(row["effective"])) == (
            Decimal(billed),
            Decimal(effective),
        ), cur


def test_a_parquet_export_typed_by_glue_gives_the_same_groups():
    """AWS's Parquet export types dates as timestamps and costs as doubles."""
    typed = []
    for cur, *_ in AMORTIZATION:
        row = {**cur}
        for name in DATES:
            row[name] = datetime.fromisoformat(row[name].replace("Z", "+00:00"))
        for name in COSTS:
            if row.get(name) is not None:
                row[name] = float(row[name])
        typed.append(row)

    as_text = groups(run_in_duckdb(query_for(cur_table()), [c for c, *_ in AMORTIZATION]))
    as_parquet = groups(run_in_duckdb(query_for(cur_table(parquet=True)), typed, parquet=True))

    assert set(as_parquet) == set(as_text)
    for key, row in as_parquet.items():
        expected = as_text[key]
        assert (row["usage_date"], row["billing_period_min"]) == ("2024-09-02", "2024-09-01")
        assert (Decimal(row["billed"]), Decimal(row["effective"])) == (
            Decimal(expected["billed"]),
            Decimal(expected["effective"]),
        ), key


def test_the_service_is_the_product_name_and_user_tags_lose_their_prefix():
    rows = [
        charge(
            "Usage",
            "1",
            product={"product_name": "Amazon Elastic Compute Cloud"},
            product_servicecode="AmazonEC2",
            resource_tags={"user_team": "payments", "aws_createdBy": "alice", "user_env": 'a",b'},
        ),
        charge("Usage", "1", suffix="-code", product_servicecode="AmazonS3"),
        charge("Usage", "1", suffix="-nothing"),
    ]

    found = groups(run_in_duckdb(query_for(cur_table()), rows))

    first = found["Usage"]
    assert first["service"] == "Amazon Elastic Compute Cloud"
    assert json.loads(first["tags"]) == {
        "team": "payments",
        "aws_createdBy": "alice",
        "env": 'a",b',
    }
    assert found["Usage-code"]["service"] == "AmazonS3"
    assert found["Usage-nothing"]["service"] == "AmazonEC2"  # line_item_product_code
    assert found["Usage-nothing"]["tags"] is None
    assert {row["provider"] for row in found.values()} == {"AWS"}


def test_bad_cur_values_are_rejected_under_the_focus_reasons():
    rows = [
        charge("Usage", "1,5"),
        charge("Usage", "1", suffix="-no-account", line_item_usage_account_id=None),
        charge("Usage", "1", suffix="-bad-day", line_item_usage_start_date="02/09/2024"),
        charge("Usage", "1", suffix="-ok"),
    ]

    result = run_in_duckdb(query_for(cur_table()), rows)

    total = next(row for row in result.to_pylist() if row["is_total"])
    counts = {r.reason: total[r.count_column] for r in athena_sql.REASONS if total[r.count_column]}
    assert counts == {
        "malformed BilledCost": 1,
        "missing SubAccountId": 1,
        "invalid ChargePeriodStart": 1,
    }
    assert list(groups(result)) == ["Usage-ok"]


def test_a_cur2_table_missing_a_needed_column_is_refused_before_any_query(acme, stubs):
    glue, glue_stub, athena, _ = stubs
    answer = cur_table()
    columns = answer["Table"]["StorageDescriptor"]["Columns"]
    answer["Table"]["StorageDescriptor"]["Columns"] = [
        c for c in columns if c["Name"] != "line_item_currency_code"
    ]
    glue_stub.add_response("get_table", answer)

    with pytest.raises(ImportFailed, match=r"nor a CUR 2.0 one .it lacks line_item_currency_code"):
        run_athena(acme, glue, athena, uri=URI)
