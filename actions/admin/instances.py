"""Stop and Start on the Instances and Recommendations pages of the earlier stages."""

from __future__ import annotations

from django.contrib import admin

from actions.admin.instance_actions import InstanceActionsMixin
from findings.admin.instances import InstanceAdmin as FindingsInstanceAdmin
from findings.admin.recommendations import RecommendationAdmin as FindingsRecommendationAdmin
from findings.models import Recommendation
from fleet.models import Instance


class InstanceAdmin(InstanceActionsMixin, FindingsInstanceAdmin):
    actions = ["stop_selected", "start_selected"]

    @admin.action(description="Stop selected instances")
    def stop_selected(self, request, queryset):
        items = [(i, None) for i in queryset.select_related("account__organization")]
        return self.confirm_or_perform(request, "stop", queryset, items)

    @admin.action(description="Start selected instances")
    def start_selected(self, request, queryset):
        items = [(i, None) for i in queryset.select_related("account__organization")]
        return self.confirm_or_perform(request, "start", queryset, items)


class RecommendationAdmin(InstanceActionsMixin, FindingsRecommendationAdmin):
    actions = ["stop_selected", "start_selected", *FindingsRecommendationAdmin.actions]

    @admin.action(description="Stop selected instances (idle recommendations)")
    def stop_selected(self, request, queryset):
        items = self.idle_instances(queryset)
        return self.confirm_or_perform(request, "stop", queryset, items)

    @admin.action(description="Start selected instances (idle recommendations)")
    def start_selected(self, request, queryset):
        items = self.idle_instances(queryset)
        return self.confirm_or_perform(request, "start", queryset, items)


admin.site.unregister(Instance)
admin.site.register(Instance, InstanceAdmin)
admin.site.unregister(Recommendation)
admin.site.register(Recommendation, RecommendationAdmin)
