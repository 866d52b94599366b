"""The legality pages, under ``/o/<slug>/legality/``."""

from django.urls import include, path

from . import exchange_views, views

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

# The prefecture's correspondence, the cancellation of a transmission, the classification.
urlpatterns += [
    path("letters/<int:pk>/", exchange_views.letter, name="letter"),
    path("letters/<int:pk>/answer/", exchange_views.letter_answer, name="letter_answer"),
    path("letters/<int:pk>/due-date/", exchange_views.letter_due_date, name="letter_due_date"),
    path(
        "acts/<int:pk>/cancel-transmission/",
        exchange_views.act_cancel_transmission,
        name="act_cancel_transmission",
    ),
    path("classification/", exchange_views.classification_page, name="classification"),
    path("messages/<int:pk>/resend/", exchange_views.message_resend, name="message_resend"),
]
# The accounting flows to the treasury (PES V2): ``legality:pes:…``.
urlpatterns.append(path("pes/", include("mutualis.legality.pes.urls")))  # type: ignore[arg-type]
