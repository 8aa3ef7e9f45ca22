"""The alert preferences each person sets on their profile page, and the channel form."""

from django import forms

from accounts.models import Profile
from alerts import outbound
from alerts.models import AlertKind, Channel


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
        fields = (
            "alert_email",
            "email_enabled",
            "cooldown_minutes",
            "weekly_report_enabled",
            "weekly_report_weekday",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        muted = set(self.instance.muted_alert_kinds or [])
        self.fields["email_kinds"].initial = [k for k in AlertKind.values if k not in muted]
        # A form posted without the day (an older page) keeps the day already chosen.
        self.fields["weekly_report_weekday"].required = False

    def clean_weekly_report_weekday(self):
        day = self.cleaned_data.get("weekly_report_weekday")
        return self.instance.weekly_report_weekday if day in (None, "") else day

    def save(self, commit=True):
        kept = set(self.cleaned_data.get("email_kinds") or [])
        self.instance.muted_alert_kinds = [k for k in AlertKind.values if k not in kept]
        return super().save(commit=commit)


class SecretInput(forms.PasswordInput):
    """Write-only: the stored value is never put back into the page."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})}, render_value=False)


class ChannelForm(forms.ModelForm):
    """A channel's settings; its URL and key are write-only (blank on edit keeps them).

    The URL is checked by the outbound guard at save, so a URL a worker would refuse (http,
    a private address, a host that does not resolve) is a form error, not a failed delivery.
    """

    url = forms.CharField(
        label="URL",
        max_length=2000,
        required=False,
        widget=SecretInput,
        help_text="The webhook URL (https). Never shown again once saved; leave blank to keep "
        "the stored one.",
    )
    secret = forms.CharField(
        label="Signing key",
        max_length=200,
        required=False,
        widget=SecretInput,
        help_text="Webhooks: the HMAC-SHA256 key. Blank: generated on creation, kept on edit.",
    )
    kinds = forms.MultipleChoiceField(
        label="Alert kinds",
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    dimension_values = forms.CharField(
        label="Values",
        required=False,
        help_text="Comma-separated values of the dimension; blank: every value.",
    )

    class Meta:
        model = Channel
        fields = (
            "organization",
            "name",
            "kind",
            "url",
            "secret",
            "active",
            "kinds",
            "accounts",
            "dimension",
            "dimension_values",
            "cooldown_minutes",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["url"] = self.initial["secret"] = ""
        self.initial["dimension_values"] = ", ".join(self.instance.dimension_values or [])
        if self.instance.pk:
            self.fields["url"].help_text = (
                f"Stored: {self.instance.url_host} Leave blank to keep it; type a new one to "
                "replace it."
            )

    def clean_url(self):
        url = self.cleaned_data.get("url", "").strip()
        if not url:
            if not self.instance.pk:
                raise forms.ValidationError("A channel needs its webhook URL.")
            return self.instance.url
        try:
            return outbound.check_url(url)
        except outbound.Refused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_secret(self):
        return self.cleaned_data.get("secret") or self.instance.secret

    def clean_dimension_values(self):
        raw = self.cleaned_data.get("dimension_values") or ""
        return [value.strip() for value in raw.split(",") if value.strip()]

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        if organization is not None:
            if any(a.organization_id != organization.pk for a in cleaned.get("accounts") or []):
                self.add_error("accounts", "Those accounts belong to another organisation.")
            dimension = cleaned.get("dimension")
            if dimension is not None and dimension.organization_id != organization.pk:
                self.add_error("dimension", "That dimension belongs to another organisation.")
        if cleaned.get("dimension_values") and not cleaned.get("dimension"):
            self.add_error("dimension_values", "Values need their dimension.")
        return cleaned
