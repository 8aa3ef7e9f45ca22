"""The admin site: Django's own, with the cost overview on its index page."""

from django.contrib import admin
from django.utils import timezone

from costs.overview import page_context

# Operators come for costs and waste first; framework apps (auth, tasks, tokens) go last.
APP_ORDER = ["costs", "alerts", "accounts"]


class SpendlensAdminSite(admin.AdminSite):
    site_header = "Spendlens"
    site_title = "Spendlens admin"
    index_title = "Cost control"

    def index(self, request, extra_context=None):
        context = page_context(request.user, timezone.localdate())
        return super().index(request, {**context, **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def rank(app):
            label = app["app_label"]
            return (APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER), app["name"])

        return sorted(apps, key=rank)
