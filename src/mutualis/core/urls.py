from django.urls import path

from . import views
from .files import views as files_views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("switch-organisation/", views.switch_organisation, name="switch_organisation"),
    path("my-organisation/audit/", views.organisation_audit, name="organisation_audit"),
    path("services/<slug:code>/", views.service_home, name="service_home"),
    path("files/<uuid:file_id>/<str:name>", files_views.download, name="file_download"),
]
