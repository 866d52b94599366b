"""The public open data pages of OCDS, under ``/donnees-ouvertes/ocds/``."""

from django.urls import path

from . import views

app_name = "ocds"

urlpatterns = [
    path("", views.bulk_files, name="bulk_files"),
]
