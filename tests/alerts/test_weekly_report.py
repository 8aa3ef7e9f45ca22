"""The weekly report: its figures, who gets it and when (once each), the e-mail with its chart,
the profile preferences and the send_weekly_report command."""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from accounts.models import Profile, Weekday
from actions.models import InstanceAction
from alerts import weekly_chart
from alerts.delivery import deliver_pending
from alerts.models import AlertEvent, AlertKind, Budget
from alerts.weekly import Week, WeeklyReport, organization_report, value_report
from alerts.weekly_send import send_weekly_reports
from allocation.models import FollowedValue
from findings.models import Recommendation
from tests.allocation.helpers import focus, team, written

pytestmark = pytest.mark.django_db
W49 = Week(date(2026, 11, 30))  # Monday 30 November to Sunday 6 December 2026
W48 = W49.previous
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KIND = AlertKind.WEEKLY_REPORT


def seed_costs(org):
    """EC2 (team payments) doubles from 10 to 20 a day, S3 (search) stays at 5, RDS (search)
    stops after 8 a day: W48 161, W49 175. December so far (1-6): 25 a day."""
    for n in range(14):
        day = W48.monday + timedelta(days=n)
        this_week = day >= W49.monday
        focus(org, "20" if this_week else "10", tags={"team": "payments"}, day=day)
        focus(org, "5", service="Amazon S3", tags={"team": "search"}, day=day)
        if not this_week:
            focus(org, "8", service="Amazon RDS", tags={"team": "search"}, day=day)
    written(org, W48.monday, W49.sunday)


@pytest.fixture
def teams(acme):
    dimension = team(acme, {"kind": "tag", "tag_key": "team"})
    seed_costs(acme)
    return dimension


def recommendation(account, resource, saving, status=Recommendation.Status.OPEN):
    return Recommendation.objects.create(
        account=account,
        kind=Recommendation.Kind.UNATTACHED_VOLUME,
        resource_id=resource,
        region="us-east-1",
        summary="unattached",
        action="Delete it",
        monthly_saving=Decimal(saving),
        status=status,
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )


def action(account, kind, label, when, result=InstanceAction.Result.SUCCEEDED):
    InstanceAction.objects.create(
        organization=account.organization,
        account=account,
        aws_instance_id="i-0abc",
        region="us-east-1",
        action=kind,
        actor_label=label,
        result=result,
        requested_at=when,
    )


def at(day: date, hour=12):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- Figures ---


def test_the_organisation_report_figures(acme, acme_account, teams):
    Budget.objects.create(organization=acme, name="Everything", monthly_amount=1000)
    Budget.objects.create(organization=acme, name="Prod", monthly_amount=300, account=acme_account)
    Budget.objects.create(organization=acme, name="Off", monthly_amount=1, active=False)
    recommendation(acme_account, "vol-1", "60.00")
    recommendation(acme_account, "vol-2", "40.50")
    recommendation(acme_account, "vol-3", "99", status=Recommendation.Status.DISMISSED)
    stop, start = InstanceAction.Action.STOP, InstanceAction.Action.START
    action(acme_account, stop, "schedule office hours", at(W49.monday, 19))
    action(acme_account, stop, InstanceAction.AUTO_STOP_ACTOR, at(W49.sunday, 23))
    action(acme_account, start, "alice", at(W49.monday + timedelta(days=2)))
    action(acme_account, stop, "alice", at(W49.monday), result=InstanceAction.Result.FAILED)
    action(acme_account, stop, "alice", at(W48.sunday))  # the week before

    report = organization_report(acme, W49)

    assert (report.this_week, report.last_week) == (Decimal(175), Decimal(161))
    assert report.change == 14 and report.change_percent == Decimal("8.7")
    assert report.month_to_date == Decimal(150)  # 1-6 December only
    assert [(m.service, m.change) for m in report.movers] == [
        ("Amazon EC2", Decimal(70)),
        ("Amazon RDS", Decimal(-56)),
    ]
    assert [(b.name, b.month_to_date, b.percent) for b in report.budgets] == [
        ("Everything", Decimal(150), Decimal("15.0")),
        ("Prod", Decimal(150), Decimal("50.0")),
    ]
    assert (report.savings_count, report.savings_monthly) == (2, Decimal("100.50"))
    a = report.actions
    assert (a.stops, a.starts, a.by_schedules, a.by_auto_stop) == (2, 1, 1, 1)
    assert len(report.daily) == 14
    assert report.daily[0] == (W48.monday, Decimal(23))
    assert report.daily[-1] == (W49.sunday, Decimal(25))
    text = " ".join(report.lines())
    assert "$175.00, +$14.00 (+8.7%) on the week before ($161.00)" in text
    assert "Amazon RDS -$56.00" in text and "2 recommendations, $100.50 a month" in text


