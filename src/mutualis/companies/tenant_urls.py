"""A company's own pages, mounted under ``/c/<siren>/``."""

from django.urls import path

from . import vault_views, views

app_name = "companies"

urlpatterns = [
    path("", views.home, name="home"),
    path("establishments/new/", views.establishment_add, name="establishment_add"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/accept/", views.request_accept, name="request_accept"),
    path("requests/<int:pk>/refuse/", views.request_refuse, name="request_refuse"),
    path("colleagues/", views.colleagues, name="colleagues"),
    path("colleagues/<int:pk>/role/", views.colleague_role, name="colleague_role"),
    path("colleagues/<int:pk>/remove/", views.colleague_remove, name="colleague_remove"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("profile/", views.profile, name="profile"),
    path("vault/", vault_views.vault, name="vault"),
    path("vault/new/", vault_views.vault_add, name="vault_add"),
    path("vault/<int:pk>/", vault_views.vault_document, name="vault_document"),
    path("vault/<int:pk>/replace/", vault_views.vault_replace, name="vault_replace"),
    path("vault/<int:pk>/archive/", vault_views.vault_archive, name="vault_archive"),
]
