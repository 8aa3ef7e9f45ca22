"""import_billing athena://: the generated query, the query's lifecycle and the load.

Glue and Athena are real boto3 clients answered by botocore's Stubber with responses recorded
from AWS (tests/costs/data/athena); the query's result CSV sits in the moto S3 server, where
Athena would have written it. The result for the FOCUS sample is computed here, from the
sample's rows with the csv module and Decimal, the way the query groups them.
"""

import io
import json
from datetime import date
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from botocore.stub import ANY
from django.core.management import CommandError, call_command

from costs.ingest.athena import import_athena
from costs.ingest.athena import sql as athena_sql
from costs.ingest.athena.catalog import parse
from costs.ingest.focus import ImportFailed, import_billing, summary
from costs.ingest.focus.columns import RULES, reasons
from costs.models import BillingImport, CostRecord, CostSource

from .conftest import RESULTS_BUCKET
from .test_focus import SAMPLE, read_rows, write_rows

DATA = Path(__file__).parent / "data" / "athena"
URI = "athena://spendlens/billing.focus_export?period=2024-09"
QUERY_ID = "c6d9f0e3-58a1-4bd2-9f0c-2c1f3a7d5e41"
RESULT_KEY = f"spendlens/{QUERY_ID}.csv"
SCANNED = 48213577


