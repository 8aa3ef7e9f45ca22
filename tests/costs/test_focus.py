"""FOCUS 1.0 import: the real sample, its variants (gzip, Parquet, S3), re-imports and rejects.

Every expected total is computed here from the file with the csv module and Decimal, never
with the importer's own code.
"""

import csv
import gzip
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from costs.ingest.focus import ImportFailed, import_billing
from costs.models import BillingImport, CostMetric, CostRecord, CostSource

SAMPLE = Path(settings.BASE_DIR) / "tests" / "data" / "focus" / "focus_sample.csv"
# The data set's README, which computed them independently of us.
README_BILLED = {
    "AWS": Decimal("18.0066386184"),
    "Microsoft": Decimal("1.9765141859"),
    "Oracle": Decimal("0.5370739247"),
}
PLACES = Decimal("1E-10")
METRIC_COLUMNS = {CostMetric.BILLED: "BilledCost", CostMetric.EFFECTIVE: "EffectiveCost"}


# --- The file, read and written without the importer -----------------------------------------


def read_rows(path=SAMPLE) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict]) -> Path:
    """CSV in the sample's conventions: NULL bare, everything else quoted."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        for values in [header, *([row[name] for name in header] for row in rows)]:
            f.write(",".join(v if v == "NULL" else quoted(v) for v in values) + "\n")
    return path


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def value(row: dict, name: str) -> str:
    text = row.get(name, "NULL")
    return "" if text == "NULL" else text


def natural_key(row: dict) -> tuple:
    """CostRecord's natural key within one organisation and metric, from a FOCUS row."""
    return (
        value(row, "ProviderName"),
        value(row, "SubAccountId"),
        value(row, "ServiceName"),
        value(row, "RegionId"),
        value(row, "ResourceId"),
        value(row, "ChargePeriodStart")[:10],
        value(row, "ChargeCategory"),
    )


def expected_totals(rows: list[dict]) -> dict[tuple, Decimal]:
    """Totals per (metric, provider, sub-account, service): rows summed per day and natural
    key, each daily group rounded half away from zero to the store's 10 places, then added."""
    daily = defaultdict(Decimal)
    for row in rows:
        for metric, column in METRIC_COLUMNS.items():
            daily[(metric, *natural_key(row))] += Decimal(row[column])
    totals = defaultdict(Decimal)
    for (metric, provider, sub_account, service, *_), amount in daily.items():
        totals[(metric, provider, sub_account, service)] += amount.quantize(
            PLACES, rounding=ROUND_HALF_UP
        )
    return dict(totals)


def daily_group_count(rows: list[dict]) -> int:
    return len({natural_key(r) for r in rows})


def stored_totals(organization) -> dict[tuple, Decimal]:
    # Summed in Python: SQLite's SUM() of a decimal column goes through floats.
    totals = defaultdict(Decimal)
    records = CostRecord.objects.filter(organization=organization, source=CostSource.FOCUS)
    for metric, provider, sub_account, service, amount in records.values_list(
        "metric", "provider", "sub_account_id", "service", "amount"
    ):
        totals[(metric, provider, sub_account, service)] += amount
    return dict(totals)


def by_provider(totals: dict[tuple, Decimal], metric=CostMetric.BILLED) -> dict[str, Decimal]:
    result = defaultdict(Decimal)
    for (m, provider, _, _), amount in totals.items():
        if m == metric:
            result[provider] += amount
    return dict(result)


