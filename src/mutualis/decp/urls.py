"""The buyer's DECP pages, mounted under ``/o/<slug>/decp/``."""

from django.urls import path

from . import views

app_name = "decp"

urlpatterns = [
    path("", views.entry_list, name="entries"),
    path("<int:contract_id>/", views.entry_detail, name="entry"),
]
