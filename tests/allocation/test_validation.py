"""Bad rules and splits: a clear message from clean(), and nothing stored or allocated oddly."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from allocation import engine
from allocation.models import AllocationRule, SharedCostSplit
from allocation.rules import unknown_accounts
from tests.allocation.helpers import DAY, focus, team, written

pytestmark = pytest.mark.django_db
TAG = {"kind": "tag", "tag_key": "team"}


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("percentages", "message"),
    [
        ({"payments": "NaN", "search": 100}, "Every percentage is a number."),
        ({"payments": "Infinity"}, "Every percentage is a number."),
        ({"payments": True}, "Every percentage is a number."),
        ({"payments": [60]}, "Every percentage is a number."),
        ({"payments": "sixty"}, "Every percentage is a number."),
        ({"payments": 60, "search": 30}, "The percentages add up to 90, not 100."),
        ({"payments": 120, "search": -20}, "Every percentage is above 0."),
        ([60, 40], 'A fixed split lists its values: {"payments": 60, ...}.'),
    ],
)
def test_fixed_percentages_that_are_not_a_split_of_100_are_refused(acme, percentages, message):
    split = SharedCostSplit(
        dimension=team(acme, TAG),
        name="Support",
        services=["AWS Support"],
        method="fixed",
        percentages=percentages,
    )

    assert errors_of(split)["percentages"] == [message]


def test_percentages_as_text_numbers_are_accepted(acme):
    split = SharedCostSplit(
        dimension=team(acme, TAG),
        name="Support",
        services=["AWS Support"],
        method="fixed",
        percentages={"payments": "62.5", "search": 37.5},
    )

    split.full_clean()


def test_a_split_on_a_dimension_without_rules_is_refused(acme):
    split = SharedCostSplit(
        dimension=team(acme), name="Support", services=["AWS Support"], method="even"
    )

    assert "has no rules yet" in errors_of(split)["dimension"][0]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("not an object", 'The mapping is a JSON object: {"raw value": "value"}.'),
        ({"plat": ""}, "The mapping gives 'plat' no value: every entry needs a non-empty text."),
        ({"plat": {"nested": 1}}, "no value: every entry needs a non-empty text."),
    ],
)
def test_a_malformed_mapping_is_refused(acme, mapping, message):
    rule = AllocationRule(dimension=team(acme), position=0, mapping=mapping, **TAG)

    assert message in errors_of(rule)["mapping"][0]


@pytest.mark.parametrize("key", ["user:équipe", "aws:createdBy", "cost center/team"])
def test_tag_keys_with_unicode_colons_and_slashes_allocate(acme, key):
    dimension = team(acme, {"kind": "tag", "tag_key": key, "mapping": {"plat": "platform"}})
    AllocationRule.objects.get(dimension=dimension).full_clean()
    focus(acme, "7", tags={key: "Plat"})
    focus(acme, "3")

    written(acme)

    assert engine.rollup_totals(dimension, DAY, DAY) == {
        "platform": Decimal(7),
        "Unallocated": Decimal(3),
    }


def test_a_tag_key_with_characters_aws_refuses_is_refused(acme):
    rule = AllocationRule(dimension=team(acme), position=0, kind="tag", tag_key="team<script>")

    assert "A tag key is 1 to 128" in errors_of(rule)["tag_key"][0]


def test_malformed_tags_in_the_store_are_untagged_not_a_crash(acme):
    """Tags that are not an object of texts (a list, a number) carry no value for the key."""
    dimension = team(acme, TAG)
    focus(acme, "5", tags=["team", "payments"])
    focus(acme, "2", tags={"team": 42})
    focus(acme, "1", tags={"team": "payments"})

    written(acme)

    totals = engine.rollup_totals(dimension, DAY, DAY)
    assert sum(totals.values()) == Decimal(8)
    assert totals["payments"] == Decimal(1)


def test_an_account_rule_for_a_deleted_account_is_warned_about(acme, acme_account):
    dimension = team(
        acme,
        {
            "kind": "account",
            "mapping": {acme_account.account_id: "payments", "999999999999": "gone"},
        },
    )
    focus(acme, "1", account="888888888888")

    assert unknown_accounts(dimension) == ["999999999999"]
    acme_account.delete()
    assert unknown_accounts(dimension) == [acme_account.account_id, "999999999999"]


def test_an_account_with_spend_but_no_connection_is_not_unknown(acme):
    dimension = team(acme, {"kind": "account", "mapping": {"888888888888": "payments"}})
    focus(acme, "1", account="888888888888")

    assert unknown_accounts(dimension) == []
