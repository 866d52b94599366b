"""What the consultation file sections show: the buyer's list and upload form, and the
public files with every version's history. Included by one line in each page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django import template
from django.utils.html import strip_tags

from .. import crossings, deadlines
from ..document_forms import DocumentUploadForm
from ..models import Consultation, ConsultationDocument, Rectification

register = template.Library()

_DEADLINES = ("questions_deadline", "response_deadline")


@dataclass
class Version:
    number: int
    rectification: Rectification | None
    changed: list[tuple[str, str, str]]
    added: list[ConsultationDocument] = field(default_factory=list)
    withdrawn: list[ConsultationDocument] = field(default_factory=list)


@dataclass
class PublicFiles:
    current: list[ConsultationDocument]
    total_bytes: int
    versions: list[Version]


def _shown(name: str, value: str) -> str:
    if name in _DEADLINES and value:
        return deadlines.display(datetime.fromisoformat(value))
    return strip_tags(value)


def changed_fields(rectification: Rectification) -> list[tuple[str, str, str]]:
    """(label, before, after) of each field a rectification changed, as shown."""
    rows = []
    for name, values in rectification.changes.items():
        label = str(getattr(Consultation._meta.get_field(name), "verbose_name", name))
        before, after = values.get("before", ""), values.get("after", "")
        rows.append((label, _shown(name, before), _shown(name, after)))
    return rows


@register.simple_tag
def public_files(consultation: Consultation) -> PublicFiles:
    documents, rectifications = crossings.public_documents(consultation.pk)
    current = [d for d in documents if d.is_current]
    versions = [Version(number=1, rectification=None, changed=[])]
    versions += [Version(r.version, r, changed_fields(r)) for r in rectifications]
    by_number = {v.number: v for v in versions}
    for document in documents:
        if document.added_in_version in by_number:
            by_number[document.added_in_version].added.append(document)
        if document.withdrawn_in_version in by_number:
            by_number[document.withdrawn_in_version].withdrawn.append(document)
    return PublicFiles(
        current=current,
        total_bytes=sum(d.file.size for d in current),
        versions=versions,
    )


@register.simple_tag
def buyer_files(consultation: Consultation) -> dict[str, Any]:
    documents = list(
        ConsultationDocument.objects.filter(
            consultation=consultation, organisation_id=consultation.organisation_id
        ).select_related("file")
    )
    current = [d for d in documents if d.is_current]
    return {
        "current": current,
        "withdrawn": [d for d in documents if not d.is_current],
        "total_bytes": sum(d.file.size for d in current),
        "form": DocumentUploadForm(),
        "rectifications": list(consultation.rectifications.order_by("number")),
    }


@register.simple_tag
def public_archive(consultation: Consultation) -> Any:
    """The stored ZIP of the current version (its size and SHA-256), or None until the
    job has written it (the ZIP is then streamed, with no fixed hash to show)."""
    archive = crossings.public_archive(consultation.pk, version=consultation.version)
    return archive.file if archive is not None else None
