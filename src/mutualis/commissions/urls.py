"""The commissions' pages, mounted under ``/o/<slug>/commissions/``."""

from django.urls import path

from . import views

app_name = "commissions"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/members/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:member_id>/", views.member_update, name="member_update"),
    path("<int:pk>/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("<int:pk>/outside/", views.external_add, name="external_add"),
    path("<int:pk>/outside/<int:external_id>/", views.external_update, name="external_update"),
    path(
        "<int:pk>/outside/<int:external_id>/remove/",
        views.external_remove,
        name="external_remove",
    ),
    path("<int:pk>/meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting, name="meeting"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:pk>/convene/", views.meeting_convene, name="meeting_convene"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:pk>/attendance/", views.meeting_attendance, name="meeting_attendance"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<int:pk>/minutes.pdf", views.meeting_minutes_pdf, name="meeting_minutes_pdf"),
    path("meetings/<int:pk>/reconvene/", views.meeting_reconvene, name="meeting_reconvene"),
    path("consultations/<int:consultation_id>/", views.assign, name="assign"),
]
