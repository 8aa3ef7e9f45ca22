import pytest
from django.core.exceptions import ValidationError

from accounts.models import CloudAccount, Organization, Role

VALID = {
    "account_id": "123456789012",
    "role_arn": "arn:aws:iam::123456789012:role/SpendlensAccess",
    "regions": ["us-east-1", "eu-west-1"],
}


def account(org, **overrides):
    return CloudAccount(organization=org, **{**VALID, **overrides})


def errors_of(instance):
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return excinfo.value.message_dict


@pytest.mark.django_db
class TestCloudAccountValidation:
    def test_a_valid_account_passes(self, acme):
        account(acme).full_clean()

    def test_account_id_with_11_digits(self, acme):
        errors = errors_of(account(acme, account_id="12345678901"))
        assert "An AWS account ID is exactly 12 digits" in errors["account_id"][0]

    def test_malformed_role_arn(self, acme):
        errors = errors_of(account(acme, role_arn="arn:aws:iam:123456789012:SpendlensAccess"))
        assert errors["role_arn"] == [
            "Enter an IAM role ARN like arn:aws:iam::123456789012:role/SpendlensAccess."
        ]

    def test_user_arn_is_not_a_role(self, acme):
        errors = errors_of(account(acme, role_arn="arn:aws:iam::123456789012:user/bob"))
        assert "Enter an IAM role ARN" in errors["role_arn"][0]

    def test_role_of_another_account(self, acme):
        errors = errors_of(account(acme, role_arn="arn:aws:iam::999999999999:role/Spendlens"))
        assert errors["role_arn"] == [
            "This role belongs to account 999999999999, not 123456789012: "
            "the role must live in the account it reads."
        ]

    def test_unknown_region(self, acme):
        errors = errors_of(account(acme, regions=["us-east-1", "mars-north-1"]))
        assert errors["regions"] == ["Unknown AWS region: mars-north-1."]

    def test_no_region(self, acme):
        errors = errors_of(account(acme, regions=[]))
        assert errors["regions"] == ["Choose at least one region, e.g. us-east-1."]

    def test_role_path_is_allowed_and_regions_are_normalised(self, acme):
        instance = account(
            acme,
            role_arn="arn:aws:iam::123456789012:role/finops/SpendlensAccess",
            regions=" us-east-1 , us-east-1,eu-west-1",
        )
        instance.full_clean()
        assert instance.regions == ["us-east-1", "eu-west-1"]

    def test_a_bad_account_id_is_reported_once(self, acme):
        errors = errors_of(account(acme, account_id="12345"))
        assert len(errors["account_id"]) == 1

    @pytest.mark.parametrize(
        ("role_arn", "region"),
        [
            ("arn:aws-cn:iam::123456789012:role/ops/SpendlensAccess", "cn-northwest-1"),
            ("arn:aws-us-gov:iam::123456789012:role/SpendlensAccess", "us-gov-east-1"),
        ],
    )
    def test_roles_in_the_china_and_govcloud_partitions(self, acme, settings, role_arn, region):
        partition = role_arn.split(":")[1]
        settings.PLATFORM_ROLE_ARN = f"arn:{partition}:iam::210987654321:role/spendlens-task"

        account(acme, role_arn=role_arn, regions=[region]).full_clean()

        errors = errors_of(account(acme, role_arn=role_arn, regions=["us-east-1"]))
        assert errors["regions"] == [f"Unknown AWS region in the {partition} partition: us-east-1."]

    def test_a_role_in_another_partition_than_the_platform(self, acme, settings):
        settings.PLATFORM_ROLE_ARN = "arn:aws:iam::210987654321:role/spendlens-task"

        errors = errors_of(
            account(
                acme,
                role_arn="arn:aws-cn:iam::123456789012:role/SpendlensAccess",
                regions=["cn-north-1"],
            )
        )

        assert errors["role_arn"] == [
            "This role is in the aws-cn partition but Spendlens runs in aws: AWS does not let "
            "a role be assumed from another partition."
        ]

    def test_a_role_name_longer_than_iam_allows(self, acme):
        errors = errors_of(account(acme, role_arn=f"arn:aws:iam::123456789012:role/{'R' * 65}"))
        assert errors["role_arn"] == ["An IAM role name has at most 64 characters; this has 65."]

    def test_a_role_name_outside_iams_characters(self, acme):
        errors = errors_of(account(acme, role_arn="arn:aws:iam::123456789012:role/Spéndlens"))
        assert "Enter an IAM role ARN" in errors["role_arn"][0]

    def test_same_account_twice_in_one_organisation(self, acme):
        account(acme).save()
        errors = errors_of(account(acme))
        assert "__all__" in errors


@pytest.mark.django_db
class TestExternalId:
    def test_generated_by_the_server_unguessable_and_unique(self, acme, globex):
        first = account(acme)
        first.save()
        second = account(globex)
        second.save()
        assert len(first.external_id) >= 40
        assert first.external_id != second.external_id

    def test_cannot_be_changed_once_saved(self, acme):
        instance = account(acme)
        instance.save()
        instance.external_id = "chosen-by-the-user"
        with pytest.raises(ValidationError, match="cannot be changed"):
            instance.save()
        instance.refresh_from_db()
        assert instance.external_id != "chosen-by-the-user"

    def test_not_editable_in_forms(self):
        from accounts.forms import CloudAccountForm

        assert "external_id" not in CloudAccountForm.base_fields


@pytest.mark.django_db
class TestTenantScoping:
    def test_for_user_only_returns_the_users_organisations(self, alice, charlie, acme_account):
        assert list(CloudAccount.objects.for_user(alice)) == [acme_account]
        assert list(CloudAccount.objects.for_user(charlie)) == []
        assert [o.slug for o in Organization.objects.for_user(charlie)] == ["globex"]

    def test_anonymous_sees_nothing(self, acme_account):
        from django.contrib.auth.models import AnonymousUser

        assert not CloudAccount.objects.for_user(AnonymousUser()).exists()

    def test_roles_are_ordered(self, acme, alice, bob):
        assert acme.user_has_role(alice, Role.OPERATOR)
        assert acme.user_has_role(bob, Role.VIEWER)
        assert not acme.user_has_role(bob, Role.OPERATOR)
