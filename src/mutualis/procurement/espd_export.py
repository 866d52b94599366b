"""A consultation's ESPD request (``espd``): what the buyer published, as the document
businesses answer with any ESPD service.

Every exclusion ground and the "other" criteria of the taxonomy are asked (``espd.build``);
the selection criteria are those the buyer set (``espd_selection``), for every lot. The
procedure maps to the EU authority list: a MAPA is a single-stage "other" procedure, a
restricted call or a negotiated procedure has several stages.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse

from . import espd, espd_selection
from .models import Consultation
from .vocabulary import Procedure

PROCEDURE_TYPES: dict[str, str] = {
    Procedure.ADAPTED: "oth-single",
    Procedure.OPEN: "open",
    Procedure.RESTRICTED: "restricted",
    Procedure.NEGOTIATED: "neg-w-call",
    Procedure.COMPETITIVE_DIALOGUE: "comp-dial",
    Procedure.WITHOUT_PUBLICITY: "neg-wo-call",
    Procedure.REQUEST_FOR_INFORMATION: "oth-single",
    Procedure.SUBSEQUENT: "oth-single",
}
# The document's identifier is stable for a consultation: a second export is the same
# request (a rectification will give the version its own).
_NAMESPACE = uuid.UUID("6f1d1c52-8f5e-4b7e-9a55-0d4f0f2b7c11")


def request_of(consultation: Consultation) -> espd.Request:
    organisation = consultation.organisation
    lots = [espd.lot_identifier(lot.number) for lot in consultation.lots.all()]
    public_url = settings.MUTUALIS_SITE_URL.rstrip("/") + reverse(
        "consultations:detail", kwargs={"pk": consultation.pk}
    )
    return espd.Request(
        reference=consultation.reference,
        title=consultation.title,
        description=consultation.object,
        procedure=PROCEDURE_TYPES[consultation.procedure],
        buyer=espd.Buyer(
            name=organisation.name,
            siret=organisation.siret or organisation.siren,
            street=organisation.street,
            city=organisation.city,
            postal_code=organisation.postcode,
            telephone=organisation.phone,
            email=organisation.contact_email,
        ),
        buyer_profile_url=public_url,
        lots=lots,
        selection=espd_selection.selections_of(consultation),
        issued_at=consultation.published_at or consultation.updated_at,
        document_uuid=uuid.uuid5(_NAMESPACE, f"{organisation.pk}:{consultation.pk}"),
    )


def export(consultation: Consultation) -> bytes:
    """The ESPD request of ``consultation``, valid against the ESPD-EDM schemas."""
    return espd.build(request_of(consultation))
