"""Back-office pages: companies (included by backoffice/urls.py, same namespace)."""

from django.urls import path

from . import company_views

urlpatterns = [
    path("companies/", company_views.company_list, name="company_list"),
    path("companies/<int:pk>/", company_views.company_detail, name="company_detail"),
    path("companies/<int:pk>/verify/", company_views.company_verify, name="company_verify"),
    path("companies/<int:pk>/suspend/", company_views.company_suspend, name="company_suspend"),
    path("companies/<int:pk>/dispute/", company_views.company_dispute, name="company_dispute"),
]
