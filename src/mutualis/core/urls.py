from django.urls import path

from . import views
from .files import views as files_views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("files/<uuid:file_id>/<str:name>", files_views.download, name="file_download"),
]
