from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from mutualis.core.api import api

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
    # Members' logos are public and small; the app serves them itself so that the demo
    # needs no other server. In production MEDIA_URL points to the object storage.
    re_path(
        r"^media/(?P<path>logos/[\w.-]+)$",
        serve,
        {"document_root": settings.MEDIA_ROOT},
        name="media_logo",
    ),
]
