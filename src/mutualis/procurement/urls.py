"""The public portal of the consultations, mounted at ``/consultations/``."""

from django.urls import path

from . import public_views

app_name = "consultations"

urlpatterns = [
    path("", public_views.consultation_list, name="list"),
    path("<int:pk>/", public_views.consultation_detail, name="detail"),
]
