"""The business vault: the certificates a company registers once and reuses in every
bid, and the reminders before they expire.

Each change is one use case, one transaction and one event on the company's chain. The
file goes to the platform's private file store inside that transaction: a refusal or a
rollback leaves no row (an unreferenced object at most, never a row without its bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.template.defaultfilters import date as format_date
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text

from .. import crossings, errors, vault
from ..models import (
    END_DATE_REQUIRED,
    VAULT_OWNER_KIND,
    Company,
    Representative,
    VaultDocument,
    VaultDocumentState,
    VaultDocumentType,
    VaultReminder,
)
from ._common import checked_line, context, lock_company, record

TITLE_MAX_LENGTH = 200
# The expiry-reminder job, as the audit trail names it.
REMINDER_ACTOR = audit.SystemActor("vault-reminders")


def _check_dates(document_type: str, issued_on: date, valid_until: date | None) -> None:
    if issued_on > timezone.localdate():
        raise errors.IssuedInFuture()
    if valid_until is None and document_type in END_DATE_REQUIRED:
        raise errors.EndDateRequired()
    if valid_until is not None and valid_until < issued_on:
        raise errors.EndBeforeIssue()


def _store(company: Company, file: IO[bytes] | File[bytes] | None, name: str) -> Any:
    """The file in the private store, checked from its bytes against the vault's
    accepted types and size (``MUTUALIS_VAULT_*``)."""
    if file is None:
        raise errors.DocumentFileRequired()
    try:
        return file_store.store_file(
            file=file,
            name=name or getattr(file, "name", "") or "document",
            owner_kind=VAULT_OWNER_KIND,
            owner_ref=str(company.pk),
            allowed_types=frozenset(settings.MUTUALIS_VAULT_ACCEPTED_TYPES),
            max_size=settings.MUTUALIS_VAULT_MAX_BYTES,
        )
    except file_store.errors.FileTypeNotAllowed as exc:
        raise errors.DocumentTypeRefused() from exc


def _payload(document: VaultDocument) -> dict[str, Any]:
    return {
        "type": document.document_type,
        "issued_on": document.issued_on.isoformat(),
        "valid_until": document.valid_until.isoformat() if document.valid_until else None,
        "file": str(document.file_id),
        "sha256": document.file.sha256,
        "size": document.file.size,
        "content_type": document.file.content_type,
    }


@transaction.atomic(durable=True)
def add_vault_document(
    *,
    actor: Representative,
    document_type: str,
    issued_on: date,
    valid_until: date | None = None,
    title: str = "",
    file: IO[bytes] | File[bytes] | None,
    file_name: str = "",
    request_context: Mapping[str, Any] | None = None,
) -> VaultDocument:
    """Put a document in the company's vault. Any active representative may."""
    if document_type not in VaultDocumentType.values:
        raise errors.UnknownDocumentType()
    title = checked_line(title, field="title", max_length=TITLE_MAX_LENGTH)
    _check_dates(document_type, issued_on, valid_until)
    with scope(company=actor.company_id):
        company, current = lock_company(actor, admin=False)
        stored = _store(company, file, file_name)
        document = VaultDocument.objects.create(
            company=company,
            document_type=document_type,
            title=title,
            issued_on=issued_on,
            valid_until=valid_until,
            file=stored,
            created_by=current.user,
        )
        record(
            company,
            actor=current.user,
            action="company.vault_document_added",
            target=document,
            payload=_payload(document),
            **context(request_context),
        )
    return document


def _lock_current(company: Company, document_id: int) -> VaultDocument:
    document = (
        VaultDocument.objects.select_for_update()
        .select_related("file")
        .get(pk=document_id, company=company)
    )
    if document.state != VaultDocumentState.CURRENT:
        raise errors.DocumentNotCurrent()
    return document


@transaction.atomic(durable=True)
def replace_vault_document(
    *,
    actor: Representative,
    document_id: int,
    issued_on: date,
    valid_until: date | None = None,
    title: str = "",
    file: IO[bytes] | File[bytes] | None,
    file_name: str = "",
    request_context: Mapping[str, Any] | None = None,
) -> VaultDocument:
    """A new version of a current document (a certificate renewed): it becomes the
    current one, of the same type; the old one is kept, ``replaced``, as history."""
    title = checked_line(title, field="title", max_length=TITLE_MAX_LENGTH)
    with scope(company=actor.company_id):
        company, current = lock_company(actor, admin=False)
        old = _lock_current(company, document_id)
        _check_dates(old.document_type, issued_on, valid_until)
        stored = _store(company, file, file_name)
        new = VaultDocument.objects.create(
            company=company,
            document_type=old.document_type,
            title=title,
            issued_on=issued_on,
            valid_until=valid_until,
            file=stored,
            created_by=current.user,
        )
        old.state = VaultDocumentState.REPLACED
        old.replaced_by = new
        old.save(update_fields=["state", "replaced_by"])
        record(
            company,
            actor=current.user,
            action="company.vault_document_replaced",
            target=new,
            payload={**_payload(new), "replaces": old.pk},
            **context(request_context),
        )
    return new


