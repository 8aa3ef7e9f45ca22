"""Stop and start against the emulator's EC2, over HTTP, through the scripted-fault proxy.

The proxy records every EC2 request, so the tests assert what went over the wire and in which
order: nothing at all for a refusal by Spendlens, the DryRun before the real call otherwise.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts import aws as aws_module
from actions import stop_start
from actions.models import InstanceAction
from findings.models import Recommendation
from fleet.models import Instance
from tests.fleet.emulator import AMI, PROTECT, ec2_calls, ec2_client, launch, state_in_aws, synced

Result = InstanceAction.Result
DRY_RUN_THEN_STOP = [
    ("DescribeInstances", False),
    ("StopInstances", True),
    ("StopInstances", False),
    ("DescribeInstances", False),
]


# The emulator is reset per test; credentials cached from the last one would not exist.
pytestmark = pytest.mark.usefixtures("fresh_credentials")


@pytest.fixture
def ec2(aws_faults, acme_account):
    return ec2_client(acme_account)


@pytest.fixture
def box(ec2, acme_account, aws_faults):
    """A running instance known to the inventory; the proxy's record starts empty after it."""
    instance = synced(acme_account, launch(ec2, "dev-box"))
    aws_faults.requests.clear()
    return instance


def idle_recommendation(instance, saving="61.32"):
    return Recommendation.objects.create(
        account=instance.account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=instance.instance_id,
        region=instance.region,
        instance=instance,
        summary=f"{instance} is idle",
        action="Stop it",
        monthly_saving=Decimal(saving),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )


def only_row() -> InstanceAction:
    rows = list(InstanceAction.objects.all())
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.django_db
class TestStop:
    def test_an_operator_stops_an_instance_dry_run_first(self, olivia, box, ec2, aws_faults):
        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.SUCCEEDED and result.ok
        assert ec2_calls(aws_faults) == DRY_RUN_THEN_STOP
        assert state_in_aws(ec2, box.instance_id) == "stopped"
        box.refresh_from_db()
        assert box.state == "stopped"  # read back from DescribeInstances and saved
        row = only_row()
        assert (row.actor, row.actor_label, row.action) == (olivia, "olivia", "stop")
        assert (row.organization, row.account) == (box.account.organization, box.account)
        assert (row.instance, row.aws_instance_id, row.region) == (box, box.instance_id, box.region)
        assert (row.state_before, row.state_after) == ("running", "stopped")
        assert row.requested_at <= row.finished_at
        assert row.error_code == ""

    def test_an_admin_starts_it_again(self, alice, box, ec2, aws_faults):
        stop_start.stop_instance(box, actor=alice)
        aws_faults.requests.clear()

        result = stop_start.start_instance(box, actor=alice)

        assert result.result == Result.SUCCEEDED
        assert ec2_calls(aws_faults) == [
            ("DescribeInstances", False),
            ("StartInstances", True),
            ("StartInstances", False),
            ("DescribeInstances", False),
        ]
        assert state_in_aws(ec2, box.instance_id) == "running"
        box.refresh_from_db()
        assert box.state == "running"
        assert InstanceAction.objects.filter(action="start", result=Result.SUCCEEDED).count() == 1

    def test_a_superuser_may_act_without_a_membership(self, django_user_model, box, ec2):
        root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")

        result = stop_start.stop_instance(box, actor=root)

        assert result.result == Result.SUCCEEDED
        assert state_in_aws(ec2, box.instance_id) == "stopped"

    def test_the_recommendation_it_came_from_is_kept_and_marked_applied(self, alice, box):
        rec = idle_recommendation(box)

        stop_start.stop_instance(box, actor=alice, reason=rec)

        row = only_row()
        assert row.recommendation == rec
        assert row.reason == f"{box} is idle"
        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.APPLIED
        assert rec.resolved_at is not None


