"""The public portal of the consultations, mounted at ``/consultations/``."""

from django.urls import path

from . import feeds, public_views

app_name = "consultations"

urlpatterns = [
    path("", public_views.consultation_list, name="list"),
    path("<int:pk>/", public_views.consultation_detail, name="detail"),
    path("feed.atom", feeds.search_feed, name="feed"),
    path("member/<slug:slug>.json", feeds.member_json, name="member_json"),
    path("member/<slug:slug>/embed/", feeds.member_embed, name="member_embed"),
]
