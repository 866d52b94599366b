"""The business vault's pages, under ``/c/<siren>/vault/``: every active representative
of the company reads, adds, replaces and archives its documents; anyone else gets 404
(the tenancy middleware answers before these views for another company's path)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.tenancy import tenant_redirect

from . import forms, selectors
from .models import END_DATE_REQUIRED, VaultDocumentType
from .services import vault as vault_services
from .views import actor_of, posted, representative_required


def _limits() -> dict[str, Any]:
    return {"max_bytes": settings.MUTUALIS_VAULT_MAX_BYTES}


@representative_required()
def vault(request: HttpRequest) -> HttpResponse:
    company = actor_of(request).company
    return render(
        request,
        "companies/vault.html",
        {
            "company": company,
            "groups": selectors.vault_groups(company),
            "archived": selectors.archived_vault_documents(company),
        },
    )


@representative_required()
def vault_add(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    wanted = request.GET.get("type", "")
    initial = {"document_type": wanted} if wanted in VaultDocumentType.values else {}
    form = forms.VaultDocumentForm(
        posted(request), request.FILES if request.method == "POST" else None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"] or None
        try:
            document = vault_services.add_vault_document(
                actor=actor,
                document_type=data["document_type"],
                title=data["title"],
                issued_on=data["issued_on"],
                valid_until=data["valid_until"],
                file=upload,
                file_name=upload.name if upload else "",
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("The document “%(type)s” has been added to the vault.")
                % {"type": document.get_document_type_display()},
            )
            return tenant_redirect(request, "companies:vault")
    return render(
        request,
        "companies/vault_add.html",
        {
            "company": actor.company,
            "form": form,
            "end_date_required": [
                VaultDocumentType(value).label for value in sorted(END_DATE_REQUIRED)
            ],
            **_limits(),
        },
    )


def _entry_or_404(request: HttpRequest, pk: int) -> selectors.VaultEntry:
    entry = selectors.vault_document(actor_of(request).company, pk)
    if entry is None:
        raise Http404
    return entry


@representative_required()
def vault_document(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(request, pk)
    company = actor_of(request).company
    return render(
        request,
        "companies/vault_document.html",
        {
            "company": company,
            "entry": entry,
            "document": entry.document,
            "history": selectors.vault_history(entry.document),
        },
    )


@representative_required()
def vault_replace(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    entry = _entry_or_404(request, pk)
    old = entry.document
    form = forms.VaultReplaceForm(
        posted(request),
        request.FILES if request.method == "POST" else None,
        initial={"title": old.title},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"] or None
        try:
            new = vault_services.replace_vault_document(
                actor=actor,
                document_id=old.pk,
                title=data["title"],
                issued_on=data["issued_on"],
                valid_until=data["valid_until"],
                file=upload,
                file_name=upload.name if upload else "",
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request, _("The new version is now the current one; the old one is kept.")
            )
            return tenant_redirect(request, "companies:vault_document", pk=new.pk)
    return render(
        request,
        "companies/vault_replace.html",
        {"company": actor.company, "document": old, "form": form, **_limits()},
    )


@representative_required()
@require_POST
def vault_archive(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(request, pk)
    try:
        vault_services.archive_vault_document(
            actor=actor_of(request),
            document_id=entry.document.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
        return tenant_redirect(request, "companies:vault_document", pk=entry.document.pk)
    messages.success(request, _("The document has been archived."))
    return tenant_redirect(request, "companies:vault")
