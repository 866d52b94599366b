"""The public addresses an alert gives out, mounted at ``/alerts/``: the unsubscribe
link of its e-mails and its Atom feed, each with its own secret token."""

from django.urls import path

from . import alerts_views

app_name = "alert_links"

urlpatterns = [
    path("unsubscribe/<str:token>/", alerts_views.unsubscribe, name="unsubscribe"),
    path("feed/<str:token>.atom", alerts_views.feed, name="feed"),
]
