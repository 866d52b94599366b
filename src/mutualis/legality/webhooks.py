"""Webhooks: the member's software is told of every status change of its acts and of
its accounting flows, and of every return the treasury sends it, beyond S²LOW's
polling.

- A member registers an endpoint (through the API, ``api.py``): an ``https://`` address
  whose host resolves to public addresses only (no private, loopback, link-local or
  reserved address: the platform must not be made to call into its own network). Its
  secret is shown once and stored sealed (``core.sealing``).
- Every status change of an act (``transitions.apply``, the only writer of the status)
  or of a PES flow (``pes.transitions.apply``), and every ``PES_Retour`` received
  (``pes.inbox.record_return``), writes one :class:`~.models.WebhookDelivery` per active
  endpoint of the member that wants the event, in the transaction of the change: a
  change rolled back tells nothing, and nothing committed is lost. Events: ``act.<status>``,
  ``pes_flow.<status>`` and ``pes_return.received``.
- A periodic job (:func:`deliver_due`) posts each delivery: a JSON body, signed with
  HMAC-SHA256 over ``"{timestamp}.{body}"`` with the endpoint's secret
  (``Mutualis-Signature: v1=<hex>``, ``Mutualis-Timestamp``, ``Mutualis-Event-Id``). A
  2xx answer delivers it; anything else, a timeout or a refused address, is retried with
  exponential back-off (``MUTUALIS_WEBHOOK_RETRY_SECONDS`` doubled, at most 6 h) until
  ``MUTUALIS_WEBHOOK_MAX_ATTEMPTS``; every attempt is logged on the delivery.
- The host is resolved again at each attempt, and the connection goes to the address
  just checked (no second resolution a DNS rebinding could change). Redirections are not
  followed.

The receiver checks the signature with its secret, refuses a timestamp older than a few
minutes (a replay) and de-duplicates on the event id (a delivery may arrive twice when
an answer is lost).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.sealing import sealer

from . import crossings
from .errors import LegalityError
from .models import (
    Act,
    ActStatus,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from .pes.models import FlowStatus, PesFlow, PesReturn

SEALING_PURPOSE = "mutualis.legality.webhooks"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that names the kind of secret
URL_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 200
MAX_ENDPOINTS = 10
EVENT_PREFIX = "act."
PES_FLOW_PREFIX = "pes_flow."
PES_RETURN_RECEIVED = "pes_return.received"
# A flow is created imported: only the statuses a change leads to are told.
EVENTS = (
    *(f"{EVENT_PREFIX}{status}" for status in ActStatus.values),
    *(f"{PES_FLOW_PREFIX}{status}" for status in FlowStatus.values if status != "imported"),
    PES_RETURN_RECEIVED,
)
MAX_BACKOFF = timedelta(hours=6)
ANSWER_MAX_BYTES = 1024
LOG_MAX_ENTRIES = 20
SIGNATURE_HEADER = "Mutualis-Signature"
TIMESTAMP_HEADER = "Mutualis-Timestamp"
EVENT_ID_HEADER = "Mutualis-Event-Id"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class WebhookUrlInvalid(LegalityError):
    code = "legality_webhook_url_invalid"
    field_name = "url"
    message = _(
        "Enter a full https:// address of at most 500 characters, without user name or password."
    )


class WebhookAddressRefused(LegalityError):
    code = "legality_webhook_address_refused"
    field_name = "url"
    message = _(
        "This address leads to a private, loopback or reserved network (or does not "
        "resolve): webhooks go to public addresses only."
    )


class WebhookEventUnknown(LegalityError):
    code = "legality_webhook_event_unknown"
    field_name = "events"
    message = _("Unknown event. Known events: %(events)s.")

    def __init__(self) -> None:
        super().__init__(self.message % {"events": ", ".join(EVENTS)})


class WebhookDescriptionInvalid(LegalityError):
    code = "legality_webhook_description_invalid"
    field_name = "description"
    message = _("The description is at most 200 characters, without control characters.")


class TooManyWebhooks(LegalityError):
    code = "legality_webhook_too_many"
    message = _("An organisation has at most 10 active webhook addresses: remove one first.")


# --- Addresses -------------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(settings.MUTUALIS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable address, or
    ``WebhookUrlInvalid``. Plain http only for a loopback host, when private addresses
    are allowed (the tests' local servers)."""
    if not url or len(url) > URL_MAX_LENGTH or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookUrlInvalid()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlInvalid() from None
    host = (parts.hostname or "").rstrip(".")
    if parts.username or parts.password or parts.fragment or not host:
        raise WebhookUrlInvalid()
    if parts.scheme == "http":
        if not (_allow_private() and _is_loopback_name(host)):
            raise WebhookUrlInvalid()
    elif parts.scheme != "https":
        raise WebhookUrlInvalid()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _is_loopback_name(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all of them public (else
    ``WebhookAddressRefused``; any address is accepted when private ones are allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookAddressRefused() from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise WebhookAddressRefused()
    if not _allow_private() and not all(_is_public(a) for a in addresses):
        raise WebhookAddressRefused()
    return addresses


def check_url(url: str) -> str:
    """The address, checked: well formed, and resolving to public addresses only."""
    _scheme, host, port, _path = parse_url(url)
    resolve(host, port)
    return url


# --- Endpoints -------------------------------------------------------------------------


def _seal(secret: str) -> str:
    return sealer(SEALING_PURPOSE).encrypt(secret.encode()).decode()


def _unseal(sealed: str) -> str:
    return sealer(SEALING_PURPOSE).decrypt(sealed.encode()).decode()


def _events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    if any(e not in EVENTS for e in chosen):
        raise WebhookEventUnknown()
    return chosen


def register_endpoint(
    *,
    actor: Any,
    url: str,
    events: Sequence[str] = (),
    description: str = "",
    request_context: Mapping[str, Any] | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of the member; returns it with its secret, which is shown
    this once. ``actor`` is a ``services.ClientActor`` (the API)."""
    from .services import acting_member

    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH or any(
        ord(c) < 32 or ord(c) == 127 for c in description
    ):
        raise WebhookDescriptionInvalid()
    chosen = _events(events)
    _scheme, host, port, _path = parse_url(url)
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = acting_member(actor)
        resolve(host, port)
        active = WebhookEndpoint.objects.select_for_update().filter(
            organisation_id=actor.organisation_id, is_active=True
        )
        if len(active) >= MAX_ENDPOINTS:
            raise TooManyWebhooks()
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        endpoint = WebhookEndpoint.objects.create(
            organisation_id=actor.organisation_id,
            url=url,
            description=description,
            events=chosen,
            secret_sealed=_seal(secret),
        )
        audit.record(
            actor=current,
            organisation=endpoint.organisation,
            action="legality.webhook_registered",
            target=endpoint,
            payload={"url": url, "events": chosen},
            **dict(request_context or {}),
        )
    return endpoint, secret


def disable_endpoint(
    *, actor: Any, endpoint_id: int, request_context: Mapping[str, Any] | None = None
) -> WebhookEndpoint:
    """Switch an endpoint off: nothing more is delivered to it (its pending deliveries
    fail at once); its log stays."""
    from .services import acting_member

    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = acting_member(actor)
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=endpoint_id, is_active=True)
            .first()
        )
        if endpoint is None:
            from django.http import Http404

            raise Http404
        endpoint.is_active = False
        endpoint.save(update_fields=["is_active"])
        endpoint.deliveries.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled"
        )
        audit.record(
            actor=current,
            organisation=endpoint.organisation,
            action="legality.webhook_disabled",
            target=endpoint,
            payload={"url": endpoint.url},
            **dict(request_context or {}),
        )
    return endpoint


# --- Events ----------------------------------------------------------------------------


class _ReadOnce:
    """Inside ``endpoints_read_once``: the members' active endpoints read so far, and
    the members named beforehand whose endpoints are read at the first event."""

    def __init__(self, organisation_ids: Iterable[int]) -> None:
        self.endpoints: dict[int, list[WebhookEndpoint]] = {}
        self.ahead = set(organisation_ids)


_read_once: ContextVar[_ReadOnce | None] = ContextVar("mutualis_webhook_endpoints", default=None)


@contextmanager
def endpoints_read_once(organisation_ids: Iterable[int] = ()) -> Iterator[None]:
    """Inside the block, each member's active endpoints are read once rather than at
    every event, those of ``organisation_ids`` together in one statement at the first
    event: for one transaction that changes many acts (the sending job records a chunk
    of answers, for several members, in one). Open it inside that transaction: an
    endpoint another transaction registers or switches off meanwhile counts from the
    next one, as if it had been committed a moment later."""
    if _read_once.get() is not None:
        yield
        return
    token = _read_once.set(_ReadOnce(organisation_ids))
    try:
        yield
    finally:
        _read_once.reset(token)


def _active_endpoints(organisation_id: int) -> list[WebhookEndpoint]:
    known = _read_once.get()
    if known is None:
        return list(WebhookEndpoint.objects.filter(organisation_id=organisation_id, is_active=True))
    if organisation_id not in known.endpoints:
        members = sorted(known.ahead | {organisation_id})
        known.ahead.clear()
        # In the scope of exactly the members read (the caller acts for each of them).
        with scope(organisation=members):
            for member in members:
                known.endpoints[member] = []
            for endpoint in WebhookEndpoint.objects.filter(
                organisation_id__in=members, is_active=True
            ).order_by("pk"):
                known.endpoints[endpoint.organisation_id].append(endpoint)
    return known.endpoints[organisation_id]


def _enqueue(organisation_id: int, event: str, now: datetime, **subject: Any) -> int:
    """One delivery of ``event`` for each active endpoint of the member that wants it,
    about ``subject`` (``act_id=``, ``pes_flow_id=`` or ``pes_return_id=``, and the
    ``payload`` fixed when it happened), in the caller's transaction. Returns how many."""
    with scope(organisation=organisation_id):
        endpoints = [
            e for e in _active_endpoints(organisation_id) if not e.events or event in e.events
        ]
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    organisation_id=organisation_id,
                    endpoint=endpoint,
                    event_id=uuid.uuid4(),
                    event=event,
                    next_attempt_at=now,
                    created_at=now,
                    **subject,
                )
                for endpoint in endpoints
            ]
        )
    return len(endpoints)


