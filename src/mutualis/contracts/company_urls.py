"""A company's letters and contracts, mounted under ``/c/<siren>/contracts/``."""

from django.urls import path

from . import company_views

app_name = "company_contracts"

urlpatterns = [
    path("", company_views.home, name="home"),
    path("letters/<int:letter_id>.pdf", company_views.letter, name="letter"),
    path("<int:pk>/", company_views.contract, name="contract"),
    path("<int:pk>/confirm-receipt/", company_views.confirm_receipt, name="confirm_receipt"),
]
