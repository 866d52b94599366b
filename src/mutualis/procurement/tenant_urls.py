"""The buyer's pages, mounted under ``/o/<slug>/procurement/``."""

from django.urls import path

from . import document_views, register_views, views, workspace_views

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
    path("<int:pk>/files/", document_views.document_add, name="document_add"),
    path(
        "<int:pk>/files/<int:document_pk>/withdraw/",
        document_views.document_remove,
        name="document_remove",
    ),
    path(
        "<int:pk>/files/<int:document_pk>/<str:filename>",
        document_views.document_download,
        name="document_download",
    ),
    path("<int:pk>/rectify/", document_views.rectify, name="rectify"),
]

# The buyers' shared workspace (workspace_views.py).
urlpatterns += [
    path("<int:pk>/group/", workspace_views.group, name="group"),
    path(
        "<int:pk>/group/<int:participation_pk>/remove/",
        workspace_views.group_remove,
        name="group_remove",
    ),
    path("group-purchases/", workspace_views.group_purchases, name="group_purchases"),
    path("library/", workspace_views.library_list, name="library"),
    path("library/propose/", workspace_views.library_propose, name="library_propose"),
    path("<int:pk>/clauses/", workspace_views.clause_insert, name="clause_insert"),
    path("<int:pk>/copy/", workspace_views.consultation_copy, name="copy"),
    path("<int:pk>/selection/", workspace_views.selection, name="selection"),
    path(
        "<int:pk>/selection/<slug:code>/remove/",
        workspace_views.selection_remove,
        name="selection_remove",
    ),
]

# The download register and the answers (register_views.py).
urlpatterns += [
    path("<int:pk>/register.csv", register_views.register_csv, name="register_csv"),
    path("<int:pk>/answers/", register_views.answer, name="answer"),
]
