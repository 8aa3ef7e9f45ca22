"""The recommendations page: links, readable evidence, and the dismiss and snooze actions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from findings.models import Recommendation
from fleet.models import Instance

PAGE = "admin:findings_recommendation_changelist"
Status = Recommendation.Status
pytestmark = pytest.mark.django_db


def recommendation(account, resource_id, saving="61.32", status=Status.OPEN, instance=None):
    return Recommendation.objects.create(
        account=account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=resource_id,
        region="us-east-1",
        instance=instance,
        status=status,
        summary=f"{resource_id} is idle",
        action="Stop it",
        monthly_saving=Decimal(saving),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        evidence={"avg_cpu": 1.5, "thresholds": {"idle_cpu_avg_percent": 10.0}},
    )


@pytest.fixture
def idle(acme_account):
    box = Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0idle",
        name="idle-box",
        instance_type="m5.large",
        state="running",
    )
    return recommendation(acme_account, box.instance_id, instance=box)


def act(client, action, recs, **form):
    return client.post(
        reverse(PAGE),
        {"action": action, "_selected_action": [str(rec.pk) for rec in recs], **form},
    )


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_rows_link_to_the_instance_and_the_account(client, olivia_staff, idle):
    client.force_login(olivia_staff)

    body = client.get(reverse(PAGE)).content.decode()

    instance_url = reverse("admin:fleet_instance_change", args=[idle.instance_id])
    account_url = reverse("admin:accounts_cloudaccount_change", args=[idle.account_id])
    assert f'<a href="{instance_url}">idle-box (i-0idle)</a>' in body
    assert f'<a href="{account_url}" title="AWS account 111111111111">Acme production</a>' in body
    assert '<td class="field-monthly_saving_money">$61.32</td>' in body
    for action in ("stop_selected", "start_selected", "dismiss_selected", "snooze_selected"):
        assert f'value="{action}"' in body


def test_the_detail_page_shows_the_evidence_as_a_table(client, olivia_staff, idle):
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:findings_recommendation_change", args=[idle.pk])).content
    body = body.decode()

    assert '<th scope="row">avg cpu</th><td>1.5</td>' in body
    assert '<th scope="row">idle cpu avg percent</th><td>10.0</td>' in body


def test_dismiss_asks_for_a_reason_first(client, olivia_staff, idle):
    client.force_login(olivia_staff)

    form = act(client, "dismiss_selected", [idle])
    empty = act(client, "dismiss_selected", [idle], confirm="yes", reason="")

    assert form.templates[0].name == "admin/findings/confirm_dismissal.html"
    page = form.content.decode()
    assert "i-0idle is idle" in page and "$61.32" in page and 'name="reason"' in page
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    idle.refresh_from_db()
    assert idle.status == Status.OPEN


def test_dismiss_with_a_reason(client, olivia_staff, idle):
    client.force_login(olivia_staff)

    response = act(client, "dismiss_selected", [idle], confirm="yes", reason="Kept for audits")

    assert response.status_code == 302
    idle.refresh_from_db()
    assert (idle.status, idle.dismissed_reason, idle.snoozed_until) == (
        Status.DISMISSED,
        "Kept for audits",
        None,
    )
    assert texts(response) == ["Dismissed 1 recommendation ($61.32/month of savings set aside)."]
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id) == (olivia_staff, str(idle.pk))
    assert entry.get_change_message() == "Dismissed: Kept for audits"


def test_snooze_needs_a_future_date(client, olivia_staff, idle):
    client.force_login(olivia_staff)
    today = timezone.localdate()

    past = act(client, "snooze_selected", [idle], confirm="yes", reason="later", snooze_until=today)
    later = today + timedelta(days=30)
    done = act(client, "snooze_selected", [idle], confirm="yes", reason="later", snooze_until=later)

    assert "Snooze until a future date." in past.content.decode()
    assert done.status_code == 302
    idle.refresh_from_db()
    assert (idle.status, idle.snoozed_until) == (Status.DISMISSED, later)
    assert texts(done)[0].startswith(f"Snoozed 1 recommendation until {later:%Y-%m-%d}")


def test_a_viewer_cannot_dismiss(client, bob_staff, idle):
    client.force_login(bob_staff)

    response = act(client, "dismiss_selected", [idle], confirm="yes", reason="no")

    assert response.status_code == 302
    assert texts(response) == [
        "Nothing to dismiss: 1 refused: only operators and admins can dismiss or snooze."
    ]
    idle.refresh_from_db()
    assert idle.status == Status.OPEN


def test_resolved_ones_are_left_out(client, olivia_staff, idle, acme_account):
    gone = recommendation(acme_account, "i-0gone", saving="5", status=Status.RESOLVED)
    client.force_login(olivia_staff)

    form = act(client, "dismiss_selected", [idle, gone]).content.decode()
    response = act(client, "dismiss_selected", [idle, gone], confirm="yes", reason="audit")

    assert "nothing to do: already Resolved" in form
    assert 'value="Dismiss 1 recommendation"' in form
    assert texts(response)[1] == "Left as they were: 1 nothing to do: already Resolved."
    gone.refresh_from_db()
    assert gone.status == Status.RESOLVED


def test_another_organisation_cannot_select_them(client, charlie_staff, idle):
    client.force_login(charlie_staff)

    act(client, "dismiss_selected", [idle], confirm="yes", reason="mine now")

    idle.refresh_from_db()
    assert idle.status == Status.OPEN