@transaction.atomic(durable=True)
def archive_vault_document(
    *,
    actor: Representative,
    document_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> VaultDocument:
    """Take a current document out of use; it stays readable in the archive."""
    with scope(company=actor.company_id):
        company, current = lock_company(actor, admin=False)
        document = _lock_current(company, document_id)
        document.state = VaultDocumentState.ARCHIVED
        document.archived_at = timezone.now()
        document.save(update_fields=["state", "archived_at"])
        record(
            company,
            actor=current.user,
            action="company.vault_document_archived",
            target=document,
            payload={"type": document.document_type, "file": str(document.file_id)},
            **context(request_context),
        )
    return document


# --- Reminders before expiry -----------------------------------------------------------


def _bilingual_mail(*, to: str, template: str, context_: dict[str, Any]) -> None:
    """One e-mail in French, then the same in English: the recipient's language is not
    known, and the platform's is French."""
    context_ = {**context_, "platform_name": settings.MUTUALIS_PLATFORM_NAME}
    subjects, bodies = [], []
    for language in ("fr", "en"):
        with translation.override(language):
            context_["valid_until_text"] = format_date(context_["valid_until"], "j F Y")
            days = context_["days_left"]
            context_["days_left_text"] = ngettext(
                "%(days)s day left.", "%(days)s days left.", days
            ) % {"days": days}
            subjects.append(
                " ".join(render_text(f"companies/email/{template}_subject.txt", context_).split())
            )
            bodies.append(render_text(f"companies/email/{template}_message.txt", context_).strip())
    queue_email(
        to=to,
        subject=" / ".join(subjects),
        body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
    )


@transaction.atomic(durable=True)
def remind_expiring_documents(*, company_id: int, today: date) -> int:
    """Mail the company's active representatives about each current document that
    reached a reminder threshold (``MUTUALIS_VAULT_REMINDER_DAYS``) and was not
    reminded at it yet; record it so that a second run sends nothing. Returns the
    number of documents reminded."""
    thresholds = vault.reminder_thresholds()
    if not thresholds:
        return 0
    with scope(company=company_id):
        # Locked: two runs of the job (a failover) decide one after the other.
        company = Company.objects.select_for_update().get(pk=company_id)
        documents = list(
            VaultDocument.objects.filter(
                company=company,
                state=VaultDocumentState.CURRENT,
                valid_until__gte=today,
                valid_until__lte=today + timedelta(days=thresholds[0]),
            )
            .select_related("file")
            .order_by("valid_until", "pk")
        )
        recipients = [
            r.user.email
            for r in Representative.objects.filter(company=company, is_active=True)
            .select_related("user")
            .order_by("pk")
            if r.user.is_active and r.user.email
        ]
        reminded = 0
        for document in documents:
            if document.valid_until is None:  # filtered out above; for the type checker
                continue
            due = vault.due_threshold(document.valid_until, today=today, thresholds=thresholds)
            if due is None:
                continue
            if VaultReminder.objects.filter(document=document, threshold_days=due).exists():
                continue
            VaultReminder.objects.create(
                company=company, document=document, threshold_days=due, recipients=len(recipients)
            )
            link = absolute_url(
                reverse(
                    "companies:vault_document",
                    kwargs={"company": company.siren, "pk": document.pk},
                )
            )
            for email in recipients:
                _bilingual_mail(
                    to=email,
                    template="vault_expiring",
                    context_={
                        "company": company,
                        "document": document,
                        "valid_until": document.valid_until,
                        "days_left": (document.valid_until - today).days,
                        "link": link,
                    },
                )
            record(
                company,
                actor=REMINDER_ACTOR,
                action="company.vault_reminder_sent",
                target=document,
                payload={
                    "threshold_days": due,
                    "valid_until": document.valid_until.isoformat(),
                    "recipients": len(recipients),
                },
            )
            reminded += 1
    return reminded


def send_expiry_reminders(*, today: date | None = None) -> int:
    """The periodic job's work: each company with a current document ending within the
    first threshold, in its own scope and transaction, one after the other."""
    today = today or timezone.localdate()
    thresholds = vault.reminder_thresholds()
    if not thresholds:
        return 0
    until = today + timedelta(days=thresholds[0])
    return sum(
        remind_expiring_documents(company_id=company_id, today=today)
        for company_id in crossings.companies_with_documents_ending(start=today, end=until)
    )
