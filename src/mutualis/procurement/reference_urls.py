"""The procurement vocabulary for pickers, mounted at ``/procurement/``."""

from django.urls import path

from . import public_views

app_name = "procurement_reference"

urlpatterns = [
    path("cpv/", public_views.cpv_search, name="cpv"),
]
