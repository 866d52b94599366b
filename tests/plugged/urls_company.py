from django.urls import path

from . import views

app_name = "plugged_company"

urlpatterns = [
    path("shared/<int:pk>/", views.shared_for_company, name="shared"),
]
