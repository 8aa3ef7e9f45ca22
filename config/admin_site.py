"""The admin site: Django's own, with the cost overview on its index page."""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404
from django.urls import path
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

    def get_urls(self):
        urls = super().get_urls()
        scoped = path(
            "r/<int:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [scoped if getattr(u, "name", None) == "view_on_site" else u for u in urls]

    def view_on_site(self, request, content_type_id, object_id):
        """Django's shortcut looks rows up unscoped, so its redirect would confirm that another
        organisation's key exists: only follow it for a row the user's admin page can show."""
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            raise Http404 from None
        model_admin = self._registry.get(model)
        if model_admin is None:
            raise Http404
        try:
            exists = model_admin.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError):
            exists = False  # a key of the wrong shape
        if not exists:
            raise Http404
        return shortcut(request, content_type_id, object_id)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def rank(app):
            label = app["app_label"]
            return (APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER), app["name"])

        return sorted(apps, key=rank)
