"""Legality test data: a subscribed, enrolled member and its legality agent."""

from __future__ import annotations

import io
from datetime import date

from django_scopes import scopes_disabled
from lxml import etree

from mutualis.core.models import Subscription
from mutualis.core.pdf import text_pdf
from mutualis.legality import actes, services
from mutualis.legality.standin import messages
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app


def subscribe(org, *, active: bool = True) -> None:
    with scopes_disabled():
        Subscription.objects.update_or_create(
            organisation=org,
            service_id="legality",
            defaults={"since": date(2025, 1, 1), "is_active": active},
        )


def legality_agent(org, email: str, roles=("legality_agent",)):
    """A member's agent holding ``roles`` (a second factor set up: they require one)."""
    membership = make_member(org, email, roles=list(roles))
    give_authenticator_app(membership.user)
    return membership


def enrol(admin, **changes):
    values = {
        "convention_reference": "PREF-ACTES-2024-01",
        "convention_date": date(2024, 3, 1),
        "departement": "021",
        "arrondissement": "1",
        "authority_nature": "25",
        "natures": [1, 2, 3, 4, 5, 6],
    }
    values.update(changes)
    return services.save_enrolment(actor=admin, **values)


def pdf_upload(text: str = "Délibération", name: str = "acte.pdf") -> services.Upload:
    return services.Upload(io.BytesIO(text_pdf([text, "Texte de l'acte."], title=text)), name)


def prepare(agent, **changes):
    values = {
        "nature": 1,
        "number": "DEL_2026_001",
        "decided_on": date(2026, 1, 15),
        "classification_code": "1.1",
        "subject": "Attribution du marché de voirie",
        "paper_follows": False,
        "document": pdf_upload(),
        "annexes": [services.AnnexUpload(io.BytesIO(text_pdf(["Annexe"])), "annexe.pdf", "99_AU")],
    }
    values.update(changes)
    return services.prepare_act(actor=agent, **values)


def ministry_answer(number: str, *, siren: str, anomaly: str = "") -> bytes:
    """The e-mail the ministry (its stand-in) sends back about the deliberation
    ``number`` of 3 February 2026 of the member ``siren``: its acknowledgement, or an
    anomaly when ``anomaly`` gives the reason."""
    identifier = f"021-{siren}-20260203-{number}-DE"
    acte = etree.fromstring(
        actes.act_message(
            actes.ActMessage(
                departement="021",
                arrondissement="1",
                siren=siren,
                nature=actes.Nature.DE,
                number=number,
                decided_on=date(2026, 2, 3),
                matieres=[1, 1],
                subject="Objet",
                classification_date=date(2026, 1, 1),
                document=actes.Piece(b"%PDF", "pdf", "99_DE"),
            )
        )
    )
    if anomaly:
        message = messages.anomalie_acte(acte, date(2026, 2, 4), "002", anomaly)
        name = identifier + messages.ANOMALY_SUFFIX
    else:
        message = messages.ar_acte(acte, identifier, date(2026, 2, 4))
        name = identifier + messages.ACK_SUFFIX
    assert actes.schema_errors(message) == []
    return messages.return_mail(
        to="actes@mutualis.example.org",
        subject=name,
        attachment_name=f"{identifier}.tar.gz",
        attachment=messages.return_package(siren, "021", name, message),
        sender="prefecture@example.org",
    )
