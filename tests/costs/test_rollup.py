"""The daily rollups follow every write to the cost store."""

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from costs.ingest import explorer
from costs.ingest.focus import import_billing
from costs.models import CostRecord, CostRollup
from costs.summary import counted_once
from tests.costs.test_focus import SAMPLE


def by(organization, dimension):
    return dict(
        CostRollup.objects.filter(organization=organization, dimension=dimension)
        .values_list("key")
        .annotate(total=Sum("amount"))
    )


def from_records(organization, field):
    rows = counted_once(CostRecord.objects.filter(organization=organization, currency="USD"))
    return dict(rows.values_list(field).annotate(total=Sum("amount")))


def test_a_billing_import_fills_the_rollups_of_its_days(acme):
    import_billing(str(SAMPLE), acme)

    for dimension, field in (
        ("service", "service"),
        ("region", "region"),
        ("account", "sub_account_id"),
    ):
        assert by(acme, dimension) == from_records(acme, field)
    assert by(acme, "service")  # the sample has USD rows


def test_reimporting_does_not_double_the_rollups(acme):
    import_billing(str(SAMPLE), acme)
    first = by(acme, "service")

    import_billing(str(SAMPLE), acme)

    assert by(acme, "service") == first


def row(day, amount, service="Amazon EC2"):
    return explorer.CostRow(
        "111111111111", day, service, "us-east-1", "unblended", Decimal(amount), "USD", False
    )


def test_a_cost_explorer_write_refreshes_the_days_it_touched(acme, acme_account):
    day = date(2026, 11, 20)
    explorer.replace_days(acme_account, {day}, [row(day, "5"), row(day, "2", "Amazon S3")])
    assert by(acme, "service") == {"Amazon EC2": Decimal("5"), "Amazon S3": Decimal("2")}

    explorer.replace_days(acme_account, {day}, [row(day, "6")])

    assert by(acme, "service") == {"Amazon EC2": Decimal("6")}
    assert by(acme, "account") == {"111111111111": Decimal("6")}
