from django.urls import path

from . import account_views

app_name = "my_account"

urlpatterns = [
    path("delete/", account_views.delete_account, name="delete"),
    path("delete/done/", account_views.account_deleted, name="deleted"),
]
