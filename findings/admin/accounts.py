"""The AWS accounts page, with each account's open recommendations and what they would save."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, Sum

from accounts.admin import CloudAccountAdmin as AccountsCloudAccountAdmin
from accounts.models import CloudAccount
from config.admin_display import EMPTY, money
from findings.models import Recommendation

OPEN = Q(recommendations__status=Recommendation.Status.OPEN)


class CloudAccountAdmin(AccountsCloudAccountAdmin):
    list_display = [
        *AccountsCloudAccountAdmin.list_display,
        "open_recommendations",
        "open_saving_money",
    ]

    def get_queryset(self, request):
        # One join (recommendations) per row, so the sum and the count agree.
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_count=Count("recommendations", filter=OPEN),
                open_saving=Sum("recommendations__monthly_saving", filter=OPEN),
            )
        )

    @admin.display(description="open recommendations", ordering="open_count")
    def open_recommendations(self, obj):
        return obj.open_count

    @admin.display(description="possible saving", ordering="open_saving")
    def open_saving_money(self, obj):
        return money(obj.open_saving, per="/month") if obj.open_count else EMPTY


admin.site.unregister(CloudAccount)
admin.site.register(CloudAccount, CloudAccountAdmin)
