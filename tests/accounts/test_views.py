import html
import re
import shlex

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import CloudAccount, Membership, Profile

pytestmark = pytest.mark.django_db


class TestSignupAndProfile:
    def test_signup_creates_an_organisation_with_the_user_as_admin(self, client):
        response = client.post(
            reverse("signup"),
            {
                "username": "dora",
                "email": "dora@example.com",
                "organization_name": "Dora's Dogs",
                "password1": "a-Long-passphrase-42",
                "password2": "a-Long-passphrase-42",
            },
        )

        assert response.status_code == 302
        membership = Membership.objects.get(user__username="dora")
        assert membership.role == "admin"
        assert membership.organization.slug == "doras-dogs"

    def test_signup_with_bad_input_shows_errors_not_a_500(self, client):
        response = client.post(reverse("signup"), {"username": "", "password1": "x"})

        assert response.status_code == 200
        assert b"This field is required." in response.content

    def test_profile_saves_alert_preferences(self, client, alice):
        client.force_login(alice)

        response = client.post(
            reverse("profile"),
            {"alert_email": "finops@acme.test", "email_enabled": "on", "cooldown_minutes": "30"},
        )

        assert response.status_code == 302
        profile = Profile.objects.get(user=alice)
        assert (profile.alert_email, profile.cooldown_minutes) == ("finops@acme.test", 30)

    def test_profile_rejects_a_bad_cooldown(self, client, alice):
        client.force_login(alice)

        response = client.post(reverse("profile"), {"cooldown_minutes": "-5"})

        assert response.status_code == 200
        assert b"Ensure this value is greater than or equal to" in response.content

    def test_password_reset_sends_an_email(self, client, alice):
        response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

        assert response.status_code == 302
        assert len(mail.outbox) == 1
        assert "/accounts/reset/" in mail.outbox[0].body

    def test_login_and_logout(self, client, alice):
        response = client.post(
            reverse("login"), {"username": "alice", "password": "pw-alice-Secret1"}
        )
        assert response.status_code == 302
        assert client.get("/").status_code == 200

        client.post(reverse("logout"))
        assert client.get("/").status_code == 302


class TestCloudAccountPages:
    def add(self, client, **overrides):
        data = {
            "name": "Staging",
            "account_id": "222222222222",
            "role_arn": "arn:aws:iam::222222222222:role/SpendlensAccess",
            "regions": "us-east-1, eu-west-1",
            "is_active": "on",
            **overrides,
        }
        return client.post(reverse("cloud-account-list"), data)

    def test_admin_adds_an_account_and_sees_its_onboarding(self, client, alice, acme):
        client.force_login(alice)

        response = self.add(client, organization=acme.pk)

        account = CloudAccount.objects.get(account_id="222222222222")
        assert response.status_code == 302
        assert account.regions == ["us-east-1", "eu-west-1"]
        page = client.get(account.get_absolute_url()).content.decode()
        assert account.external_id in page
        assert "sts:ExternalId" in page
        assert "AWS::IAM::Role" in page
        assert "module &quot;spendlens_access&quot;" in page

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("account_id", "22222222222", "exactly 12 digits"),
            ("role_arn", "not-an-arn", "Enter an IAM role ARN"),
            ("regions", "us-east-1, atlantis-1", "Unknown AWS region: atlantis-1."),
            ("role_arn", "arn:aws:iam::333333333333:role/X", "belongs to account 333333333333"),
        ],
    )
    def test_bad_input_is_explained(self, client, alice, acme, field, value, message):
        client.force_login(alice)

        response = self.add(client, organization=acme.pk, **{field: value})

        assert response.status_code == 200
        assert message in response.content.decode()
        assert not CloudAccount.objects.exists()

    def test_a_viewer_cannot_add_accounts(self, client, bob, acme):
        client.force_login(bob)

        response = self.add(client, organization=acme.pk)

        assert response.status_code == 404
        assert not CloudAccount.objects.exists()

    def test_nobody_can_add_to_another_organisation(self, client, charlie, acme):
        client.force_login(charlie)

        response = self.add(client, organization=acme.pk)

        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        assert not CloudAccount.objects.exists()

    def test_a_viewer_sees_but_cannot_test(self, client, bob, acme_account):
        client.force_login(bob)

        page = client.get(acme_account.get_absolute_url())
        response = client.post(reverse("cloud-account-test", args=[acme_account.pk]), follow=True)

        assert page.status_code == 200
        assert b"Test connection" not in page.content
        assert b"Only operators and admins can test a connection." in response.content


