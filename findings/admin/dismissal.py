"""Dismiss and snooze admin actions for recommendations, always behind a form that asks why.

The first POST (the action chosen in the change list) renders the form: the selected
recommendations, their savings and what will be left out. The second, with confirm=yes and a
valid form, calls findings.recommendations.dismiss() for each one the user may change. Dismissing
hides a saving from the whole organisation (and cancels a pending auto-stop), so only its
operators and admins may do it, the same role that stops instances; the check runs again on the
confirming POST, so the form's notes are a courtesy, not the gate.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import Role
from config.admin_display import money
from findings.models import Recommendation
from findings.recommendations import LIVE, dismiss


class DismissForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Shown with the recommendation, e.g. “kept for the quarterly audit”.",
    )


class SnoozeForm(DismissForm):
    snooze_until = forms.DateField(
        label="Snooze until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first detection run on or after this date reopens it if it still holds.",
    )

    def clean_snooze_until(self):
        until = self.cleaned_data["snooze_until"]
        if until <= timezone.localdate():
            raise forms.ValidationError("Snooze until a future date.")
        return until


class RecommendationDismissalMixin:
    """dismiss_selected and snooze_selected actions for the recommendation ModelAdmin."""

    dismissal_template = "admin/findings/confirm_dismissal.html"

    @admin.action(description="Dismiss selected recommendations…")
    def dismiss_selected(self, request, queryset):
        return self._dismiss_or_ask(request, queryset, DismissForm, "dismiss")

    @admin.action(description="Snooze selected recommendations…")
    def snooze_selected(self, request, queryset):
        return self._dismiss_or_ask(request, queryset, SnoozeForm, "snooze")

    def _dismiss_or_ask(self, request, queryset, form_class, verb):
        recs = list(queryset.select_related("account__organization"))
        notes = _notes(request.user, recs)
        if all(notes.values()):
            reasons = Counter(notes.values())
            summary = "; ".join(f"{n} {why}" for why, n in reasons.items())
            self.message_user(request, f"Nothing to {verb}: {summary}.", messages.WARNING)
            return None
        confirmed = request.POST.get("confirm") == "yes"
        form = form_class(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            return self._dismiss_all(request, recs, notes, form.cleaned_data)
        return self._dismissal_page(request, verb, form, recs, notes)

    def _dismiss_all(self, request, recs, notes, data):
        reason, until = data["reason"], data.get("snooze_until")
        past = "Snoozed" if until else "Dismissed"
        when = f" until {until:%Y-%m-%d}" if until else ""
        done = [rec for rec in recs if not notes[rec.pk]]
        for rec in done:
            dismiss(rec, reason, until)
            # Django's own history of the object: who set it aside, when, and why.
            self.log_change(request, rec, f"{past}{when}: {reason}")
        total = sum((rec.monthly_saving for rec in done), Decimal(0))
        self.message_user(
            request,
            f"{past} {len(done)} recommendation{'s' if len(done) != 1 else ''}{when} "
            f"({money(total, per='/month')} of savings set aside).",
            messages.SUCCESS,
        )
        skipped = Counter(note for note in notes.values() if note)
        if skipped:
            summary = "; ".join(f"{n} {why}" for why, n in skipped.items())
            self.message_user(request, f"Left as they were: {summary}.", messages.WARNING)
        return None  # back to the change list

    def _dismissal_page(self, request, verb, form, recs, notes):
        rows = [
            {"rec": rec, "saving": money(rec.monthly_saving), "note": notes[rec.pk]} for rec in recs
        ]
        actionable = [row["rec"] for row in rows if not row["note"]]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb.capitalize()} {len(actionable)} "
            f"recommendation{'s' if len(actionable) != 1 else ''}?",
            "opts": self.model._meta,
            "verb": verb,
            "form": form,
            "rows": rows,
            "actionable": len(actionable),
            "total": money(sum((rec.monthly_saving for rec in actionable), Decimal(0))),
            "action_name": request.POST.get("action", ""),
            "selected_pks": [rec.pk for rec in recs],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.dismissal_template, context)


def _notes(user, recs: list[Recommendation]) -> dict[int, str]:
    """Why each recommendation will be left as it is ("" when it will not)."""
    operator_of = {}  # one role lookup per organisation, however many rows are selected
    notes = {}
    for rec in recs:
        organization = rec.account.organization
        if organization.pk not in operator_of:
            operator_of[organization.pk] = organization.user_has_role(user, Role.OPERATOR)
        if not operator_of[organization.pk]:
            notes[rec.pk] = "refused: only operators and admins can dismiss or snooze"
        elif rec.status not in LIVE:
            notes[rec.pk] = f"nothing to do: already {rec.get_status_display()}"
        else:
            notes[rec.pk] = ""
    return notes