def test_the_week_is_the_organisations_local_week_for_actions(acme, acme_account):
    acme.time_zone = "Pacific/Auckland"  # UTC+13 in December
    acme.save()
    # Sunday 6 December 12:00 UTC is already Monday 7 December in Auckland: the next week.
    action(acme_account, InstanceAction.Action.STOP, "alice", at(W49.sunday, 12))

    assert organization_report(acme, W49).actions.stops == 0


def test_a_value_report_counts_its_value_and_its_budget_only(acme, teams):
    Budget.objects.create(
        organization=acme,
        name="Payments",
        monthly_amount=600,
        dimension=teams,
        dimension_value="payments",
    )
    Budget.objects.create(organization=acme, name="Everything", monthly_amount=1000)

    report = value_report(teams, "payments", W49, acme.name)

    assert (report.this_week, report.last_week, report.month_to_date) == (140, 70, 120)
    assert [(m.service, m.change) for m in report.movers] == [("Amazon EC2", Decimal(70))]
    assert [(b.name, b.percent) for b in report.budgets] == [("Payments", Decimal("20.0"))]
    assert report.savings_count is None and report.actions is None
    assert report.name == "Team = payments"


def test_the_report_survives_the_events_json(acme, acme_account, teams):
    report = organization_report(acme, W49)

    again = WeeklyReport.from_evidence(report.to_evidence())

    assert again.lines() == report.lines()
    assert again.daily == report.daily and again.movers == report.movers


def test_the_report_is_a_few_queries_whatever_the_store(
    acme, acme_account, teams, django_assert_max_num_queries
):
    Budget.objects.create(organization=acme, name="Prod", monthly_amount=300, account=acme_account)
    with django_assert_max_num_queries(6):
        organization_report(acme, W49)
    for n in range(30):  # more services, more days: the same queries
        focus(acme, "1", service=f"Service {n}", day=W49.monday + timedelta(days=n % 7))
    written(acme, W49.monday, W49.sunday)
    with django_assert_max_num_queries(6):
        report = organization_report(acme, W49)
    assert report.this_week == 175 + 30
    with django_assert_max_num_queries(3):
        value_report(teams, "payments", W49, acme.name)


def test_weeks_parse_and_name_iso_weeks():
    assert Week.parse("2026-W49") == W49 and str(W49) == "2026-W49"
    assert Week.last_full(date(2026, 12, 7)) == W49
    assert Week.last_full(date(2026, 12, 6)) == W48
    assert Week.parse("2027-W01").monday == date(2027, 1, 4)
    for bad in ("2026-49", "W49", "2026-W54", ""):
        with pytest.raises(ValueError, match="week"):
            Week.parse(bad)


# --- Who gets it, and when ---


def subjects(user):
    return sorted(
        AlertEvent.objects.filter(recipient=user, kind=KIND).values_list("subject", flat=True)
    )