class TestIsolation:
    """charlie (another organisation) gets 404 for every page about alice's objects."""

    def test_charlie_gets_404_for_alice_account_pages(self, client, charlie, acme_account):
        client.force_login(charlie)

        detail = client.get(reverse("cloud-account-detail", args=[acme_account.pk]))
        test = client.post(reverse("cloud-account-test", args=[acme_account.pk]))
        listing = client.get(reverse("cloud-account-list"))

        assert detail.status_code == 404
        assert test.status_code == 404
        assert acme_account.external_id not in listing.content.decode()
        assert b"No account connected yet" in listing.content

    def test_charlie_as_staff_sees_no_acme_rows_in_the_admin(self, client, charlie, acme_account):
        from django.contrib.auth.models import Permission

        charlie.is_staff = True
        charlie.save()
        charlie.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
        client.force_login(charlie)

        changelist = client.get(reverse("admin:accounts_cloudaccount_changelist"))
        change = client.get(reverse("admin:accounts_cloudaccount_change", args=[acme_account.pk]))
        orgs = client.get(reverse("admin:accounts_organization_changelist"))

        assert changelist.status_code == 200
        assert acme_account.account_id not in changelist.content.decode()
        assert change.status_code == 302  # the admin's "does not exist" redirect, no details
        assert acme_account.external_id not in client.get(change["Location"]).content.decode()
        assert "Acme" not in orgs.content.decode()
        assert "Globex" in orgs.content.decode()

    def test_alice_as_staff_sees_her_account_and_trust_policy(self, client, alice, acme_account):
        alice.is_staff = alice.is_superuser = True
        alice.save()
        client.force_login(alice)

        change = client.get(reverse("admin:accounts_cloudaccount_change", args=[acme_account.pk]))

        assert change.status_code == 200
        assert acme_account.external_id in change.content.decode()


class TestCommands:
    def test_add_account_rejects_bad_input_with_a_clear_message(self):
        with pytest.raises(CommandError, match="role_arn: This role belongs to account 9999"):
            call_command(
                "add_account",
                "--org=acme",
                "--account-id=111111111111",
                "--role-arn=arn:aws:iam::999999999999:role/X",
                "--regions=us-east-1",
                "--no-test",
            )
        assert not CloudAccount.objects.exists()

    def test_add_account_twice_keeps_the_external_id(self, capsys):
        args = [
            "add_account",
            "--org=acme",
            "--account-id=111111111111",
            "--role-arn=arn:aws:iam::111111111111:role/SpendlensAccess",
            "--regions=us-east-1",
            "--no-test",
        ]
        call_command(*args)
        first = CloudAccount.objects.get().external_id
        call_command(*args[:-2], "--regions=us-east-1,eu-west-1", "--no-test")

        account = CloudAccount.objects.get()
        assert account.external_id == first
        assert account.regions == ["us-east-1", "eu-west-1"]

    def test_add_member_creates_the_user_and_sets_the_role(self, capsys):
        call_command("add_member", "--org=acme", "--username=erin", "--role=operator")
        call_command("add_member", "--org=acme", "--username=erin", "--role=admin")

        membership = Membership.objects.get(user__username="erin")
        assert membership.role == "admin"
        assert not membership.user.has_usable_password()

    def test_add_member_rejects_a_weak_password(self):
        with pytest.raises(CommandError, match="too short"):
            call_command(
                "add_member", "--org=acme", "--username=erin", "--role=viewer", "--password=abc"
            )


