"""The member's classification: the prefecture's matières and piece types, by version.

Until the member's prefecture sends its own (``RetourClassification``, kept per version
in ``ClassificationVersion``), the default applies: the standard @ctes nomenclature of
matières (two levels) and the default piece-type typology.

The prefecture announces the version it holds current in every acknowledgement and
anomaly (``ClassificationDateVersionEnCours``) and in its answer to a request
(``ReponseClassificationSansChangement``): it is kept (``ClassificationState``). While
the member's version is older than the announced one, no act can be validated for
sending (``outdated``): the member requests the new one (``DemandeClassification``,
``request_classification``), and the answer brings it.

No classification file of a prefecture is among the platform's reference data, so this
is a small seed written from the public nomenclature, not a copy of any prefecture's
file: level 1 is the national list (1 "Commande publique" … 9 "Autres domaines de
compétences"), level 2 its usual subdivisions. The schema asks for two levels at least
(``CodeMatiere1`` and ``CodeMatiere2``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django_scopes import scope
from lxml import etree

from mutualis.core import audit
from mutualis.core.models import Organisation

from . import errors, outbox
from .actes import ACTES_NS, Nature
from .models import (
    AGENT_ROLE,
    ClassificationState,
    ClassificationVersion,
    Enrolment,
    OutboundMessage,
    OutboundStatus,
)

VERSION_DATE = date(2026, 1, 1)

MATIERES: dict[str, str] = {
    "1": "Commande publique",
    "1.1": "Marchés publics",
    "1.2": "Délégation de service public",
    "1.3": "Conventions de mandat",
    "1.4": "Autres types de contrats",
    "1.5": "Transactions / protocole d'accord transactionnel",
    "1.6": "Actes relatifs à la maîtrise d'œuvre",
    "1.7": "Actes spéciaux et divers",
    "2": "Urbanisme",
    "2.1": "Documents d'urbanisme",
    "2.2": "Actes relatifs au droit d'occupation ou d'utilisation des sols",
    "2.3": "Droit de préemption urbain",
    "3": "Domaine et patrimoine",
    "3.1": "Acquisitions",
    "3.2": "Aliénations",
    "3.3": "Locations",
    "3.4": "Limites territoriales",
    "3.5": "Autres actes de gestion du domaine public",
    "3.6": "Autres actes de gestion du domaine privé",
    "4": "Fonction publique",
    "4.1": "Personnel titulaire et stagiaire de la FPT",
    "4.2": "Personnel contractuel",
    "4.3": "Fonction publique hospitalière",
    "4.4": "Autres catégories de personnels",
    "4.5": "Régime indemnitaire",
    "5": "Institutions et vie politique",
    "5.1": "Élection exécutif",
    "5.2": "Fonctionnement des assemblées",
    "5.3": "Désignation de représentants",
    "5.4": "Délégation de fonctions",
    "5.5": "Délégation de signature",
    "5.6": "Exercice des mandats locaux",
    "5.7": "Intercommunalité",
    "5.8": "Décision d'ester en justice",
    "6": "Libertés publiques et pouvoirs de police",
    "6.1": "Police municipale",
    "6.4": "Autres actes réglementaires",
    "6.5": "Actes pris au nom de l'État",
    "7": "Finances locales",
    "7.1": "Décisions budgétaires",
    "7.2": "Fiscalité",
    "7.3": "Emprunts",
    "7.4": "Interventions économiques",
    "7.5": "Subventions",
    "7.6": "Contributions budgétaires",
    "7.10": "Divers",
    "8": "Domaines de compétences par thèmes",
    "8.1": "Enseignement",
    "8.2": "Aide sociale",
    "8.3": "Voirie",
    "8.4": "Aménagement du territoire",
    "8.5": "Politique de la ville, habitat, logement",
    "8.8": "Environnement",
    "8.9": "Culture",
    "9": "Autres domaines de compétences",
    "9.1": "Autres domaines de compétences des communes",
    "9.4": "Vœux et motions",
}

# Piece type codes (``CodeTypePJ``) of the default typology, with the natures they fit.
PIECE_TYPES: dict[str, str] = {
    "99_DE": "Délibération",
    "99_AR": "Arrêté réglementaire",
    "99_AI": "Arrêté individuel",
    "99_CO": "Contrat, convention",
    "99_BU": "Document budgétaire",
    "99_AU": "Autre document",
}
PIECE_TYPES_BY_NATURE: dict[Nature, tuple[str, ...]] = {
    nature: tuple(PIECE_TYPES) for nature in Nature
}


def leaf_choices() -> list[tuple[str, str]]:
    """The codes an act may carry (two levels), with their labels."""
    return [
        (code, f"{code} {MATIERES[code.split('.')[0]]} / {label}")
        for code, label in MATIERES.items()
        if "." in code
    ]


def is_leaf(code: str) -> bool:
    return "." in code and code in MATIERES


def levels(code: str) -> list[int]:
    """``"7.10"`` → ``[7, 10]``: the ``CodeMatiere1…5`` of the message."""
    return [int(part) for part in code.split(".")]


# --- The member's current classification -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Classification:
    """The classification an act of the member uses: its version, its matières (dotted
    codes → labels) and its piece types (codes → labels)."""

    version_date: date
    matieres: Mapping[str, str]
    piece_types: Mapping[str, str]
    received: bool  # False: the default one

    def is_leaf(self, code: str) -> bool:
        return "." in code and code in self.matieres

    def leaf_choices(self) -> list[tuple[str, str]]:
        return [
            (code, f"{code} {self.matieres.get(code.split('.')[0], '')} / {label}")
            for code, label in self.matieres.items()
            if "." in code and code.count(".") <= 4
        ]


DEFAULT = Classification(VERSION_DATE, MATIERES, PIECE_TYPES, received=False)


def _received(
    version_date: date, matieres: Mapping[str, str], piece_types: Mapping[str, Any]
) -> Classification:
    flat: dict[str, str] = {}
    for types in piece_types.values():
        flat.update({code: label for code, label in types})
    return Classification(version_date, dict(matieres), flat or PIECE_TYPES, received=True)


def current(organisation_id: int) -> Classification:
    """The member's latest received version, else the default one."""
    version = ClassificationVersion.objects.filter(organisation_id=organisation_id).first()
    if version is None:
        return DEFAULT
    return _received(version.version_date, version.matieres, version.piece_types)


