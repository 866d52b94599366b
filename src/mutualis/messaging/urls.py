"""The buyer's messaging pages, mounted under ``/o/<slug>/messages/``."""

from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("consultations/<int:pk>/", views.consultation_page, name="consultation"),
    path("consultations/<int:pk>/write/", views.write, name="write"),
    path("threads/<int:pk>/", views.thread_page, name="thread"),
    path("threads/<int:pk>/reply/", views.reply, name="reply"),
    path(
        "threads/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
