"""Forgotten passwords: Django's reset flow, in the dashboard's pages, through the site's e-mail."""

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-New-passphrase-73"


def dashboard_page(response) -> str:
    """The page's HTML, after checking it is one of ours (base.html), not the admin's."""
    body = response.content.decode()
    assert '<header class="topbar">' in body
    assert "django-admin" not in body and "Django administration" not in body
    return body


def reset_link(message) -> str:
    (link,) = re.findall(r"https?://\S+", message.body)
    return link


def test_the_login_page_links_to_the_reset_form(client):
    page = dashboard_page(client.get(reverse("login")))

    assert f'href="{reverse("password_reset")}"' in page


def test_a_forgotten_password_is_reset_from_the_emailed_link(client, alice, settings):
    settings.ALLOWED_HOSTS = ["spendlens.example.com"]
    host = {"HTTP_HOST": "spendlens.example.com:8443"}
    form = client.get(reverse("password_reset"), **host)
    assert "<form" in dashboard_page(form)

    sent = client.post(reverse("password_reset"), {"email": "alice@example.com"}, **host)

    assert sent.status_code == 302
    assert "Check your inbox" in dashboard_page(client.get(sent["Location"], **host))
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Spendlens" in message.subject
    assert "alice" in message.body  # the username, which people forget as well
    link = reset_link(message)
    # The address the request came to, port included, not a configured or guessed one.
    assert link.startswith("http://spendlens.example.com:8443/accounts/reset/")

    # Django swaps the token in the URL for one in the session, then shows the form.
    opened = client.get(link, **host)
    assert opened.status_code == 302
    form = client.get(opened["Location"], **host)
    assert 'name="new_password1"' in dashboard_page(form)
    done = client.post(
        opened["Location"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        **host,
    )

    assert done.status_code == 302
    assert "log in" in dashboard_page(client.get(done["Location"], **host)).lower()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not alice.check_password("pw-alice-Secret1")
    login = client.post(reverse("login"), {"username": "alice", "password": NEW_PASSWORD}, **host)
    assert login.status_code == 302 and client.get("/", **host).status_code == 200
    # The link works once.
    used = client.get(link, **host)
    assert "no longer valid" in dashboard_page(used)


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, alice):
    known = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    mail.outbox.clear()

    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert mail.outbox == []


def test_a_weak_new_password_is_explained(client, alice):
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    opened = client.get(reset_link(mail.outbox[0]))

    response = client.post(opened["Location"], {"new_password1": "abc", "new_password2": "abc"})

    assert response.status_code == 200
    assert "too short" in dashboard_page(response)
    alice.refresh_from_db()
    assert alice.check_password("pw-alice-Secret1")
