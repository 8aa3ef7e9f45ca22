from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from accounts.models import CloudAccount, Organization, Role, SingleSignOn


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Alerts and password resets go here.")
    organization_name = forms.CharField(
        max_length=120,
        label="Organisation",
        help_text="Your team or company; you become its admin.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class RegionsField(forms.CharField):
    """Comma-separated region names in the form, a list in the model."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return [part.strip() for part in value.split(",") if part.strip()]


class CheckedInCleanMixin:
    """CloudAccount.clean() explains an empty account ID, role ARN or region list itself (with
    an example); the form's own "This field is required." on top said it twice."""

    checked_in_clean = ("account_id", "role_arn", "regions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.checked_in_clean:
            if name in self.fields:
                self.fields[name].required = False
                # Still announced as required: only the duplicate message goes.
                self.fields[name].widget.attrs["aria-required"] = "true"


class CloudAccountAdminForm(CheckedInCleanMixin, forms.ModelForm):
    class Meta:
        model = CloudAccount
        fields = (
            "organization",
            "name",
            "account_id",
            "role_arn",
            "regions",
            "is_active",
            "is_management",
        )


class CloudAccountForm(CheckedInCleanMixin, forms.ModelForm):
    regions = RegionsField(help_text="Comma-separated, e.g. us-east-1, eu-west-1.")

    class Meta:
        model = CloudAccount
        fields = (
            "organization",
            "name",
            "account_id",
            "role_arn",
            "regions",
            "is_management",
            "is_active",
        )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only organisations where the user is an admin can receive new accounts.
        allowed = [
            org.pk
            for org in Organization.objects.for_user(user)
            if org.user_has_role(user, Role.ADMIN)
        ]
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=allowed)
        if len(allowed) == 1:
            self.fields["organization"].initial = allowed[0]


class SingleSignOnAdminForm(forms.ModelForm):
    """The client secret is write-only: never sent back to the browser; empty keeps it."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: never shown again. Leave empty to keep the saved secret.",
    )

    class Meta:
        model = SingleSignOn
        fields = (
            "organization",
            "name",
            "slug",
            "enabled",
            "issuer",
            "client_id",
            "client_secret",
            "scopes",
            "groups_claim",
            "group_roles",
            "email_domains",
            "domain_role",
        )

    def clean_client_secret(self):
        return self.cleaned_data["client_secret"] or self.instance.client_secret

    def clean_issuer(self):
        # The issuer, not its discovery document's URL (which is derived from it).
        issuer = self.cleaned_data["issuer"].rstrip("/")
        return issuer.removesuffix("/.well-known/openid-configuration")
