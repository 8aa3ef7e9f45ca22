"""The auto-stop policy against the emulator's EC2: announce, grace period, re-check, stop.

Time is passed in (`now`), so the grace period is crossed without waiting; every stop still
goes over HTTP through the scripted-fault proxy, which records what EC2 was asked.
"""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from smtplib import SMTPException

import pytest
from django.contrib.auth.models import Permission
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from accounts import aws as aws_module
from accounts.models import Profile
from actions import autostop, stop_start, tasks
from actions.models import AutoStopNotice, AutoStopPolicy, InstanceAction
from findings.models import Recommendation
from findings.recommendations import dismiss
from tests.fleet.emulator import AMI, PROTECT, ec2_calls, ec2_client, launch, state_in_aws, synced

Status = AutoStopNotice.Status
NOW = timezone.now()
DAY = timedelta(days=1)


# The emulator is reset per test; credentials cached from the last one would not exist.
pytestmark = pytest.mark.usefixtures("fresh_credentials")


@pytest.fixture
def team(alice, bob, olivia):
    """alice (admin) and olivia (operator) get notices; bob is a viewer and does not."""
    return alice, bob, olivia


@pytest.fixture
def policy(acme_account):
    return AutoStopPolicy.objects.create(
        account=acme_account, enabled=True, dry_run=False, idle_days=7, grace_hours=24
    )


@pytest.fixture
def ec2(aws_faults, acme_account):
    return ec2_client(acme_account)


# What detection records for a box idle on CPU and on measured network traffic.
MEASURED = {"hours_with_data": 336, "required_hours": 302, "network_hours_with_data": 336}


