from django.urls import include, path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("organisations/<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    path("organisations/<int:pk>/members/add/", views.membership_add, name="membership_add"),
    path(
        "organisations/<int:pk>/members/invite/",
        views.membership_invite,
        name="membership_invite",
    ),
    path(
        "organisations/<int:pk>/services/<slug:code>/subscribe/",
        views.subscription_change,
        {"action": "subscribe"},
        name="subscription_subscribe",
    ),
    path(
        "organisations/<int:pk>/services/<slug:code>/suspend/",
        views.subscription_change,
        {"action": "suspend"},
        name="subscription_suspend",
    ),
    path(
        "organisations/<int:pk>/services/<slug:code>/resume/",
        views.subscription_change,
        {"action": "resume"},
        name="subscription_resume",
    ),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("memberships/<int:pk>/", views.membership_detail, name="membership_detail"),
    path(
        "memberships/<int:pk>/deactivate/",
        views.membership_deactivate,
        name="membership_deactivate",
    ),
    path(
        "memberships/<int:pk>/reactivate/",
        views.membership_reactivate,
        name="membership_reactivate",
    ),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("emails/", views.email_list, name="email_list"),
    path("emails/<int:pk>/", views.email_detail, name="email_detail"),
    path("emails/<int:pk>/retry/", views.email_retry, name="email_retry"),
]

# Pages added by later issues, each in its own module, in the same namespace.
urlpatterns += [
    path("", include("mutualis.backoffice.urls_security")),
    path("", include("mutualis.backoffice.urls_legality")),
    path("", include("mutualis.backoffice.urls_companies")),
    path("", include("mutualis.backoffice.urls_sso")),
    path("", include("mutualis.backoffice.urls_library")),
]
