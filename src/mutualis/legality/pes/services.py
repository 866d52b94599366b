"""The accounting flows' use cases: a member's agent imports a ``PES_Aller`` (checked,
stored, its signatures verified), gives the signed version of a flow imported unsigned,
or withdraws a flow that has not left; the return channel records the treasury's
acknowledgement.

Each is one transaction and one event (or two) on the member's chain. The actor's
membership is read again under lock and the member must subscribe to the service.
A refusal says what to fix and leaves nothing behind.

The signature rule (the Helios specification, as S²LOW and i-Parapheur apply it): a
flow whose ``InfoDematerialisee`` is 1 must be signed — every bordereau with its own
enveloped XAdES signature, or the whole flow with one global signature — under the
Helios policy; a flow whose ``InfoDematerialisee`` is 0 must carry no signature. A
dematerialised flow imported without any signature waits, imported, for its signed
version (``sign_flow``); one with a signature that does not hold is refused.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope
from lxml import etree

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.models import Organisation

from .. import services as legality_services
from ..errors import TransitionNotAllowed
from . import errors, flows, transitions, xades
from .models import ACCOUNTANT_ROLE, PES_OWNER_KIND, FlowStatus, PesFlow

XML_TYPES = frozenset({"text/xml", "application/xml"})
# The return channel records the treasury's answers as this actor.
RETURN_ACTOR = audit.SystemActor("legality.pes_returns")
# Domains of an acknowledgement whose KO refuses the whole flow.
BLOCKING_DOMAINS = frozenset({"technique", "signature technique", "signature globale"})


@dataclasses.dataclass
class Upload:
    file: IO[bytes]
    name: str


# An upload this small and blank is no file at all.
EMPTY_PROBE_BYTES = 64 * 1024


def _current(actor: legality_services.Actor) -> Any:
    """The accounting agent's membership read again under lock (or the member's API
    client, still active), of a member that subscribes."""
    return legality_services.acting_member(actor, ACCOUNTANT_ROLE)


def _read_upload(upload: Upload | None) -> bytes:
    """The whole upload, size checked first (a flow that must be compared as bytes)."""
    data = _bytes_of(_upload_source(upload))
    if not data.strip():
        raise errors.FileRequired()
    return data


def _upload_source(upload: Upload | None) -> IO[bytes]:
    """The upload's file, checked for size without reading it whole, at its start."""
    if upload is None:
        raise errors.FileRequired()
    limit = settings.MUTUALIS_PES_MAX_BYTES
    source = upload.file
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    if size > limit:
        raise errors.TooLarge(errors.TooLarge.message % {"limit": limit // 1024**2})
    head = source.read(EMPTY_PROBE_BYTES)
    source.seek(0)
    if not head.strip() and size <= EMPTY_PROBE_BYTES:
        raise errors.FileRequired()
    return source


def _bytes_of(source: IO[bytes]) -> bytes:
    source.seek(0)
    data = source.read()
    source.seek(0)
    return bytes(data)


def _parse(data: bytes | IO[bytes]) -> flows.Aller:
    try:
        return flows.read_aller(data)
    except flows.FormatError as exc:
        detail = {"detail": exc.reason}
        if exc.kind == "nul":
            raise errors.NulBytes() from exc
        if exc.kind == "doctype":
            raise errors.DoctypeRefused() from exc
        if exc.kind == "unreadable":
            raise errors.Unreadable(errors.Unreadable.message % detail) from exc
        if exc.kind == "root":
            raise errors.NotAller(errors.NotAller.message % detail) from exc
        raise errors.SchemaInvalid(errors.SchemaInvalid.message % detail) from exc


def _check_identity(organisation: Organisation, aller: flows.Aller) -> None:
    """The flow is the member's: its ``IdColl`` is the member's SIRET, or the SIRET of
    one of its establishments (an annexed budget has its own): the member's SIREN
    followed by five digits."""
    if aller.typfic != "PESALR1":
        raise errors.NotPesAller()
    if not organisation.siren:
        raise errors.SirenMissing()
    own = aller.id_coll == organisation.siret or (
        flows.SIRET.fullmatch(aller.id_coll) and aller.id_coll[:9] == organisation.siren
    )
    if not own:
        raise errors.OtherCollectivity(
            errors.OtherCollectivity.message % {"siret": aller.id_coll[:14]}
        )


def _signatures(aller: flows.Aller, data: Callable[[], bytes]) -> tuple[bool, list[dict[str, str]]]:
    """Whether the flow is signed as its ``InfoDematerialisee`` requires (``False``: a
    dematerialised flow without any signature yet), with each signature's summary.
    Refuses a signature that should not be there or does not hold."""
    dematerialised = any(aller.dematerialised.values())
    any_signature = aller.global_signature or any(b.signed for b in aller.bordereaux)
    if not dematerialised:
        if any_signature:
            raise errors.SignatureForbidden()
        return True, []
    if not any_signature:
        return False, []
    checks, global_problems = xades.check_bordereau_signatures(data())
    summary: list[dict[str, str]] = []
    if aller.global_signature and not any(b.signed for b in aller.bordereaux):
        if global_problems:
            raise errors.SignatureInvalid(
                errors.SignatureInvalid.message % {"detail": "; ".join(global_problems)[:300]}
            )
        return True, [{"bordereau": "global"}]
    missing = [c.bordereau_id or "?" for c in checks if c.problems == ["no signature"]]
    if missing:
        raise errors.SignatureMissing(
            errors.SignatureMissing.message % {"detail": ", ".join(missing)[:200]}
        )
    for check in checks:
        if check.problems:
            raise errors.SignatureInvalid(
                errors.SignatureInvalid.message
                % {"detail": f"{check.bordereau_id}: " + "; ".join(check.problems)[:280]}
            )
        summary.append(
            {
                "bordereau": check.bordereau_id,
                "signer": check.signer,
                "signing_time": check.signing_time.isoformat() if check.signing_time else "",
                "version": check.version,
            }
        )
    return True, summary


def _store(organisation: Organisation, data: bytes | IO[bytes], name: str) -> Any:
    if isinstance(data, bytes):
        data = io.BytesIO(data)
    else:
        data.seek(0)
    try:
        return file_store.store_file(
            file=data,
            name=name or "pes_aller.xml",
            owner_kind=PES_OWNER_KIND,
            owner_ref=str(organisation.pk),
            allowed_types=XML_TYPES,
            max_size=settings.MUTUALIS_PES_MAX_BYTES,
        )
    except file_store.errors.FileRefused as exc:
        raise errors.NotAller(errors.NotAller.message % {"detail": str(exc.message)}) from exc


def _remote_name(flow: PesFlow) -> str:
    """The name on the gateway: the flow's row (unique across members) and its NomFic
    reduced to characters safe in a path (a NomFic is free text of the schema)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", flow.nomfic).strip(".")[:90]
    return f"PES{flow.pk}_{safe}.xml"


def _mark_signed(flow: PesFlow, now: datetime) -> None:
    transitions.apply(flow, transitions.Event.SIGN)
    flow.signed_at = now
    flow.remote_name = _remote_name(flow)
    flow.send_attempts, flow.next_attempt_at, flow.error_reason = 0, None, ""


def import_flow(
    *,
    actor: legality_services.Actor,
    upload: Upload | None,
    request_context: Mapping[str, Any] | None = None,
) -> PesFlow:
    """An accounting agent imports a ``PES_Aller``: imported, or signed (ready to be
    sent) when its signatures hold or it needs none."""
    # Read piece by piece: a 150 MB flow is held once, as its tree (bench/pes_import.py).
    source = _upload_source(upload)
    aller = _parse(source)
    now = timezone.now()
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = _current(actor)
        organisation = Organisation.objects.select_for_update().get(pk=current.organisation_id)
        _check_identity(organisation, aller)
        if PesFlow.objects.filter(organisation=organisation, nomfic=aller.nomfic).exists():
            raise errors.NomficTaken(aller.nomfic)
        signed, summary = _signatures(aller, lambda: _bytes_of(source))
        flow = PesFlow(
            organisation=organisation,
            nomfic=aller.nomfic,
            id_coll=aller.id_coll,
            cod_col=aller.cod_col,
            cod_bud=aller.cod_bud,
            domains=aller.domains,
            dematerialised=any(aller.dematerialised.values()),
            bordereaux=len(aller.bordereaux),
            pieces=aller.pieces,
            signatures=summary,
            status=FlowStatus.IMPORTED,
            file=_store(organisation, source, upload.name if upload else ""),
        )
        try:
            with transaction.atomic():
                flow.save()
        except IntegrityError:
            raise errors.NomficTaken(aller.nomfic) from None
        context = dict(request_context or {})
        audit.record(
            actor=current,
            organisation=organisation,
            action="legality.pes_imported",
            target=flow,
            payload={
                "nomfic": flow.nomfic,
                "id_coll": flow.id_coll,
                "domains": flow.domains,
                "bordereaux": flow.bordereaux,
                "sha256": flow.file.sha256,
            },
            **context,
        )
        if signed:
            _mark_signed(flow, now)
            flow.save()
            audit.record(
                actor=current,
                organisation=organisation,
                action="legality.pes_signed",
                target=flow,
                payload={"nomfic": flow.nomfic, "signatures": summary},
                **context,
            )
    return flow


def _locked(current: Any, flow_id: int) -> PesFlow:
    flow = (
        PesFlow.objects.select_for_update(of=("self",))
        .select_related("organisation", "file")
        .filter(organisation_id=current.organisation_id, pk=flow_id)
        .first()
    )
    if flow is None:
        raise PermissionDenied
    return flow


def _unsigned_c14n(data: bytes) -> bytes:
    root = etree.fromstring(data, parser=flows.parser())
    for signature in list(root.iter(f"{{{flows.DS}}}Signature")):
        parent = signature.getparent()
        if parent is not None:
            parent.remove(signature)
    for element in root.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return etree.tostring(root, method="c14n")


def sign_flow(
    *,
    actor: legality_services.Actor,
    flow_id: int,
    upload: Upload | None,
    request_context: Mapping[str, Any] | None = None,
) -> PesFlow:
    """The signed version of a flow imported unsigned (from the member's signing tool):
    the same flow, its signatures verified → signed."""
    data = _read_upload(upload)
    aller = _parse(data)
    now = timezone.now()
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = _current(actor)
        flow = _locked(current, flow_id)
        if not transitions.allowed(flow, transitions.Event.SIGN):
            raise TransitionNotAllowed()
        with file_store.open_stored_file(flow.file) as handle:
            before = handle.read()
        if aller.nomfic != flow.nomfic or _unsigned_c14n(before) != _unsigned_c14n(data):
            raise errors.NotTheSameFlow()
        signed, summary = _signatures(aller, lambda: data)
        if not signed:
            raise errors.SignatureMissing(
                errors.SignatureMissing.message
                % {"detail": ", ".join(b.element_id or b.number for b in aller.bordereaux)[:200]}
            )
        flow.file = _store(flow.organisation, data, upload.name if upload else "")
        flow.signatures = summary
        _mark_signed(flow, now)
        flow.save()
        audit.record(
            actor=current,
            organisation=flow.organisation,
            action="legality.pes_signed",
            target=flow,
            payload={"nomfic": flow.nomfic, "signatures": summary, "sha256": flow.file.sha256},
            **dict(request_context or {}),
        )
    return flow


def cancel_flow(
    *,
    actor: legality_services.Actor,
    flow_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> PesFlow:
    """Withdraw a flow that has not left."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = _current(actor)
        flow = _locked(current, flow_id)
        before = flow.status
        transitions.apply(flow, transitions.Event.CANCEL)
        flow.next_attempt_at = None
        flow.save(update_fields=["status", "next_attempt_at", "updated_at"])
        audit.record(
            actor=current,
            organisation=flow.organisation,
            action="legality.pes_cancelled",
            target=flow,
            payload={"nomfic": flow.nomfic, "status_before": before},
            **dict(request_context or {}),
        )
    return flow


def retry_flow(
    *,
    actor: legality_services.Actor,
    flow_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> PesFlow:
    """Send again a flow the gateway could not take (error → ready to be sent): the same
    bytes under the same name, with a fresh count of attempts."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = _current(actor)
        flow = _locked(current, flow_id)
        transitions.apply(flow, transitions.Event.RETRY)
        flow.send_attempts, flow.next_attempt_at, flow.error_reason = 0, None, ""
        flow.save(
            update_fields=[
                "status",
                "send_attempts",
                "next_attempt_at",
                "error_reason",
                "updated_at",
            ]
        )
        audit.record(
            actor=current,
            organisation=flow.organisation,
            action="legality.pes_retried",
            target=flow,
            payload={"nomfic": flow.nomfic},
            **dict(request_context or {}),
        )
    return flow


def refuses(acquit: flows.Acquit) -> bool:
    """An acknowledgement refuses the flow when nothing in it is accepted, or when a
    technical or signature element is KO; otherwise the flow is acknowledged, with
    the anomalies of the bordereaux, pieces or lines rejected."""
    if not acquit.elements or not any(e.ok for e in acquit.elements):
        return True
    return any(not e.ok and e.domain in BLOCKING_DOMAINS for e in acquit.elements)


def record_acquit(
    *,
    organisation_id: int,
    acquit: flows.Acquit,
    stored: Any,
    message_sha256: str,
    now: datetime | None = None,
) -> PesFlow:
    """Record the treasury's ``PES_ACQUIT`` of a sent flow (routed by ``NomFic``):
    acknowledged or refused, with every element. Idempotent. ``UnknownFlow`` when the
    member sent no flow of that name."""
    now = now or timezone.now()
    with transaction.atomic(), scope(organisation=organisation_id):
        flow = (
            PesFlow.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=organisation_id, nomfic=acquit.nomfic)
            .first()
        )
        if flow is None:
            raise errors.UnknownFlow()
        elements = [dataclasses.asdict(e) for e in acquit.elements]
        if flow.status in (FlowStatus.ACKNOWLEDGED, FlowStatus.REFUSED) and (
            flow.acknowledgement == elements
        ):
            return flow
        refused = refuses(acquit)
        transitions.apply(
            flow, transitions.Event.REFUSE if refused else transitions.Event.ACKNOWLEDGE
        )
        flow.acknowledgement = elements
        flow.acknowledged_at = now
        flow.acknowledged_on = acquit.produced_on or timezone.localdate(now)
        flow.acquit = stored
        flow.save()
        audit.record(
            actor=RETURN_ACTOR,
            organisation=flow.organisation,
            action="legality.pes_refused" if refused else "legality.pes_acknowledged",
            target=flow,
            payload={
                "nomfic": flow.nomfic,
                "acknowledged_on": flow.acknowledged_on.isoformat(),
                "anomalies": [
                    {"bordereau": e.bordereau, "code": e.anomaly}
                    for e in acquit.elements
                    if not e.ok
                ],
                "message_sha256": message_sha256,
            },
        )
    return flow
