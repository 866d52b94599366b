"""The legality pages, under ``/o/<slug>/legality/``."""

from django.urls import include, path

from . import views

app_name = "legality"

urlpatterns = [
    path("", views.acts, name="acts"),
    path("enrolment/", views.enrolment, name="enrolment"),
    path("acts/new/", views.act_new, name="act_new"),
    path("acts/<int:pk>/", views.act_detail, name="act_detail"),
    path("acts/<int:pk>/edit/", views.act_edit, name="act_edit"),
    path("acts/<int:pk>/validate/", views.act_validate, name="act_validate"),
    path("acts/<int:pk>/cancel/", views.act_cancel, name="act_cancel"),
]

# After the acknowledgement: the publication date (which stamps the act again).
urlpatterns += [
    path("acts/<int:pk>/publication/", views.act_publication, name="act_publication"),
]

# The accounting flows to the treasury (PES V2): ``legality:pes:…``.
urlpatterns.append(path("pes/", include("mutualis.legality.pes.urls")))  # type: ignore[arg-type]
