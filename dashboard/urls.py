from django.urls import path

from dashboard import budgets, profile, schedules, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("instances/", views.instance_list, name="instance-list"),
    path("instances/<int:pk>/schedule/", schedules.instance_schedule, name="instance-schedule"),
    path("instances/<int:pk>/<str:action>/", views.instance_action, name="instance-action"),
    path("recommendations/", views.recommendation_list, name="recommendation-list"),
    path("recommendations/<int:pk>/", views.recommendation_detail, name="recommendation-detail"),
    path(
        "recommendations/<int:pk>/apply-schedule/",
        schedules.apply_schedule,
        name="recommendation-apply-schedule",
    ),
    path("monitoring/", views.monitoring, name="monitoring"),
    path("budgets/", budgets.budget_list, name="budget-list"),
    path("budgets/<int:pk>/", budgets.budget_detail, name="budget-detail"),
    path("profile/", profile.profile, name="profile"),
    path("profile/following/", profile.follow, name="follow-value"),
    path("profile/following/<int:pk>/delete/", profile.unfollow, name="unfollow-value"),
    path("profile/tokens/", profile.token_create, name="token-create"),
    path("profile/tokens/<str:token_key>/revoke/", profile.token_revoke, name="token-revoke"),
]