def change_payload(before: str, after: str, now: datetime) -> dict[str, str]:
    return {"status": after, "previous_status": before, "occurred_at": now.isoformat()}


def status_changed(act: Act, before: str, after: str, now: datetime | None = None) -> int:
    """Write a delivery of ``act.<after>`` for each active endpoint of the member that
    wants it, in the caller's transaction (``transitions.apply``). Returns how many."""
    now = now or timezone.now()
    return _enqueue(
        act.organisation_id,
        f"{EVENT_PREFIX}{after}",
        now,
        act_id=act.pk,
        payload=change_payload(before, after, now),
    )


def pes_flow_status_changed(
    flow: PesFlow, before: str, after: str, now: datetime | None = None
) -> int:
    """The same for a PES flow: ``pes_flow.<after>`` (``pes.transitions.apply``)."""
    now = now or timezone.now()
    return _enqueue(
        flow.organisation_id,
        f"{PES_FLOW_PREFIX}{after}",
        now,
        pes_flow_id=flow.pk,
        payload=change_payload(before, after, now),
    )


def pes_return_received(retour: PesReturn, now: datetime | None = None) -> int:
    """``pes_return.received``: a ``PES_Retour`` reached the member's inbox
    (``pes.inbox.record_return``)."""
    now = now or timezone.now()
    return _enqueue(
        retour.organisation_id,
        PES_RETURN_RECEIVED,
        now,
        pes_return_id=retour.pk,
        payload={"occurred_at": now.isoformat()},
    )


