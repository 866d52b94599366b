"""The opening's pages, mounted under ``/o/<slug>/deposits/``."""

from django.urls import path

from . import opening_views

app_name = "deposits_opening"

urlpatterns = [
    path("consultations/<int:pk>/opening/", opening_views.opening_page, name="session"),
    path("consultations/<int:pk>/opening/start/", opening_views.opening_start, name="start"),
    path("consultations/<int:pk>/opening/key/", opening_views.opening_own_key, name="own_key"),
    path("consultations/<int:pk>/opening/share/", opening_views.opening_share, name="share"),
    path("consultations/<int:pk>/opening/status/", opening_views.opening_status, name="status"),
    path(
        "consultations/<int:pk>/opening/files/<int:opened_pk>/<str:filename>",
        opening_views.opened_file_download,
        name="file",
    ),
    path(
        "consultations/<int:pk>/opening/<str:kind>.pdf",
        opening_views.opening_document,
        name="document",
    ),
]