def state_of(organisation_id: int) -> ClassificationState | None:
    return ClassificationState.objects.filter(organisation_id=organisation_id).first()


def _outdated(announced_on: date | None, mine: date) -> errors.ClassificationOutdated | None:
    if announced_on is None or announced_on <= mine:
        return None
    return errors.ClassificationOutdated(
        errors.ClassificationOutdated.message
        % {"announced": f"{announced_on:%d/%m/%Y}", "current": f"{mine:%d/%m/%Y}"}
    )


def outdated(organisation_id: int) -> errors.ClassificationOutdated | None:
    """Why the member may not send now: the prefecture announced a newer version than
    the member's (None: the member's is current)."""
    state = state_of(organisation_id)
    return _outdated(state.announced_on if state else None, current(organisation_id).version_date)


# --- Read with the enrolment ---------------------------------------------------------------
#
# Preparing and validating an act read the member's enrolment, its current version and
# (to validate) the version the prefecture announced: one statement instead of three or
# four, the version and the announced date as subqueries of the enrolment's row.


def with_classification(enrolments: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    """``enrolments`` with, on each row, the member's current classification version
    (``of_enrolment``) and the version its prefecture announced (``outdated_for``)."""
    versions = ClassificationVersion.objects.filter(
        organisation_id=OuterRef("organisation_id")
    ).order_by("-version_date")
    states = ClassificationState.objects.filter(organisation_id=OuterRef("organisation_id"))
    return enrolments.annotate(
        classification_version_date=Subquery(versions.values("version_date")[:1]),
        classification_matieres=Subquery(
            versions.values("matieres")[:1], output_field=models.JSONField()
        ),
        classification_piece_types=Subquery(
            versions.values("piece_types")[:1], output_field=models.JSONField()
        ),
        classification_announced_on=Subquery(states.values("announced_on")[:1]),
    )


def of_enrolment(enrolment: Enrolment) -> Classification:
    """``current`` for an enrolment read through ``with_classification``."""
    version_date = enrolment.classification_version_date  # type: ignore[attr-defined]
    if version_date is None:
        return DEFAULT
    return _received(
        version_date,
        enrolment.classification_matieres,  # type: ignore[attr-defined]
        enrolment.classification_piece_types,  # type: ignore[attr-defined]
    )


def outdated_for(enrolment: Enrolment) -> errors.ClassificationOutdated | None:
    """``outdated`` for an enrolment read through ``with_classification``."""
    return _outdated(
        enrolment.classification_announced_on,  # type: ignore[attr-defined]
        of_enrolment(enrolment).version_date,
    )


def _state(organisation_id: int) -> ClassificationState:
    state = (
        ClassificationState.objects.select_for_update()
        .filter(organisation_id=organisation_id)
        .first()
    )
    if state is None:
        state = ClassificationState.objects.create(organisation_id=organisation_id)
    return state


def note_announced(
    organisation: Organisation, announced_on: date, actor: Any, message_sha256: str = ""
) -> None:
    """The prefecture named ``announced_on`` as its current version (in an
    acknowledgement, an anomaly or an answer): kept when newer than what was known. Runs
    inside the caller's transaction and the member's scope."""
    state = _state(organisation.pk)
    if state.announced_on is not None and state.announced_on >= announced_on:
        return
    before = state.announced_on
    state.announced_on = announced_on
    state.save(update_fields=["announced_on"])
    audit.record(
        actor=actor,
        organisation=organisation,
        action="legality.classification_announced",
        target=state,
        payload={
            "announced_on": announced_on.isoformat(),
            "before": before.isoformat() if before else None,
            "message_sha256": message_sha256,
        },
    )


# --- The request and its answers --------------------------------------------------------


def request_message(member_version: date) -> bytes:
    """A ``DemandeClassification`` naming the member's version."""
    root = outbox.element("DemandeClassification")
    etree.SubElement(root, outbox.q("DateClassification")).text = member_version.isoformat()
    return outbox.serialise(root)


def request_classification(
    *, actor: Any, request_context: Mapping[str, Any] | None = None
) -> OutboundMessage:
    """An agent asks the prefecture for its classification: a ``DemandeClassification``
    is queued for sending."""
    from . import services  # services reads the classification: imported when used

    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current_membership = services.acting_member(actor, AGENT_ROLE)
        organisation = Organisation.objects.select_for_update().get(
            pk=current_membership.organisation_id
        )
        enrolment = Enrolment.objects.filter(organisation=organisation).first()
        if enrolment is None:
            raise errors.NotEnrolled()
        if not organisation.siren:
            raise errors.SirenMissing()
        if OutboundMessage.objects.filter(
            organisation=organisation,
            kind="DemandeClassification",
            status=OutboundStatus.WAITING,
        ).exists():
            raise errors.ClassificationRequestPending()
        version = current(organisation.pk).version_date
        today = timezone.localdate()
        serial = outbox.next_serial(organisation.pk, today)
        base = f"{enrolment.departement}-{organisation.siren}-{today:%Y%m%d}-{serial}"
        row = outbox.queue(
            enrolment=enrolment,
            siren=organisation.siren,
            outgoing=outbox.Outgoing("DemandeClassification", base),
            message=request_message(version),
            today=today,
        )
        state = _state(organisation.pk)
        state.requested_at = timezone.now()
        state.save(update_fields=["requested_at"])
        audit.record(
            actor=current_membership,
            organisation=organisation,
            action="legality.classification_requested",
            target=row,
            payload={"member_version": version.isoformat(), "package": row.package_name},
            **dict(request_context or {}),
        )
    return row


def _q(name: str) -> str:
    return f"{{{ACTES_NS}}}{name}"


def parse_matieres(root: etree._Element) -> dict[str, str]:
    """The matières of a ``RetourClassification``, flattened: ``{"1": …, "1.1": …}``."""
    found: dict[str, str] = {}

    def walk(element: etree._Element, prefix: str, level: int) -> None:
        for child in element.findall(_q(f"Matiere{level}")):
            code = f"{prefix}{child.get(_q('CodeMatiere'), '')}"
            found[code] = " ".join((child.get(_q("Libelle")) or "").split())[:300]
            if level < 5:
                walk(child, f"{code}.", level + 1)

    matieres = root.find(_q("Matieres"))
    if matieres is not None:
        walk(matieres, "", 1)
    return found


def parse_piece_types(root: etree._Element) -> dict[str, list[list[str]]]:
    """The piece types of a ``RetourClassification`` per nature code."""
    found: dict[str, list[list[str]]] = {}
    natures = root.find(_q("NaturesActes"))
    for nature in natures.findall(_q("NatureActe")) if natures is not None else []:
        code = nature.get(_q("CodeNatureActe"), "")
        found[code] = [
            [
                (piece.get(_q("CodeTypePJ")) or "")[:20],
                " ".join((piece.get(_q("Libelle")) or "").split())[:300],
            ]
            for piece in nature.findall(_q("TypePJNatureActe"))
        ]
    return found


def receive_classification(
    *,
    organisation_id: int,
    root: etree._Element,
    actor: Any,
    message_sha256: str = "",
    now: datetime | None = None,
) -> ClassificationVersion:
    """A ``RetourClassification``: the version is kept (once per version date) and
    becomes the member's current one if it is the newest."""
    version_date = date.fromisoformat(root.findtext(_q("DateClassification")) or "")
    matieres = parse_matieres(root)
    with transaction.atomic(), scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        version = ClassificationVersion.objects.filter(
            organisation=organisation, version_date=version_date
        ).first()
        if version is not None:
            return version
        version = ClassificationVersion.objects.create(
            organisation=organisation,
            version_date=version_date,
            matieres=matieres,
            piece_types=parse_piece_types(root),
            received_at=now or timezone.now(),
        )
        state = _state(organisation_id)
        state.checked_at = now or timezone.now()
        state.save(update_fields=["checked_at"])
        note_announced(organisation, version_date, actor, message_sha256)
        audit.record(
            actor=actor,
            organisation=organisation,
            action="legality.classification_received",
            target=version,
            payload={
                "version_date": version_date.isoformat(),
                "matieres": len(matieres),
                "message_sha256": message_sha256,
            },
        )
    return version


def receive_unchanged(
    *,
    organisation_id: int,
    version_date: date,
    actor: Any,
    message_sha256: str = "",
    now: datetime | None = None,
) -> ClassificationState:
    """A ``ReponseClassificationSansChangement``: the prefecture's version is
    ``version_date`` and the member holds it; kept as the announced version."""
    with transaction.atomic(), scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        state = _state(organisation_id)
        state.checked_at = now or timezone.now()
        state.save(update_fields=["checked_at"])
        note_announced(organisation, version_date, actor, message_sha256)
        audit.record(
            actor=actor,
            organisation=organisation,
            action="legality.classification_unchanged",
            target=state,
            payload={"version_date": version_date.isoformat(), "message_sha256": message_sha256},
        )
    return state


def announce(*, organisation_id: int, announced_on: date, message_sha256: str = "") -> None:
    """``note_announced`` for the return channel (its own transaction and scope)."""
    from .services import RETURN_ACTOR

    with transaction.atomic(), scope(organisation=organisation_id):
        organisation = Organisation.objects.get(pk=organisation_id)
        note_announced(organisation, announced_on, RETURN_ACTOR, message_sha256)