def run_command(uri, organization, *args) -> str:
    out = StringIO()
    call_command("import_billing", str(uri), "--org", organization.slug, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def sample():
    return read_rows()


# --- The real sample -------------------------------------------------------------------------


def test_the_real_sample_matches_an_independent_computation(acme, sample):
    _, rows = sample
    billing_import = import_billing(str(SAMPLE), acme)

    assert billing_import.status == BillingImport.Status.SUCCEEDED
    assert billing_import.file_format == "csv"
    assert billing_import.rows_read == 1000
    assert billing_import.rows_rejected == 0, billing_import.reject_reasons
    expected = expected_totals(rows)
    assert stored_totals(acme) == expected
    groups = daily_group_count(rows)
    assert billing_import.records_written == 2 * groups
    assert CostRecord.objects.filter(organization=acme).count() == 2 * groups
    assert billing_import.billing_periods == ["2024-09-01", "2024-10-01"]
    sub_accounts = {(s["provider"], s["id"]) for s in billing_import.sub_accounts}
    assert sub_accounts == {(r["ProviderName"], r["SubAccountId"]) for r in rows}


def test_provider_totals_agree_with_the_data_sets_readme(acme):
    import_billing(str(SAMPLE), acme)

    billed = by_provider(stored_totals(acme))
    assert set(billed) == set(README_BILLED)
    for provider, total in README_BILLED.items():
        # The README rounds the raw sum; the store rounds each daily group to 10 places.
        assert abs(billed[provider] - total) <= Decimal("1E-9"), provider


def test_records_carry_the_focus_fields(acme, sample):
    _, rows = sample
    import_billing(str(SAMPLE), acme)

    credit = next(r for r in rows if r["ChargeCategory"] == "Credit")
    record = CostRecord.objects.get(
        organization=acme,
        metric=CostMetric.EFFECTIVE,
        charge_category="Credit",
        sub_account_id=credit["SubAccountId"],
    )
    assert record.source == CostSource.FOCUS
    assert record.amount == Decimal(credit["EffectiveCost"])
    assert record.usage_date.isoformat() == credit["ChargePeriodStart"][:10]
    assert record.resource_id == ""
    assert record.usage_type == ""
    assert record.currency == "USD"
    assert record.estimated is False
    assert record.billing_period.isoformat() == "2024-09-01"
    assert record.account is None
    assert record.tags is None

    tagged = next(r for r in rows if r["Tags"] != "NULL")
    record = CostRecord.objects.filter(organization=acme, resource_id=tagged["ResourceId"]).first()
    assert record.tags == json.loads(tagged["Tags"])


def test_the_command_prints_a_summary(acme):
    output = run_command(SAMPLE, acme, "--quiet")

    assert "succeeded" in output
    assert "rows read: 1,000, rejected: 0" in output
    assert "billing periods: 2024-09-01, 2024-10-01" in output
    assert "sub-accounts: 73" in output


def test_an_unknown_organisation_is_a_command_error(db):
    with pytest.raises(CommandError, match="No organisation"):
        call_command("import_billing", str(SAMPLE), "--org", "nobody", stdout=StringIO())


def test_progress_reports_bytes_up_to_the_file_size(acme):
    calls = []
    import_billing(str(SAMPLE), acme, progress=lambda *args: calls.append(args))

    assert calls
    assert calls[-1] == (SAMPLE.stat().st_size, SAMPLE.stat().st_size, "B")


# --- Re-imports ------------------------------------------------------------------------------


def test_reimporting_the_same_file_replaces_it(acme):
    first = import_billing(str(SAMPLE), acme)
    totals, count = stored_totals(acme), CostRecord.objects.filter(organization=acme).count()

    second = import_billing(str(SAMPLE), acme)

    assert stored_totals(acme) == totals
    assert CostRecord.objects.filter(organization=acme).count() == count
    assert second.records_replaced == first.records_written > 0
    assert set(CostRecord.objects.values_list("billing_import", flat=True)) == {second.pk}


def test_a_new_file_for_the_period_replaces_only_the_sub_accounts_it_has(acme, sample, tmp_path):
    header, rows = sample
    import_billing(str(SAMPLE), acme)
    before = stored_totals(acme)
    target = "11353890204"
    kept_count = CostRecord.objects.filter(organization=acme, sub_account_id=target).count()
    # A corrected export of one sub-account: every amount doubled, half of its rows gone.
    corrected = [
        {**r, "BilledCost": str(Decimal(r["BilledCost"]) * 2)}
        for r in rows
        if r["SubAccountId"] == target
    ][::2]

    result = import_billing(str(write_rows(tmp_path / "fix.csv", header, corrected)), acme)

    after = stored_totals(acme)
    assert result.records_replaced == kept_count
    assert {k: v for k, v in after.items() if k[2] == target} == expected_totals(corrected)
    # Other sub-accounts of the period are not in the new file: they keep their records.
    assert {k: v for k, v in after.items() if k[2] != target} == {
        k: v for k, v in before.items() if k[2] != target
    }


def test_another_organisation_is_untouched(acme, globex):
    import_billing(str(SAMPLE), acme)
    import_billing(str(SAMPLE), globex)
    totals = stored_totals(acme)

    import_billing(str(SAMPLE), globex)

    assert stored_totals(acme) == totals
    assert stored_totals(globex) == totals


# --- Formats and S3 --------------------------------------------------------------------------


def write_gzip(path: Path) -> Path:
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    return path


def write_parquet(path: Path, rows: list[dict], header: list[str]) -> Path:
    """A Parquet export as tools write them: typed amounts and UTC timestamps."""
    typed = {
        "BilledCost": pa.decimal128(24, 11),
        "EffectiveCost": pa.decimal128(24, 11),
        "ChargePeriodStart": pa.timestamp("s", tz="UTC"),
        "BillingPeriodStart": pa.timestamp("s", tz="UTC"),
    }

    def convert(name, text):
        if text == "NULL":
            return None
        if name in ("BilledCost", "EffectiveCost"):
            return Decimal(text)
        if name in ("ChargePeriodStart", "BillingPeriodStart"):
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return text

    columns = {
        name: pa.array([convert(name, r[name]) for r in rows], typed.get(name, pa.string()))
        for name in header
    }
    pq.write_table(pa.table(columns), path, row_group_size=300)
    return path


def test_gzip_gives_the_same_totals(acme, sample, tmp_path):
    billing_import = import_billing(str(write_gzip(tmp_path / "focus.csv.gz")), acme)

    assert billing_import.file_format == "csv.gz"
    assert billing_import.rows_read == 1000
    assert stored_totals(acme) == expected_totals(sample[1])


def test_parquet_gives_the_same_totals(acme, sample, tmp_path):
    header, rows = sample
    billing_import = import_billing(str(write_parquet(tmp_path / "f.parquet", rows, header)), acme)

    assert billing_import.file_format == "parquet"
    assert billing_import.rows_read == 1000
    assert billing_import.rows_rejected == 0, billing_import.reject_reasons
    assert stored_totals(acme) == expected_totals(rows)


@pytest.mark.parametrize("name", ["exports/focus.csv", "exports/focus.csv.gz", "focus.parquet"])
def test_import_from_s3(acme, aws, sample, tmp_path, name):
    header, rows = sample
    if name.endswith(".parquet"):
        body = write_parquet(tmp_path / "f.parquet", rows, header).read_bytes()
    elif name.endswith(".gz"):
        body = gzip.compress(SAMPLE.read_bytes())
    else:
        body = SAMPLE.read_bytes()
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1")
    s3.create_bucket(Bucket="billing")
    s3.put_object(Bucket="billing", Key=name, Body=body)

    output = run_command(f"s3://billing/{name}", acme, "--quiet")

    assert "rows read: 1,000, rejected: 0" in output
    assert stored_totals(acme) == expected_totals(rows)


def test_a_missing_s3_object_fails_cleanly(acme, aws):
    boto3.client("s3", endpoint_url=aws, region_name="us-east-1").create_bucket(Bucket="billing")

    with pytest.raises(CommandError, match="NoSuchKey"):
        run_command("s3://billing/nothing.csv", acme, "--quiet")

    failed = BillingImport.objects.get(organization=acme)
    assert failed.status == BillingImport.Status.FAILED
    assert "NoSuchKey" in failed.error


# --- Rejects and failures --------------------------------------------------------------------


def test_unusable_rows_are_counted_with_reasons(acme, sample, tmp_path):
    header, rows = sample
    rows = [dict(r) for r in rows]
    rows[2]["BilledCost"] = "12,5"
    rows[4]["ChargePeriodStart"] = "NULL"
    rows[6]["ChargePeriodStart"] = "2024-02-30 00:00:00"
    rows[8]["SubAccountId"] = "NULL"
    rows[10]["ServiceName"] = ""
    rows[12]["EffectiveCost"] = "abc"
    rows[14]["BilledCost"] = "1E400"
    rows[16]["BilledCost"] = "1E-7"  # scientific notation is a number
    rows[18]["BilledCost"] = "1.5e2"

    billing_import = import_billing(str(write_rows(tmp_path / "bad.csv", header, rows)), acme)

    assert billing_import.status == BillingImport.Status.SUCCEEDED
    assert billing_import.rows_read == 1000
    assert billing_import.rows_rejected == 7
    assert billing_import.reject_reasons == {
        "malformed BilledCost": 1,
        "missing ChargePeriodStart": 1,
        "invalid ChargePeriodStart": 1,
        "missing SubAccountId": 1,
        "missing ServiceName": 1,
        "malformed EffectiveCost": 1,
        "BilledCost out of range": 1,
    }
    assert billing_import.rejects[:3] == [
        {"row": 3, "reason": "malformed BilledCost", "value": "12,5"},
        {"row": 5, "reason": "missing ChargePeriodStart", "value": None},
        {"row": 7, "reason": "invalid ChargePeriodStart", "value": "2024-02-30 00:00:00"},
    ]
    assert [r["row"] for r in billing_import.rejects] == [3, 5, 7, 9, 11, 13, 15]
    usable = [r for i, r in enumerate(rows) if i not in (2, 4, 6, 8, 10, 12, 14)]
    assert stored_totals(acme) == expected_totals(usable)


def test_rejects_keep_only_the_first_twenty(acme, sample, tmp_path):
    header, rows = sample
    rows = [{**r, "EffectiveCost": "n/a"} if i % 10 == 0 else r for i, r in enumerate(rows)]

    billing_import = import_billing(str(write_rows(tmp_path / "bad.csv", header, rows)), acme)

    assert billing_import.rows_rejected == 100
    assert billing_import.reject_reasons == {"malformed EffectiveCost": 100}
    assert [r["row"] for r in billing_import.rejects] == list(range(1, 200, 10))


def test_broken_csv_lines_are_rejected_and_quoted_line_breaks_are_not(acme, sample, tmp_path):
    header, rows = sample
    rows = [dict(r) for r in rows]
    rows[3]["ChargeDescription"] = "first line\nsecond line"
    path = write_rows(tmp_path / "lines.csv", header, rows)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(10, '"too","few","fields"')
    path.write_text("\n".join(lines), encoding="utf-8")

    billing_import = import_billing(str(path), acme)

    assert billing_import.rows_read == 1001
    assert billing_import.reject_reasons == {"malformed CSV row": 1}
    assert "too" in billing_import.rejects[0]["value"]
    assert stored_totals(acme) == expected_totals(rows)


def test_a_file_with_only_a_header_imports_nothing(acme, sample, tmp_path):
    header, _ = sample
    billing_import = import_billing(str(write_rows(tmp_path / "empty.csv", header, [])), acme)

    assert billing_import.status == BillingImport.Status.SUCCEEDED
    assert billing_import.rows_read == billing_import.records_written == 0


def test_a_missing_required_column_fails_and_keeps_earlier_data(acme, sample, tmp_path):
    header, rows = sample
    import_billing(str(SAMPLE), acme)
    before = stored_totals(acme)
    short = [h for h in header if h not in ("ServiceName", "EffectiveCost")]

    with pytest.raises(CommandError, match="EffectiveCost, ServiceName"):
        run_command(write_rows(tmp_path / "short.csv", short, rows), acme, "--quiet")

    assert stored_totals(acme) == before
    failed = BillingImport.objects.filter(organization=acme).latest("started_at")
    assert failed.status == BillingImport.Status.FAILED
    assert "EffectiveCost, ServiceName" in failed.error
    assert failed.finished_at is not None


def test_a_non_utf8_file_is_a_clear_error(acme, sample, tmp_path):
    header, rows = sample
    rows = [dict(r) for r in rows]
    rows[500]["ServiceName"] = "Amazon Caf\u00e9"
    path = write_rows(tmp_path / "latin1.csv", header, rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))

    with pytest.raises(CommandError, match="not UTF-8"):
        run_command(path, acme, "--quiet")

    assert not CostRecord.objects.filter(organization=acme).exists()


