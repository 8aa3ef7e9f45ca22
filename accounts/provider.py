"""Read by allauth's provider registry (it imports `<app>.provider` of every installed app):
our stricter OpenID Connect provider under allauth's "openid_connect" id (accounts/sso_oidc.py).
"""

from accounts.sso_oidc import StrictOpenIDConnectProvider

provider_classes = [StrictOpenIDConnectProvider]