def test_members_get_it_on_their_weekday_once(acme, alice, bob, teams):
    Profile.objects.create(user=bob, weekly_report_weekday=Weekday.WEDNESDAY)

    assert send_weekly_reports(acme, MONDAY_9AM - timedelta(hours=2)) == []  # before 08:00
    send_weekly_reports(acme, MONDAY_9AM)
    send_weekly_reports(acme, MONDAY_9AM + timedelta(hours=1))
    assert (subjects(alice), subjects(bob)) == (["2026-W49"], [])

    wednesday = MONDAY_9AM + timedelta(days=2)
    send_weekly_reports(acme, wednesday)
    send_weekly_reports(acme, wednesday + timedelta(hours=1))
    assert (subjects(alice), subjects(bob)) == (["2026-W49"], ["2026-W49"])
    deliver_pending()
    deliver_pending()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]


def test_a_day_moved_back_is_caught_up_and_not_repeated(acme, alice, teams):
    profile = Profile.objects.create(user=alice, weekly_report_weekday=Weekday.FRIDAY)
    send_weekly_reports(acme, MONDAY_9AM)
    assert subjects(alice) == []

    profile.weekly_report_weekday = Weekday.MONDAY  # on Tuesday, to a day already past
    profile.save()
    send_weekly_reports(acme, MONDAY_9AM + timedelta(days=1))
    profile.weekly_report_weekday = Weekday.FRIDAY
    profile.save()
    send_weekly_reports(acme, MONDAY_9AM + timedelta(days=4))

    assert subjects(alice) == ["2026-W49"]


def test_the_weekday_is_the_organisations(acme, alice, teams):
    acme.time_zone = "Pacific/Auckland"
    acme.save()

    send_weekly_reports(acme, datetime(2026, 12, 6, 20, tzinfo=UTC))  # Monday 09:00 there

    assert subjects(alice) == ["2026-W49"]


def test_opting_out_or_muting_is_respected(acme, alice, bob, teams):
    Profile.objects.create(user=bob, weekly_report_enabled=False)
    Profile.objects.create(user=alice, muted_alert_kinds=[KIND])

    send_weekly_reports(acme, MONDAY_9AM)
    deliver_pending()

    assert subjects(bob) == []
    (event,) = AlertEvent.objects.filter(recipient=alice)
    assert event.status == AlertEvent.Status.SKIPPED
    assert mail.outbox == []


def test_a_value_report_goes_to_its_followers_only(acme, alice, bob, charlie, teams):
    FollowedValue.objects.create(user=bob, dimension=teams, value="payments")

    send_weekly_reports(acme, MONDAY_9AM)

    assert subjects(alice) == ["2026-W49"]
    assert subjects(bob) == ["2026-W49", "2026-W49 team=payments"]
    assert subjects(charlie) == []
    event = AlertEvent.objects.get(recipient=bob, subject="2026-W49 team=payments")
    assert event.title == "Weekly report 2026-W49: Team = payments, $140.00 (+100.0%)"
    assert event.evidence["report"]["this_week"] == "140.00"


# --- The e-mail ---


