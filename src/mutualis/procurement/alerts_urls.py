"""A person's alerts, mounted at ``/alerts/`` (signed in, their own alerts only)."""

from django.urls import path

from . import alerts_views

app_name = "alerts"

urlpatterns = [
    path("", alerts_views.alert_list, name="list"),
    path("new/", alerts_views.alert_create, name="create"),
    path("<int:pk>/", alerts_views.alert_edit, name="edit"),
    path("<int:pk>/pause/", alerts_views.alert_pause, name="pause"),
    path("<int:pk>/delete/", alerts_views.alert_delete, name="delete"),
    path("<int:pk>/feed/", alerts_views.alert_feed_regenerate, name="feed_regenerate"),
]