def _act_data(delivery: WebhookDelivery, act: Act) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": act.pk,
        "number": act.number,
        "nature": act.nature,
        "identifier": act.identifier,
        "status": delivery.payload.get("status"),
        "previous_status": delivery.payload.get("previous_status"),
        "received_on": act.received_on.isoformat() if act.received_on else None,
    }
    if delivery.payload.get("status") == ActStatus.ERROR:
        data["error_reason"] = act.error_reason
    return data


def _pes_flow_data(delivery: WebhookDelivery, flow: PesFlow) -> dict[str, Any]:
    status = delivery.payload.get("status")
    data: dict[str, Any] = {
        "id": flow.pk,
        "nomfic": flow.nomfic,
        "id_coll": flow.id_coll,
        "status": status,
        "previous_status": delivery.payload.get("previous_status"),
        "acknowledged_on": flow.acknowledged_on.isoformat() if flow.acknowledged_on else None,
    }
    if status in (FlowStatus.ACKNOWLEDGED, FlowStatus.REFUSED):
        data["anomalies"] = len(flow.anomalies)
    if status == FlowStatus.ERROR:
        data["error_reason"] = flow.error_reason
    return data


def _pes_return_data(retour: PesReturn) -> dict[str, Any]:
    return {
        "id": retour.pk,
        "nomfic": retour.nomfic,
        "typfic": retour.typfic,
        "kind": retour.restitution,
        "id_coll": retour.id_coll,
        "domains": retour.domains,
        "received_at": retour.received_at.isoformat(),
    }


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON the endpoint receives: the event, and what it is about as it is now,
    with the status this event reports (fixed when it happened): ``data.act``,
    ``data.pes_flow`` or ``data.pes_return``."""
    if delivery.act is not None:
        data = {"act": _act_data(delivery, delivery.act)}
    elif delivery.pes_flow is not None:
        data = {"pes_flow": _pes_flow_data(delivery, delivery.pes_flow)}
    elif delivery.pes_return is not None:
        data = {"pes_return": _pes_return_data(delivery.pes_return)}
    else:  # pragma: no cover - the check constraint forbids it
        raise ValueError("a delivery about nothing")
    document = {
        "id": str(delivery.event_id),
        "type": delivery.event,
        "created_at": delivery.payload.get("occurred_at"),
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "{timestamp}.{body}">``: what a receiver recomputes."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, header: str, timestamp: str, body: bytes, *, tolerance: int = 300) -> bool:
    """A receiver's check (and the tests'): the signature matches and the timestamp is
    recent."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - moment) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, moment, body), header)


