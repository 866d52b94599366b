from django.urls import path

from . import views

app_name = "evidence"

urlpatterns = [
    path("tsa", views.tsa, name="tsa"),
    path("evidence/timestamping/", views.timestamping, name="timestamping"),
    path(
        "evidence/timestamping/tsa-certificate.pem",
        views.certificate,
        {"encoding": "pem"},
        name="tsa_certificate_pem",
    ),
    path(
        "evidence/timestamping/tsa-certificate.der",
        views.certificate,
        {"encoding": "der"},
        name="tsa_certificate_der",
    ),
]
