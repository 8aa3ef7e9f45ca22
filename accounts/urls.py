from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import sso_views, views
from accounts.password_policy import ResetForm

urlpatterns = [
    # Django's own login and reset views with our forms; the rest of django.contrib.auth.urls
    # is included after these in config/urls.py.
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=ResetForm),
        name="password_reset",
    ),
    path("accounts/signup/", views.signup, name="signup"),
    # Single sign-on; the names are allauth's (its OpenID Connect provider reverses them).
    path(
        "accounts/sso/<slug:provider_id>/login/",
        sso_views.login,
        name="openid_connect_login",
    ),
    path(
        "accounts/sso/<slug:provider_id>/callback/",
        sso_views.callback,
        name="openid_connect_callback",
    ),
    path("aws-accounts/", views.cloud_account_list, name="cloud-account-list"),
    path("aws-accounts/<int:pk>/", views.cloud_account_detail, name="cloud-account-detail"),
    path("aws-accounts/<int:pk>/test/", views.cloud_account_test, name="cloud-account-test"),
]
