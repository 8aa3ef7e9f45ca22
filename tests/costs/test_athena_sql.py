"""The generated Athena query, run for real: sqlglot parses it as Trino (Athena's engine) and
translates it to DuckDB, which runs it over the same CSV the file importer reads. The result,
written as Athena writes results, is then imported through the Athena path (Stubber for Glue
and Athena, the CSV in moto's S3) and must store, count and reject what the file importer does.

DuckDB is not Athena: this checks the query's logic (the rule order, the grouping, the sums,
the total row), not Athena's dialect. Its regexes are RE2, as pyarrow's; that the same patterns
mean the same in Athena's Java-style engine is argued in columns.py (the \\z anchors).
"""

import io
import json

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
import sqlglot
from botocore.stub import ANY

from costs.ingest.athena import sql as athena_sql
from costs.ingest.focus import import_billing
from costs.models import BillingImport

from .conftest import RESULTS_BUCKET
from .test_athena import (
    QUERY_ID,
    RESULT_KEY,
    focus_table,
    groups_with_several_tags,
    recorded,
    run_athena,
    stored,
    without_tags,
)
from .test_focus import SAMPLE, read_rows, write_rows


def csv_table():
    """The Glue table of a FOCUS CSV export: every column a string, no partitions."""
    answer = focus_table()
    table = answer["Table"]
    for column in table["StorageDescriptor"]["Columns"]:
        column["Type"] = "string"
    table["PartitionKeys"] = []
    return answer


def query_for(answer, period="2024-09") -> str:
    columns = {c["Name"]: c["Type"] for c in answer["Table"]["StorageDescriptor"]["Columns"]}
    mapped = {
        focus: (focus.lower(), columns[focus.lower()])
        for focus in athena_sql.READ_COLUMNS
        if focus.lower() in columns
    }
    table = athena_sql.Table("billing", "focus_export", mapped, partitioned=False)
    return athena_sql.aggregation_query(table, period)


def run_in_duckdb(query: str, path) -> bytes:
    """QUERY over the CSV at PATH, its result in Athena's CSV form (every value quoted, NULL
    as nothing)."""
    translated = sqlglot.transpile(query, read="trino", write="duckdb")[0]
    # Trino's regexp_replace names groups $1, DuckDB's (RE2) \1; sqlglot keeps the text.
    translated = translated.replace("'$1'", r"'\1'").replace("'$1$2'", r"'\1\2'")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA billing")
    # The file importer's reading: NULL and empty cells are NULL, quoted "NULL" too here
    # (the sample never quotes it).
    con.execute(
        "CREATE TABLE billing.focus_export AS SELECT * FROM read_csv(?, all_varchar = true, "
        "header = true, delim = ',', quote = '\"', escape = '\"', nullstr = ['NULL', ''])",
        [str(path)],
    )
    # Glue's names are lower case.
    con.execute("ALTER TABLE billing.focus_export RENAME TO focus_raw")
    names = [d[0] for d in con.execute("SELECT * FROM billing.focus_raw LIMIT 0").description]
    lower = ", ".join(f'"{name}" AS "{name.lower()}"' for name in names)
    con.execute(f"CREATE VIEW billing.focus_export AS SELECT {lower} FROM billing.focus_raw")  # noqa: S608
    result = con.sql(translated).to_arrow_table()
    assert result.column_names == list(athena_sql.RESULT_COLUMNS)
    out = io.BytesIO()
    pa_csv.write_csv(result, out, pa_csv.WriteOptions(quoting_style="all_valid"))
    return out.getvalue()


def test_the_query_is_valid_trino():
    # Parsing as Trino fails on what Athena would refuse to parse (a quote left open, a
    # misplaced FILTER, a grouping set typo).
    parsed = sqlglot.parse_one(query_for(focus_table()), read="trino")
    assert parsed.find(sqlglot.exp.GroupingSets) is not None


def test_the_query_run_on_the_sample_stores_what_the_file_importer_stores(
    acme, globex, stubs, results, tmp_path
):
    _, rows = read_rows(SAMPLE)
    by_file = import_billing(str(SAMPLE), acme)
    glue, glue_stub, athena, athena_stub = stubs
    table = csv_table()
    query = query_for(table)
    glue_stub.add_response("get_table", table)
    athena_stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {
            "QueryString": query,
            "ClientRequestToken": ANY,
            "QueryExecutionContext": {"Database": "billing", "Catalog": "AwsDataCatalog"},
            "WorkGroup": "spendlens",
        },
    )
    athena_stub.add_response("get_query_execution", recorded("get_query_execution_succeeded"))
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=run_in_duckdb(query, SAMPLE))

    by_athena = run_athena(globex, glue, athena)

    # The query's period filter leaves out the sample's one October row.
    september = [r for r in rows if r["BillingPeriodStart"].startswith("2024-09")]
    assert by_athena.rows_read == len(september) == 999
    assert by_athena.rows_rejected == 0
    several = groups_with_several_tags(september)
    expected = {r for r in stored(acme) if r[11].isoformat() == "2024-09-01"}
    assert without_tags(stored(globex), several) == without_tags(expected, several)
    assert by_athena.records_written == len(expected)
    assert by_file.status == by_athena.status == BillingImport.Status.SUCCEEDED


