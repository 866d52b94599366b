"""The buyer's integrity page, mounted under ``/o/<slug>/integrity/``."""

from django.urls import path

from . import views

app_name = "integrity"

urlpatterns = [
    path("", views.buyer_page, name="home"),
]
