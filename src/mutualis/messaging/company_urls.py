"""A company's messaging pages, mounted under ``/c/<siren>/messages/``."""

from django.urls import path

from . import company_views

app_name = "company_messages"

urlpatterns = [
    path("", company_views.inbox, name="inbox"),
    path("write/", company_views.write, name="write"),
    path("threads/<int:pk>/", company_views.thread_page, name="thread"),
    path("threads/<int:pk>/reply/", company_views.reply, name="reply"),
    path(
        "threads/<int:pk>/attachments/<int:attachment_id>/",
        company_views.attachment,
        name="attachment",
    ),
]