def recorded(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def execution(state: str, **changes) -> dict:
    answer = recorded(f"get_query_execution_{state}")
    answer["QueryExecution"].update(changes)
    return answer


class Clock:
    """Time that passes only when the importer sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def focus_table():
    return recorded("get_table_focus")


def expect_query(athena_stub, sql=None, states=("running", "succeeded"), workgroup="spendlens"):
    params = {
        "QueryString": sql if sql is not None else athena_sql_for_recorded_table(),
        "ClientRequestToken": ANY,
        "QueryExecutionContext": {"Database": "billing", "Catalog": "AwsDataCatalog"},
        "WorkGroup": workgroup,
    }
    athena_stub.add_response("start_query_execution", {"QueryExecutionId": QUERY_ID}, params)
    for state in states:
        athena_stub.add_response(
            "get_query_execution", execution(state), {"QueryExecutionId": QUERY_ID}
        )


def athena_sql_for_recorded_table(period="2024-09", account_id=None):
    table = recorded("get_table_focus")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    mapped = {
        focus: (focus.lower(), columns[focus.lower()])
        for focus in athena_sql.READ_COLUMNS
        if focus.lower() in columns
    }
    return athena_sql.aggregation_query(
        athena_sql.Table("billing", "focus_export", mapped, True), period, account_id
    )


# --- What Athena returns for the sample, computed from its rows -----------------------------


def cut12(text: str) -> Decimal:
    """An amount at 12 places, beyond them dropped (as the query and the file importer do)."""
    return Decimal(text).quantize(Decimal("1E-12"), rounding=ROUND_DOWN)


def athena_result(rows, reject_counts=None, skipped=0, extra_read=0) -> bytes:
    """The query's CSV result for ROWS (all valid): one row per daily group and one total,
    in Athena's CSV form (every value quoted, NULL as nothing)."""
    groups = {}
    for row in rows:
        key = (
            row["ProviderName"],
            row["SubAccountId"],
            row["ChargePeriodStart"][:10],
            row["ServiceName"],
            "" if row["RegionId"] == "NULL" else row["RegionId"],
            "" if row["ResourceId"] == "NULL" else row["ResourceId"],
            row["ChargeCategory"],
        )
        group = groups.setdefault(
            key,
            {"currency": set(), "period": set(), "billed": Decimal(0), "effective": Decimal(0)}
            | {"tags": [], "names": [], "count": 0},
        )
        group["currency"].add(row["BillingCurrency"])
        group["period"].add(row["BillingPeriodStart"][:10])
        group["billed"] += cut12(row["BilledCost"])
        group["effective"] += cut12(row["EffectiveCost"])
        if row["Tags"] != "NULL":
            # Tags is map<string,string> in the export: Athena prints it as compact JSON.
            group["tags"].append(json.dumps(json.loads(row["Tags"]), separators=(",", ":")))
        if row["SubAccountName"] != "NULL":
            group["names"].append(row["SubAccountName"])
        group["count"] += 1
    out = io.StringIO()
    header = list(athena_sql.RESULT_COLUMNS)
    out.write(",".join(f'"{h}"' for h in header) + "\n")

    def line(values: dict) -> str:
        cells = []
        for name in header:
            value = values.get(name)
            cells.append("" if value is None else '"' + str(value).replace('"', '""') + '"')
        return ",".join(cells) + "\n"

    for key, group in groups.items():
        values = dict(zip(athena_sql.GROUP_COLUMNS[1:8], key, strict=True))
        values.update(
            is_total="false",
            currency_min=min(group["currency"]),
            currency_max=max(group["currency"]),
            billing_period_min=min(group["period"]),
            billing_period_max=max(group["period"]),
            billed=f"{group['billed']:.12f}",
            effective=f"{group['effective']:.12f}",
            tags=min(group["tags"]) if group["tags"] else None,
            sub_account_name=max(group["names"]) if group["names"] else None,
            row_count=group["count"],
            rows_skipped=0,
        )
        values.update({r.count_column: 0 for r in athena_sql.REASONS})
        out.write(line(values))
    rejected = sum((reject_counts or {}).values())
    if rejected or skipped:
        # The rows rejected or skipped: one group with no key.
        out.write(line({"is_total": "false", "row_count": rejected + skipped, "rows_skipped": 0}))
    total = {
        "is_total": "true",
        "row_count": len(rows) + rejected + skipped + extra_read,
        "rows_skipped": skipped,
    }
    for reason in athena_sql.REASONS:
        count = (reject_counts or {}).get(reason.reason, 0)
        total[reason.count_column] = count
        if count:
            total[reason.example_column] = f"example of {reason.reason}"
    out.write(line(total))
    return out.getvalue().encode()


def september(rows):
    return [r for r in rows if r["BillingPeriodStart"].startswith("2024-09")]


def stored(organization):
    fields = [
        "metric",
        "provider",
        "sub_account_id",
        "usage_date",
        "service",
        "region",
        "resource_id",
        "usage_type",
        "charge_category",
        "amount",
        "currency",
        "billing_period",
        "estimated",
        "account_id",
    ]
    records = CostRecord.objects.filter(organization=organization, source=CostSource.FOCUS)
    return {
        (*values[:-1], json.dumps(values[-1], sort_keys=True))
        for values in records.values_list(*fields, "tags")
    }


def natural_key(row) -> tuple:
    """A FOCUS row's key as stored() lists it (provider to charge category)."""
    return (
        row["ProviderName"],
        row["SubAccountId"],
        date.fromisoformat(row["ChargePeriodStart"][:10]),
        row["ServiceName"],
        "" if row["RegionId"] == "NULL" else row["RegionId"],
        "" if row["ResourceId"] == "NULL" else row["ResourceId"],
        "",  # usage_type
        row["ChargeCategory"],
    )


def groups_with_several_tags(rows) -> dict[tuple, list]:
    tags = {}
    for row in rows:
        if row["Tags"] != "NULL":
            objects = tags.setdefault(natural_key(row), [])
            if json.loads(row["Tags"]) not in objects:
                objects.append(json.loads(row["Tags"]))
    return {key: objects for key, objects in tags.items() if len(objects) > 1}


def without_tags(records, keys) -> set:
    return {(*r[:-1], "several") if r[1:9] in keys else r for r in records}


def run_athena(organization, glue, athena, clock=None, uri=URI, account_id=None):
    clock = clock or Clock()
    return import_athena(
        uri,
        organization,
        account_id=account_id,
        athena=athena,
        glue=glue,
        clock=clock,
        sleep=clock.sleep,
    )


# --- The query ---------------------------------------------------------------------------------


def test_the_focus_query_is_the_recorded_one():
    """The whole query for AWS's FOCUS export table, kept in a file to review its changes."""
    expected = (DATA / "focus_query.sql").read_text()
    assert athena_sql_for_recorded_table() == expected


def test_every_validation_rule_has_one_counted_reason_in_the_query():
    query = athena_sql_for_recorded_table()
    listed = reasons()
    assert len(athena_sql.REASONS) == len(listed) == sum(len(r.checks()) for r in RULES)
    for number, (reason, rule, _) in enumerate(listed, 1):
        assert f"count_if(reason = {number}) AS reject_{number:02d}" in query
        assert athena_sql.REASONS[number - 1].reason == reason
        assert athena_sql.REASONS[number - 1].column == rule.column
    # The first failing rule wins, as in the Arrow checks: one CASE, in RULES order.
    assert query.count("CASE\n") == 1
    positions = [query.index(f" THEN {n}\n") for n in range(1, len(listed) + 1)]
    assert positions == sorted(positions)


def test_the_query_reads_only_the_period_partition_and_the_needed_columns():
    query = athena_sql_for_recorded_table()

    assert "WHERE \"billing_period\" = '2024-09'" in query
    assert 'FROM "billing"."focus_export"' in query
    # Typed columns are read as the text a CSV export holds.
    assert 'to_iso8601("chargeperiodstart")' in query
    assert 'json_format(CAST("tags" AS json))' in query
    assert 'CAST("billedcost" AS varchar)' in query
    # Columns the store does not need are never read (Athena bills the columns it reads).
    assert "x_discounts" not in query and "chargedescription" not in query


def test_an_unpartitioned_table_is_filtered_on_billing_period_start():
    table = athena_sql.Table(
        "billing",
        "focus_csv",
        {c: (c.lower(), "string") for c in athena_sql.READ_COLUMNS},
        partitioned=False,
    )
    query = athena_sql.aggregation_query(table, "2024-09")
    assert "WHERE substr(nullif(\"billingperiodstart\", ''), 1, 7) = '2024-09'" in query


def test_an_account_filter_is_a_quoted_literal():
    query = athena_sql_for_recorded_table(account_id="1234' OR '1'='1")
    assert "WHEN NOT coalesce(\"SubAccountId\" = '1234'' OR ''1''=''1', false) THEN -1" in query


@pytest.mark.parametrize(
    "uri, problem",
    [
        ("athena://spendlens/billing.focus", "period must be YYYY-MM"),
        ("athena://spendlens/billing.focus?period=2024-13", "period must be YYYY-MM"),
        ("athena://spendlens/billing.focus?period=2024-9", "period must be YYYY-MM"),
        ("athena://spendlens/billing.focus?period=2024-09'--", "period must be YYYY-MM"),
        ("athena://spendlens/billing.focus?period=0000-01", "period must be YYYY-MM"),
        ("athena://spendlens/billing.focus?period=2024-09&period=2024-10", "given twice"),
        ("athena://spendlens/billing.focus?period=2024-09&limit=1", "unknown parameter"),
        ("athena://spendlens/billing?period=2024-09", "bad DATABASE.TABLE"),
        ('athena://spendlens/billing.fo"cus?period=2024-09', "bad DATABASE.TABLE"),
        ("athena://spendlens/bil ling.focus?period=2024-09", "bad DATABASE.TABLE"),
        ("athena://spendlens/billing.focus;DROP?period=2024-09", "bad DATABASE.TABLE"),
        ("athena://spend%20lens/billing.focus?period=2024-09", "bad workgroup"),
        ("athena:///billing.focus?period=2024-09", "bad workgroup"),
        ("athena://u:p@spendlens/billing.focus?period=2024-09", "unexpected user"),
        ("athena://spendlens/billing.focus?period=2024-09&region=eu-west-1;", "bad region"),
    ],
)
def test_a_bad_uri_is_refused_before_any_call(uri, problem):
    with pytest.raises(ImportFailed, match=problem):
        parse(uri)


def test_a_uri_names_its_parts():
    target = parse("athena://spendlens-prod/Billing.FOCUS_export?period=2024-09&region=eu-west-1")
    assert target.workgroup == "spendlens-prod"
    # Glue keeps names in lower case.
    assert (target.database, target.table) == ("billing", "focus_export")
    assert (target.period, target.region) == ("2024-09", "eu-west-1")


def test_a_bad_uri_is_a_command_error_and_a_failed_import(acme):
    with pytest.raises(CommandError, match=r"not a valid Athena URI.*period must be YYYY-MM"):
        call_command(
            "import_billing",
            "athena://spendlens/billing.focus?period=24-09",
            "--org",
            acme.slug,
            stdout=io.StringIO(),
        )
    failed = BillingImport.objects.get(organization=acme)
    assert failed.status == BillingImport.Status.FAILED
    assert failed.file_format == "athena"
    assert failed.query_execution_id == "" and failed.bytes_scanned is None


# --- The load: the same records as the file importer --------------------------------------------


def test_the_sample_via_athena_stores_what_the_file_importer_stores(
    acme, globex, stubs, results, tmp_path
):
    header, rows = read_rows(SAMPLE)
    rows = september(rows)
    path = write_rows(tmp_path / "september.csv", header, rows)
    by_file = import_billing(str(path), acme)
    assert by_file.rows_rejected == 0

    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response(
        "get_table", focus_table(), {"DatabaseName": "billing", "Name": "focus_export"}
    )
    expect_query(athena_stub)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=athena_result(rows))

    by_athena = run_athena(globex, glue, athena)

    assert by_athena.status == BillingImport.Status.SUCCEEDED
    # A table has no row order: of a daily group's Tags objects Athena keeps the least, the
    # file importer the first. Only groups with several different ones can differ, and there
    # Athena's must be one of them.
    several = groups_with_several_tags(rows)
    assert several  # the sample has some: the comparison below is not vacuous
    assert without_tags(stored(globex), several) == without_tags(stored(acme), several)
    for record in stored(globex):
        if record[1:9] in several:
            assert json.loads(record[-1]) in several[record[1:9]]
    assert len(stored(globex)) == by_file.records_written
    assert by_athena.records_written == by_file.records_written
    assert by_athena.rows_read == by_file.rows_read == len(rows)
    assert by_athena.rows_rejected == 0
    assert by_athena.billing_periods == by_file.billing_periods == ["2024-09-01"]
    assert [s["id"] for s in by_athena.sub_accounts] == [s["id"] for s in by_file.sub_accounts]
    assert by_athena.file_format == "athena"
    assert by_athena.query_execution_id == QUERY_ID
    assert by_athena.bytes_scanned == SCANNED
    assert by_athena.query_cost == Decimal("0.000241")  # 48.2 MB at 5 USD per TB


