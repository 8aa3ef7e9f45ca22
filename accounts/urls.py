from django.contrib.auth import urls as auth_urls
from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import sso_views, views
from accounts.password_policy import ResetForm

urlpatterns = [
    # Django's own login and reset views with our forms, then the rest of its auth URLs.
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=ResetForm),
        name="password_reset",
    ),
    *[
        path(f"accounts/{p.pattern}", p.callback, name=p.name)
        for p in auth_urls.urlpatterns
        if p.name not in ("login", "password_reset")
    ],
    path("accounts/signup/", views.signup, name="signup"),
    # Single sign-on; the names are allauth's (its OpenID Connect provider reverses them).
    # Single sign-on: the e-mail lookup, and the redirect URI every provider registers.
    path("accounts/sso/", sso_views.start, name="sso-start"),
    path("accounts/sso/callback/", sso_views.callback, name="sso-callback"),
    path("aws-accounts/", views.cloud_account_list, name="cloud-account-list"),
    path("aws-accounts/<int:pk>/", views.cloud_account_detail, name="cloud-account-detail"),
    path("aws-accounts/<int:pk>/test/", views.cloud_account_test, name="cloud-account-test"),
]
