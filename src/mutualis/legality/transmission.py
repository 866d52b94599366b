"""Sending the waiting acts' packages to the ministry (a periodic job, ``tasks.py``).

Each run, unless the operator switched the endpoint off, outside the transmission
windows, or once the hourly volume cap is reached, takes the waiting acts whose attempt
is due and, for each:

1. claims it (one short transaction): one attempt more, and the next attempt's time set
   already (the back-off, which is also the lease: another worker leaves the act alone
   until then, and a crash during the POST only delays the retry);
2. POSTs its package (``transport.py``) to the endpoint, then to the rescue URL if the
   endpoint failed in a way worth retrying;
3. records the answer (a second transaction, as the system actor
   ``legality.transmission``): accepted → sent; retryable → waiting for the next attempt,
   or error once the attempts are exhausted; refused → error, with the endpoint's text
   shown to the agent.

Never sent twice: the package is built once, at validation, and every retry POSTs the
same bytes under the same name (``{TRI}-{APPLI}--{SIREN}--{date}-{serial}.tar.gz``). The
endpoint takes the name as the transmission's key: a package whose name it already holds
is answered as accepted (201, or 409 "already received") without a second transmission.
So a timeout after the endpoint took the package leads, at the retry, to that answer and
the act is recorded sent once. The platform records "sent" only on such an answer.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
from datetime import datetime, time, timedelta
from typing import IO, Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store

from . import crossings, transitions, transport
from .models import Act, ActStatus, TransmissionAttempt, TransmissionOutcome

log = logging.getLogger(__name__)

SENDER_ACTOR = audit.SystemActor("legality.transmission")
BATCH = 200
MAX_BACKOFF = timedelta(hours=6)
# 409: the endpoint already holds a package of that name (sent before a timeout).
ALREADY_RECEIVED = 409
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def windows(spec: str) -> list[tuple[time, time]]:
    """The transmission windows of ``MUTUALIS_LEGALITY_WINDOWS`` ("07:00-12:30,14:00-19:00",
    local time; empty: always open). A malformed window raises ``ValueError``."""
    result = []
    for part in (p for p in spec.split(",") if p.strip()):
        match = _WINDOW.match(part)
        if match is None:
            raise ValueError(f"transmission window {part!r}: expected HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        result.append((time(h1, m1), time(h2, m2)))
    return result


def window_open(now: datetime, spec: str) -> bool:
    spans = windows(spec)
    if not spans:
        return True
    moment = timezone.localtime(now).time()
    return any(
        (start <= moment < end) if start <= end else (moment >= start or moment < end)
        for start, end in spans
    )


def closed_reason(now: datetime) -> str:
    """Why nothing may be sent now ("" when sending is open)."""
    if not settings.MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE:
        return "switched_off"
    if not settings.MUTUALIS_LEGALITY_ENDPOINT_URL:
        return "not_configured"
    if not window_open(now, settings.MUTUALIS_LEGALITY_WINDOWS):
        return "window_closed"
    return ""


def backoff(attempt: int) -> timedelta:
    """The pause after the ``attempt``-th failed attempt: the base, doubled each time,
    at most six hours."""
    seconds = settings.MUTUALIS_LEGALITY_RETRY_SECONDS * 2 ** max(0, attempt - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def accepted_statuses() -> frozenset[int]:
    expected = 200 if settings.MUTUALIS_LEGALITY_PROTOCOL.strip() == "200" else 201
    return frozenset({expected, ALREADY_RECEIVED})


@dataclasses.dataclass(frozen=True)
class Claim:
    act_id: int
    organisation_id: int
    attempt: int
    package_name: str
    size: int


def _claim(act_id: int, organisation_id: int, now: datetime) -> tuple[Claim, Any] | None:
    with transaction.atomic(), scope(organisation=organisation_id):
        act = (
            Act.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("package")
            .filter(pk=act_id, organisation_id=organisation_id, status=ActStatus.WAITING)
            .first()
        )
        if act is None or act.package is None:
            return None
        if act.next_attempt_at is not None and act.next_attempt_at > now:
            return None
        act.send_attempts += 1
        act.next_attempt_at = now + backoff(act.send_attempts)
        act.save(update_fields=["send_attempts", "next_attempt_at", "updated_at"])
        claim = Claim(
            act.pk, organisation_id, act.send_attempts, act.package_name, act.package.size
        )
        return claim, act.package


def _post(
    session: requests.Session, claim: Claim, body: IO[bytes], tls: transport.Tls
) -> transport.Answer:
    return post(session, claim.package_name, body, tls)


def post(
    session: requests.Session, package_name: str, body: IO[bytes], tls: transport.Tls
) -> transport.Answer:
    """POST a package to the endpoint, then to the rescue URL if the endpoint failed in
    a way worth retrying (also used for the member's other messages, ``outbox.py``)."""
    accepted = accepted_statuses()
    timeout = float(settings.MUTUALIS_LEGALITY_TIMEOUT_SECONDS)
    answer = transport.post_package(
        session,
        settings.MUTUALIS_LEGALITY_ENDPOINT_URL,
        package_name,
        body,
        tls,
        accepted=accepted,
        timeout=timeout,
    )
    rescue = settings.MUTUALIS_LEGALITY_RESCUE_URL
    if answer.result is transport.Result.RETRY and rescue:
        log.warning("legality: endpoint failed (%s), trying the rescue URL", answer.detail)
        answer = transport.post_package(
            session, rescue, package_name, body, tls, accepted=accepted, timeout=timeout
        )
    return answer


def _reason(answer: transport.Answer, attempts: int) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        if answer.result is transport.Result.REFUSED:
            text = _("The ministry refused the transmission (HTTP %(status)s): %(detail)s") % {
                "status": answer.status,
                "detail": answer.detail or "-",
            }
        else:
            text = _(
                "The ministry's endpoint could not be reached after %(attempts)s attempts "
                "(%(detail)s): the act need not change; validate it again later, or call "
                "the operator."
            ) % {"attempts": attempts, "detail": answer.detail or "-"}
    return str(text)[:500]


def _record(claim: Claim, answer: transport.Answer, now: datetime) -> str:
    with transaction.atomic(), scope(organisation=claim.organisation_id):
        act = (
            Act.objects.select_for_update()
            .select_related("organisation")
            .get(pk=claim.act_id, organisation_id=claim.organisation_id)
        )
        if answer.result is transport.Result.ACCEPTED:
            outcome = (
                TransmissionOutcome.DUPLICATE
                if answer.status == ALREADY_RECEIVED
                else TransmissionOutcome.SENT
            )
        elif answer.result is transport.Result.RETRY and (
            claim.attempt < settings.MUTUALIS_LEGALITY_MAX_ATTEMPTS
        ):
            outcome = TransmissionOutcome.RETRY
        else:
            outcome = TransmissionOutcome.FAILED
        TransmissionAttempt.objects.create(
            organisation_id=claim.organisation_id,
            act=act,
            attempt=claim.attempt,
            url=answer.url[:300],
            package_name=claim.package_name,
            outcome=outcome,
            http_status=answer.status,
            detail=answer.detail[:500],
            made_at=now,
        )
        if act.status != ActStatus.WAITING:
            # Cancelled or changed during the POST: the log keeps what happened.
            log.warning("legality: act %s left waiting during its transmission", act.pk)
            return "left_waiting"
        if outcome in (TransmissionOutcome.SENT, TransmissionOutcome.DUPLICATE):
            transitions.apply(act, transitions.Event.SEND)
            act.sent_at = now
            act.next_attempt_at = None
            act.error_reason = ""
            action = "legality.act_sent"
        elif outcome == TransmissionOutcome.RETRY:
            act.save(update_fields=["updated_at"])
            return "retry"
        else:
            transitions.apply(act, transitions.Event.FAIL)
            act.next_attempt_at = None
            act.error_reason = _reason(answer, claim.attempt)
            action = "legality.act_failed"
        act.save(
            update_fields=["status", "sent_at", "next_attempt_at", "error_reason", "updated_at"]
        )
        audit.record(
            actor=SENDER_ACTOR,
            organisation=act.organisation,
            action=action,
            target=act,
            payload={
                "package": claim.package_name,
                "url": answer.url,
                "http_status": answer.status,
                "attempt": claim.attempt,
                "detail": answer.detail,
            },
        )
        return "sent" if action == "legality.act_sent" else "failed"


def send_due_acts(
    now: datetime | None = None, session: requests.Session | None = None
) -> dict[str, int | str]:
    """Send what is due (see the module's docstring); what happened, counted."""
    now = now or timezone.now()
    counts: dict[str, int | str] = {"sent": 0, "retry": 0, "failed": 0, "capped": 0}
    reason = closed_reason(now)
    if reason:
        counts["closed"] = reason
        return counts
    due = crossings.due_acts(now, BATCH)
    if not due:
        return counts
    cap = settings.MUTUALIS_LEGALITY_HOURLY_CAP_BYTES
    volume = crossings.volume_sent_since(now - timedelta(hours=1)) if cap else 0
    own_session = session is None
    http = session or requests.Session()
    try:
        with transport.tls_files(
            settings.MUTUALIS_LEGALITY_CLIENT_CERTIFICATE,
            settings.MUTUALIS_LEGALITY_CLIENT_KEY,
            settings.MUTUALIS_LEGALITY_SERVER_CA,
        ) as tls:
            for index, (act_id, organisation_id) in enumerate(due):
                if cap and volume >= cap:
                    counts["capped"] = int(counts["capped"]) + len(due) - index
                    break
                claimed = _claim(act_id, organisation_id, now)
                if claimed is None:
                    continue
                claim, package = claimed
                if cap and volume + claim.size > cap:
                    _release(claim)
                    counts["capped"] = int(counts["capped"]) + 1
                    continue
                with tempfile.TemporaryFile() as body:
                    with file_store.open_stored_file(package) as source:
                        shutil.copyfileobj(source, body)
                    answer = _post(http, claim, body, tls)
                result = _record(claim, answer, now)
                if result == "sent":
                    volume += claim.size
                if result in counts:
                    counts[result] = int(counts[result]) + 1
    finally:
        if own_session:
            http.close()
    return counts


def _release(claim: Claim) -> None:
    """Give back a claim the cap stopped: the attempt did not happen."""
    with transaction.atomic(), scope(organisation=claim.organisation_id):
        Act.objects.filter(pk=claim.act_id, send_attempts=claim.attempt).update(
            send_attempts=claim.attempt - 1, next_attempt_at=None
        )
