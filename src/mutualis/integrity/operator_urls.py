"""The operator's integrity pages, mounted under ``/operator/integrity/`` beside the back
office (which does not know them): every buyer's figures, and one buyer's flags."""

from django.urls import path

from . import views

app_name = "integrity_operator"

urlpatterns = [
    path("", views.operator_page, name="buyers"),
    path("<int:pk>/", views.operator_buyer_page, name="buyer"),
]
