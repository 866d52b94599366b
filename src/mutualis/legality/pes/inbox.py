"""The member's inbox of the treasury's returns (``PES_Retour``).

The collection job (``sending.receive``) recognises a return by its root element, checks
it against the RETOUR schemas and routes it by its ``IdColl``; ``record_return`` then
keeps it as a row of the member, with its summary, and builds at once the member's
technical acknowledgement (``PES_ACQUIT_RETOUR``), checked against its schema, which
``sending.deposit_due_acquits_retour`` deposits on the gateway.

The acknowledgement is automatic on reception, not left to an agent: it tells the
treasury that the file reached the member's platform (a technical receipt, as the
``PES_ACQUIT`` is for a flow), not that someone read it or agrees with it; waiting for
an agent would leave Helios without an answer over holidays and weekends. Whether an
agent has read a return is the inbox's own ``read_at``.

The agents' (and the members' software's) reads: opening a return marks it read (once,
audited); every download of its raw file is an event on the member's chain.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store

from .. import services as legality_services
from .. import webhooks
from ..errors import TransitionNotAllowed
from . import flows, transitions
from .models import ACCOUNTANT_ROLE, PES_INBOUND_OWNER_KIND, PesReturn

RETURN_ACTOR = audit.SystemActor("legality.pes_returns")
MAX_ACQUIT_RETOUR_BYTES = 1024 * 1024
XML_TYPES = frozenset({"text/xml", "application/xml"})


class NameTaken(Exception):
    """The member already received a return of this ``NomFic`` (with other bytes)."""


def remote_name(retour: PesReturn) -> str:
    """The acknowledgement's name on the gateway: the row (unique across members) and
    the return's NomFic made path-safe."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", retour.nomfic).strip(".")[:100]
    return f"ACQRET{retour.pk}_{safe}.xml"


def _store_acquit(data: bytes, name: str) -> Any:
    return file_store.store_file(
        file=io.BytesIO(data),
        name=name,
        owner_kind=PES_INBOUND_OWNER_KIND,
        allowed_types=XML_TYPES,
        max_size=MAX_ACQUIT_RETOUR_BYTES,
    )


def record_return(
    *,
    organisation_id: int,
    retour: flows.Retour,
    stored: Any,
    message_sha256: str,
    now: datetime | None = None,
) -> PesReturn:
    """Keep a routed ``PES_Retour`` in the member's inbox and prepare its
    ``PES_ACQUIT_RETOUR`` (to be sent). ``NameTaken`` when the member already has a
    return of this name: the caller quarantines the file."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    with transaction.atomic(), scope(organisation=organisation_id):
        row = PesReturn(
            organisation_id=organisation_id,
            nomfic=retour.nomfic[: flows.NOMFIC_LENGTH],
            typfic=retour.typfic[:32],
            id_coll=retour.id_coll[:14],
            cod_col=retour.cod_col[:3],
            cod_bud=retour.cod_bud[:2],
            restitution=retour.restitution,
            domains=retour.domains,
            produced_on=retour.produced_on,
            summary=retour.summary,
            rejected=retour.rejected,
            file=stored,
            received_at=now,
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise NameTaken() from None
        try:
            content = flows.write_acquit_retour(retour, day=day)
        except flows.FormatError as exc:
            # Never expected (the return followed its schema); kept visible, not lost.
            transitions.apply_ack(row, transitions.AckEvent.FAIL)
            row.ack_error = f"the acknowledgement could not be built: {exc.reason}"[:500]
        else:
            row.ack_remote_name = remote_name(row)
            row.ack_file = _store_acquit(content, row.ack_remote_name)
        row.save()
        audit.record(
            actor=RETURN_ACTOR,
            organisation=row.organisation,
            action="legality.pes_return_received",
            target=row,
            payload={
                "nomfic": row.nomfic,
                "typfic": row.typfic,
                "restitution": row.restitution,
                "domains": row.domains,
                "summary": row.summary,
                "message_sha256": message_sha256,
                "acquit_retour_sha256": row.ack_file.sha256 if row.ack_file else "",
            },
        )
        webhooks.pes_return_received(row, now)
    return row


def _locked(organisation_id: int, retour_id: int) -> PesReturn:
    retour = (
        PesReturn.objects.select_for_update(of=("self",))
        .select_related("organisation", "file")
        .filter(organisation_id=organisation_id, pk=retour_id)
        .first()
    )
    if retour is None:
        raise PermissionDenied
    return retour


def _organisation_of(actor: legality_services.Actor) -> int:
    return int(actor.organisation_id)


def open_return(
    *,
    actor: legality_services.Actor,
    retour_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> PesReturn:
    """An agent (or the member's software) opens a return: read from now on (the
    first opening is an event of the member's chain)."""
    organisation_id = _organisation_of(actor)
    with transaction.atomic(), scope(organisation=organisation_id):
        current = legality_services.acting_member(actor, ACCOUNTANT_ROLE)
        retour = _locked(organisation_id, retour_id)
        if retour.read_at is None:
            retour.read_at = timezone.now()
            retour.save(update_fields=["read_at"])
            audit.record(
                actor=current,
                organisation=retour.organisation,
                action="legality.pes_return_read",
                target=retour,
                payload={"nomfic": retour.nomfic},
                **dict(request_context or {}),
            )
    return retour


def record_download(
    *,
    actor: legality_services.Actor,
    retour_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> PesReturn:
    """Every download of a return's raw file, before it is served: an event on the
    member's chain (who, which file, its SHA-256). Marks the return read."""
    organisation_id = _organisation_of(actor)
    with transaction.atomic(), scope(organisation=organisation_id):
        current = legality_services.acting_member(actor, ACCOUNTANT_ROLE)
        retour = _locked(organisation_id, retour_id)
        if retour.read_at is None:
            retour.read_at = timezone.now()
            retour.save(update_fields=["read_at"])
        audit.record(
            actor=current,
            organisation=retour.organisation,
            action="legality.pes_return_downloaded",
            target=retour,
            payload={"nomfic": retour.nomfic, "sha256": retour.file.sha256},
            **dict(request_context or {}),
        )
    return retour


def retry_acquit_retour(
    *,
    actor: legality_services.Actor,
    retour_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> PesReturn:
    """Send again an acknowledgement the gateway could not take (error → to be sent):
    the same bytes under the same name, with a fresh count of attempts."""
    organisation_id = _organisation_of(actor)
    with transaction.atomic(), scope(organisation=organisation_id):
        current = legality_services.acting_member(actor, ACCOUNTANT_ROLE)
        retour = _locked(organisation_id, retour_id)
        if retour.ack_file_id is None:
            raise TransitionNotAllowed()
        transitions.apply_ack(retour, transitions.AckEvent.RETRY)
        retour.ack_attempts, retour.ack_next_attempt_at, retour.ack_error = 0, None, ""
        retour.save(
            update_fields=["ack_status", "ack_attempts", "ack_next_attempt_at", "ack_error"]
        )
        audit.record(
            actor=current,
            organisation=retour.organisation,
            action="legality.pes_acquit_retour_retried",
            target=retour,
            payload={"nomfic": retour.nomfic},
            **dict(request_context or {}),
        )
    return retour
