"""The network side of the PES flows (periodic jobs, ``tasks``):

``deposit_due_flows``: each signed flow whose attempt is due is claimed (one short
transaction: one attempt more and the next attempt's time set, which is also the lease),
deposited on the gateway (``gateway.py``: atomic, and a name already there is not written
again), then recorded: deposited → sent; a gateway failure → retried with back-off, or
error once the attempts are exhausted. Never deposited twice: the bytes and the name
(``{NomFic}.xml``) are fixed when the flow is signed, and a name the gateway already holds
counts as deposited.

``collect_acknowledgements``: every file of the gateway's outbox is read, kept (raw, in
the private store, once: its SHA-256 is unique), recognised by its root element and
checked against its schema: a ``PES_ACQUIT`` is routed to its member (``IdColl`` → SIREN)
and flow (``NomFic``) and recorded (``services.record_acquit``), a ``PES_Retour`` to its
member's inbox (``inbox.record_return``, which prepares its ``PES_ACQUIT_RETOUR``); what
cannot be parsed or routed is quarantined (``PesInbound``). The file is removed from the
gateway once recorded.

``deposit_due_acquits_retour``: the members' ``PES_ACQUIT_RETOUR``, deposited in
``entree/`` like the flows (claimed, deposited, recorded; back-off; never twice).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store

from ..errors import TransitionNotAllowed
from . import errors, flows, gateway, inbox, services, transitions
from .models import (
    PES_INBOUND_OWNER_KIND,
    AcquitRetourStatus,
    FlowStatus,
    PesFlow,
    PesInbound,
    PesInboundStatus,
    PesReturn,
)

log = logging.getLogger(__name__)

SENDER_ACTOR = audit.SystemActor("legality.pes_transmission")
BATCH = 100
MAX_BACKOFF = timedelta(hours=6)
MAX_ACQUIT_BYTES = 20 * 1024**2


def backoff(attempt: int) -> timedelta:
    seconds = settings.MUTUALIS_PES_RETRY_SECONDS * 2 ** max(0, attempt - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


@dataclasses.dataclass(frozen=True)
class Claim:
    flow_id: int
    organisation_id: int
    attempt: int
    name: str
    file: Any


def _due(now: datetime) -> list[tuple[int, int]]:
    from ..crossings import pes_flows_to_send

    due: list[tuple[int, int]] = pes_flows_to_send(now, BATCH)
    return due


def _claim(flow_id: int, organisation_id: int, now: datetime) -> Claim | None:
    with transaction.atomic(), scope(organisation=organisation_id):
        flow = (
            PesFlow.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("file")
            .filter(pk=flow_id, organisation_id=organisation_id, status=FlowStatus.SIGNED)
            .first()
        )
        if flow is None or (flow.next_attempt_at is not None and flow.next_attempt_at > now):
            return None
        flow.send_attempts += 1
        flow.next_attempt_at = now + backoff(flow.send_attempts)
        flow.save(update_fields=["send_attempts", "next_attempt_at", "updated_at"])
        return Claim(flow.pk, organisation_id, flow.send_attempts, flow.remote_name, flow.file)


def _record(claim: Claim, deposited: bool | None, detail: str, now: datetime) -> str:
    """``deposited``: True (written), False (already there), None (failed)."""
    with transaction.atomic(), scope(organisation=claim.organisation_id):
        flow = (
            PesFlow.objects.select_for_update().select_related("organisation").get(pk=claim.flow_id)
        )
        if flow.status != FlowStatus.SIGNED:
            log.warning("pes: flow %s left 'signed' during its deposit", flow.pk)
            return "left"
        if deposited is not None:
            transitions.apply(flow, transitions.Event.SEND)
            flow.sent_at, flow.next_attempt_at, flow.error_reason = now, None, ""
            action, result = "legality.pes_sent", "sent"
        elif claim.attempt < settings.MUTUALIS_PES_MAX_ATTEMPTS:
            flow.error_reason = detail[:500]
            flow.save(update_fields=["error_reason", "updated_at"])
            log.warning("pes: deposit of flow %s failed (%s), retried", flow.pk, detail)
            return "retry"
        else:
            transitions.apply(flow, transitions.Event.FAIL)
            flow.next_attempt_at = None
            with translation.override(settings.LANGUAGE_CODE):
                flow.error_reason = str(
                    _(
                        "The treasury's gateway could not be reached after %(attempts)s "
                        "attempts (%(detail)s): the flow need not change; send it again "
                        "later, or call the operator."
                    )
                    % {"attempts": claim.attempt, "detail": detail or "-"}
                )[:500]
            action, result = "legality.pes_failed", "failed"
        flow.save()
        _record_attempt(flow, action=action, claim=claim, deposited=deposited, detail=detail)
        return result


def _record_attempt(
    row: Any, *, action: str, claim: Any, deposited: bool | None, detail: str
) -> None:
    """The audit event of one deposit attempt that changed a flow's or a return
    acknowledgement's state (sent, or failed for good), on its member's chain."""
    audit.record(
        actor=SENDER_ACTOR,
        organisation=row.organisation,
        action=action,
        target=row,
        payload={
            "nomfic": row.nomfic,
            "remote_name": claim.name,
            "attempt": claim.attempt,
            "already_there": deposited is False,
            "detail": detail[:300],
        },
    )


def deposit_due_flows(now: datetime | None = None) -> dict[str, int | str]:
    now = now or timezone.now()
    counts: dict[str, int | str] = {"sent": 0, "retry": 0, "failed": 0}
    if not gateway.configured():
        counts["closed"] = "not_configured"
        return counts
    due = _due(now)
    if not due:
        return counts
    claims = [c for c in (_claim(f, o, now) for f, o in due) if c is not None]
    if not claims:
        return counts
    outcomes: list[tuple[Claim, bool | None, str]] = []
    try:
        with gateway.open_transport() as transport:
            for claim in claims:
                try:
                    with file_store.open_stored_file(claim.file) as source:
                        body = io.BytesIO(source.read())
                    outcomes.append((claim, transport.deposit(claim.name, body), ""))
                except gateway.GatewayError as exc:
                    outcomes.append((claim, None, str(exc)))
    except gateway.GatewayError as exc:
        done = {c.flow_id for c, _d, _t in outcomes}
        outcomes.extend((c, None, str(exc)) for c in claims if c.flow_id not in done)
    for claim, deposited, detail in outcomes:
        result = _record(claim, deposited, detail, now)
        if result in counts:
            counts[result] = int(counts[result]) + 1
    return counts


# --- The acknowledgements --------------------------------------------------------------


class _AnyType(frozenset[str]):
    """A raw return is kept verbatim, whatever its bytes (never served)."""

    def __contains__(self, item: object) -> bool:
        return True


class Unroutable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _member_of(id_coll: str) -> int | None:
    from ..crossings import member_of_siren

    if not flows.SIRET.fullmatch(id_coll or ""):
        return None
    member: int | None = member_of_siren(id_coll[:9])
    return member


def _record_acquit(
    organisation_id: int, acquit: flows.Acquit, stored: Any, sha256: str, now: datetime
) -> PesFlow:
    try:
        with transaction.atomic():
            return services.record_acquit(
                organisation_id=organisation_id,
                acquit=acquit,
                stored=stored,
                message_sha256=sha256,
                now=now,
            )
    except errors.UnknownFlow as exc:
        raise Unroutable(f"no flow of this member is named {acquit.nomfic}") from exc
    except TransitionNotAllowed as exc:
        raise Unroutable("the flow's status does not allow an acknowledgement") from exc


def _record_retour(
    organisation_id: int, retour: flows.Retour, stored: Any, sha256: str, now: datetime
) -> PesReturn:
    try:
        with transaction.atomic():
            return inbox.record_return(
                organisation_id=organisation_id,
                retour=retour,
                stored=stored,
                message_sha256=sha256,
                now=now,
            )
    except inbox.NameTaken as exc:
        raise Unroutable(
            f"this member already received a PES_Retour named {retour.nomfic[:100]}"
        ) from exc


def receive(raw: bytes, name: str, now: datetime | None = None) -> str:
    """Process one file of the outbox: "processed", "quarantined" or "duplicate"."""
    now = now or timezone.now()
    sha256 = hashlib.sha256(raw).hexdigest()
    if PesInbound.objects.filter(sha256=sha256).exists():
        return "duplicate"
    row = PesInbound(sha256=sha256, name=name[:255], received_at=now)
    try:
        with transaction.atomic():
            stored = file_store.store_file(
                file=io.BytesIO(raw),
                name=f"{sha256[:16]}.xml",
                owner_kind=PES_INBOUND_OWNER_KIND,
                allowed_types=_AnyType(),
                max_size=max(MAX_ACQUIT_BYTES, len(raw)),
            )
            row.raw = stored
            try:
                try:
                    document = flows.read_return_file(raw)
                except flows.FormatError as exc:
                    raise Unroutable(f"not a valid PES_ACQUIT or PES_Retour: {exc.reason}") from exc
                organisation_id = _member_of(document.id_coll)
                if organisation_id is None:
                    raise Unroutable(f"no member has the SIRET {document.id_coll[:14]}")
                if isinstance(document, flows.Retour):
                    row.retour = _record_retour(organisation_id, document, stored, sha256, now)
                else:
                    row.flow = _record_acquit(organisation_id, document, stored, sha256, now)
                row.status = PesInboundStatus.PROCESSED
                row.organisation_id = organisation_id
            except Unroutable as exc:
                row.status = PesInboundStatus.QUARANTINED
                row.reason = exc.reason[:500]
                log.warning("pes: return %s quarantined: %s", sha256[:12], exc.reason)
            row.save()
    except IntegrityError:
        return "duplicate"
    return str(row.status)


def collect_acknowledgements(now: datetime | None = None) -> dict[str, int | str]:
    counts: dict[str, int | str] = {"processed": 0, "quarantined": 0, "duplicate": 0}
    if not gateway.configured():
        counts["closed"] = "not_configured"
        return counts
    try:
        with gateway.open_transport() as transport:
            for name in transport.outbox():
                try:
                    raw = transport.fetch(name, MAX_ACQUIT_BYTES)
                except gateway.GatewayError as exc:
                    log.warning("pes: %s not collected: %s", name, exc)
                    counts["skipped"] = int(counts.get("skipped", 0)) + 1
                    continue
                if not raw.strip():
                    # Nothing to keep nor to lose: an empty file is only counted.
                    transport.remove(name)
                    counts["empty"] = int(counts.get("empty", 0)) + 1
                    continue
                outcome = receive(raw, name, now)
                counts[outcome] = int(counts.get(outcome, 0)) + 1
                transport.remove(name)
    except gateway.GatewayError as exc:
        log.warning("pes: the gateway's outbox could not be read: %s", exc)
        counts["error"] = str(exc)[:200]
    return counts


# --- The members' acknowledgements of the returns (PES_ACQUIT_RETOUR) --------------------


@dataclasses.dataclass(frozen=True)
class AckClaim:
    retour_id: int
    organisation_id: int
    attempt: int
    name: str
    file: Any


def _claim_ack(retour_id: int, organisation_id: int, now: datetime) -> AckClaim | None:
    with transaction.atomic(), scope(organisation=organisation_id):
        retour = (
            PesReturn.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ack_file")
            .filter(
                pk=retour_id,
                organisation_id=organisation_id,
                ack_status=AcquitRetourStatus.TO_SEND,
                ack_file__isnull=False,
            )
            .first()
        )
        if retour is None or (
            retour.ack_next_attempt_at is not None and retour.ack_next_attempt_at > now
        ):
            return None
        retour.ack_attempts += 1
        retour.ack_next_attempt_at = now + backoff(retour.ack_attempts)
        retour.save(update_fields=["ack_attempts", "ack_next_attempt_at"])
        return AckClaim(
            retour.pk, organisation_id, retour.ack_attempts, retour.ack_remote_name, retour.ack_file
        )


def _record_ack(claim: AckClaim, deposited: bool | None, detail: str, now: datetime) -> str:
    """``deposited``: True (written), False (already there), None (failed)."""
    with transaction.atomic(), scope(organisation=claim.organisation_id):
        retour = (
            PesReturn.objects.select_for_update()
            .select_related("organisation")
            .get(pk=claim.retour_id)
        )
        if retour.ack_status != AcquitRetourStatus.TO_SEND:
            return "left"
        if deposited is not None:
            transitions.apply_ack(retour, transitions.AckEvent.DEPOSIT)
            retour.ack_sent_at, retour.ack_next_attempt_at, retour.ack_error = now, None, ""
            action, result = "legality.pes_acquit_retour_sent", "sent"
        elif claim.attempt < settings.MUTUALIS_PES_MAX_ATTEMPTS:
            retour.ack_error = detail[:500]
            retour.save(update_fields=["ack_error"])
            log.warning("pes: acquit retour of %s not deposited (%s), retried", retour.pk, detail)
            return "retry"
        else:
            transitions.apply_ack(retour, transitions.AckEvent.FAIL)
            retour.ack_next_attempt_at = None
            with translation.override(settings.LANGUAGE_CODE):
                retour.ack_error = str(
                    _(
                        "The treasury's gateway could not be reached after %(attempts)s "
                        "attempts (%(detail)s): send the acknowledgement again later, or "
                        "call the operator."
                    )
                    % {"attempts": claim.attempt, "detail": detail or "-"}
                )[:500]
            action, result = "legality.pes_acquit_retour_failed", "failed"
        retour.save()
        _record_attempt(retour, action=action, claim=claim, deposited=deposited, detail=detail)
        return result


def deposit_due_acquits_retour(now: datetime | None = None) -> dict[str, int | str]:
    """Deposit the acknowledgements of the returns whose attempt is due (claimed, then
    deposited outside any transaction, then recorded): never twice, since the bytes
    and the name are fixed at reception and a name already on the gateway counts as
    deposited."""
    from ..crossings import pes_acquits_retour_to_send

    now = now or timezone.now()
    counts: dict[str, int | str] = {"sent": 0, "retry": 0, "failed": 0}
    if not gateway.configured():
        counts["closed"] = "not_configured"
        return counts
    due: list[tuple[int, int]] = pes_acquits_retour_to_send(now, BATCH)
    claims = [c for c in (_claim_ack(r, o, now) for r, o in due) if c is not None]
    if not claims:
        return counts
    outcomes: list[tuple[AckClaim, bool | None, str]] = []
    try:
        with gateway.open_transport() as transport:
            for claim in claims:
                try:
                    with file_store.open_stored_file(claim.file) as source:
                        body = io.BytesIO(source.read())
                    outcomes.append((claim, transport.deposit(claim.name, body), ""))
                except gateway.GatewayError as exc:
                    outcomes.append((claim, None, str(exc)))
    except gateway.GatewayError as exc:
        done = {c.retour_id for c, _d, _t in outcomes}
        outcomes.extend((c, None, str(exc)) for c in claims if c.retour_id not in done)
    for claim, deposited, detail in outcomes:
        result = _record_ack(claim, deposited, detail, now)
        if result in counts:
            counts[result] = int(counts[result]) + 1
    return counts