# --- Delivery --------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address already checked, whatever the name resolves to now."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str]:
    """POST ``body``: (status, "") or (None, what went wrong). No redirection followed."""
    try:
        scheme, host, port, path = parse_url(url)
        address = resolve(host, port)[0]
    except LegalityError as refused:
        return None, str(refused.message)
    timeout = settings.MUTUALIS_WEBHOOK_TIMEOUT_SECONDS
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, address, port, timeout)
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        answer.read(ANSWER_MAX_BYTES)
        return answer.status, ""
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        connection.close()


def backoff(attempt: int) -> timedelta:
    delay = timedelta(seconds=settings.MUTUALIS_WEBHOOK_RETRY_SECONDS * 2 ** max(attempt - 1, 0))
    return min(delay, MAX_BACKOFF)


def _claim(delivery_id: int, member: int, now: datetime) -> tuple[WebhookDelivery, str] | None:
    lease = timedelta(seconds=settings.MUTUALIS_WEBHOOK_TIMEOUT_SECONDS + 30)
    with transaction.atomic(), scope(organisation=member):
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "act", "pes_flow", "pes_return")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.is_active:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = "endpoint disabled"
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return None
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["next_attempt_at"])
        return delivery, _unseal(delivery.endpoint.secret_sealed)


def _record(delivery: WebhookDelivery, status: int | None, error: str, now: datetime) -> str:
    with transaction.atomic(), scope(organisation=delivery.organisation_id):
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        row.attempts += 1
        row.last_status_code = status
        row.last_error = (
            error if status is None else ("" if 200 <= status < 300 else f"HTTP {status}")
        )
        row.log = [
            *row.log,
            {"at": now.isoformat(), "status": status, "error": row.last_error},
        ][-LOG_MAX_ENTRIES:]
        if status is not None and 200 <= status < 300:
            row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        elif row.attempts >= settings.MUTUALIS_WEBHOOK_MAX_ATTEMPTS:
            row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            row.next_attempt_at = now + backoff(row.attempts)
        row.save()
        return str(row.status)


def deliver(delivery_id: int, now: datetime | None = None) -> str:
    """One attempt of one delivery, if it is due: ``delivered``, ``pending`` (to be
    retried), ``failed`` or ``skipped``."""
    now = now or timezone.now()
    member = crossings.webhook_delivery_member(delivery_id)
    if member is None:
        return "skipped"
    claimed = _claim(delivery_id, member, now)
    if claimed is None:
        return "skipped"
    delivery, secret = claimed
    body = body_of(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Mutualis-Webhooks/1",
        EVENT_ID_HEADER: str(delivery.event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    status, error = post(delivery.endpoint.url, body, headers)
    return _record(delivery, status, error, timezone.now())


def deliver_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """The periodic job: one attempt of every delivery that is due, oldest first."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for delivery_id, _member in crossings.due_webhook_deliveries(now, limit):
        outcome = deliver(delivery_id, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
