from django.urls import path

from . import mfa

app_name = "identity"

urlpatterns = [
    path("mfa-required/", mfa.mfa_required, name="mfa_required"),
]
