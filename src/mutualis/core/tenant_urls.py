"""The platform core's pages of an organisation, mounted under ``/o/<slug>/``."""

from django.urls import path

from . import views

app_name = "organisation"

urlpatterns = [
    path("", views.organisation_home, name="home"),
    path("audit/", views.organisation_audit, name="audit"),
    path("services/<slug:code>/", views.service_home, name="service_home"),
]