def test_a_reimport_replaces_the_period_and_the_summary_shows_the_query_cost(acme, stubs, results):
    _, rows = read_rows(SAMPLE)
    rows = september(rows)
    import_billing(str(SAMPLE), acme)  # the file first: both periods
    october = CostRecord.objects.filter(organization=acme, billing_period="2024-10-01").count()
    before = CostRecord.objects.filter(organization=acme, billing_period="2024-09-01").count()

    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=athena_result(rows))
    billing_import = run_athena(acme, glue, athena)

    assert billing_import.records_replaced == before
    assert CostRecord.objects.filter(organization=acme, billing_period="2024-09-01").count() == (
        before
    )
    # The other period is another partition of the export: untouched.
    assert CostRecord.objects.filter(organization=acme, billing_period="2024-10-01").count() == (
        october
    )
    text = summary(billing_import)
    assert f"({'athena'}): succeeded" in text
    assert f"Athena query {QUERY_ID}: 48,213,577 bytes scanned, about 0.000241 USD" in text


def test_rejected_rows_are_counted_per_reason_as_for_files(acme, stubs, results):
    _, rows = read_rows(SAMPLE)
    rows = september(rows)[:50]
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)
    rejects = {"malformed BilledCost": 3, "missing SubAccountId": 2}
    body = athena_result(rows, reject_counts=rejects)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=body)

    billing_import = run_athena(acme, glue, athena)

    assert billing_import.rows_read == 55
    assert billing_import.rows_rejected == 5
    assert billing_import.reject_reasons == {"malformed BilledCost": 3, "missing SubAccountId": 2}
    assert {(s["row"], s["value"]) for s in billing_import.rejects} == {
        (None, "example of malformed BilledCost"),
        (None, "example of missing SubAccountId"),
    }
    assert "row ?: malformed BilledCost ('example of malformed BilledCost')" in summary(
        billing_import
    )