@pytest.mark.django_db
class TestRefusals:
    """Spendlens's own rules: refused before a single EC2 request, and still on the record."""

    def test_a_viewer_cannot_stop_anything(self, bob, box, ec2, aws_faults):
        result = stop_start.stop_instance(box, actor=bob)

        assert result.result == Result.REFUSED and not result.ok
        assert "Only operators and admins" in result.message
        assert ec2_calls(aws_faults) == []
        assert state_in_aws(ec2, box.instance_id) == "running"
        row = only_row()
        assert (row.actor, row.result) == (bob, Result.REFUSED)

    def test_a_viewer_cannot_start_anything_either(self, bob, box, aws_faults):
        assert stop_start.start_instance(box, actor=bob).result == Result.REFUSED
        assert ec2_calls(aws_faults) == []

    def test_another_organisation_learns_nothing(self, charlie, box, ec2, aws_faults):
        result = stop_start.stop_instance(box, actor=charlie)

        assert result.result == Result.REFUSED
        assert result.message == f"No instance {box.instance_id} in your organisations."
        assert "Acme" not in result.message
        assert ec2_calls(aws_faults) == []
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert only_row().actor == charlie  # acme's log shows who tried

    @pytest.mark.parametrize("who", ["nobody", "inactive"])
    def test_no_signed_in_user_no_action(self, who, olivia, box, aws_faults):
        if who == "inactive":
            olivia.is_active = False
            olivia.save()
        actor = olivia if who == "inactive" else None

        result = stop_start.stop_instance(box, actor=actor)

        assert result.result == Result.REFUSED
        assert ec2_calls(aws_faults) == []
        assert only_row().result == Result.REFUSED

    def test_a_protect_tag_added_since_the_inventory_is_seen(self, olivia, box, ec2, aws_faults):
        ec2.create_tags(
            Resources=[box.instance_id], Tags=[{"Key": "spendlens:protect", "Value": "true"}]
        )
        aws_faults.requests.clear()

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.REFUSED
        assert "protect tag spendlens:protect=true" in result.message
        assert ec2_calls(aws_faults) == [("DescribeInstances", False)]
        assert state_in_aws(ec2, box.instance_id) == "running"
        box.refresh_from_db()
        assert box.tags["spendlens:protect"] == "true"
        assert only_row().result == Result.REFUSED

    def test_a_protected_instance_can_still_be_started(self, olivia, ec2, acme_account):
        instance = synced(acme_account, launch(ec2, "keep-me", PROTECT))
        ec2.stop_instances(InstanceIds=[instance.instance_id])

        assert stop_start.start_instance(instance, actor=olivia).result == Result.SUCCEEDED

    def test_an_auto_scaling_member_is_not_stopped(self, olivia, ec2, acme_account, aws_faults):
        autoscaling = aws_module.client(
            aws_module.assumed_session(acme_account.role_arn, acme_account.external_id),
            "autoscaling",
        )
        ec2.create_launch_template(
            LaunchTemplateName="web",
            LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.large"},
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="web",
            LaunchTemplate={"LaunchTemplateName": "web", "Version": "$Latest"},
            MinSize=1,
            MaxSize=1,
            AvailabilityZones=["us-east-1a"],
        )
        member_id = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"][
            0
        ]["InstanceId"]
        member = synced(acme_account, member_id)
        aws_faults.requests.clear()

        result = stop_start.stop_instance(member, actor=olivia)

        assert result.result == Result.REFUSED
        assert "Auto Scaling group web" in result.message
        assert ("StopInstances", True) not in ec2_calls(aws_faults)
        assert state_in_aws(ec2, member_id) == "running"

    def test_a_terminated_instance(self, olivia, box, ec2, aws_faults):
        ec2.terminate_instances(InstanceIds=[box.instance_id])
        aws_faults.requests.clear()

        result = stop_start.start_instance(box, actor=olivia)

        assert result.result == Result.REFUSED
        assert result.message.endswith("is terminated: it cannot be started.")
        assert ec2_calls(aws_faults) == [("DescribeInstances", False)]

    def test_a_dry_run_checks_everything_and_changes_nothing(self, olivia, box, ec2, aws_faults):
        result = stop_start.stop_instance(box, actor=olivia, dry_run=True)

        assert result.result == Result.DRY_RUN
        assert result.message == f"Dry run: would stop {box} (running)."
        assert ec2_calls(aws_faults) == [("DescribeInstances", False)]
        assert state_in_aws(ec2, box.instance_id) == "running"

    def test_a_recommendation_about_another_instance_is_refused(self, olivia, box, ec2):
        other = synced(box.account, launch(ec2, "other"))
        rec = idle_recommendation(other)

        result = stop_start.stop_instance(box, actor=olivia, reason=rec)

        assert result.result == Result.REFUSED
        assert f"not {box.instance_id}" in result.message


