"""Back-office pages: the legality transmission (included by backoffice/urls.py, same
namespace)."""

from django.urls import path

from . import legality_views

urlpatterns = [
    path("legality/", legality_views.legality_monitoring, name="legality_monitoring"),
]
