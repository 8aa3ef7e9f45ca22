"""The alert preferences each person sets on their profile page."""

from django import forms

from accounts.models import Profile
from alerts.models import AlertKind


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