@pytest.mark.django_db
class TestAws:
    """What AWS says no to: one clear message each, the AWS code kept, nothing changed."""

    def test_a_missing_permission_is_caught_by_the_dry_run(self, olivia, box, ec2, aws_faults):
        aws_faults.fail(
            "StopInstances",
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
            status=403,
        )

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.FAILED
        assert result.error_code == "UnauthorizedOperation"
        assert "add ec2:StopInstances for tagged instances to the role" in result.message
        assert "Nothing was changed" in result.message
        # The DryRun was the only StopInstances sent: no real call after a refused dry run.
        assert ec2_calls(aws_faults) == [("DescribeInstances", False), ("StopInstances", True)]
        assert state_in_aws(ec2, box.instance_id) == "running"
        row = only_row()
        assert (row.result, row.error_code) == (Result.FAILED, "UnauthorizedOperation")

    def test_a_missing_start_permission_names_start(self, olivia, box, ec2, aws_faults):
        ec2.stop_instances(InstanceIds=[box.instance_id])
        aws_faults.fail("StartInstances", "UnauthorizedOperation", status=403)

        result = stop_start.start_instance(box, actor=olivia)

        assert "add ec2:StartInstances" in result.message
        assert state_in_aws(ec2, box.instance_id) == "stopped"

    def test_an_unknown_instance(self, olivia, acme_account, aws_faults):
        ghost = Instance.objects.create(
            account=acme_account,
            region="us-east-1",
            instance_id="i-0123456789abcdef0",
            instance_type="t3.large",
            state="running",
        )

        result = stop_start.stop_instance(ghost, actor=olivia)

        assert result.result == Result.FAILED
        assert result.error_code == "InvalidInstanceID.NotFound"
        assert "AWS has no instance i-0123456789abcdef0" in result.message
        assert "sync_inventory" in result.message
        assert ec2_calls(aws_faults) == [("DescribeInstances", False)]
        assert only_row().error_code == "InvalidInstanceID.NotFound"

    def test_a_stopped_instance_is_a_no_op(self, olivia, box, ec2, aws_faults):
        ec2.stop_instances(InstanceIds=[box.instance_id])
        aws_faults.requests.clear()

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.NO_OP and result.ok
        assert "already stopped" in result.message
        assert ec2_calls(aws_faults) == [("DescribeInstances", False)]
        box.refresh_from_db()
        assert box.state == "stopped"
        assert only_row().result == Result.NO_OP

    def test_a_running_instance_start_is_a_no_op(self, olivia, box, aws_faults):
        result = stop_start.start_instance(box, actor=olivia)

        assert result.result == Result.NO_OP
        assert "already running" in result.message
        assert ("StartInstances", False) not in ec2_calls(aws_faults)

    def test_a_one_time_spot_instance(self, olivia, ec2, acme_account, aws_faults):
        spot = synced(
            acme_account,
            launch(ec2, "spot", InstanceMarketOptions={"MarketType": "spot"}),
        )
        assert spot.lifecycle == Instance.Lifecycle.SPOT
        aws_faults.fail(
            "StopInstances",
            "UnsupportedOperation",
            f"You can't stop the Spot Instance '{spot.instance_id}' because it is associated "
            "with a one-time Spot Instance request.",
        )

        result = stop_start.stop_instance(spot, actor=olivia)

        assert result.error_code == "UnsupportedOperation"
        assert "Spot Instance from a one-time request" in result.message
        assert state_in_aws(ec2, spot.instance_id) == "running"

    def test_an_instance_store_root_volume(self, olivia, box, ec2, aws_faults):
        aws_faults.fail(
            "StopInstances",
            "UnsupportedOperation",
            f"The instance '{box.instance_id}' does not have an 'ebs' root device type and "
            "cannot be stopped.",
        )

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.error_code == "UnsupportedOperation"
        assert "instance-store volume" in result.message

    def test_a_failure_on_the_real_call_is_recorded(self, olivia, box, ec2, aws_faults):
        aws_faults.fail("StopInstances", "IncorrectInstanceState", skip=1)

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.FAILED
        assert result.error_code == "IncorrectInstanceState"
        assert "try again in a minute" in result.message
        assert ec2_calls(aws_faults)[:3] == DRY_RUN_THEN_STOP[:3]
        assert only_row().result == Result.FAILED

    def test_a_role_that_cannot_be_assumed(self, olivia, box, aws_faults):
        aws_module.clear_credential_cache()
        aws_faults.fail("AssumeRole", "AccessDenied", "not authorized to assume", status=403)

        result = stop_start.stop_instance(box, actor=olivia)

        assert result.result == Result.FAILED
        assert "Could not assume the role" in result.message
        assert ec2_calls(aws_faults) == []
        assert only_row().error_code == "AccessDenied"


