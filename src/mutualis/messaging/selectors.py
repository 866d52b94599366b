"""Read-side queries of the secure messaging, each inside the reader's scope: the buyer's
through ``for_organisation`` (scope on its organisation), the company's through
``for_company`` (scope on the company), filters stated anyway."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Attachment, Message, Side, Thread


def _unread(side_of_reader: str) -> Count:
    other = Side.COMPANY if side_of_reader == Side.BUYER else Side.BUYER
    return Count("messages", filter=Q(messages__side=other, messages__read_at__isnull=True))


def threads_of_consultation(*, organisation_id: int, consultation_id: int) -> QuerySet[Thread]:
    """The buyer's threads of a consultation, newest activity first, with the number of
    the company's messages nobody of the buyer's side has read yet."""
    return (
        Thread.for_organisation.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        .select_related("company")
        .annotate(unread=_unread(Side.BUYER), total=Count("messages"))
        .order_by("-last_message_at", "-pk")
    )


def unread_for_buyer(*, organisation_id: int, consultation_id: int) -> int:
    return Message.for_organisation.filter(
        organisation_id=organisation_id,
        thread__consultation_id=consultation_id,
        side=Side.COMPANY,
        read_at__isnull=True,
    ).count()


def inbox(*, company_id: int) -> QuerySet[Thread]:
    """The company's threads with every buyer, newest activity first, with the number
    of the buyer's messages nobody of the company has read yet."""
    return (
        Thread.for_company.filter(company_id=company_id)
        .select_related("consultation__organisation")
        .annotate(unread=_unread(Side.COMPANY), total=Count("messages"))
        .order_by("-last_message_at", "-pk")
    )


def unread_for_company(*, company_id: int) -> int:
    return Message.for_company.filter(
        company_id=company_id, side=Side.BUYER, read_at__isnull=True
    ).count()


def _messages(reader: str, **filters: Any) -> QuerySet[Message]:
    buyer = reader == Side.BUYER
    manager = Message.for_organisation if buyer else Message.for_company
    attachments = Attachment.for_organisation if buyer else Attachment.for_company
    return (
        manager.filter(**filters)
        .select_related("author", "read_by")
        .prefetch_related(
            Prefetch("attachments", queryset=attachments.select_related("file").order_by("pk"))
        )
        .order_by("sent_at", "pk")
    )


def messages_of_thread_for_buyer(thread: Thread) -> QuerySet[Message]:
    return _messages(Side.BUYER, organisation_id=thread.organisation_id, thread=thread)


def messages_of_thread_for_company(thread: Thread) -> QuerySet[Message]:
    return _messages(Side.COMPANY, company_id=thread.company_id, thread=thread)


def messages_of_consultation(consultation_id: int) -> list[Message]:
    """Every message of a consultation, for its procedure's file (the archive package):
    called inside the buyer's organisation scope. Grouped by company, in the order sent,
    with the thread, the author, the read receipt and the attached files (``file`` is
    the ``StoredFile``: name, type, size, SHA-256)."""
    return list(
        _messages(Side.BUYER, thread__consultation_id=consultation_id)
        .select_related("thread", "company")
        .order_by("company__name", "company_id", "sent_at", "pk")
    )


def attachment_for_buyer(
    *, organisation_id: int, thread_id: int, attachment_id: int
) -> Attachment | None:
    return (
        Attachment.for_organisation.filter(
            organisation_id=organisation_id, message__thread_id=thread_id, pk=attachment_id
        )
        .select_related("file")
        .first()
    )


def attachment_for_company(
    *, company_id: int, thread_id: int, attachment_id: int
) -> Attachment | None:
    return (
        Attachment.for_company.filter(
            company_id=company_id, message__thread_id=thread_id, pk=attachment_id
        )
        .select_related("file")
        .first()
    )


def company_replies_since(*, thread_id: int, since: Any) -> int:
    """The company's messages in a thread since ``since`` (inside the buyer's scope):
    has a candidate answered a request?"""
    return Message.for_organisation.filter(
        thread_id=thread_id, side=Side.COMPANY, sent_at__gt=since
    ).count()


def thread_for_buyer(*, organisation_id: int, thread_id: int) -> Thread | None:
    return (
        Thread.for_organisation.select_related("consultation__organisation", "company")
        .filter(organisation_id=organisation_id, pk=thread_id)
        .first()
    )


def thread_for_company(*, company_id: int, thread_id: int) -> Thread | None:
    return (
        Thread.for_company.select_related("consultation__organisation", "company")
        .filter(company_id=company_id, pk=thread_id)
        .first()
    )


def companies_in_threads(*, organisation_id: int, consultation_id: int) -> set[int]:
    return set(
        Thread.for_organisation.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        ).values_list("company_id", flat=True)
    )


def consultations_in_threads(*, company_id: int) -> set[int]:
    return set(
        Thread.for_company.filter(company_id=company_id).values_list("consultation_id", flat=True)
    )


def thread_of(*, organisation_id: int, consultation_id: int, company_id: int) -> Thread | None:
    """The buyer's thread with a company about a consultation, if any."""
    return Thread.for_organisation.filter(
        organisation_id=organisation_id, consultation_id=consultation_id, company_id=company_id
    ).first()