def test_only_one_sub_account_counts_the_others_as_skipped(acme, stubs, results):
    _, rows = read_rows(SAMPLE)
    account = september(rows)[0]["SubAccountId"]
    mine = [r for r in september(rows) if r["SubAccountId"] == account]
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub, sql=athena_sql_for_recorded_table(account_id=account))
    body = athena_result(mine, skipped=len(september(rows)) - len(mine))
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=body)

    billing_import = run_athena(acme, glue, athena, account_id=account)

    assert billing_import.rows_skipped == len(september(rows)) - len(mine)
    assert {s["id"] for s in billing_import.sub_accounts} == {account}


# --- Bad input: a clear error, nothing replaced ---------------------------------------------------


@pytest.fixture
def stored_before(acme):
    """A stored September import, which every failure below must leave as it is."""
    import_billing(str(SAMPLE), acme)
    return stored(acme)


def failed_import(acme) -> BillingImport:
    return BillingImport.objects.filter(organization=acme).order_by("-pk").first()


def test_a_failed_query_says_why_and_replaces_nothing(acme, stored_before, stubs):
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub, states=("running", "failed"))

    with pytest.raises(ImportFailed, match="failed: COLUMN_NOT_FOUND: line 4:47: Column"):
        run_athena(acme, glue, athena)

    failed = failed_import(acme)
    assert failed.status == BillingImport.Status.FAILED
    assert "nothing was replaced" in failed.error
    assert failed.query_execution_id == QUERY_ID
    assert failed.bytes_scanned == 0
    assert stored(acme) == stored_before


