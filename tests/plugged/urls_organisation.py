from django.urls import path

from . import views

app_name = "plugged"

urlpatterns = [
    path("", views.notes, name="notes"),
    path("shared/<int:pk>/", views.shared_for_organisation, name="shared"),
]
