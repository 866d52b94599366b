"""A company's deposit pages, mounted under ``/c/<siren>/deposits/``."""

from django.urls import path

from . import company_views, espd_response_views

app_name = "company_deposits"

urlpatterns = [
    path(
        "consultations/<int:pk>/",
        company_views.consultation_deposits,
        name="consultation",
    ),
    # The company's ESPD response (DUME) to the consultation, for lot number <lot> (0: none).
    path(
        "consultations/<int:pk>/espd/<int:lot>/",
        espd_response_views.espd_response_page,
        name="espd",
    ),
    path(
        "consultations/<int:pk>/espd/<int:lot>/dume-response.xml",
        espd_response_views.espd_response_export,
        name="espd_export",
    ),
    path(
        "consultations/<int:pk>/espd/<int:lot>/import/",
        espd_response_views.espd_response_import,
        name="espd_import",
    ),
]
