"""A company's deposit pages, mounted under ``/c/<siren>/deposits/``."""

from django.urls import path

from . import company_views

app_name = "company_deposits"

urlpatterns = [
    path(
        "consultations/<int:pk>/",
        company_views.consultation_deposits,
        name="consultation",
    ),
]
