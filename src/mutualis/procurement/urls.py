"""The public portal of the consultations, mounted at ``/consultations/``."""

from django.urls import path

from . import document_views, downloader_views, public_views

app_name = "consultations"

urlpatterns = [
    path("", public_views.consultation_list, name="list"),
    path("<int:pk>/", public_views.consultation_detail, name="detail"),
    path("<int:pk>/files.zip", document_views.public_documents_zip, name="documents_zip"),
    path(
        "<int:pk>/files/<int:document_pk>/<str:filename>",
        document_views.public_document,
        name="document",
    ),
]

# Identified downloaders and questions (downloader_views.py).
urlpatterns += [
    path("<int:pk>/identify/", downloader_views.identify, name="identify"),
    path("<int:pk>/leave/", downloader_views.leave, name="leave"),
    path("<int:pk>/questions/", downloader_views.ask, name="ask"),
    path("confirm/", downloader_views.confirm, name="confirm"),
]
