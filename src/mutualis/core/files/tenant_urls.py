"""Downloads of an organisation's private files, under ``/o/<slug>/files/…``: the owner
kind's ``can_read`` then sees the membership the path names (ADR 0002)."""

from django.urls import path

from . import views

app_name = "organisation_files"

urlpatterns = [path("<uuid:file_id>/<str:name>", views.download, name="download")]