def test_a_utf16_header_is_a_clear_error(acme, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").encode("utf-16"))

    with pytest.raises(CommandError, match="not UTF-8"):
        run_command(path, acme, "--quiet")


def test_a_missing_file_is_a_clear_error(acme, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run_command(tmp_path / "nope.csv", acme, "--quiet")


def test_a_charge_already_stored_under_another_period_fails_cleanly(acme, sample, tmp_path):
    header, rows = sample
    import_billing(str(SAMPLE), acme)
    before = stored_totals(acme)
    # The same charges again, attributed to October: their daily keys exist under September.
    moved = [{**r, "BillingPeriodStart": "2024-10-01 00:00:00"} for r in rows[:5]]
    path = write_rows(tmp_path / "october.csv", header, moved)

    with pytest.raises(ImportFailed, match="another billing period"):
        import_billing(str(path), acme)

    assert stored_totals(acme) == before


# --- Amounts, tags, accounts -----------------------------------------------------------------


def test_sums_are_exact_decimals(acme, sample, tmp_path):
    header, rows = sample
    template = {**rows[0], "Tags": "NULL"}
    # 0.1 + 0.2 and a thousand tiny amounts: floats would miss both.
    amounts = ["0.1", "0.2"] + ["0.00000000011"] * 1000 + ["1E-7"]
    many = [{**template, "BilledCost": a, "EffectiveCost": a} for a in amounts]

    import_billing(str(write_rows(tmp_path / "tiny.csv", header, many)), acme)

    record = CostRecord.objects.get(organization=acme, metric=CostMetric.BILLED)
    assert record.amount == Decimal("0.3000002100")


def test_a_group_keeps_its_first_tags_object(acme, sample, tmp_path):
    header, rows = sample
    template = rows[0]
    tags = ["NULL", "not json", '["a list"]', '{"team": "first"}', '{"team": "second"}']
    same_day = [{**template, "Tags": t} for t in tags]

    import_billing(str(write_rows(tmp_path / "tags.csv", header, same_day)), acme)

    assert {r.tags["team"] for r in CostRecord.objects.filter(organization=acme)} == {"first"}


def test_connected_aws_accounts_are_linked(acme, acme_account, sample, tmp_path):
    header, rows = sample
    rows = [
        {**r, "SubAccountId": acme_account.account_id} if r["SubAccountId"] == "11353890204" else r
        for r in rows
    ]

    import_billing(str(write_rows(tmp_path / "linked.csv", header, rows)), acme)

    linked = CostRecord.objects.filter(organization=acme, account=acme_account)
    assert linked.exists()
    assert set(linked.values_list("sub_account_id", flat=True)) == {"111111111111"}
    others = CostRecord.objects.filter(organization=acme).exclude(sub_account_id="111111111111")
    assert not others.filter(account__isnull=False).exists()


def test_the_account_option_imports_one_sub_account(acme, sample):
    _, rows = sample
    target = "18938484842"
    import_billing(str(SAMPLE), acme)
    before = stored_totals(acme)

    output = run_command(SAMPLE, acme, "--account", target, "--quiet")

    mine = [r for r in rows if r["SubAccountId"] == target]
    billing_import = BillingImport.objects.filter(organization=acme).latest("started_at")
    assert billing_import.rows_read == 1000
    assert billing_import.rows_rejected == 0
    assert billing_import.sub_accounts == [
        {"provider": "AWS", "id": target, "name": mine[0]["SubAccountName"]}
    ]
    assert billing_import.records_replaced == 2 * daily_group_count(mine)
    assert f"only sub-account {target}: {1000 - len(mine):,} rows of others skipped" in output
    assert stored_totals(acme) == before
