"""Back-office pages: the clause library (included by backoffice/urls.py, same namespace)."""

from django.urls import path

from . import library_views

urlpatterns = [
    path("library/", library_views.library_list, name="library_list"),
    path("library/new/", library_views.library_entry_new, name="library_entry_new"),
    path("library/<int:pk>/", library_views.library_entry_edit, name="library_entry_edit"),
    path("library/proposals/", library_views.library_proposals, name="library_proposals"),
    path(
        "library/proposals/<int:pk>/accept/",
        library_views.library_proposal_accept,
        name="library_proposal_accept",
    ),
    path(
        "library/proposals/<int:pk>/reject/",
        library_views.library_proposal_reject,
        name="library_proposal_reject",
    ),
]