class TestConnectForm:
    """What a new user sees on the connect form, the onboarding page and the admin's form."""

    ARN_HINT = "arn:aws:iam::&lt;account ID&gt;:role/&lt;name&gt; of the role Spendlens assumes."

    def test_a_short_account_id_is_reported_once(self, client, alice, acme):
        client.force_login(alice)

        response = TestCloudAccountPages().add(client, organization=acme.pk, account_id="22222")

        assert response.status_code == 200
        assert response.content.decode().count("exactly 12 digits") == 1

    MISSING = (
        "An AWS account ID is exactly 12 digits, e.g. 123456789012.",
        "Enter an IAM role ARN like arn:aws:iam::123456789012:role/SpendlensAccess.",
    )

    def test_an_empty_form_explains_each_missing_field_once(self, client, alice, acme):
        client.force_login(alice)

        response = client.post(reverse("cloud-account-list"), {"organization": acme.pk})

        page = response.content.decode()
        assert response.status_code == 200
        for message in [*self.MISSING, "Choose at least one region, e.g. us-east-1."]:
            assert page.count(message) == 1, message
        assert "This field is required." not in page

    def test_the_admin_form_explains_each_missing_field_once(self, client, alice, acme):
        alice.is_staff = alice.is_superuser = True
        alice.save()
        client.force_login(alice)

        response = client.post(
            reverse("admin:accounts_cloudaccount_add"), {"organization": acme.pk}
        )

        page = response.content.decode()
        assert response.status_code == 200
        for message in [*self.MISSING, "Choose at least one region, e.g. us-east-1."]:
            assert page.count(message) == 1, message
        assert "This field is required." not in page

    def test_the_role_arn_hint_shows_its_placeholders(self, client, alice, acme):
        client.force_login(alice)

        page = client.get(reverse("cloud-account-list")).content.decode()

        assert self.ARN_HINT in page

    def test_the_admin_form_shows_the_role_arn_hint_too(self, client, alice, acme):
        alice.is_staff = alice.is_superuser = True
        alice.save()
        client.force_login(alice)

        page = client.get(reverse("admin:accounts_cloudaccount_add")).content.decode()

        assert self.ARN_HINT in page

    def test_the_onboarding_page_names_the_role_of_the_arn(self, client, alice, acme):
        client.force_login(alice)
        role_arn = "arn:aws:iam::222222222222:role/team/finops/SpendlensReadOnly"
        TestCloudAccountPages().add(client, organization=acme.pk, role_arn=role_arn)
        account = CloudAccount.objects.get(role_arn=role_arn)

        page = client.get(account.get_absolute_url()).content.decode()

        role = re.search(r'<p id="create-role">(.*?)</p>', page, re.S)[1]
        assert "named <code>SpendlensReadOnly</code>" in role
        assert "path <code>/team/finops/</code>" in role
        cli = html.unescape(re.search(r'<code id="aws-cli">(.*?)</code>', page, re.S)[1])
        commands = {tuple(words[:3]): words for words in map(shlex.split, cli.splitlines())}
        create = commands["aws", "iam", "create-role"]
        assert create[create.index("--path") + 1] == "/team/finops/"
        assert {c[c.index("--role-name") + 1] for c in commands.values()} == {"SpendlensReadOnly"}
        assert "SpendlensAccess" not in page

    def test_an_account_saved_with_an_arn_iam_would_refuse_shows_no_snippet(self, client, alice):
        # The old check let a trailing "/" through: no name, so no role any snippet can create.
        account = CloudAccount.objects.create(
            organization=alice.memberships.get().organization,
            account_id="222222222222",
            role_arn="arn:aws:iam::222222222222:role/finops/",
            regions=["us-east-1"],
        )
        alice.is_staff = alice.is_superuser = True
        alice.save()
        client.force_login(alice)

        page = client.get(account.get_absolute_url())
        admin_page = client.get(reverse("admin:accounts_cloudaccount_change", args=[account.pk]))

        assert page.status_code == admin_page.status_code == 200
        assert "is not an IAM role ARN" in page.content.decode()
        assert "AWS::IAM::Role" not in page.content.decode() + admin_page.content.decode()
