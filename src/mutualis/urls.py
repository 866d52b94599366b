from django.urls import include, path

from mutualis.directory.api import api

urlpatterns = [
    path("", include("mutualis.core.urls")),
    path("accounts/", include("mutualis.identity.account_urls")),
    path("accounts/", include("allauth.urls")),
    path("accounts/security/", include("mutualis.identity.urls")),
    path("", include("allauth.idp.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("organisations/", include("mutualis.directory.urls")),
    path("operator/", include("mutualis.backoffice.urls")),
    path("companies/", include("mutualis.companies.urls")),
    path("my-organisation/members/", include("mutualis.identity.member_urls")),
    path("invitations/", include("mutualis.identity.invitation_urls")),
    path("api/v1/", api.urls),
]
