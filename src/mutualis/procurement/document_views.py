"""The pages of the consultation files (DCE) and of rectifications.

Buyers (under ``/o/<slug>/procurement/<pk>/``): add files to a draft, withdraw them,
download them, and rectify a published consultation. Everyone (under
``/consultations/<pk>/``): download a public consultation's files one by one (HTTP
ranges, through ``core.files``) or all current ones as one ZIP: the archive a job wrote
once for the current version (``archives.py``), served like any stored file, or, until
the job has run, one streamed as it is made.
Downloads are free, direct and complete: no login, no form. Each public download sends
``signals.documents_downloaded`` before the response goes out (the download register
listens); the answers are ``Cache-Control: private``, so that a shared cache never
serves a download the register would not see.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files import ZipEntry, serve_zip
from mutualis.core.files.download import content_disposition, serve_file
from mutualis.core.files.zips import archive_name as zip_file_name
from mutualis.core.forms import show_error
from mutualis.core.models import StoredFile
from mutualis.core.tenancy import tenant_redirect

from . import archives, crossings, documents, rectifications, signals
from .document_forms import DocumentUploadForm, RectificationForm, uploads_of
from .models import Consultation, ConsultationArchive, ConsultationDocument, State
from .views import actor_of, buyer_view, consultation_or_404

# Only answers carrying bytes count as downloads (not 304, 412 or 416).
_SERVED = (200, 206)


def can_read_document_file(request: HttpRequest, stored_file: StoredFile) -> bool:
    """The file store's own download view: a file of a public consultation is anyone's;
    a draft's is read by its member's buyers only."""
    if crossings.is_public_document_file(stored_file.pk):
        return True
    membership: Any = getattr(request, "membership", None)
    if membership is None or not membership.has_role("buyer"):
        return False
    return ConsultationDocument.objects.filter(
        organisation_id=membership.organisation_id, file_id=stored_file.pk
    ).exists()


def can_read_archive_file(request: HttpRequest, stored_file: StoredFile) -> bool:
    """The file store's own download view, for the stored ZIP of a consultation's files:
    anyone's once the consultation is public, its member's buyers' otherwise."""
    if crossings.is_public_archive_file(stored_file.pk):
        return True
    membership: Any = getattr(request, "membership", None)
    if membership is None or not membership.has_role("buyer"):
        return False
    return ConsultationArchive.objects.filter(
        organisation_id=membership.organisation_id, file_id=stored_file.pk
    ).exists()


# --- Buyers ----------------------------------------------------------------------------


@buyer_view
@require_POST
def document_add(request: HttpRequest, pk: int) -> HttpResponse:
    consultation_or_404(request, pk)
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("uploads", [])))
        return tenant_redirect(request, "procurement:detail", pk=pk)
    try:
        added = documents.add_documents(
            actor=actor_of(request),
            consultation_id=pk,
            uploads=uploads_of(form.cleaned_data["uploads"]),
            request_context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Files added: %(count)d.") % {"count": len(added)})
    return tenant_redirect(request, "procurement:detail", pk=pk)


@buyer_view
@require_POST
def document_remove(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if not consultation.documents.filter(pk=document_pk).exists():
        raise Http404
    try:
        documents.remove_document(
            actor=actor_of(request),
            consultation_id=pk,
            document_id=document_pk,
            request_context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The file has been withdrawn."))
    return tenant_redirect(request, "procurement:detail", pk=pk)


@buyer_view  # type: ignore[arg-type]  # a file response, not an HttpResponse
@require_safe
def document_download(
    request: HttpRequest, pk: int, document_pk: int, filename: str
) -> HttpResponseBase:
    consultation = consultation_or_404(request, pk)
    document = consultation.documents.select_related("file").filter(pk=document_pk).first()
    if document is None:
        raise Http404
    return serve_file(request, document.file, public=False)


@buyer_view
def rectify(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if consultation.state != State.PUBLISHED or not consultation.is_open(timezone.now()):
        messages.error(
            request,
            _("Only a published consultation whose deadline for responses is to come can be "
              "rectified."),
        )  # fmt: skip
        return tenant_redirect(request, "procurement:detail", pk=pk)
    current = list(documents.current_documents(consultation))
    posted = request.method == "POST"
    form = RectificationForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        documents=current,
        initial=RectificationForm.initial_of(consultation),
    )
    if posted and form.is_valid():
        try:
            rectification = rectifications.rectify_consultation(
                actor=actor_of(request),
                consultation_id=pk,
                data=form.to_input(),
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("The rectification is published: version %(version)d.")
                % {"version": rectification.version},
            )
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return render(
        request,
        "procurement/rectify.html",
        {"consultation": consultation, "form": form},
        status=400 if posted else 200,
    )


# --- Everyone --------------------------------------------------------------------------


def _downloaded(request: HttpRequest, consultation: Consultation, document_ids: list[int]) -> None:
    signals.documents_downloaded.send(
        sender="procurement",
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        request=request,
        document_ids=document_ids,
    )


@require_safe
def public_document(
    request: HttpRequest, pk: int, document_pk: int, filename: str
) -> HttpResponseBase:
    """One file of a public consultation, current or withdrawn, with HTTP ranges."""
    document = crossings.public_document(pk, document_pk)
    if document is None:
        raise Http404
    response = serve_file(request, document.file, public=False)
    if request.method == "GET" and response.status_code in _SERVED:
        _downloaded(request, document.consultation, [document.pk])
    return response


@require_safe
def public_documents_zip(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Every current file of a public consultation as one ZIP: the archive stored for
    the current version when the job has written it (sendfile, ranges, validators),
    otherwise streamed as it is made. Either way under the same name, and counted as
    one download of every current file."""
    consultation = crossings.public_consultation(pk)
    if consultation is None:
        raise Http404
    found, _rectifications = crossings.public_documents(pk)
    current = [d for d in found if d.is_current]
    if not current:
        raise Http404
    name = archives.archive_name(consultation)
    stored = crossings.public_archive(pk, version=consultation.version)
    if stored is not None:
        response = serve_file(request, stored.file, public=False)
        # The name of the day's language, as the streamed archive's, not the job's.
        response["Content-Disposition"] = content_disposition(zip_file_name(name), inline=False)
        if request.method == "GET" and response.status_code in _SERVED:
            _downloaded(request, consultation, [d.pk for d in current])
        return response
    response = serve_zip(request, [ZipEntry(d.file) for d in current], name=name)
    if request.method == "GET":
        _downloaded(request, consultation, [d.pk for d in current])
    return response
