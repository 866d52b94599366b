from django.urls import path

from . import views

app_name = "plugged_public"

urlpatterns = [
    path("embeddable/", views.embeddable, name="embeddable"),
    path("inline/", views.inline, name="inline"),
]
