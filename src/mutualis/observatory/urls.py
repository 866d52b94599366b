from django.urls import path

from . import views

app_name = "observatory"

urlpatterns = [
    path("", views.territory, name="territory"),
    path("<slug:table>.csv", views.territory_csv, name="territory_csv"),
    path("<slug:slug>/", views.member, name="member"),
    path("<slug:slug>/<slug:table>.csv", views.member_csv, name="member_csv"),
]
