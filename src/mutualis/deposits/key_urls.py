"""The key ceremony's pages, mounted under ``/o/<slug>/deposits/`` (key_views.py)."""

from django.urls import path

from . import key_views

app_name = "deposits_keys"

urlpatterns = [
    path("keys/", key_views.holders, name="holders"),
    path("keys/enrol/", key_views.enrol, name="enrol"),
    path("keys/defaults/", key_views.defaults, name="defaults"),
    path("consultations/<int:pk>/key/", key_views.opening_key, name="opening_key"),
]
