"""The admin site: Django's own, with the cost overview on its index page."""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import path, re_path, reverse
from django.utils import timezone

from dashboard.overview import page_context

# Operators come for costs and waste first, then the pipeline in order; framework apps (auth,
# tasks, tokens) go last.
APP_ORDER = ["costs", "fleet", "findings", "actions", "alerts", "accounts"]

# Pages that lived under /admin/costs/ before the layout move (issue 16): alert e-mails and
# bookmarks still point there.
MOVED_FROM_COSTS = {
    "instance": "fleet",
    "volume": "fleet",
    "elasticip": "fleet",
    "utilizationday": "fleet",
    "recommendation": "findings",
    "detectionsettings": "findings",
    "instanceaction": "actions",
    "autostoppolicy": "actions",
    "autostopnotice": "actions",
    "realisedsaving": "actions",
}


def moved_page(request, model, rest):
    target = f"{reverse('admin:index')}{MOVED_FROM_COSTS[model]}/{model}/{rest}"
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


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
        models = "|".join(MOVED_FROM_COSTS)
        moved = re_path(rf"^costs/(?P<model>{models})/(?P<rest>.*)$", moved_page)
        return [moved] + [scoped if getattr(u, "name", None) == "view_on_site" else u for u in urls]

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
