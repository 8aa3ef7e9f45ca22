from django.contrib import admin
from django.urls import include, path

from costs import views as cost_views

urlpatterns = [
    path("", cost_views.dashboard, name="dashboard"),
    path("instances/", cost_views.instance_list, name="instance-list"),
    path("instances/<int:pk>/<str:action>/", cost_views.instance_action, name="instance-action"),
    path("recommendations/", cost_views.recommendation_list, name="recommendation-list"),
    path("monitoring/", cost_views.monitoring, name="monitoring"),
    path("", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
]
