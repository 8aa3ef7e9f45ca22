"""The single sign-on endpoints: the login page's e-mail lookup, and the one callback.

allauth's own URLs are not routed: our login, signup and password pages stay ours. Neither
URL takes a provider: the lookup finds it by the e-mail domain, the callback by the state the
lookup stashed in this browser's session, so nothing here confirms that a provider exists.
"""

from allauth.socialaccount.internal import statekit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from requests import RequestException

from accounts import sso
from accounts.sso import refusal
from accounts.sso_oidc import StrictOpenIDConnectAdapter

STALE = (
    "This sign-in link is stale or was already used (its state does not match this browser's "
    "session). Start again from the login page."
)


def _run(view_class, request, provider_id):
    try:
        view = view_class.adapter_view(StrictOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        # Disabled between the redirect and the callback.
        return refusal(request, STALE, status=400)
    except (RequestException, ValueError, KeyError):
        # Discovery failed: the issuer is down, or answers something that is not its metadata.
        return refusal(
            request,
            "The identity provider could not be reached or sent an unusable configuration; "
            "try again in a moment, or ask your administrator to check its issuer URL.",
            status=502,
        )


@require_POST
def start(request):
    """The login page's "work e-mail" form: on to the provider of that address's domain.

    POST only, with the CSRF token: a link or an image elsewhere cannot start a sign-in.
    """
    email = request.POST.get("email", "").strip()
    provider = sso.for_email(email)
    if provider is None:
        messages.error(
            request,
            f"No single sign-on is set up for “{email}”. Sign in with your password, or ask "
            "your administrator.",
        )
        return redirect("login")
    return _run(OAuth2LoginView, request, provider.slug)


@require_GET
def callback(request):
    stashed = statekit.get_states(request).get(request.GET.get("state", ""))
    if not (isinstance(stashed, (list, tuple)) and len(stashed) == 3):
        return refusal(request, STALE, status=400)
    return _run(OAuth2CallbackView, request, stashed[2])
