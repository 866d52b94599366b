"""The PES pages, under ``/o/<slug>/legality/pes/`` (namespace ``legality:pes``)."""

from django.urls import path

from . import views

app_name = "pes"

urlpatterns = [
    path("", views.flow_list, name="flows"),
    path("new/", views.flow_new, name="flow_new"),
    path("<int:pk>/", views.flow_detail, name="flow_detail"),
    path("<int:pk>/sign/", views.flow_sign, name="flow_sign"),
    path("<int:pk>/cancel/", views.flow_cancel, name="flow_cancel"),
    path("<int:pk>/retry/", views.flow_retry, name="flow_retry"),
]

# The treasury's returns (PES_Retour): the inbox, one return, its raw file.
urlpatterns += [
    path("returns/", views.return_list, name="returns"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path("returns/<int:pk>/file/", views.return_file, name="return_file"),
    path("returns/<int:pk>/retry/", views.return_retry, name="return_retry"),
]