def idle_for(
    instance, days: float, kind=Recommendation.Kind.IDLE_INSTANCE, evidence=MEASURED
) -> Recommendation:
    return Recommendation.objects.create(
        account=instance.account,
        kind=kind,
        resource_id=instance.instance_id,
        region=instance.region,
        instance=instance,
        summary=f"{instance} is idle",
        action="Stop it",
        monthly_saving=Decimal("61.32"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        created_at=NOW - timedelta(days=days),
        evidence=evidence,
    )


@pytest.fixture
def idle_box(ec2, acme_account, aws_faults):
    """A running instance whose idle recommendation has stood for eight days."""
    instance = synced(acme_account, launch(ec2, "idle-dev-box"))
    idle_for(instance, days=8)
    aws_faults.requests.clear()
    return instance


def stops(proxy) -> list:
    return [call for call in ec2_calls(proxy) if call[0] == "StopInstances"]


@pytest.mark.django_db
class TestPolicy:
    def test_announced_first_then_stopped_only_after_the_grace_period(
        self, team, policy, idle_box, ec2, aws_faults, mailoutbox, acme_account
    ):
        announced = autostop.run(acme_account, now=NOW)

        notice = AutoStopNotice.objects.get()
        assert announced.announced == [notice]
        assert (notice.status, notice.dry_run) == (Status.PENDING, False)
        assert notice.stop_after == NOW + timedelta(hours=24)
        assert stops(aws_faults) == []
        assert not InstanceAction.objects.exists()
        [mail] = mailoutbox
        assert sorted(mail.to) == ["alice@example.com", "olivia@example.com"]
        assert "idle-dev-box" in mail.body and "will be stopped after" in mail.body
        assert "$61.32/month" in mail.body
        assert "tag the instance spendlens:protect=true" in mail.body

        autostop.run(acme_account, now=NOW + timedelta(hours=23))
        assert stops(aws_faults) == []
        assert state_in_aws(ec2, idle_box.instance_id) == "running"
        aws_faults.requests.clear()

        report = autostop.run(acme_account, now=NOW + timedelta(hours=25))

        assert [n.status for n in report.settled] == [Status.STOPPED]
        assert stops(aws_faults) == [("StopInstances", True), ("StopInstances", False)]
        assert state_in_aws(ec2, idle_box.instance_id) == "stopped"
        idle_box.refresh_from_db()
        assert idle_box.state == "stopped"
        action = InstanceAction.objects.get()
        assert (action.actor, action.actor_label) == (None, "auto-stop policy")
        assert action.result == InstanceAction.Result.SUCCEEDED
        assert action.recommendation == notice.recommendation
        notice.refresh_from_db()
        assert (notice.status, notice.action) == (Status.STOPPED, action)
        assert notice.recommendation.status == Recommendation.Status.APPLIED
        assert len(mailoutbox) == 2
        assert "Stopped:" in mailoutbox[1].body and "idle-dev-box" in mailoutbox[1].body

    def test_nothing_is_announced_twice(self, team, policy, idle_box, mailoutbox, acme_account):
        autostop.run(acme_account, now=NOW)
        second = autostop.run(acme_account, now=NOW + timedelta(hours=1))

        assert second.announced == []
        assert AutoStopNotice.objects.count() == 1
        assert len(mailoutbox) == 1

    def test_a_recommendation_younger_than_idle_days_waits(
        self, team, policy, ec2, acme_account, mailoutbox
    ):
        young = synced(acme_account, launch(ec2, "new-idle"))
        idle_for(young, days=3)

        assert autostop.run(acme_account, now=NOW).announced == []
        assert mailoutbox == []

    def test_dismissed_meanwhile_is_not_stopped(
        self, team, policy, idle_box, ec2, aws_faults, acme_account
    ):
        autostop.run(acme_account, now=NOW)
        dismiss(idle_box.recommendations.get(), "needed for the demo on Friday")

        report = autostop.run(acme_account, now=NOW + 2 * DAY)

        notice = report.settled[0]
        assert notice.status == Status.CANCELLED
        assert "dismissed: needed for the demo on Friday" in notice.outcome
        assert stops(aws_faults) == []
        assert state_in_aws(ec2, idle_box.instance_id) == "running"

    def test_tagged_meanwhile_is_not_stopped(
        self, team, policy, idle_box, ec2, aws_faults, acme_account
    ):
        autostop.run(acme_account, now=NOW)
        # Tagged in AWS only: the inventory has not seen it; the fresh DescribeInstances does.
        ec2.create_tags(
            Resources=[idle_box.instance_id],
            Tags=[{"Key": k, "Value": v} for k, v in PROTECT.items()],
        )

        report = autostop.run(acme_account, now=NOW + 2 * DAY)

        assert report.settled[0].status == Status.CANCELLED
        assert "protect tag" in report.settled[0].outcome
        assert stops(aws_faults) == []
        assert state_in_aws(ec2, idle_box.instance_id) == "running"
        refused = InstanceAction.objects.get()
        assert (refused.actor_label, refused.result) == ("auto-stop policy", "refused")

    def test_a_failed_stop_is_logged_and_reported(
        self, team, policy, idle_box, aws_faults, acme_account, mailoutbox
    ):
        autostop.run(acme_account, now=NOW)
        aws_faults.fail("StopInstances", "UnauthorizedOperation", status=403)

        report = autostop.run(acme_account, now=NOW + 2 * DAY)

        assert report.settled[0].status == Status.FAILED
        assert InstanceAction.objects.get().error_code == "UnauthorizedOperation"
        assert "Failed to stop:" in mailoutbox[-1].body
        assert "add ec2:StopInstances" in mailoutbox[-1].body

    def test_candidates_must_be_running_unprotected_idle_instances(
        self, team, policy, ec2, acme_account, aws_faults, mailoutbox
    ):
        protected = synced(acme_account, launch(ec2, "protected", PROTECT))
        idle_for(protected, days=30)
        stopped = synced(acme_account, launch(ec2, "stopped-already"))
        ec2.stop_instances(InstanceIds=[stopped.instance_id])
        stopped = synced(acme_account, stopped.instance_id)
        idle_for(stopped, days=30)

        assert autostop.run(acme_account, now=NOW).announced == []
        assert mailoutbox == []

    def test_evidence_without_measured_network_is_never_announced(
        self, team, policy, ec2, acme_account, aws_faults, mailoutbox
    ):
        # Recommended before network coverage was tracked: its "0 MB" may be invented.
        legacy = synced(acme_account, launch(ec2, "cpu-only-verdict"))
        idle_for(legacy, days=30, evidence={"hours_with_data": 336, "required_hours": 302})
        short = synced(acme_account, launch(ec2, "network-gaps"))
        idle_for(short, days=30, evidence={**MEASURED, "network_hours_with_data": 200})
        measured = synced(acme_account, launch(ec2, "measured"))
        idle_for(measured, days=30)

        report = autostop.run(acme_account, now=NOW)

        assert [n.instance for n in report.announced] == [measured]
        [mail] = mailoutbox
        assert "cpu-only-verdict" not in mail.body and "network-gaps" not in mail.body

    def test_auto_scaling_members_are_never_stopped(
        self, team, policy, ec2, acme_account, aws_faults, mailoutbox
    ):
        session = aws_module.assumed_session(acme_account.role_arn, acme_account.external_id)
        autoscaling = aws_module.client(session, "autoscaling")
        ec2.create_launch_template(
            LaunchTemplateName="batch",
            LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.large"},
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="batch",
            LaunchTemplate={"LaunchTemplateName": "batch", "Version": "$Latest"},
            MinSize=2,
            MaxSize=2,
            AvailabilityZones=["us-east-1a"],
        )
        group = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
        first, second = (synced(acme_account, i["InstanceId"]) for i in group["Instances"])
        assert first.auto_scaling_group == "batch"
        # What detection opens for a member, and (defensively) a plain idle recommendation.
        idle_for(first, days=30, kind=Recommendation.Kind.IDLE_ASG_MEMBER)
        idle_for(second, days=30)

        for hours in (0, 48, 96):
            autostop.run(acme_account, now=NOW + timedelta(hours=hours))

        assert not AutoStopNotice.objects.exists()
        assert stops(aws_faults) == []
        assert mailoutbox == []

    def test_a_disabled_policy_does_nothing(self, team, policy, idle_box, acme_account):
        policy.enabled = False
        policy.save()

        report = autostop.run(acme_account, now=NOW)

        assert not report.enabled and report.announced == []
        assert "not enabled" in report.summary()
        # Nor can the action be invoked in the policy's name.
        result = stop_start.stop_instance(idle_box, auto=True)
        assert result.result == InstanceAction.Result.REFUSED
        assert "Auto-stop is not enabled" in result.message

    def test_no_announcement_without_anyone_to_tell(
        self, bob, policy, idle_box, acme_account, mailoutbox
    ):
        report = autostop.run(acme_account, now=NOW)

        assert report.announced == [] and mailoutbox == []
        assert "not announced" in report.notes[0]

    def test_profiles_choose_the_address_and_can_opt_out(
        self, team, policy, idle_box, acme_account, mailoutbox, olivia, alice
    ):
        Profile.objects.create(user=olivia, alert_email="oncall@example.com")
        Profile.objects.create(user=alice, email_enabled=False)

        autostop.run(acme_account, now=NOW)

        assert mailoutbox[0].to == ["oncall@example.com"]

    def test_an_e_mail_that_fails_announces_nothing(
        self, team, policy, idle_box, acme_account, settings
    ):
        settings.EMAIL_BACKEND = "tests.actions.test_autostop.BrokenMail"

        report = autostop.run(acme_account, now=NOW)

        assert report.announced == []
        assert "E-mail failed" in report.notes[0]
        assert not AutoStopNotice.objects.exists()  # so the next run announces it again


class BrokenMail(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("relay unavailable")


@pytest.mark.django_db
class TestDryRun:
    def test_dry_run_announces_and_reports_but_never_calls_stop(
        self, team, policy, idle_box, ec2, aws_faults, acme_account, mailoutbox
    ):
        policy.dry_run = True
        policy.save()

        autostop.run(acme_account, now=NOW)
        report = autostop.run(acme_account, now=NOW + 2 * DAY)
        again = autostop.run(acme_account, now=NOW + 4 * DAY)

        assert [n.status for n in report.settled] == [Status.WOULD_STOP]
        assert again.announced == [] and again.settled == []
        assert stops(aws_faults) == []  # not even a DryRun StopInstances
        assert state_in_aws(ec2, idle_box.instance_id) == "running"
        action = InstanceAction.objects.get()
        assert (action.result, action.actor_label) == ("dry_run", "auto-stop policy")
        assert mailoutbox[0].subject.startswith("[Spendlens] [dry run]")
        assert "would be stopped after" in mailoutbox[0].body
        assert "Would have stopped (dry run):" in mailoutbox[1].body

    def test_a_real_stop_needs_a_real_announcement(
        self, team, policy, idle_box, ec2, aws_faults, acme_account
    ):
        policy.dry_run = True
        policy.save()
        autostop.run(acme_account, now=NOW)
        policy.dry_run = False
        policy.save()

        report = autostop.run(acme_account, now=NOW + 2 * DAY)

        dry, real = AutoStopNotice.objects.order_by("pk")
        assert dry.status == Status.CANCELLED and "Superseded" in dry.outcome
        assert report.announced == [real] and real.status == Status.PENDING
        assert stops(aws_faults) == []

        autostop.run(acme_account, now=NOW + 4 * DAY)
        assert state_in_aws(ec2, idle_box.instance_id) == "stopped"

    def test_the_command_dry_run_flag_overrides_the_policy(
        self, team, policy, idle_box, ec2, aws_faults
    ):
        out = StringIO()
        call_command("auto_stop", "--dry-run", stdout=out)
        notice = AutoStopNotice.objects.get()
        AutoStopNotice.objects.filter(pk=notice.pk).update(stop_after=NOW - DAY)
        call_command("auto_stop", "--dry-run", "--account", "111111111111", stdout=out)

        text = out.getvalue()
        assert "111111111111 (dry run): 1 announced" in text
        assert "would have been stopped (dry run)" in text
        assert stops(aws_faults) == []
        assert state_in_aws(ec2, idle_box.instance_id) == "running"

    def test_the_command_names_an_unknown_account(self, db):
        with pytest.raises(CommandError, match="No active account with ID 999999999999"):
            call_command("auto_stop", "--account", "999999999999")


@pytest.mark.django_db
def test_the_task_runs_only_opted_in_accounts(
    team, policy, idle_box, acme_account, globex, monkeypatch, mailoutbox
):
    other = globex.cloud_accounts.create(
        name="Globex", account_id="222222222222", role_arn="arn:aws:iam::222222222222:role/R"
    )
    AutoStopPolicy.objects.create(account=other, enabled=False)
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q2 runs the fanned-out task inline

    assert tasks.run_auto_stop_all() == 1

    assert AutoStopNotice.objects.get().account == acme_account
    assert tasks.run_auto_stop(acme_account.pk).startswith("111111111111: 0 announced")


@pytest.mark.django_db
class TestPolicyAdmin:
    def staff(self, user):
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(codename__endswith="autostoppolicy"))
        return user

    def test_an_organisation_admin_turns_it_on(self, client, alice, acme_account):
        client.force_login(self.staff(alice))

        response = client.post(
            reverse("admin:actions_autostoppolicy_add"),
            {
                "account": acme_account.pk,
                "enabled": "on",
                "dry_run": "on",
                "idle_days": 7,
                "grace_hours": 24,
            },
        )

        assert response.status_code == 302
        policy = AutoStopPolicy.objects.get()
        assert (policy.enabled, policy.dry_run) == (True, True)

    def test_a_grace_period_of_zero_is_refused(self, client, alice, acme_account):
        client.force_login(self.staff(alice))

        response = client.post(
            reverse("admin:actions_autostoppolicy_add"),
            {"account": acme_account.pk, "enabled": "on", "idle_days": 7, "grace_hours": 0},
        )

        assert response.status_code == 200
        assert "Ensure this value is greater than or equal to 1." in response.content.decode()
        assert not AutoStopPolicy.objects.exists()

    def test_a_viewer_can_look_but_not_change(self, client, bob, policy):
        client.force_login(self.staff(bob))

        change_url = reverse("admin:actions_autostoppolicy_change", args=[policy.pk])
        page = client.get(change_url)
        add = client.post(
            reverse("admin:actions_autostoppolicy_add"),
            {"account": policy.account.pk, "enabled": "on", "idle_days": 1, "grace_hours": 1},
        )
        client.post(change_url, {"enabled": "on", "dry_run": "", "idle_days": 1})

        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert "Select a valid choice" in add.content.decode()
        policy.refresh_from_db()
        assert (policy.idle_days, policy.dry_run) == (7, False)