def test_a_query_cancelled_by_the_bytes_limit_records_what_it_scanned(acme, stored_before, stubs):
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub, states=("running", "cancelled"))

    with pytest.raises(ImportFailed, match="cancelled: Query cancelled! : Bytes scanned limit"):
        run_athena(acme, glue, athena)

    failed = failed_import(acme)
    assert failed.bytes_scanned == 10737418240
    assert failed.query_cost == Decimal("0.053687")
    assert "Athena query" in summary(failed) and "10,737,418,240 bytes" in summary(failed)
    assert stored(acme) == stored_before


def test_a_query_past_the_deadline_is_stopped(acme, stored_before, stubs, settings):
    settings.ATHENA_QUERY_TIMEOUT_SECONDS = 10
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    # Polls at 0, 0.5, 1.25, 2.375, 4.06, 6.59, 10 s: RUNNING each time, then stopped.
    expect_query(athena_stub, states=("running",) * 7)
    athena_stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QUERY_ID})
    clock = Clock()

    with pytest.raises(ImportFailed, match=r"did not finish within 10 s .* was stopped"):
        run_athena(acme, glue, athena, clock=clock)

    assert clock.now == 1010.0  # it waited out the deadline, no more
    assert max(clock.slept) <= 5.0
    assert failed_import(acme).query_execution_id == QUERY_ID
    assert stored(acme) == stored_before


def test_a_table_without_the_focus_columns_fails_before_any_query(acme, stored_before, stubs):
    glue, glue_stub, athena, _ = stubs
    table = focus_table()
    columns = table["Table"]["StorageDescriptor"]["Columns"]
    table["Table"]["StorageDescriptor"]["Columns"] = [
        c for c in columns if c["Name"] not in ("billedcost", "billingcurrency")
    ]
    glue_stub.add_response("get_table", table)

    # No Athena response is queued: starting a query would fail the Stubber.
    with pytest.raises(ImportFailed, match=r"neither a FOCUS 1.0 export .it lacks BilledCost, B"):
        run_athena(acme, glue, athena)

    assert "found: availabilityzone, billingaccountid" in failed_import(acme).error
    assert stored(acme) == stored_before