@pytest.mark.django_db
class TestAuditLog:
    def test_rows_cannot_be_changed_or_deleted(self, olivia, box):
        stop_start.stop_instance(box, actor=olivia)
        row = only_row()

        row.message = "rewritten"
        with pytest.raises(TypeError, match="append-only"):
            row.save()
        with pytest.raises(TypeError, match="append-only"):
            row.delete()
        with pytest.raises(TypeError, match="append-only"):
            InstanceAction.objects.update(message="rewritten")
        with pytest.raises(TypeError, match="append-only"):
            InstanceAction.objects.all().delete()

    def test_the_record_outlives_the_instance_row_and_the_user(self, olivia, box):
        stop_start.stop_instance(box, actor=olivia)

        box.delete()
        olivia.delete()

        row = only_row()
        assert (row.instance, row.actor) == (None, None)
        assert (row.aws_instance_id, row.actor_label) == (box.instance_id, "olivia")


# --- The admin --------------------------------------------------------------------------------


def staff(user, *codenames):
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["costs", "fleet", "findings", "actions"],
            codename__in=codenames,
        )
    )
    return user


def post_action(client, changelist, action, pks, **extra):
    return client.post(
        reverse(changelist),
        {"action": action, "_selected_action": [str(pk) for pk in pks], **extra},
    )


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
class TestAdminActions:
    INSTANCES = "admin:fleet_instance_changelist"
    RECOMMENDATIONS = "admin:findings_recommendation_changelist"

    def test_the_confirmation_page_lists_instances_and_saving_and_changes_nothing(
        self, client, olivia, box, ec2, aws_faults
    ):
        idle_recommendation(box, saving="61.32")
        other = synced(box.account, launch(ec2, "build-box"))
        aws_faults.requests.clear()
        client.force_login(staff(olivia, "view_instance"))

        response = post_action(client, self.INSTANCES, "stop_selected", [box.pk, other.pk])

        assert response.status_code == 200
        assert response.templates[0].name == "admin/actions/confirm_instance_action.html"
        page = response.content.decode()
        assert "dev-box" in page and "build-box" in page
        assert "$61.32" in page  # the recommendation's figure
        # build-box has no recommendation: the same price-table estimate detection uses.
        rows = {row["instance"].pk: row["saving"] for row in response.context["rows"]}
        assert rows[other.pk] > 0
        assert response.context["total"] == Decimal("61.32") + rows[other.pk]
        assert 'name="confirm" value="yes"' in page
        assert ec2_calls(aws_faults) == []
        assert not InstanceAction.objects.exists()
        assert state_in_aws(ec2, box.instance_id) == "running"

    def test_confirming_stops_them_as_the_signed_in_user(self, client, olivia, box, ec2):
        client.force_login(staff(olivia, "view_instance"))

        response = post_action(client, self.INSTANCES, "stop_selected", [box.pk], confirm="yes")

        assert response.status_code == 302
        assert state_in_aws(ec2, box.instance_id) == "stopped"
        assert only_row().actor == olivia
        assert any(m.startswith("Stopped dev-box") for m in texts(response))

    def test_start_selected_instances(self, client, olivia, box, ec2):
        ec2.stop_instances(InstanceIds=[box.instance_id])
        client.force_login(staff(olivia, "view_instance"))

        page = post_action(client, self.INSTANCES, "start_selected", [box.pk])
        assert "Monthly cost when running" in page.content.decode()
        post_action(client, self.INSTANCES, "start_selected", [box.pk], confirm="yes")

        assert state_in_aws(ec2, box.instance_id) == "running"

    def test_a_viewer_is_refused_on_the_record(self, client, bob, box, ec2, aws_faults):
        client.force_login(staff(bob, "view_instance"))

        page = post_action(client, self.INSTANCES, "stop_selected", [box.pk])
        assert "refused: only operators and admins" in page.content.decode()
        response = post_action(client, self.INSTANCES, "stop_selected", [box.pk], confirm="yes")

        assert any("Only operators and admins" in m for m in texts(response))
        assert ec2_calls(aws_faults) == []
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert only_row().result == Result.REFUSED

    def test_another_organisations_instance_cannot_be_selected(self, client, charlie, box, ec2):
        client.force_login(staff(charlie, "view_instance"))

        response = post_action(client, self.INSTANCES, "stop_selected", [box.pk], confirm="yes")

        # Outside charlie's queryset: the admin sees no selection at all.
        assert response.status_code == 302
        assert state_in_aws(ec2, box.instance_id) == "running"
        assert not InstanceAction.objects.exists()

    def test_from_idle_recommendations(self, client, olivia, box, ec2, aws_faults):
        rec = idle_recommendation(box, saving="12.50")
        waste = Recommendation.objects.create(
            account=box.account,
            kind=Recommendation.Kind.UNATTACHED_VOLUME,
            resource_id="vol-0abc",
            region="us-east-1",
            summary="unattached",
            action="Delete it",
            saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        )
        client.force_login(staff(olivia, "view_recommendation"))

        page = post_action(client, self.RECOMMENDATIONS, "stop_selected", [rec.pk, waste.pk])
        body = page.content.decode()
        assert "dev-box" in body and "$12.50" in body
        assert "1 selected row is not an idle instance" in body
        assert ec2_calls(aws_faults) == []

        post_action(client, self.RECOMMENDATIONS, "stop_selected", [rec.pk], confirm="yes")

        assert state_in_aws(ec2, box.instance_id) == "stopped"
        assert only_row().recommendation == rec
        rec.refresh_from_db()
        assert rec.status == Recommendation.Status.APPLIED

    def test_nothing_to_act_on(self, client, olivia, acme_account):
        waste = Recommendation.objects.create(
            account=acme_account,
            kind=Recommendation.Kind.GP2_VOLUME,
            resource_id="vol-0abc",
            region="us-east-1",
            summary="gp2",
            action="Migrate",
            saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        )
        client.force_login(staff(olivia, "view_recommendation"))

        response = post_action(client, self.RECOMMENDATIONS, "stop_selected", [waste.pk])

        assert response.status_code == 302
        assert any("None of the selected rows" in m for m in texts(response))


@pytest.mark.django_db
class TestAuditAdmin:
    def test_the_log_is_read_only_and_scoped(self, client, olivia, charlie, box):
        stop_start.stop_instance(box, actor=olivia)
        row = only_row()
        client.force_login(staff(olivia, "view_instanceaction"))

        listing = client.get(reverse("admin:actions_instanceaction_changelist"))
        detail = client.get(reverse("admin:actions_instanceaction_change", args=[row.pk]))
        delete = client.get(reverse("admin:actions_instanceaction_delete", args=[row.pk]))

        assert listing.status_code == 200 and box.instance_id in listing.content.decode()
        assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
        assert delete.status_code == 403

        client.force_login(staff(charlie, "view_instanceaction", "change_instanceaction"))
        listing = client.get(reverse("admin:actions_instanceaction_changelist"))
        assert box.instance_id not in listing.content.decode()
