"""Back-office pages: single sign-on client applications (included by backoffice/urls.py,
same namespace)."""

from django.urls import path

from . import sso_views

urlpatterns = [
    path("sso/clients/", sso_views.client_list, name="sso_client_list"),
    path("sso/clients/new/", sso_views.client_create, name="sso_client_create"),
    path("sso/clients/<str:client_id>/", sso_views.client_detail, name="sso_client_detail"),
    path(
        "sso/clients/<str:client_id>/secret/",
        sso_views.client_rotate_secret,
        name="sso_client_rotate_secret",
    ),
    path(
        "sso/clients/<str:client_id>/delete/",
        sso_views.client_delete,
        name="sso_client_delete",
    ),
]
