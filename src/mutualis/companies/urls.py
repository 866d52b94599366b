"""The businesses' public pages: sign-up by SIRET and colleagues' invitation links."""

from django.urls import path

from . import views

app_name = "business"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # The token is the link's secret; its head names the company (see services).
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
