"""Admin actions that stop or start instances, always behind a confirmation page.

The first POST (choosing the action in the change list) only renders the page: the instances,
what each saves per month, and what Spendlens already knows will be refused. Only the
confirming POST calls actions.stop_start, once per instance, as the signed-in user; that function
does every check again against AWS, so the page's notes are a courtesy, not the gate.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils import timezone

from actions import stop_start
from actions.models import InstanceAction
from costs.money import CENT
from findings import savings
from findings.models import Recommendation

Result = InstanceAction.Result
LEVELS = {
    Result.SUCCEEDED: messages.SUCCESS,
    Result.NO_OP: messages.INFO,
    Result.DRY_RUN: messages.INFO,
    Result.REFUSED: messages.WARNING,
    Result.FAILED: messages.ERROR,
}
VERBS = {"stop": ("Stop", "stopped"), "start": ("Start", "started")}
IDLE = Recommendation.Kind.IDLE_INSTANCE


class InstanceActionsMixin:
    """For a ModelAdmin whose rows lead to instances (instances, idle recommendations)."""

    confirmation_template = "admin/actions/confirm_instance_action.html"

    def idle_instances(self, queryset):
        """(instance, recommendation) pairs of the selected idle-instance recommendations."""
        return [
            (rec.instance, rec)
            for rec in queryset.select_related("instance__account__organization")
            if rec.kind == Recommendation.Kind.IDLE_INSTANCE and rec.instance is not None
        ]

    def confirm_or_perform(self, request, action: str, queryset, items):
        if not items:
            self.message_user(
                request,
                "None of the selected rows is an instance Spendlens can stop or start "
                "(only idle-instance recommendations lead to one).",
                messages.WARNING,
            )
            return None
        if request.POST.get("confirm") == "yes":
            return self._perform(request, action, items)
        return self._confirmation_page(request, action, queryset, items)

    def _perform(self, request, action, items):
        run = stop_start.stop_instance if action == "stop" else stop_start.start_instance
        for instance, rec in items:
            result = run(instance, actor=request.user, reason=rec)
            self.message_user(request, result.message, LEVELS[result.result])
        return None  # back to the change list, with one message per instance

    def _confirmation_page(self, request, action, queryset, items):
        today = timezone.localdate()
        refusal = stop_start.Refusals(request.user, action)
        rows = [
            {
                "instance": instance,
                "saving": monthly_saving(instance, rec, today),
                "note": refusal(instance),
                "recommendation": rec,
            }
            for instance, rec in items
        ]
        verb, _ = VERBS[action]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} {len(rows)} instance{'s' if len(rows) != 1 else ''}?",
            "opts": self.model._meta,
            "action": action,
            "action_name": request.POST.get("action", ""),
            "verb": verb,
            "rows": rows,
            "total": sum((row["saving"] for row in rows if not row["note"]), Decimal(0)),
            "left_out": queryset.count() - len(items),
            "selected_pks": [obj.pk for obj in queryset],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.confirmation_template, context)


def monthly_saving(instance, rec, today) -> Decimal:
    """The recommendation's figure when there is one, else the same estimate detection uses."""
    if rec is None:
        rec = next((r for r in _open_recommendations(instance) if r.kind == IDLE), None)
    if rec is not None:
        return rec.monthly_saving
    saving, _, _ = savings.instance_stop_saving(instance.account, instance, today)
    return saving.quantize(CENT)


def _open_recommendations(instance):
    # The instances page prefetches them (fleet/admin/inventory.py); elsewhere, ask.
    if hasattr(instance, "open_recommendations"):
        return instance.open_recommendations
    return instance.recommendations.filter(status=Recommendation.Status.OPEN, kind=IDLE)[:1]