def test_the_email_carries_the_chart_inline(acme, alice, teams, settings):
    settings.SITE_URL = "https://spendlens.example.com"
    send_weekly_reports(acme, MONDAY_9AM)
    deliver_pending()

    (message,) = mail.outbox
    assert message.subject == "[Spendlens] Weekly report 2026-W49: Acme, $175.00 (+8.7%)"
    mime = message.message()
    assert mime.get_content_type() == "multipart/related"
    (image,) = [part for part in mime.walk() if part.get_content_type() == "image/png"]
    assert image["Content-Disposition"].startswith("inline")
    cid = image["Content-ID"].strip("<>")
    html = message.alternatives[0][0]
    assert f'src="cid:{cid}"' in html
    for body in (html, message.body):
        assert "Amazon EC2" in body and "+$70.00" in body and "$161.00" in body
        assert "https://spendlens.example.com/profile/#alerts" in body
    assert "$56.00" in html and "$0.00" in html  # RDS: from 56 to nothing
    png = image.get_payload(decode=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (weekly_chart.WIDTH, weekly_chart.HEIGHT)


def test_an_organisation_without_spend_gets_a_short_report(globex, charlie):
    send_weekly_reports(globex, MONDAY_9AM)
    deliver_pending()

    (message,) = mail.outbox
    assert message.subject == "[Spendlens] Weekly report 2026-W49: Globex, no spend recorded"
    assert "No spend recorded" in message.alternatives[0][0] and "No spend" in message.body
    assert not [p for p in message.message().walk() if p.get_content_maintype() == "image"]


def test_the_chart_is_the_same_for_the_same_series():
    daily = [(W48.monday + timedelta(days=n), Decimal(n * 3)) for n in range(14)]

    first = weekly_chart.png(daily, "2026-W49", "2026-W48")

    assert first == weekly_chart.png(daily, "2026-W49", "2026-W48")
    assert first != weekly_chart.png(daily[::-1], "2026-W49", "2026-W48")


# --- Preferences ---


def test_the_profile_page_sets_the_day_and_the_opt_out(client, alice):
    client.force_login(alice)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="weekly_report_weekday"' in page and 'name="weekly_report_enabled"' in page

    response = client.post(
        reverse("profile"),
        {"email_enabled": "on", "cooldown_minutes": "60", "weekly_report_weekday": "4"},
    )

    assert response.status_code == 302
    profile = Profile.for_user(alice)
    assert (profile.weekly_report_enabled, profile.weekly_report_weekday) == (False, Weekday.FRIDAY)
    response = client.post(
        reverse("profile"), {"cooldown_minutes": "60", "weekly_report_weekday": "9"}
    )
    assert response.status_code == 200 and b"Select a valid choice" in response.content


# --- The command ---


def test_the_command_sends_the_week_asked_for_once(acme, alice, teams):
    out = io.StringIO()
    call_command(
        "send_weekly_report", "--organization", str(acme.pk), "--week", "2026-W49", stdout=out
    )
    call_command("send_weekly_report", "--organization", "acme", "--week", "2026-W49", stdout=out)

    assert "Weekly report 2026-W49: Acme, $175.00 (+8.7%)" in out.getvalue()
    assert "0 report(s) raised" in out.getvalue()
    assert len(mail.outbox) == 1


def test_the_command_dry_run_prints_and_sends_nothing(acme, alice, teams):
    out = io.StringIO()

    call_command("send_weekly_report", "--week", "2026-W49", "--dry-run", stdout=out)

    assert "$175.00, +$14.00 (+8.7%)" in out.getvalue()
    assert not AlertEvent.objects.exists() and mail.outbox == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--week", "2026-49"], "not a week"),
        (["--week", "2026-W54"], "not a week of 2026"),
        (["--week", "2099-W01"], "not over yet"),
        (["--organization", "999999"], "No organisation with ID"),
        (["--organization", "nope"], "No organisation with slug"),
    ],
)
def test_the_command_explains_bad_arguments(acme, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("send_weekly_report", *arguments)


def test_a_channel_gets_each_weeks_report_once_whatever_the_weekdays(
    acme, alice, bob, teams, https_receiver
):
    from alerts.models import Channel, ChannelDelivery

    Channel.objects.create(
        organization=acme, name="finops", kind=Channel.Kind.SLACK, url=https_receiver.url("/s")
    )
    Profile.objects.create(user=bob, weekly_report_weekday=Weekday.WEDNESDAY)

    send_weekly_reports(acme, MONDAY_9AM)
    send_weekly_reports(acme, MONDAY_9AM + timedelta(days=2))  # Bob's day: he is added
    deliver_pending()

    assert (subjects(alice), subjects(bob)) == (["2026-W49"], ["2026-W49"])
    assert list(ChannelDelivery.objects.values_list("subject", "status")) == [
        ("2026-W49", ChannelDelivery.Status.SENT)
    ]
    assert https_receiver.counts["/s"] == 1
    assert b"Weekly report 2026-W49" in https_receiver.requests[0][2]
