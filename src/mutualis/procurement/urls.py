"""The public portal of the consultations, mounted at ``/consultations/``."""

from django.urls import path

from . import document_views, downloader_views, feeds, public_views

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

# Feeds of any search and of a member, and the member's embeddable page (feeds.py).
urlpatterns += [
    path("feed.atom", feeds.search_feed, name="feed"),
    path("member/<slug:slug>.json", feeds.member_json, name="member_json"),
    path("member/<slug:slug>/embed/", feeds.member_embed, name="member_embed"),
]
