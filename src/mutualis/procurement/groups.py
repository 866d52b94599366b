"""Group purchasing ("groupement de commandes", L. 2113-6 of the code de la commande
publique): one member coordinates and publishes a consultation on behalf of several
members of the territory, each with its share.

The coordinator adds and removes participants while the consultation is a draft; each
participation row belongs to the participant (``GroupParticipation.organisation``), so
that the participant finds it in its own scope. The participant reads the consultation
only once it is public, through the crossings (``public_consultations_among``), like
any visitor: never the coordinator's draft nor its other private rows. Once published,
the purchase shows on each participant's buyer profile and on its own procurement pages.

Shares: a percentage of the purchase, an estimated amount (excluding VAT), or both. The
percentages of the participants total at most 100 (the coordinator takes part with the
rest, or none); their amounts total at most the consultation's estimated value when it
has one. Checked when a participant is added, and again at publication, since the
estimated value may have changed meanwhile.

Audit: each change of the group is an event on the coordinator's chain; the publication
of a group purchase adds an event on each participant's chain (the participation becomes
visible to it then, not before: a draft stays the coordinator's).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import crossings as core_crossings
from mutualis.core.models import AdhesionStatus

from . import crossings, errors
from .models import Consultation, GroupParticipation
from .services import locked_consultation, record_event, require_buyer, require_draft

PUBLISH_ACTOR = audit.SystemActor("procurement.group_purchase")


def check_shares(consultation: Consultation, participations: list[GroupParticipation]) -> None:
    """Refuse shares that do not add up: percentages over 100 in all, amounts over the
    consultation's estimated value."""
    percents = [p.share_percent for p in participations if p.share_percent is not None]
    if sum(percents, Decimal(0)) > 100:
        raise errors.SharesOverHundred()
    amounts = [p.share_amount for p in participations if p.share_amount is not None]
    value = consultation.estimated_value
    if value is not None and sum(amounts, Decimal(0)) > value:
        raise errors.SharesOverValue()


def check_publishable(consultation: Consultation) -> None:
    """The group's shares still add up when the consultation is published."""
    check_shares(
        consultation,
        crossings.group_of(
            consultation_id=consultation.pk, coordinator_id=consultation.organisation_id
        ),
    )


@transaction.atomic(durable=True)
def add_participant(
    *,
    actor: Any,
    consultation_id: int,
    participant: str,
    share_percent: Decimal | None = None,
    share_amount: Decimal | None = None,
    request_context: dict[str, Any] | None = None,
) -> GroupParticipation:
    """Add a member (named by its SIREN or its public address) to the group of a draft
    the actor's organisation coordinates."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    if share_percent is None and share_amount is None:
        raise errors.ShareMissing()
    organisation = core_crossings.organisation_by_reference(participant)
    if organisation is None or organisation.adhesion_status != AdhesionStatus.MEMBER:
        raise errors.ParticipantNotMember()
    if organisation.pk == consultation.organisation_id:
        raise errors.ParticipantIsCoordinator()
    group = crossings.group_of(
        consultation_id=consultation.pk, coordinator_id=consultation.organisation_id
    )
    if any(p.organisation_id == organisation.pk for p in group):
        raise errors.ParticipantAlreadyAdded()
    row = GroupParticipation(
        organisation=organisation,
        consultation=consultation,
        share_percent=share_percent,
        share_amount=share_amount,
    )
    check_shares(consultation, [*group, row])
    # The participant's row, written in the participant's scope on the coordinator's
    # behalf: the one place the coordinator writes a row it does not own.
    with scope(organisation=organisation.pk):
        row.save()
    record_event(
        consultation,
        actor=actor,
        action="consultation.participant_added",
        payload={
            "participant": organisation.pk,
            "share_percent": None if share_percent is None else str(share_percent),
            "share_amount": None if share_amount is None else str(share_amount),
        },
        request_context=request_context,
    )
    return row


@transaction.atomic(durable=True)
def remove_participant(
    *,
    actor: Any,
    consultation_id: int,
    participation_id: int,
    request_context: dict[str, Any] | None = None,
) -> None:
    """Take a member out of the group of a draft the actor's organisation coordinates."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    group = crossings.group_of(
        consultation_id=consultation.pk, coordinator_id=consultation.organisation_id
    )
    row = next((p for p in group if p.pk == participation_id), None)
    if row is None:
        raise GroupParticipation.DoesNotExist
    with scope(organisation=row.organisation_id):
        GroupParticipation.objects.filter(
            pk=row.pk, organisation_id=row.organisation_id, consultation_id=consultation.pk
        ).delete()
    record_event(
        consultation,
        actor=actor,
        action="consultation.participant_removed",
        payload={"participant": row.organisation_id},
        request_context=request_context,
    )


def participations_of(*, organisation_id: int) -> list[GroupParticipation]:
    """The participant's own rows (read in its scope)."""
    return list(GroupParticipation.objects.filter(organisation_id=organisation_id).order_by("-pk"))


def group_purchases_of(*, organisation_id: int) -> list[tuple[Consultation, GroupParticipation]]:
    """The published group purchases the member takes part in, with its share: its own
    participation rows, then the public consultations they point at."""
    rows = {p.consultation_id: p for p in participations_of(organisation_id=organisation_id)}
    return [(c, rows[c.pk]) for c in crossings.public_consultations_among(list(rows))]


def on_published(*, consultation_id: int, organisation_id: int, **_: Any) -> None:
    """Receiver of ``signals.consultation_published``: the participation becomes public,
    recorded on each participant's chain (after the publication committed)."""
    group = crossings.group_of(consultation_id=consultation_id, coordinator_id=organisation_id)
    for row in group:
        with transaction.atomic():
            audit.record(
                actor=PUBLISH_ACTOR,
                organisation=row.organisation,
                action="group_purchase.published",
                target=row,
                payload={"consultation": consultation_id, "coordinator": organisation_id},
            )
