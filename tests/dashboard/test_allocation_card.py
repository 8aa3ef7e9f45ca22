"""The dashboard's "By team" card and the values a member follows from the profile page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation.models import FollowedValue
from dashboard import allocation_card
from tests.allocation.helpers import focus, team, written

pytestmark = pytest.mark.django_db
TAG = {"kind": "tag", "tag_key": "team"}


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def teams(acme, acme_account, today):
    """Seven teams this month (1 to 7 dollars), a big one last month that does not count."""
    dimension = team(acme, TAG)
    for n, name in enumerate(["a", "b", "c", "d", "e", "f", "g"], start=1):
        focus(acme, str(n), tags={"team": f"team-{name}"}, day=today)
    focus(acme, "5", tags={"team": "team-g"}, service="Amazon S3", day=today)
    last_month = today.replace(day=1) - timezone.timedelta(days=1)
    focus(acme, "1000", tags={"team": "team-old"}, day=last_month)
    written(acme, last_month, today)
    return dimension


def test_the_card_shows_the_top_five_values_and_the_rest(alice, teams, today):
    card = allocation_card.team_card(alice, today)

    assert card.dimension == teams
    assert card.rows == [
        ("team-g", Decimal(12)),
        ("team-f", Decimal(6)),
        ("team-e", Decimal(5)),
        ("team-d", Decimal(4)),
        ("team-c", Decimal(3)),
        (allocation_card.REST, Decimal(3)),
    ]
    assert card.total == Decimal(33) and card.followed is None


def test_the_dashboard_shows_the_card(client, alice, teams):
    client.force_login(alice)
    body = client.get(reverse("dashboard")).content.decode()

    assert "By team" in body and "team-g" in body and "$12.00" in body
    assert "team-old" not in body


def test_no_card_for_another_organisations_dimension(client, charlie, teams, today):
    assert allocation_card.team_card(charlie, today) is None
    client.force_login(charlie)
    assert "team-g" not in client.get(reverse("dashboard")).content.decode()


def test_a_member_follows_a_value_and_the_card_opens_on_it(client, bob, teams, today):
    client.force_login(bob)
    profile = client.get(reverse("profile")).content.decode()
    assert f'value="{teams.pk}:team-g"' in profile and f'value="{teams.pk}:team-old"' in profile

    response = client.post(reverse("follow-value"), {"value": f"{teams.pk}:team-g"})

    assert response.status_code == 302
    (followed,) = FollowedValue.objects.filter(user=bob)
    assert (followed.dimension, followed.value) == (teams, "team-g")
    card = allocation_card.team_card(bob, today)
    assert card.followed.amount == Decimal(12)
    assert card.followed.services == [("Amazon EC2", Decimal(7)), ("Amazon S3", Decimal(5))]
    body = client.get(reverse("dashboard")).content.decode()
    assert "<strong>team-g</strong>: $12.00 this month" in body


def test_following_another_organisations_value_is_refused(client, charlie, teams):
    client.force_login(charlie)

    client.post(reverse("follow-value"), {"value": f"{teams.pk}:team-g"})

    assert not FollowedValue.objects.exists()


def test_unfollow_only_ones_own(client, alice, bob, teams):
    theirs = FollowedValue.objects.create(user=bob, dimension=teams, value="team-a")
    client.force_login(alice)

    assert client.post(reverse("unfollow-value", args=[theirs.pk])).status_code == 404
    client.force_login(bob)
    assert client.post(reverse("unfollow-value", args=[theirs.pk])).status_code == 302
    assert not FollowedValue.objects.exists()
