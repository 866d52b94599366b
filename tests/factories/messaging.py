"""Set-ups of the secure messaging tests: a published consultation, companies that
downloaded its files (correspondents), attached files."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from mutualis.messaging import services
from mutualis.procurement import downloaders
from tests.factories.companies import company_siren, register_company, verified_person

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def representative(number: int, name: str) -> Any:
    """The administrator of a new company (SIREN ``company_siren(number)``)."""
    return register_company(
        verified_person(f"representant{number}@entreprise.example"),
        siren=company_siren(number),
        name=name,
    )


def downloaded(consultation: Any, rep: Any) -> Any:
    """``rep``'s company identified on the consultation (its register line)."""
    return downloaders.identify_with_account(
        consultation_id=consultation.pk, user=rep.user, company_siren=rep.company.siren
    )


def upload(name: str = "attestation.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def draft(**overrides: Any) -> services.Draft:
    values: dict[str, Any] = {"subject": "Précision sur votre offre", "body": "Bonjour,\nmerci."}
    values.update(overrides)
    return services.Draft(**values)
