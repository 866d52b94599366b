"""The buyer's deposit register, mounted under ``/o/<slug>/deposits/``."""

from django.urls import path

from . import register_views

app_name = "deposit_register"

urlpatterns = [
    path("consultations/<int:pk>/register/", register_views.register, name="register"),
    path("consultations/<int:pk>/register.csv", register_views.register_csv, name="register_csv"),
]