def test_a_partial_cur_table_is_refused_naming_what_it_lacks(acme, stubs):
    glue, glue_stub, athena, _ = stubs
    table = focus_table()
    table["Table"]["StorageDescriptor"]["Columns"] = [
        {"Name": "line_item_usage_account_id", "Type": "string"},
        {"Name": "line_item_unblended_cost", "Type": "double"},
    ]
    glue_stub.add_response("get_table", table)

    with pytest.raises(
        ImportFailed, match=r"nor a CUR 2.0 one .it lacks line_item_usage_start_date, bill_billing"
    ):
        run_athena(acme, glue, athena)


def test_a_missing_table_is_named(acme, stubs):
    glue, glue_stub, athena, _ = stubs
    glue_stub.add_client_error(
        "get_table",
        service_error_code="EntityNotFoundException",
        service_message="Table focus_export not found.",
        http_status_code=400,
    )
    with pytest.raises(ImportFailed, match=r"no table billing.focus_export"):
        run_athena(acme, glue, athena)


def test_access_denied_says_which_permission_is_missing(acme, stored_before, stubs):
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    athena_stub.add_client_error(
        "start_query_execution",
        service_error_code="AccessDeniedException",
        service_message=(
            "User: arn:aws:sts::111122223333:assumed-role/spendlens-task/abc is not authorized "
            "to perform: athena:StartQueryExecution on resource: "
            "arn:aws:athena:us-east-1:111122223333:workgroup/spendlens"
        ),
        http_status_code=400,
    )
    with pytest.raises(ImportFailed, match="access denied to start the Athena query") as caught:
        run_athena(acme, glue, athena)

    assert "athena:StartQueryExecution" in caught.value.message
    assert "README (Importing from Athena)" in caught.value.message
    assert stored(acme) == stored_before


def test_a_period_with_no_rows_keeps_the_stored_period(acme, stored_before, stubs, results):
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=athena_result([]))

    with pytest.raises(ImportFailed, match="no rows for the billing period 2024-09"):
        run_athena(acme, glue, athena)

    failed = failed_import(acme)
    assert failed.status == BillingImport.Status.FAILED
    assert failed.bytes_scanned == SCANNED
    assert stored(acme) == stored_before


def test_a_result_that_does_not_add_up_replaces_nothing(acme, stored_before, stubs, results):
    _, rows = read_rows(SAMPLE)
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)
    # A truncated result: the total counts rows that no group holds.
    body = athena_result(september(rows), extra_read=7)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body=body)

    with pytest.raises(ImportFailed, match=r"result .* is incomplete"):
        run_athena(acme, glue, athena)

    assert stored(acme) == stored_before


def test_a_missing_result_object_fails_cleanly(acme, stored_before, stubs, results):
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)

    with pytest.raises(
        ImportFailed, match=r"cannot read s3://spendlens-athena-results/.*NoSuchKey"
    ):
        run_athena(acme, glue, athena)

    assert stored(acme) == stored_before


def test_a_result_without_its_total_row_fails(acme, stored_before, stubs, results):
    _, rows = read_rows(SAMPLE)
    glue, glue_stub, athena, athena_stub = stubs
    glue_stub.add_response("get_table", focus_table())
    expect_query(athena_stub)
    body = athena_result(september(rows)[:10]).decode().splitlines(keepends=True)
    results.put_object(Bucket=RESULTS_BUCKET, Key=RESULT_KEY, Body="".join(body[:-1]).encode())

    with pytest.raises(ImportFailed, match="has 0 total rows, not 1"):
        run_athena(acme, glue, athena)

    assert stored(acme) == stored_before


def test_the_recorded_table_has_every_column_the_query_reads():
    """The recorded Glue table really is a FOCUS export: nothing above passes by a column
    quietly read as NULL."""
    names = {c["Name"] for c in focus_table()["Table"]["StorageDescriptor"]["Columns"]}
    assert {c.lower() for c in athena_sql.READ_COLUMNS} <= names
