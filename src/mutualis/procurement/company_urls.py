"""A company's own procurement pages, mounted under ``/c/<siren>/procurement/``."""

from django.urls import path

from . import register_views

app_name = "company_procurement"

urlpatterns = [
    path("downloads/", register_views.company_register, name="downloads"),
]
