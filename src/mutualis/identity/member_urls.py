from django.urls import path

from . import member_views

app_name = "members"

urlpatterns = [
    path("", member_views.member_list, name="list"),
    path("invite/", member_views.member_invite, name="invite"),
    path("<int:pk>/", member_views.member_detail, name="detail"),
    path("<int:pk>/remove/", member_views.member_remove, name="remove"),
    path(
        "invitations/<int:pk>/revoke/",
        member_views.invitation_revoke,
        name="invitation_revoke",
    ),
]
