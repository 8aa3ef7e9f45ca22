"""The allocation pages' forms: a month, a re-allocation window, a tag key to cover."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from allocation.models import TAG_KEY, FollowedValue
from allocation.periods import parse_month

MONTH_WIDGET = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
EARLIEST = date(2000, 1, 1)


class MonthField(forms.CharField):
    """A month written YYYY-MM (what <input type="month"> sends), cleaned to its first day."""

    widget = MONTH_WIDGET

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_month(text)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class MonthForm(forms.Form):
    month = MonthField(required=False, help_text="Empty for the current month.")

    def chosen(self) -> date:
        return self.cleaned_data.get("month") or timezone.localdate().replace(day=1)


class CoverageForm(MonthForm):
    key = forms.CharField(
        max_length=128,
        validators=[TAG_KEY],
        widget=forms.TextInput(attrs={"list": "sl-tag-keys"}),
        help_text="The tag key whose coverage to show, as AWS writes it (e.g. team, user:team).",
    )


class ReallocateForm(forms.Form):
    """The window of history to re-allocate, both days included."""

    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        today = timezone.localdate()
        if start and start < EARLIEST:
            self.add_error("start", f"Start on {EARLIEST} or later.")
        if end and end > today:
            self.add_error("end", f"End today ({today}) at the latest: there is no spend after.")
        if start and end and start > end:
            self.add_error("end", "The end comes before the start.")
        return data


class FollowedValueForm(forms.ModelForm):
    class Meta:
        model = FollowedValue
        fields = ["user", "dimension", "value"]

    def clean(self):
        data = super().clean()
        user, dimension = data.get("user"), data.get("dimension")
        if user and dimension:
            members = dimension.organization.memberships.filter(user=user)
            if not members.exists():
                self.add_error("user", f"{user} is not a member of {dimension.organization}.")
        return data
