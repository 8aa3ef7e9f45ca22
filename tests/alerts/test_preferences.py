"""Per-kind e-mail preferences on the profile page, and the alert admin pages."""

from django.urls import reverse

from accounts.models import Profile
from alerts.models import AlertEvent, AlertKind, Budget


def test_every_kind_is_ticked_by_default(client, alice):
    client.force_login(alice)

    page = client.get(reverse("profile")).content.decode()

    assert 'id="alerts"' in page
    for kind in AlertKind.values:
        assert f'value="{kind}"' in page
    assert page.count("checked") >= len(AlertKind.values)


def test_unticking_a_kind_mutes_it(client, alice):
    client.force_login(alice)
    kept = [k for k in AlertKind.values if k != AlertKind.SAVINGS_DIGEST]

    response = client.post(
        reverse("profile"),
        {"email_enabled": "on", "cooldown_minutes": "60", "email_kinds": kept},
    )

    assert response.status_code == 302
    assert Profile.for_user(alice).muted_alert_kinds == [AlertKind.SAVINGS_DIGEST]


def test_an_unknown_kind_is_a_form_error(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("profile"), {"cooldown_minutes": "60", "email_kinds": ["everything"]}
    )

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content


def test_admin_pages_show_only_the_users_organisations(client, acme, globex, alice, charlie):
    for user in (alice, charlie):
        user.is_staff = True
        user.save()
    mine = Budget.objects.create(organization=acme, name="Acme budget", monthly_amount=100)
    theirs = Budget.objects.create(organization=globex, name="Globex budget", monthly_amount=100)
    AlertEvent.objects.create(
        organization=globex,
        kind=AlertKind.BUDGET,
        subject="budget:x",
        title="Globex secret alert",
        recipient=charlie,
        address="charlie@example.com",
    )
    from django.contrib.auth.models import Permission

    alice.user_permissions.set(
        Permission.objects.filter(content_type__app_label="alerts", codename__startswith="view")
        | Permission.objects.filter(codename="change_budget")
    )
    client.force_login(alice)

    budgets = client.get(reverse("admin:alerts_budget_changelist")).content.decode()
    history = client.get(reverse("admin:alerts_alertevent_changelist")).content.decode()
    own = client.get(reverse("admin:alerts_budget_change", args=[mine.pk]))
    other = client.get(reverse("admin:alerts_budget_change", args=[theirs.pk]))

    assert "Acme budget" in budgets and "Globex budget" not in budgets
    assert "Globex secret alert" not in history
    assert other.status_code == 302  # "doesn't exist" redirect, nothing about it shown
    assert own.status_code == 200
