"""Downloads of files a company may read, under ``/c/<siren>/files/…``: the owner kind's
``can_read`` then sees the representation the path names."""

from django.urls import path

from mutualis.core.files import views

app_name = "company_files"

urlpatterns = [path("<uuid:file_id>/<str:name>", views.download, name="download")]
