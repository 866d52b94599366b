"""The buyer's pages, mounted under ``/o/<slug>/procurement/``."""

from django.urls import path

from . import register_views, views

app_name = "procurement"

urlpatterns = [
    path("", views.consultation_list, name="list"),
    path("new/", views.consultation_new, name="new"),
    path("<int:pk>/", views.consultation_detail, name="detail"),
    path("<int:pk>/edit/", views.consultation_edit, name="edit"),
    path("<int:pk>/espd.xml", views.consultation_espd, name="espd"),
    path("<int:pk>/lots/", views.lot_add, name="lot_add"),
    path("<int:pk>/lots/<int:lot_pk>/remove/", views.lot_remove, name="lot_remove"),
    path("<int:pk>/criteria/", views.criterion_add, name="criterion_add"),
    path(
        "<int:pk>/criteria/<int:criterion_pk>/remove/",
        views.criterion_remove,
        name="criterion_remove",
    ),
    path("<int:pk>/schedule/", views.consultation_schedule, name="schedule"),
    path("<int:pk>/unschedule/", views.consultation_unschedule, name="unschedule"),
    path("<int:pk>/publish/", views.consultation_publish, name="publish"),
    path("<int:pk>/cancel/", views.consultation_cancel, name="cancel"),
]

# The download register and the answers (register_views.py).
urlpatterns += [
    path("<int:pk>/register.csv", register_views.register_csv, name="register_csv"),
    path("<int:pk>/answers/", register_views.answer, name="answer"),
]
