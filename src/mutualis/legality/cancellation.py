"""The cancellation of an act's transmission ("annulation").

The member asks (``Annulation``, 6-1, naming the act's identifier) for an act the
prefecture acknowledged; the act stays acknowledged, with its cancellation pending,
until the prefecture acknowledges the cancellation (``ARAnnulation``, 6-2, with the
date it received it): the act is then cancelled. An act not sent yet is cancelled
directly (``services.cancel_act``); an act sent but not acknowledged waits for its
acknowledgement; an act already cancelled, or whose cancellation is pending, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.models import Organisation

from . import errors, outbox, services, transitions
from .models import AGENT_ROLE, Act, ActStatus, Enrolment, OutboundMessage, OutboundStatus

KIND = "Annulation"


def message(identifier: str) -> bytes:
    root = outbox.element(KIND)
    root.set(outbox.q("IDActe"), identifier)
    return outbox.serialise(root)


def pending(act: Act) -> OutboundMessage | None:
    """The act's cancellation asked for and not acknowledged yet (waiting, or sent)."""
    return (
        OutboundMessage.objects.filter(act=act, kind=KIND, acknowledged_on__isnull=True)
        .exclude(status=OutboundStatus.ERROR)
        .order_by("-pk")
        .first()
    )


def can_request(act: Act) -> bool:
    return transitions.allowed(act, transitions.Event.REQUEST_CANCELLATION) and (
        pending(act) is None
    )


def request_cancellation(
    *, actor: Any, act_id: int, request_context: Mapping[str, Any] | None = None
) -> OutboundMessage:
    """An agent asks for the cancellation of an acknowledged act: ``Annulation`` queued."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = services.acting_member(actor, AGENT_ROLE)
        Organisation.objects.select_for_update().get(pk=current.organisation_id)
        act = services.locked_act(current, act_id)
        if not transitions.allowed(act, transitions.Event.REQUEST_CANCELLATION):
            raise errors.CancellationNotAllowed()
        if pending(act) is not None:
            raise errors.CancellationPending()
        enrolment = Enrolment.objects.filter(organisation_id=act.organisation_id).first()
        if enrolment is None:
            raise errors.NotEnrolled()
        row = outbox.queue(
            enrolment=enrolment,
            siren=act.organisation.siren,
            outgoing=outbox.Outgoing(KIND, act.identifier),
            message=message(act.identifier),
            act=act,
        )
        transitions.apply(act, transitions.Event.REQUEST_CANCELLATION)
        act.save(update_fields=["status", "updated_at"])
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.cancellation_requested",
            target=act,
            payload={"identifier": act.identifier, "package": row.package_name},
            **dict(request_context or {}),
        )
    return row


def acknowledge_cancellation(
    *, organisation_id: int, identifier: str, received_on: date, message_sha256: str = ""
) -> Act:
    """The prefecture acknowledges the cancellation (``ARAnnulation``): the act is
    cancelled. Idempotent; an act whose cancellation was not asked for is refused
    (``UnknownAct``: the message is quarantined)."""
    with transaction.atomic(), scope(organisation=organisation_id):
        act = (
            Act.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=organisation_id, identifier=identifier)
            .exclude(identifier="")
            .first()
        )
        if act is None:
            raise errors.UnknownAct()
        request = OutboundMessage.objects.filter(act=act, kind=KIND).order_by("-pk").first()
        if request is None:
            raise errors.UnknownAct()
        if act.status == ActStatus.CANCELLED and request.acknowledged_on == received_on:
            return act
        transitions.apply(act, transitions.Event.CANCELLATION_ACKNOWLEDGED)
        act.save(update_fields=["status", "updated_at"])
        request.acknowledged_on = received_on
        request.save(update_fields=["acknowledged_on"])
        audit.record(
            actor=services.RETURN_ACTOR,
            organisation=act.organisation,
            action="legality.act_transmission_cancelled",
            target=act,
            payload={
                "identifier": identifier,
                "received_on": received_on.isoformat(),
                "message_sha256": message_sha256,
            },
        )
    return act
