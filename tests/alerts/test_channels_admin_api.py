"""Channels in the admin and the API: write-only secrets, URL checks, test messages, roles."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from alerts import channel_delivery
from alerts.models import AlertKind, Channel, ChannelDelivery
from tests.admin.conftest import make_staff

SECRET_PATH = "/services/T0/B0/XXXXSECRETXXXX"


@pytest.fixture
def hook(acme, https_receiver):
    return Channel.objects.create(
        organization=acme,
        name="ops",
        kind="webhook",
        url=https_receiver.url(SECRET_PATH),
        secret="hmac-key-VERYSECRET",
    )


@pytest.fixture
def alice_staff(alice):
    return make_staff(alice)


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Admin -----------------------------------------------------------------------------------


def test_the_list_and_change_page_never_show_the_url_or_key(client, alice_staff, hook):
    client.force_login(alice_staff)
    listing = client.get(reverse("admin:alerts_channel_changelist")).content.decode()
    change = client.get(reverse("admin:alerts_channel_change", args=[hook.pk])).content.decode()

    assert "https://127.0.0.1/…" in listing
    for page in (listing, change):
        assert "XXXXSECRETXXXX" not in page and "VERYSECRET" not in page
    assert "Stored: https://127.0.0.1/…" in change


def test_a_view_only_user_sees_the_host_not_the_url(client, bob, hook, django_user_model):
    from django.contrib.auth.models import Permission

    bob.is_staff = True
    bob.save()
    bob.user_permissions.set(Permission.objects.filter(codename="view_channel"))
    client.force_login(bob)

    page = client.get(reverse("admin:alerts_channel_change", args=[hook.pk])).content.decode()

    assert page.count("https://127.0.0.1/…") == 1 and "XXXXSECRETXXXX" not in page
    assert "VERYSECRET" not in page


def form_data(acme, **extra):
    return {
        "organization": acme.pk,
        "name": "alerts",
        "kind": "slack",
        "url": "",
        "secret": "",
        "active": "on",
        "kinds": [AlertKind.BUDGET],
        "dimension_values": "",
        "cooldown_minutes": 60,
        **extra,
    }


def test_saving_checks_the_url_and_blank_keeps_the_stored_one(
    client, alice_staff, acme, hook, https_receiver
):
    client.force_login(alice_staff)
    add = reverse("admin:alerts_channel_add")

    refused = client.post(add, form_data(acme, url="http://hooks.slack.com/x"))
    assert "Only https:// URLs are allowed (this one has http://)." in refused.content.decode()
    missing = client.post(add, form_data(acme))
    assert "A channel needs its webhook URL." in missing.content.decode()

    change = reverse("admin:alerts_channel_change", args=[hook.pk])
    response = client.post(change, form_data(acme, name="ops", kind="webhook"))
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.url.endswith(SECRET_PATH) and hook.secret == "hmac-key-VERYSECRET"
    assert hook.kinds == [AlertKind.BUDGET]


def test_the_send_test_action_reports_each_channel(client, alice_staff, acme, hook, https_receiver):
    https_receiver.replies = [(200, "ok", "text/plain"), (410, "gone", "text/plain")]
    other = Channel.objects.create(
        organization=acme, name="zz", kind="slack", url=https_receiver.url("/gone")
    )
    client.force_login(alice_staff)

    response = client.post(
        reverse("admin:alerts_channel_changelist"),
        {"action": "send_test_message", "_selected_action": [hook.pk, other.pk]},
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert shown[0] == "ops: test message delivered (HTTP 200)."
    assert shown[1].startswith("zz: https://127.0.0.1/… answered HTTP 410 (gone")
    assert ChannelDelivery.objects.filter(kind="channel_test").count() == 2
    history = client.get(reverse("admin:alerts_channeldelivery_changelist")).content.decode()
    assert "Test message from Spendlens to zz" in history and "410" in history


def test_the_history_is_scoped_to_the_users_organisations(
    client, globex, https_receiver, django_user_model, charlie
):
    theirs = Channel.objects.create(
        organization=globex, name="theirs", kind="slack", url=https_receiver.url("/x")
    )
    ChannelDelivery.objects.create(
        organization=globex, channel=theirs, kind="budget", subject="s", title="GLOBEX ONLY"
    )
    olivia = django_user_model.objects.create_user("olivia2")
    make_staff(olivia)
    client.force_login(olivia)

    page = client.get(reverse("admin:alerts_channeldelivery_changelist")).content.decode()

    assert "GLOBEX ONLY" not in page


# --- API -------------------------------------------------------------------------------------


def test_the_api_never_returns_the_url_or_key(alice, hook):
    api = api_for(alice)
    listing = api.get("/api/v1/channels/")
    one = api.get(f"/api/v1/channels/{hook.pk}/")

    assert listing.status_code == one.status_code == 200
    for body in (listing.content.decode(), one.content.decode()):
        assert "XXXXSECRETXXXX" not in body and "VERYSECRET" not in body
    assert one.json()["url_host"] == "https://127.0.0.1/…"
    assert one.json()["has_secret"] is True
    assert "url" not in one.json() and "secret" not in one.json()


def test_admins_create_channels_with_checked_urls(alice, acme, https_receiver):
    api = api_for(alice)
    body = {"organization": acme.slug, "name": "hook", "kind": "webhook"}

    bad = api.post("/api/v1/channels/", {**body, "url": "https://10.0.0.1/x"}, format="json")
    assert bad.status_code == 400
    assert "10.0.0.1 is a private address" in bad.json()["error"]["fields"]["url"][0]
    missing = api.post("/api/v1/channels/", body, format="json")
    assert missing.json()["error"]["fields"]["url"] == ["A channel needs its webhook URL."]

    made = api.post(
        "/api/v1/channels/", {**body, "url": https_receiver.url("/T/SECRET")}, format="json"
    )
    assert made.status_code == 201, made.content
    assert made.json()["has_secret"] is True and "SECRET" not in made.content.decode()
    channel = Channel.objects.get(pk=made.json()["id"])
    assert len(channel.secret) >= 40  # generated: token_urlsafe(32)

    again = api.post(
        "/api/v1/channels/", {**body, "url": https_receiver.url("/T/SECRET")}, format="json"
    )
    assert again.status_code == 400


def test_viewers_read_but_cannot_change_or_test(bob, hook):
    api = api_for(bob)
    assert api.get(f"/api/v1/channels/{hook.pk}/").status_code == 200
    assert api.patch(f"/api/v1/channels/{hook.pk}/", {"active": False}).status_code == 403
    assert api.delete(f"/api/v1/channels/{hook.pk}/").status_code == 403
    assert api.post(f"/api/v1/channels/{hook.pk}/test/").status_code == 403


def test_other_organisations_channels_are_404(charlie, hook):
    api = api_for(charlie)
    assert api.get(f"/api/v1/channels/{hook.pk}/").status_code == 404
    assert api.post(f"/api/v1/channels/{hook.pk}/test/").status_code == 404
    assert api.get("/api/v1/channel-deliveries/", {"channel": hook.pk}).json()["count"] == 0


def test_the_test_action_answers_with_the_delivery(alice, hook, https_receiver):
    https_receiver.replies = [(500, "<html><body>Internal error</body></html>", "text/html")]
    response = api_for(alice).post(f"/api/v1/channels/{hook.pk}/test/")

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["response_status"]) == ("gave_up", 500)
    assert data["response_excerpt"] == "(HTML page) Internal error"
    history = api_for(alice).get("/api/v1/channel-deliveries/", {"channel": hook.pk}).json()
    assert [d["id"] for d in history["results"]] == [data["id"]]


def test_a_patch_without_url_keeps_it(alice, hook):
    response = api_for(alice).patch(
        f"/api/v1/channels/{hook.pk}/", {"active": False, "secret": ""}, format="json"
    )
    assert response.status_code == 200, response.content
    hook.refresh_from_db()
    assert hook.url.endswith(SECRET_PATH) and hook.secret == "hmac-key-VERYSECRET"
    assert hook.active is False


def test_only_the_organisations_admins_change_a_channel_in_the_admin(client, olivia, acme, hook):
    client.force_login(make_staff(olivia))  # an operator of acme
    change = reverse("admin:alerts_channel_change", args=[hook.pk])

    page = client.get(change).content.decode()
    response = client.post(change, form_data(acme, name="renamed", url="https://example.com/x"))

    assert "XXXXSECRETXXXX" not in page and 'type="password"' not in page
    assert response.status_code == 403
    hook.refresh_from_db()
    assert hook.name == "ops"


@pytest.mark.parametrize("channel", ["-6.79247638943102e+277", "1.5", "0", "9" * 30, "x"])
def test_a_channel_filter_that_is_no_id_is_a_400(alice, hook, channel):
    response = api_for(alice).get("/api/v1/channel-deliveries/", {"channel": channel})
    assert response.status_code == 400
    assert "channel" in response.json()["error"]["fields"]


def test_the_channel_filter_finds_its_deliveries(alice, hook):
    channel_delivery.send_test(hook)
    response = api_for(alice).get("/api/v1/channel-deliveries/", {"channel": hook.pk})
    assert response.status_code == 200 and response.json()["count"] == 1
