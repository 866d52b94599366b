"""Writes of the API under an ``Idempotency-Key``: one mechanism for every context.

A program that sends a write again (its connection dropped before the answer came) must
not create a second contract, order or consultation. Each write names itself with a key
of its own choosing, 1 to 100 printable ASCII characters, in the ``Idempotency-Key``
header (:func:`key_of` refuses a missing, empty, over-long or non-ASCII one with a 400
that says so). :func:`once` then answers it once per API client:

- the key is **claimed** first: a row (:class:`~mutualis.core.models.ApiWrite`), unique
  per client and key, with the SHA-256 of the operation, its path parameters and its
  body, committed before the use case runs;
- the use case runs (the context's service, in its own durable transaction, audited as
  the pages' path is), and its answer is stored on the row;
- the same key again with the same request gets the stored status and body, and changes
  nothing; with another request, 409 ``idempotency_key_reused``; while the first is still
  running, 409 ``idempotency_key_in_use``. A refused use case frees the key, so that the
  corrected request may use it.

**A claim stuck by a crash.** A worker killed in the middle of a write (gunicorn's
timeout, an out-of-memory kill, a lost database connection) never frees its claim: the
row stayed pending for ever, and every retry of that key was answered 409. A claim now
holds a lease (:data:`LEASE`): past it, the next request with the key and the same body
takes the claim over (one conditional update, so that two retries cannot both win) and
runs the use case. The lease is far longer than any request lives (gunicorn kills a sync
worker after 30 s by default, nginx gives up after 300 s): a slow request still running
is not overtaken. The services commit in their own durable transaction, so the claim
cannot share it; the one case left is a crash in the instant between the use case's
commit and the storing of its answer: the retry after the lease runs the use case again,
and the service's own rules (a contract signed once per award, a reference unique per
member…) refuse most repetitions.

Deposits keep their key on the rows they create, in the same transaction as the write
(``deposits/services.py``): nothing can be stuck there, and they use :func:`key_of` only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Status
from ninja.responses import NinjaJSONEncoder

from mutualis.core.audit import canonical_json
from mutualis.core.errors import MutualisError
from mutualis.core.models import ApiWrite

from . import ApiError, Caller

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x20-\x7e]{1,100}$")
LEASE = timedelta(minutes=5)

# The header in an operation's document: ``openapi_extra=OPENAPI``.
OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": True,
            "description": (
                "1 to 100 printable ASCII characters, new for each distinct request: the"
                " same key again with the same body gives the first answer and changes"
                " nothing; with another body, 409."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        }
    ]
}


class IdempotencyError(MutualisError):
    code = "idempotency_error"
    status = 400


class KeyMissing(IdempotencyError):
    code = "idempotency_key_required"
    field_name = HEADER
    message = _(
        "Every write needs an Idempotency-Key header (1 to 100 printable ASCII characters): "
        "the same key again gives the first answer."
    )


class KeyInvalid(IdempotencyError):
    code = "idempotency_key_invalid"
    field_name = HEADER
    message = _("The Idempotency-Key header must have 1 to 100 printable ASCII characters.")


class KeyReused(IdempotencyError):
    code = "idempotency_key_reused"
    status = 409
    message = _("This Idempotency-Key was already used for a different request.")


class KeyInUse(IdempotencyError):
    code = "idempotency_key_in_use"
    status = 409
    message = _("A request with this Idempotency-Key is still being processed: try again.")


def key_of(request: HttpRequest) -> str:
    """The request's key, or the error the API answers (400)."""
    key = request.headers.get(HEADER)
    if not key:
        raise KeyMissing()
    if not KEY.match(key):
        raise KeyInvalid()
    return key


def jsonable(value: Any) -> Any:
    """``value`` as the API renders it (decimals and dates as strings)."""
    return json.loads(json.dumps(value, cls=NinjaJSONEncoder))


def request_hash(operation: str, target: Any, body: Any) -> str:
    material = {"operation": operation, "target": target, "body": body}
    return hashlib.sha256(canonical_json(jsonable(material))).hexdigest()


def _caller(request: HttpRequest) -> str:
    caller = getattr(request, "auth", None)
    if not isinstance(caller, Caller):
        # An operation using this helper authenticates API clients only.
        raise ApiError(401, "not_authenticated", str(_("A valid access token is required.")))
    return caller.rate_limit_key


def _claim(caller: str, key: str, operation: str, digest: str) -> ApiWrite | Status[Any]:
    """The claim of ``key`` (a new row, or a crashed request's taken over), or the
    stored answer; otherwise the refusal."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return ApiWrite.objects.create(
                caller=caller,
                key=key,
                operation=operation,
                request_hash=digest,
                created_at=now,
                lease_until=now + LEASE,
            )
    except IntegrityError:
        pass
    kept = ApiWrite.objects.filter(caller=caller, key=key).first()
    if kept is None:
        # Freed (refused) between the insert and this read: the client may retry.
        raise KeyInUse()
    if kept.request_hash != digest:
        raise KeyReused()
    if kept.status != ApiWrite.PENDING:
        return Status(kept.status, kept.response)
    if kept.lease_until is not None and kept.lease_until > now:
        raise KeyInUse()
    # A crashed request's claim: taken over by one retry only.
    lease = now + LEASE
    taken = ApiWrite.objects.filter(
        pk=kept.pk, status=ApiWrite.PENDING, lease_until=kept.lease_until
    ).update(lease_until=lease)
    if not taken:
        raise KeyInUse()
    kept.lease_until = lease
    return kept


def once(
    request: HttpRequest,
    *,
    operation: str,
    target: Any,
    body: Any,
    run: Callable[[], Any],
    status: int = 201,
) -> Status[Any]:
    """Answer a write of an API client once per ``Idempotency-Key`` (see the module):
    ``run`` calls the use case and gives the answer's body; ``body`` is the request as
    the hash sees it (for a file, its SHA-256 rather than its bytes)."""
    key = key_of(request)
    caller = _caller(request)
    digest = request_hash(operation, target, body)
    claim = _claim(caller, key, operation, digest)
    if isinstance(claim, Status):
        return claim
    mine = ApiWrite.objects.filter(pk=claim.pk, lease_until=claim.lease_until)
    try:
        answer = jsonable(run())
    except BaseException:
        mine.delete()
        raise
    mine.update(status=status, response=answer, lease_until=None)
    return Status(status, answer)
