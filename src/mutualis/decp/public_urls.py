"""The public DECP pages, mounted under ``/donnees-ouvertes/decp/``."""

from django.urls import path

from . import views

app_name = "decp_public"

urlpatterns = [
    path("", views.public_index, name="index"),
    path("<slug:slug>/", views.public_buyer, name="buyer"),
]
