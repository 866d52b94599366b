"""The buyer's deposit register, mounted under ``/o/<slug>/deposits/``."""

from django.urls import path

from . import admission_views, backup_views, register_views

app_name = "deposit_register"

urlpatterns = [
    path("consultations/<int:pk>/register/", register_views.register, name="register"),
    path("consultations/<int:pk>/register.csv", register_views.register_csv, name="register_csv"),
    path(
        "consultations/<int:pk>/backup-copies/receive/",
        backup_views.receive,
        name="backup_receive",
    ),
    path(
        "consultations/<int:pk>/backup-copies/<int:copy_id>/open/",
        backup_views.open_copy,
        name="backup_open",
    ),
    path(
        "consultations/<int:pk>/backup-copies/<int:copy_id>/destroy/",
        backup_views.destroy,
        name="backup_destroy",
    ),
    path(
        "consultations/<int:pk>/admissions/",
        admission_views.page,
        name="admissions",
    ),
    path(
        "consultations/<int:pk>/admissions/<int:company_id>/decide/",
        admission_views.decide,
        name="admission_decide",
    ),
    path(
        "consultations/<int:pk>/admissions/notify/",
        admission_views.notify,
        name="admissions_notify",
    ),
]
