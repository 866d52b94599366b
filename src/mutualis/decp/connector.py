"""The publication connector: pushes the entries ready for it to the national open-data
portal (data.gouv.fr), through its API.

data.gouv.fr's API (``/api/1``) takes a file as a new resource of a dataset:
``POST {DECP_PORTAL_URL}/datasets/{DECP_PORTAL_DATASET}/upload/``, ``multipart/form-data``
with the part ``file``, the key in the ``X-API-KEY`` header; it answers ``201`` with the
resource (its ``id``). Each run sends the entries ready (valid, not held by the portal
in their current version) as one file in the official envelope, at most
``DECP_PORTAL_BATCH`` entries a file; on ``201`` they become published.

The key is read from ``DECP_PORTAL_API_KEY_FILE`` when an attempt is made: never in the
database, never in a log or the audit trail. Each attempt is a ``PortalAttempt`` row and
an audit event; after a failure (network error, timeout, an answer other than 201) the
next attempt waits ``DECP_PORTAL_RETRY_SECONDS`` doubled at each failure in a row (at
most six hours): no job sleeps. A file the portal took while the answer was lost is sent
again with the next batch; the national consolidation keys entries on buyer and ``id``.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mutualis.core import audit

from . import crossings, entries
from .bulk import write_envelope
from .models import PortalAttempt

ACTOR = audit.SystemActor("decp.connector")
MAX_BACKOFF = timedelta(hours=6)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def configured() -> bool:
    return bool(_setting("DECP_PORTAL_URL", "")) and bool(_setting("DECP_PORTAL_DATASET", ""))


def api_key() -> str:
    """The API key, read from its file (empty when unreadable)."""
    path = _setting("DECP_PORTAL_API_KEY_FILE", "")
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def upload_url() -> str:
    base = str(_setting("DECP_PORTAL_URL", "")).rstrip("/")
    return f"{base}/datasets/{_setting('DECP_PORTAL_DATASET', '')}/upload/"


def _last_attempt() -> PortalAttempt | None:
    return PortalAttempt.objects.order_by("-at", "-pk").first()


def _send(body: bytes, name: str, key: str) -> tuple[bool, int | None, str, str]:
    """POST the file: (ok, status, error, resource id). The key is in a header only."""
    try:
        answer = requests.post(
            upload_url(),
            headers={"X-API-KEY": key, "Accept": "application/json"},
            files={"file": (name, io.BytesIO(body), "application/json")},
            timeout=_setting("DECP_PORTAL_TIMEOUT_SECONDS", 30),
        )
    except requests.RequestException as exc:
        return False, None, type(exc).__name__, ""
    if answer.status_code != 201:
        return False, answer.status_code, f"HTTP {answer.status_code}", ""
    try:
        resource = str(answer.json().get("id", ""))[:64]
    except ValueError:
        resource = ""
    return True, answer.status_code, "", resource


def _attempt(
    *, now: datetime, count: int, ok: bool, status: int | None, error: str, resource: str
) -> PortalAttempt:
    last = _last_attempt()
    failures = 0 if ok else (last.failures_in_a_row if last and not last.ok else 0) + 1
    wait = None
    if not ok:
        base = timedelta(seconds=_setting("DECP_PORTAL_RETRY_SECONDS", 60))
        wait = min(base * 2 ** (failures - 1), MAX_BACKOFF)
    with transaction.atomic():
        attempt = PortalAttempt.objects.create(
            at=now,
            entries=count,
            ok=ok,
            status_code=status,
            error=error[:300],
            resource_id=resource,
            failures_in_a_row=failures,
            next_attempt_at=now + wait if wait else None,
        )
        audit.record(
            actor=ACTOR,
            action="decp.portal_attempt",
            target=attempt,
            payload={
                "entries": count,
                "ok": ok,
                "status": status,
                "error": error[:300],
                "resource": resource,
            },
        )
    return attempt


def push(now: datetime | None = None) -> dict[str, int]:
    """The job: send the ready entries, batch by batch, unless a back-off is running.
    Counts of entries sent and published, and of failed attempts."""
    now = now or timezone.now()
    result = {"sent": 0, "published": 0, "failed": 0}
    if not configured():
        return result
    last = _last_attempt()
    if last is not None and last.next_attempt_at is not None and now < last.next_attempt_at:
        return result
    ready = crossings.entries_to_push()
    batch = max(1, int(_setting("DECP_PORTAL_BATCH", 5000)))
    key = api_key()
    for start in range(0, len(ready), batch):
        chunk = ready[start : start + batch]
        if not key:
            _attempt(
                now=now, count=len(chunk), ok=False, status=None,
                error="API key file missing or unreadable", resource="",
            )  # fmt: skip
            result["failed"] += 1
            break
        buffer = io.BytesIO()
        write_envelope(buffer, (data for _pk, _version, data in chunk))
        name = f"decp-{now.strftime('%Y%m%dT%H%M%S')}-{start // batch + 1}.json"
        ok, status, error, resource = _send(buffer.getvalue(), name, key)
        _attempt(now=now, count=len(chunk), ok=ok, status=status, error=error, resource=resource)
        if not ok:
            result["failed"] += 1
            break
        result["sent"] += len(chunk)
        result["published"] += entries.record_portal_took(
            taken={pk: version for pk, version, _data in chunk}, now=now
        )
    return result
