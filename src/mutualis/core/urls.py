from django.urls import path

from . import site_views, views
from .files import views as files_views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("legal/", site_views.legal_notices, name="legal"),
    path("accessibility/", site_views.accessibility, name="accessibility"),
    path("help/", site_views.help_page, name="help"),
    path("prerequisites/", site_views.prerequisites, name="prerequisites"),
    path("prerequisites/clock", site_views.clock, name="clock"),
    path("prerequisites/sample-<int:size>.bin", site_views.sample, name="sample"),
    path("files/<uuid:file_id>/<str:name>", files_views.download, name="file_download"),
]