# One row per way of failing, each built from a valid sample row; several fail more than one
# rule, so the first failing rule decides, in both engines.
BAD_VALUES = [
    {"SubAccountId": "NULL"},
    {"SubAccountId": "   "},
    {"ServiceName": "S" * 201},
    {"ProviderName": "NULL", "ServiceName": "NULL"},
    {"ProviderName": "P" * 65},
    {"ChargePeriodStart": "NULL"},
    {"ChargePeriodStart": "2024-09-31 00:00:00"},
    {"ChargePeriodStart": "2024-09-03T10:00:00+02:00"},
    {"ChargePeriodStart": "0000-09-03"},
    {"ChargePeriodStart": "03/09/2024"},
    {"BillingPeriodStart": "2024-09-01T00:00:00+0100"},
    {"BilledCost": "NULL"},
    {"BilledCost": "1,5"},
    {"BilledCost": "0x10"},
    {"BilledCost": "1e15"},
    {"BilledCost": "-100000000000000"},
    {"BilledCost": "1" * 39},
    {"BilledCost": "1." + "1" * 40 + "e-3"},
    {"EffectiveCost": "abc"},
    {"EffectiveCost": "1E+20", "BilledCost": "x"},
    {"BillingCurrency": "NULL"},
    {"BillingCurrency": "usd"},
    {"BillingCurrency": "USDX"},
    {"RegionId": "r" * 65},
    {"ChargeCategory": "c" * 33},
    {"ResourceId": "i" * 513},
]
# Accepted by both: plain and exponent forms, signs, dates with and without time or Z.
GOOD_VALUES = [
    {"BilledCost": "+1.5", "EffectiveCost": ".25"},
    {"BilledCost": "2.", "EffectiveCost": "-0.0000000000001"},
    {"BilledCost": "1.23456789012345678", "EffectiveCost": "00012.5"},
    {"ChargePeriodStart": "2024-09-04"},
    {"ChargePeriodStart": "2024-09-05T01:00:00Z"},
    {"ChargePeriodStart": "2024-09-06 02:00:00.123+00:00"},
    {"RegionId": "NULL", "ResourceId": "NULL"},
    {"BilledCost": "1.5e-3", "EffectiveCost": "2.5E+2"},
]


def test_every_rejection_reason_counts_as_in_the_file_importer(
    acme, globex, stubs, results, tmp_path
):
    header, rows = read_rows(SAMPLE)
    base = [r for r in rows if r["BillingPeriodStart"].startswith("2024-09")][:40]
    crafted = []
    for i, changes in enumerate(BAD_VALUES + GOOD_VALUES):
        row = dict(base[i % len(base)])
        row["BillingPeriodStart"] = "2024-09-01T00:00:00Z"
        row.update(changes)
        crafted.append(row)
    path = write_rows(tmp_path / "crafted.csv", header, base + crafted)
    by_file = import_billing(str(path), acme)
    assert by_file.rows_rejected >= len(BAD_VALUES)  # nothing above slipped through

    glue, glue_stub, athena, athena_stub = stubs
    table = csv_table()
    query = query_for(table)
    glue_stub.add_response("get_table", table)
    athena_stub.add_response("start_query_execution", {"QueryExecutionId": QUERY_ID})
    athena_stub.add_response("get_query_execution", recorded("get_query_execution_succeeded"))
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=run_in_duckdb(query, path))

    by_athena = run_athena(globex, glue, athena)

    assert by_athena.rows_read == by_file.rows_read
    assert by_athena.reject_reasons == by_file.reject_reasons
    assert len(by_athena.reject_reasons) >= 17  # most reasons are exercised
    several = groups_with_several_tags(base + crafted[len(BAD_VALUES) :])
    assert without_tags(stored(globex), several) == without_tags(stored(acme), several)


@pytest.mark.parametrize("period, expected", [("2024-10", 1), ("2024-11", 0)])
def test_the_period_filter_reads_only_that_period(period, expected):
    result = run_in_duckdb(query_for(csv_table(), period), SAMPLE)
    table = pa_csv.read_csv(io.BytesIO(result))
    total = table.filter(pa.compute.equal(table["is_total"], True)).to_pylist()
    assert [row["row_count"] for row in total] == [expected]


def test_tags_of_a_map_column_are_read_as_json():
    """AWS's export has Tags as map<string,string>: the query prints it as JSON."""
    con = duckdb.connect()
    translated = sqlglot.transpile(
        f"SELECT {athena_sql.as_text('tags', 'map<string,string>')} AS t FROM x",  # noqa: S608
        read="trino",
        write="duckdb",
    )[0]
    con.execute("CREATE TABLE x AS SELECT MAP {'env': 'prod', 'team': 'a\"b'} AS tags")
    (text,) = con.execute(translated).fetchone()
    assert json.loads(text) == {"env": "prod", "team": 'a"b'}
