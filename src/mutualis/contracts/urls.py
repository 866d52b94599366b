"""The buyer's award and contract pages, mounted under ``/o/<slug>/contracts/``."""

from django.urls import path

from . import views

app_name = "contracts"

urlpatterns = [
    path("consultations/<int:pk>/awards/", views.awards_page, name="awards"),
    path("consultations/<int:pk>/awards/decide/", views.decide, name="decide"),
    path(
        "consultations/<int:pk>/awards/cancellation/",
        views.notify_cancellation,
        name="notify_cancellation",
    ),
    path("consultations/<int:pk>/awards/<int:award_id>/notify/", views.notify, name="notify"),
    path("consultations/<int:pk>/awards/<int:award_id>/abandon/", views.abandon, name="abandon"),
    path("consultations/<int:pk>/awards/<int:award_id>/sign/", views.sign, name="sign"),
    path(
        "consultations/<int:pk>/awards/<int:award_id>/letters/<int:letter_id>.pdf",
        views.letter_pdf,
        name="letter",
    ),
    path("consultations/<int:pk>/archive/", views.archive_request, name="archive"),
    path("export/", views.export_page, name="export"),
    path("packages/<int:package_id>.zip", views.package_zip, name="package"),
    path("<int:contract_id>/", views.contract_page, name="contract"),
    path("<int:contract_id>/notify/", views.contract_notify, name="contract_notify"),
    path("<int:contract_id>/amend/", views.amend, name="amend"),
    path("<int:contract_id>/orders/", views.order, name="order"),
    path("<int:contract_id>/<slug:step>/", views.contract_step, name="contract_step"),
]
