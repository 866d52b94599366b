"""Back-office pages: security (included by backoffice/urls.py, same namespace)."""

from django.urls import path

from . import security_views

urlpatterns = [
    path("security/", security_views.security_overview, name="security"),
    path(
        "security/unlock-account/",
        security_views.unlock_account,
        name="security_unlock_account",
    ),
    path(
        "security/unlock-address/",
        security_views.unlock_address,
        name="security_unlock_address",
    ),
]
