from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from accounts.models import CloudAccount, Organization, Profile, Role
from alerts.models import AlertKind


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


class ProfileForm(forms.ModelForm):
    email_kinds = forms.MultipleChoiceField(
        label="E-mail me about",
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Untick a kind to stop its e-mails; it is still recorded in the alert history.",
    )

    class Meta:
        model = Profile
        fields = ("alert_email", "email_enabled", "cooldown_minutes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        muted = set(self.instance.muted_alert_kinds or [])
        self.fields["email_kinds"].initial = [k for k in AlertKind.values if k not in muted]

    def save(self, commit=True):
        kept = set(self.cleaned_data.get("email_kinds") or [])
        self.instance.muted_alert_kinds = [k for k in AlertKind.values if k not in kept]
        return super().save(commit=commit)


class RegionsField(forms.CharField):
    """Comma-separated region names in the form, a list in the model."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return [part.strip() for part in value.split(",") if part.strip()]


class CloudAccountForm(forms.ModelForm):
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
