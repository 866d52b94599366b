"""The public verification pages of acknowledged acts, under ``/actes/``."""

from django.urls import path

from . import public_views

app_name = "legality_public"

urlpatterns = [
    path("verification/<str:token>/", public_views.verify, name="verify"),
    path(
        "verification/<str:token>/files/<uuid:file_id>/<path:name>",
        public_views.file,
        name="file",
    ),
]
