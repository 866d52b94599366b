"""Sending the waiting acts' packages to the ministry (a periodic job, ``tasks.py``).

Each run, unless the operator switched the endpoint off, outside the transmission
windows, or once the hourly volume cap is reached, takes the waiting acts whose attempt
is due, by chunks of ``CHUNK`` acts (of any members), and:

1. claims the chunk's acts (one short transaction): each one attempt more, and its next
   attempt's time set already (the back-off, which is also the lease: another worker
   leaves the act alone until then, and a crash during the POSTs only delays the retry);
2. POSTs each package in turn (``transport.py``) to the endpoint, then to the rescue URL
   if the endpoint failed in a way worth retrying; an act whose lease ran out meanwhile
   (a slow endpoint) is given back unsent;
3. records the answers (a second transaction for the chunk, as the system actor
   ``legality.transmission``), act by act: accepted → sent; retryable → waiting for the
   next attempt, or error once the attempts are exhausted; refused → error, with the
   endpoint's text shown to the agent. Each act changes status through the transition
   table and gets its own event on its member's chain (``audit.chain.record_many``:
   each chain's head locked once for the chunk).

A crash between a POST and the recording of its chunk leaves the act waiting, claimed:
its lease runs out and the next run POSTs it again, which the rule below makes harmless.

Never sent twice: the package is built once, at validation, and every retry POSTs the
same bytes under the same name (``{TRI}-{APPLI}--{SIREN}--{date}-{serial}.tar.gz``). The
endpoint takes the name as the transmission's key: a package whose name it already holds
is answered as accepted (201, or 409 "already received") without a second transmission.
So a timeout after the endpoint took the package leads, at the retry, to that answer and
the act is recorded sent once. The platform records "sent" only on such an answer.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from time import monotonic
from typing import IO

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.audit.chain import PendingEvent, record_many
from mutualis.core.models import StoredFile

from . import crossings, transitions, transport, webhooks
from .models import Act, ActStatus, TransmissionAttempt, TransmissionOutcome

log = logging.getLogger(__name__)

SENDER_ACTOR = audit.SystemActor("legality.transmission")
BATCH = 200
# The acts claimed, then recorded, together (``send_due_acts``).
CHUNK = 25
IN_MEMORY_BYTES = 8 * 1024 * 1024
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
    # The act's place in the run's list of due acts, and the end of its lease (its
    # next attempt's time, set by the claim).
    index: int = 0
    lease_until: datetime | None = None


def _claim_many(
    due: Sequence[tuple[int, int]], start: int, now: datetime
) -> list[tuple[Claim, StoredFile]]:
    """Claim the due acts ``due`` (the run's list from ``start`` on) in one short
    transaction: each one attempt more, its next attempt's time set already (the
    back-off, which is also the lease). An act another worker holds (its row locked) or
    claimed meanwhile is left out. In the order of ``due``."""
    organisation_ids = sorted({organisation_id for _act, organisation_id in due})
    with transaction.atomic(), scope(organisation=organisation_ids):
        acts = {
            act.pk: act
            for act in Act.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("package")
            .filter(pk__in=[act_id for act_id, _org in due], status=ActStatus.WAITING)
            .order_by("pk")
        }
        claimed: list[tuple[int, Act]] = []
        for index, (act_id, organisation_id) in enumerate(due, start=start):
            act = acts.get(act_id)
            if act is None or act.organisation_id != organisation_id or act.package is None:
                continue
            if act.next_attempt_at is not None and act.next_attempt_at > now:
                continue
            claimed.append((index, act))
        # One statement per number of attempts (the back-off depends on it).
        by_attempt: dict[int, list[int]] = {}
        for _index, act in claimed:
            act.send_attempts += 1
            act.next_attempt_at = now + backoff(act.send_attempts)
            by_attempt.setdefault(act.send_attempts, []).append(act.pk)
        changed_at = timezone.now()
        for attempt, ids in sorted(by_attempt.items()):
            Act.objects.filter(pk__in=ids).update(
                send_attempts=attempt, next_attempt_at=now + backoff(attempt), updated_at=changed_at
            )
        return [
            (
                Claim(
                    act.pk,
                    act.organisation_id,
                    act.send_attempts,
                    act.package_name,
                    act.package.size,
                    index=index,
                    lease_until=act.next_attempt_at,
                ),
                act.package,
            )
            for index, act in claimed
            if act.package is not None
        ]


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


def _outcome(claim: Claim, answer: transport.Answer) -> TransmissionOutcome:
    if answer.result is transport.Result.ACCEPTED:
        return (
            TransmissionOutcome.DUPLICATE
            if answer.status == ALREADY_RECEIVED
            else TransmissionOutcome.SENT
        )
    if answer.result is transport.Result.RETRY and (
        claim.attempt < settings.MUTUALIS_LEGALITY_MAX_ATTEMPTS
    ):
        return TransmissionOutcome.RETRY
    return TransmissionOutcome.FAILED


def _record_many(answered: Sequence[tuple[Claim, transport.Answer]], now: datetime) -> list[str]:
    """Record the answers to the POSTs of a chunk in one transaction (as the system
    actor ``legality.transmission``): each attempt logged; accepted → sent, retryable →
    waiting for the next attempt, or error once the attempts are exhausted, refused →
    error; each act's change of status through the transition table, with its own
    event on its member's chain. What happened to each, in order."""
    if not answered:
        return []
    organisation_ids = sorted({claim.organisation_id for claim, _answer in answered})
    # The chunk's members' webhook endpoints read in one statement, not at each act's
    # change.
    with (
        transaction.atomic(),
        scope(organisation=organisation_ids),
        webhooks.endpoints_read_once(organisation_ids),
    ):
        acts = {
            act.pk: act
            for act in Act.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk__in=[claim.act_id for claim, _answer in answered])
            .order_by("pk")
        }
        changed_at = timezone.now()
        results: list[str] = []
        attempts: list[TransmissionAttempt] = []
        changed: list[Act] = []
        events: list[PendingEvent] = []
        for claim, answer in answered:
            act = acts.get(claim.act_id)
            if act is None or act.organisation_id != claim.organisation_id:
                results.append("left_waiting")
                continue
            outcome = _outcome(claim, answer)
            attempts.append(
                TransmissionAttempt(
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
            )
            if act.status != ActStatus.WAITING:
                # Cancelled or changed during the POST: the log keeps what happened.
                log.warning("legality: act %s left waiting during its transmission", act.pk)
                results.append("left_waiting")
                continue
            act.updated_at = changed_at
            changed.append(act)
            if outcome in (TransmissionOutcome.SENT, TransmissionOutcome.DUPLICATE):
                transitions.apply(act, transitions.Event.SEND)
                act.sent_at = now
                act.next_attempt_at = None
                act.error_reason = ""
                action = "legality.act_sent"
            elif outcome == TransmissionOutcome.RETRY:
                results.append("retry")
                continue
            else:
                transitions.apply(act, transitions.Event.FAIL)
                act.next_attempt_at = None
                act.error_reason = _reason(answer, claim.attempt)
                action = "legality.act_failed"
            events.append(
                PendingEvent(
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
            )
            results.append("sent" if action == "legality.act_sent" else "failed")
        TransmissionAttempt.objects.bulk_create(attempts)
        Act.objects.bulk_update(
            changed, ["status", "sent_at", "next_attempt_at", "error_reason", "updated_at"]
        )
        record_many(events)
    return results


def _post_stored(
    http: requests.Session, claim: Claim, package: StoredFile, tls: transport.Tls
) -> transport.Answer:
    """POST the claimed act's stored package from a seekable copy (posted again to the
    rescue URL if need be): in memory up to ``IN_MEMORY_BYTES``, else a temporary file."""
    with file_store.open_stored_file(package) as source:
        if claim.size <= IN_MEMORY_BYTES:
            return post(http, claim.package_name, io.BytesIO(source.read()), tls)
        with tempfile.TemporaryFile() as body:
            shutil.copyfileobj(source, body)
            return post(http, claim.package_name, body, tls)


def send_due_acts(
    now: datetime | None = None, session: requests.Session | None = None
) -> dict[str, int | str]:
    """Send what is due (see the module's docstring); what happened, counted.

    The due acts are taken by chunks of ``CHUNK``: claimed together, POSTed one after
    the other, their answers recorded together. An act whose lease ran out while the
    chunk's earlier POSTs took their time is given back unsent (another worker may have
    taken it): the next run sends it."""
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
    began = monotonic()
    try:
        with transport.tls_files(
            settings.MUTUALIS_LEGALITY_CLIENT_CERTIFICATE,
            settings.MUTUALIS_LEGALITY_CLIENT_KEY,
            settings.MUTUALIS_LEGALITY_SERVER_CA,
        ) as tls:
            for start in range(0, len(due), CHUNK):
                if cap and volume >= cap:
                    counts["capped"] = int(counts["capped"]) + len(due) - start
                    break
                answered: list[tuple[Claim, transport.Answer]] = []
                released: list[Claim] = []
                capped_here = False
                claims = _claim_many(due[start : start + CHUNK], start, now)
                for position, (claim, package) in enumerate(claims):
                    if cap and volume >= cap:
                        # The rest of the run's due acts, this chunk's and the next ones.
                        released += [c for c, _package in claims[position:]]
                        counts["capped"] = int(counts["capped"]) + len(due) - claim.index
                        capped_here = True
                        break
                    if cap and volume + claim.size > cap:
                        released.append(claim)
                        counts["capped"] = int(counts["capped"]) + 1
                        continue
                    elapsed = timedelta(seconds=monotonic() - began)
                    if claim.lease_until is not None and now + elapsed >= claim.lease_until:
                        released.append(claim)
                        continue
                    answer = _post_stored(http, claim, package, tls)
                    if answer.result is transport.Result.ACCEPTED:
                        volume += claim.size
                    answered.append((claim, answer))
                _release_many(released)
                for result in _record_many(answered, now):
                    if result in counts:
                        counts[result] = int(counts[result]) + 1
                if capped_here:
                    break
    finally:
        if own_session:
            http.close()
    return counts


def _release_many(claims: Sequence[Claim]) -> None:
    """Give back claims that were not posted (the cap stopped them, or their lease ran
    out): the attempt did not happen."""
    if not claims:
        return
    organisation_ids = sorted({claim.organisation_id for claim in claims})
    with transaction.atomic(), scope(organisation=organisation_ids):
        for claim in claims:
            Act.objects.filter(pk=claim.act_id, send_attempts=claim.attempt).update(
                send_attempts=claim.attempt - 1, next_attempt_at=None
            )
