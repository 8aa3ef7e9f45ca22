"""Password sign-in turned off per organisation (Organization.password_login_enabled).

Someone whose every organisation has turned password sign-in off signs in through single
sign-on only. One authentication backend refuses their password wherever Django checks one
(our login page, the admin's, any later API login), so no path forgets it; it raises
PermissionDenied, which stops the backends after it and counts as a failed login for
django-axes. The forms then say why, but only to someone who typed the right password, so the
message does not tell strangers which usernames exist. The reset form sends such people no
e-mail: a new password would be of no use to them.

Superusers are never refused: they are the break-glass way in when the identity provider is
down or misconfigured (README, Single sign-on). People in no organisation are not refused
either: there is no organisation whose rule would apply.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Organization


def sso_only(user) -> str | None:
    """The name to sign in with if USER may not use a password, else None."""
    if user is None or user.is_superuser:
        return None
    organizations = list(Organization.objects.filter(memberships__user=user))
    if not organizations or any(o.password_login_enabled for o in organizations):
        return None
    from accounts import sso

    names = [p.name for p in sso.providers() if p.organization_id in {o.pk for o in organizations}]
    return " or ".join(names) or "single sign-on"


def _user(username):
    if not username:
        return None
    User = get_user_model()
    try:
        return User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        return None


class SingleSignOnOnlyBackend:
    """Only refuses. No get_user(): Django's test client and allauth pick the first backend
    with one for the session, which must stay ModelBackend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username or kwargs.get(get_user_model().USERNAME_FIELD)
        if sso_only(_user(username)):
            raise PermissionDenied
        return None


class RefusalMessageMixin:
    """Replaces "wrong password" by "sign in with <provider>" for the right password."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            username = self.cleaned_data.get("username")
            password = self.cleaned_data.get("password")
            user = _user(username)
            name = sso_only(user)
            if name and password and user.check_password(password):
                self.sso_refusal = f"Your organisation signs in with {name}."
                raise ValidationError(
                    f"{self.sso_refusal} Use the “Sign in with {name}” button instead.",
                    code="sso_only",
                ) from None
            raise


class LoginForm(RefusalMessageMixin, AuthenticationForm):
    sso_refusal = ""


class AdminLoginForm(RefusalMessageMixin, AdminAuthenticationForm):
    sso_refusal = ""


class ResetForm(PasswordResetForm):
    def get_users(self, email):
        return (user for user in super().get_users(email) if not sso_only(user))
