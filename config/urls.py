from django.contrib import admin
from django.urls import include, path

from costs import views as cost_views

admin.site.site_header = "Spendlens"
admin.site.site_title = "Spendlens admin"
admin.site.index_title = "Cost control"

urlpatterns = [
    path("", cost_views.dashboard, name="dashboard"),
    path("instances/", cost_views.instance_list, name="instance-list"),
    path("instances/<int:pk>/<str:action>/", cost_views.instance_action, name="instance-action"),
    path("", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
]
