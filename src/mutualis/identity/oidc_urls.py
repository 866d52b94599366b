"""allauth's OpenID Connect endpoints, mounted with the platform's policy
(``mutualis.identity.oidc_views``), under the names allauth uses (``idp:oidc:…``).

Only what the platform offers is routed: no introspection, no dynamic client registration
(allauth's settings for them are left off), and the device-code endpoints answer 404.
"""

from allauth.idp.oidc import views as allauth_views
from django.urls import include, path

from . import oidc_views

app_name = "idp"

_oidc = [
    path("openid-configuration", allauth_views.configuration, name="configuration"),
    path("jwks.json", allauth_views.jwks, name="jwks"),
]
_endpoints = [
    path("authorize", oidc_views.authorization, name="authorization"),
    path("device", oidc_views.not_offered, name="device_authorization"),
    path("logout", oidc_views.logout, name="logout"),
    path("api/token", oidc_views.token, name="token"),
    path("api/revoke", allauth_views.revoke, name="revoke"),
    path("api/device/code", oidc_views.not_offered, name="device_code"),
    path("api/userinfo", allauth_views.user_info, name="userinfo"),
]

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    path(".well-known/", include(_oidc)),
                    path("identity/o/", include(_endpoints)),
                ],
                "oidc",
            )
        ),
    ),
]
