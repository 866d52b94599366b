from django.urls import include, path

from mutualis.directory.api import api

urlpatterns = [
    path("", include("mutualis.core.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("allauth.idp.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("organisations/", include("mutualis.directory.urls")),
    path("operator/", include("mutualis.backoffice.urls")),
    path("api/v1/", api.urls),
]
