"""The allocation admin: rules and splits as forms, re-allocating history after a preview, the
cost by a dimension's values with its drill-down, and tag coverage, each for the right people."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocation import engine
from allocation.models import AllocationRollup, AllocationRule, Reallocation, SharedCostSplit
from tests.admin.conftest import make_staff
from tests.allocation.helpers import DAY, focus, team, written

pytestmark = pytest.mark.django_db
TAG = {"kind": "tag", "tag_key": "team"}
MONTH = f"{DAY:%Y-%m}"


def url(name, dimension, **query):
    from django.utils.http import urlencode

    base = reverse(f"admin:allocation_dimension_{name}", args=[dimension.pk])
    return f"{base}?{urlencode(query)}" if query else base


@pytest.fixture
def dimension(acme):
    """November allocated by the team tag; then a rule gives the platform account a team."""
    dimension = team(acme, TAG)
    focus(acme, "10", tags={"team": "payments"}, resource_id="i-payments")
    focus(acme, "6", tags={"team": "search"}, service="Amazon S3", resource_id="b-search")
    focus(acme, "4", account="222222222222", resource_id="i-untagged")
    written(acme)
    AllocationRule.objects.create(
        dimension=dimension, position=1, kind="account", mapping={"222222222222": "platform"}
    )
    engine.mark_rules_changed(dimension)
    return dimension


@pytest.fixture
def as_alice(client, alice):
    client.force_login(make_staff(alice))
    return client


# --- Re-allocating history -----------------------------------------------------------------------


def test_the_preview_shows_before_and_after_and_changes_nothing(as_alice, dimension):
    rollups = list(AllocationRollup.objects.values_list("pk", "value", "amount"))

    response = as_alice.get(url("reallocate", dimension, start=DAY, end=DAY))

    assert response.status_code == 200
    rows = [
        (r["value"], r["before"], r["after"], r["difference"])
        for r in response.context["change_rows"]
    ]
    assert rows == [
        ("payments", "$10.00", "$10.00", "$0.00"),
        ("search", "$6.00", "$6.00", "$0.00"),
        ("platform", "$0.00", "$4.00", "+$4.00"),
        ("Unallocated", "$4.00", "$0.00", "-$4.00"),
    ]
    body = response.content.decode()
    assert "$4.00 would change value" in body
    assert 'name="apply" value="yes"' in body and "csrfmiddlewaretoken" in body
    assert list(AllocationRollup.objects.values_list("pk", "value", "amount")) == rollups


def test_the_window_defaults_to_the_first_stored_day_until_today(as_alice, dimension):
    response = as_alice.get(url("reallocate", dimension))

    form = response.context["form"]
    assert form.is_valid()
    assert form.cleaned_data == {"start": DAY, "end": timezone.localdate()}


def test_apply_reallocates_records_and_logs(as_alice, alice, dimension):
    response = as_alice.post(
        url("reallocate", dimension), {"start": DAY, "end": DAY, "apply": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"] == url("costs", dimension, month=MONTH)
    assert engine.rollup_totals(dimension, DAY, DAY) == {
        "payments": Decimal(10),
        "search": Decimal(6),
        "platform": Decimal(4),
    }
    record = Reallocation.objects.get()
    assert (record.dimension, record.requested_by, record.start, record.end) == (
        dimension,
        alice,
        DAY,
        DAY,
    )
    assert record.finished_at is not None
    assert LogEntry.objects.filter(object_id=str(dimension.pk)).exists()
    page = as_alice.get(response["Location"])
    assert "$4.00 changed value" in next(str(m) for m in page.context["messages"])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"start": "2026-11-30", "end": "2026-11-01"}, "end", "The end comes before the start."),
        ({"start": "last tuesday", "end": "2026-11-01"}, "start", "Enter a valid date."),
        ({"start": "1999-12-01", "end": "2026-11-01"}, "start", "Start on 2000-01-01 or later."),
        ({"start": "2026-11-01"}, "end", "This field is required."),
    ],
)
def test_bad_dates_are_form_errors_and_nothing_is_applied(
    as_alice, dimension, data, field, message
):
    rollups = list(AllocationRollup.objects.values_list("pk", "value", "amount"))

    response = as_alice.post(url("reallocate", dimension), {**data, "apply": "yes"})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert list(AllocationRollup.objects.values_list("pk", "value", "amount")) == rollups
    assert not Reallocation.objects.exists()


def test_an_end_after_today_is_refused(as_alice, dimension):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = as_alice.get(url("reallocate", dimension, start=DAY, end=tomorrow))

    assert "at the latest" in response.context["form"].errors["end"][0]


def test_a_viewer_sees_the_costs_but_cannot_preview_or_apply(client, bob, dimension):
    client.force_login(make_staff(bob))
    rollups = list(AllocationRollup.objects.values_list("pk", "value", "amount"))

    preview = client.get(url("reallocate", dimension, start=DAY, end=DAY))
    applied = client.post(url("reallocate", dimension), {"start": DAY, "end": DAY, "apply": "yes"})
    costs = client.get(url("costs", dimension, month=MONTH))

    assert (preview.status_code, applied.status_code, costs.status_code) == (403, 403, 200)
    assert "Re-allocate history" not in costs.content.decode()
    assert list(AllocationRollup.objects.values_list("pk", "value", "amount")) == rollups
    assert not Reallocation.objects.exists()


@pytest.mark.parametrize("page", ["reallocate", "costs", "coverage"])
def test_another_organisation_finds_no_such_dimension(client, charlie, dimension, page):
    client.force_login(make_staff(charlie))
    rollups = list(AllocationRollup.objects.values_list("pk", "value", "amount"))

    got = client.post(url(page, dimension), {"start": DAY, "end": DAY, "apply": "yes"})
    ghost = client.post(
        reverse(f"admin:allocation_dimension_{page}", args=[987654321]),
        {"start": DAY, "end": DAY, "apply": "yes"},
    )

    assert got.status_code == ghost.status_code == 302
    assert got["Location"] == ghost["Location"] == reverse("admin:index")
    assert list(AllocationRollup.objects.values_list("pk", "value", "amount")) == rollups
    assert not Reallocation.objects.exists()


# --- Cost by <dimension> -----------------------------------------------------------------------


def test_cost_by_shows_values_with_share_and_a_six_month_trend(as_alice, dimension, acme):
    SharedCostSplit.objects.create(
        dimension=dimension, name="Support", method="even", services=["AWS Support"]
    )
    focus(acme, "2", service="AWS Support")
    written(acme)

    response = as_alice.get(url("costs", dimension, month=MONTH))

    assert response.status_code == 200
    rows = [
        (r["value"], r["direct"], r["shared"], r["total"], r["share"])
        for r in response.context["value_rows"]
    ]
    # The store write re-allocated the day under the current rules (platform's account
    # included), and support went evenly to the three values with direct spend.
    assert rows == [
        ("payments", "$10.00", "$0.67", "$10.67", "48.5%"),
        ("search", "$6.00", "$0.67", "$6.67", "30.3%"),
        ("platform", "$4.00", "$0.67", "$4.67", "21.2%"),
    ]
    chart = response.context["chart"]
    assert chart["labels"] == [
        "Jun 2026",
        "Jul 2026",
        "Aug 2026",
        "Sep 2026",
        "Oct 2026",
        "Nov 2026",
    ]
    assert chart["datasets"][0] == {"label": "payments", "data": ["0.00"] * 5 + ["10.67"]}
    body = response.content.decode()
    assert 'id="allocation-chart-data"' in body and "js/allocation-chart.js" in body
    assert "<h2>November 2026: $22.00</h2>" in body


def test_the_drill_down_goes_from_a_value_to_its_services_and_resources(as_alice, dimension):
    page = as_alice.get(url("costs", dimension, month=MONTH))
    search = next(r for r in page.context["value_rows"] if r["value"] == "search")
    assert search["query"] == "month=2026-11&value=search"
    assert 'href="?month=2026-11&amp;value=search"' in page.content.decode()

    value = as_alice.get(url("costs", dimension, month=MONTH, value="search"))
    services = value.context["service_rows"]
    assert [(s["service"], s["amount"]) for s in services] == [("Amazon S3", "$6.00")]
    assert value.context["resource_rows"] == [("b-search", "Amazon S3", "$6.00")]

    service = as_alice.get(
        url("costs", dimension, month=MONTH, value="payments", service="Amazon EC2")
    )
    assert [s["chosen"] for s in service.context["service_rows"]] == [True]
    assert service.context["resource_rows"] == [("i-payments", "Amazon EC2", "$10.00")]
    assert service.context["value_rows"][0]["chosen"]


@pytest.mark.parametrize("month", ["2026-13", "November", "20261"])
def test_a_bad_month_is_a_clear_form_error(as_alice, dimension, month):
    response = as_alice.get(url("costs", dimension, month=month))

    assert response.status_code == 200
    assert "not a month" in response.context["form"].errors["month"][0]
    assert "value_rows" not in response.context


def test_the_cost_page_does_not_query_per_value(as_alice, acme, dimension):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert (
                as_alice.get(url("costs", dimension, month=MONTH, value="payments")).status_code
                == 200
            )
        return len(captured)

    queries()  # warm the per-process caches
    few = queries()
    for n in range(6):
        focus(acme, "1", tags={"team": f"team-{n}"}, resource_id=f"r-{n}")
    written(acme)

    assert queries() == few


# --- Tag coverage --------------------------------------------------------------------------------


def test_coverage_per_account_and_service_and_the_biggest_untagged(as_alice, dimension):
    response = as_alice.get(url("coverage", dimension, month=MONTH))

    assert response.context["key"] == "team"  # the rules' first key by default
    rows = [(r["account"], r["service"], r["percent"]) for r in response.context["coverage_rows"]]
    assert rows == [
        ("222222222222", "Amazon EC2", "0.0%"),
        ("111111111111", "Amazon EC2", "100.0%"),
        ("111111111111", "Amazon S3", "100.0%"),
    ]
    assert response.context["coverage_percent"] == "80.0%"
    assert response.context["untagged_rows"] == [
        ("i-untagged", "222222222222", "Amazon EC2", "$4.00")
    ]


def test_a_bad_tag_key_is_a_form_error(as_alice, dimension):
    response = as_alice.get(url("coverage", dimension, month=MONTH, key="team\n<script>"))

    assert response.status_code == 200
    assert "A tag key is 1 to 128" in response.context["form"].errors["key"][0]


# --- Rules and splits as forms -----------------------------------------------------------------


def form_data(dimension, rules, splits=()):
    """The change form as the browser posts it: the dimension, its rules, its splits."""
    data = {
        "name": dimension.name,
        "slug": dimension.slug,
        "unallocated_label": dimension.unallocated_label,
        "_continue": "Save",
    }
    existing = list(dimension.rules.order_by("position"))
    for prefix, rows, initial in (("rules", rules, existing), ("splits", splits, [])):
        data |= {
            f"{prefix}-TOTAL_FORMS": len(rows),
            f"{prefix}-INITIAL_FORMS": len(initial),
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
        for i, row in enumerate(rows):
            if i < len(initial):
                data[f"{prefix}-{i}-id"] = initial[i].pk
            data[f"{prefix}-{i}-dimension"] = dimension.pk
            data |= {f"{prefix}-{i}-{k}": v for k, v in row.items()}
    return data


RULES = [
    {"position": 0, "kind": "tag", "tag_key": "team", "mapping": "{}"},
    {"position": 1, "kind": "account", "mapping": '{"222222222222": "platform"}'},
]


def test_saving_rules_refreshes_this_month_and_marks_history_stale(as_alice, acme, dimension):
    today = timezone.localdate()
    focus(acme, "3", tags={"Owner": "data"}, day=today)
    written(acme, today, today)  # allocated by the rules before the change
    assert engine.rollup_totals(dimension, today, today) == {"Unallocated": Decimal(3)}
    rules = [*RULES, {"position": 2, "kind": "tag", "tag_key": "Owner", "mapping": "{}"}]

    response = as_alice.post(
        reverse("admin:allocation_dimension_change", args=[dimension.pk]),
        form_data(dimension, rules),
        follow=True,
    )

    assert response.redirect_chain, response.context["adminform"].form.errors
    assert engine.rollup_totals(dimension, today, today) == {"data": Decimal(3)}
    # History keeps its rules until someone re-allocates it.
    assert engine.rollup_totals(dimension, DAY, DAY)["Unallocated"] == Decimal(4)
    dimension.refresh_from_db()
    assert dimension.history_is_stale
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(tag == "info" and "re-allocate history" in text for tag, text in messages)
    warning = next(text for tag, text in messages if tag == "warning")
    assert "Owner, team" in warning  # neither is among acme's tag keys yet


def test_split_percentages_must_add_up_to_100(as_alice, dimension):
    split = {
        "name": "Support",
        "position": 0,
        "services": '["AWS Support"]',
        "accounts": "[]",
        "charge_categories": "[]",
        "method": "fixed",
        "percentages": '{"payments": 60, "search": 30}',
    }

    response = as_alice.post(
        reverse("admin:allocation_dimension_change", args=[dimension.pk]),
        form_data(dimension, RULES, [split]),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][1].formset.errors
    assert errors[0]["percentages"] == ["The percentages add up to 90, not 100."]
    assert not SharedCostSplit.objects.exists()


def test_a_rule_cycle_is_a_form_error(as_alice, acme, dimension):
    unit = team(
        acme,
        {"kind": "dimension", "source_dimension": dimension, "mapping": {"a": "b"}},
        name="Unit",
    )
    rules = [
        *RULES,
        {"position": 2, "kind": "dimension", "source_dimension": unit.pk, "mapping": '{"b": "c"}'},
    ]

    response = as_alice.post(
        reverse("admin:allocation_dimension_change", args=[dimension.pk]),
        form_data(dimension, rules),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "go round in a circle" in errors[2]["source_dimension"][0]
    assert dimension.rules.count() == 2


def test_a_viewer_sees_the_rules_read_only(client, bob, dimension):
    client.force_login(make_staff(bob))

    response = client.get(reverse("admin:allocation_dimension_change", args=[dimension.pk]))
    posted = client.post(
        reverse("admin:allocation_dimension_change", args=[dimension.pk]),
        form_data(dimension, RULES[:1]),
    )

    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert posted.status_code == 403
    assert dimension.rules.count() == 2


def test_the_changelist_links_each_dimension_to_its_pages(as_alice, dimension):
    body = as_alice.get(reverse("admin:allocation_dimension_changelist")).content.decode()

    assert f'href="{url("costs", dimension)}"' in body
    assert f'href="{url("coverage", dimension)}"' in body
    assert "re-allocate" in body  # its rules changed since history was allocated


def test_coverage_without_any_key_asks_for_one(as_alice, acme):
    bare = team(acme, {"kind": "service", "mapping": {"Amazon EC2": "compute"}}, name="Bare")

    response = as_alice.get(url("coverage", bare))

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert "coverage_rows" not in response.context
