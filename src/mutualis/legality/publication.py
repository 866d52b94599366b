"""What follows the prefecture's acknowledgement of an act: its stamped PDF and its
acknowledgement slip (made by a background job once the acknowledgement is committed),
and the publication date the member's agent records, which stamps the act again.

Stamping is a system step on the member's chain (``legality.act_stamped``), the
publication date an agent's (``legality.act_published``). Each stamp is a new stored
file; the earlier ones are kept and listed on the verification page, so that a copy
handed out before the publication still verifies.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope
from pypdf.errors import PyPdfError

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.links import absolute_url
from mutualis.core.models import StoredFile
from mutualis.identity.models import Membership

from . import errors, stamping
from .models import ACT_OWNER_KIND, AGENT_ROLE, Act, ActStatus, Stamp
from .services import PDF, acting_member, audit_context, locked_act, read_stored

logger = logging.getLogger(__name__)

STAMP_ACTOR = audit.SystemActor("legality.stamp")
TOKEN_BYTES = 24  # 32 URL-safe characters: not guessable, short enough for a QR code


def verification_url(token: str) -> str:
    """The public address of an act's verification page (what its QR code says)."""
    return absolute_url(reverse("legality_public:verify", kwargs={"token": token}))


def _sent_on(act: Act) -> date | None:
    return timezone.localdate(act.sent_at) if act.sent_at is not None else None


def transmitted_files(act: Act) -> list[tuple[str, StoredFile]]:
    """Every file the prefecture received for ``act``, with its French role on the slip
    and the verification page."""
    files: list[tuple[str, StoredFile]] = [("Acte", act.document)]
    if act.document_signature is not None:
        files.append(("Signature de l'acte", act.document_signature))
    for number, annex in enumerate(act.annexes.select_related("file", "signature"), start=1):
        files.append((f"Annexe {number} ({annex.piece_type})", annex.file))
        if annex.signature is not None:
            files.append((f"Signature de l'annexe {number}", annex.signature))
    return files


def _store_pdf(act: Act, content: bytes, name: str) -> StoredFile:
    return file_store.store_file(
        file=io.BytesIO(content),
        name=name,
        owner_kind=ACT_OWNER_KIND,
        owner_ref=str(act.organisation_id),
        allowed_types=frozenset({PDF}),
    )


def _slip(act: Act, received_on: date, url: str) -> bytes:
    files = [
        stamping.SlipFile(role, stored.original_name, stored.sha256)
        for role, stored in transmitted_files(act)
    ]
    if act.package is not None:
        files.append(
            stamping.SlipFile("Archive transmise", act.package.original_name, act.package.sha256)
        )
    # The slip is in French, as the stamp is, whatever language the job runs in.
    with translation.override("fr"):
        nature = str(act.get_nature_display())
    return stamping.slip_pdf(
        stamping.Slip(
            identifier=act.identifier,
            nature=nature,
            subject=act.subject,
            member=act.organisation.name,
            siren=act.organisation.siren,
            decided_on=act.decided_on,
            sent_on=_sent_on(act),
            received_on=received_on,
            files=files,
            verification_url=url,
        )
    )


def stamp_act(*, organisation_id: int, act_id: int) -> Stamp | None:
    """Make the acknowledged act's stamped PDF (and, the first time, its slip), unless
    the latest stamp already shows the act's publication date: idempotent, a job may
    run twice. None when there is nothing to stamp (not acknowledged, or a budget
    document in XML: it gets its slip only)."""
    with transaction.atomic(), scope(organisation=organisation_id):
        act = (
            Act.objects.select_for_update(of=("self",))
            .select_related("organisation", "document", "document_signature", "package")
            .filter(organisation_id=organisation_id, pk=act_id)
            .first()
        )
        if act is None or act.status != ActStatus.ACKNOWLEDGED or act.received_on is None:
            return None
        latest = act.stamps.select_related("file").first()
        if latest is not None and latest.published_on == act.published_on:
            return latest
        if not act.verification_token:
            act.verification_token = secrets.token_urlsafe(TOKEN_BYTES)
        url = verification_url(act.verification_token)
        if act.slip_id is None:
            act.slip = _store_pdf(
                act, _slip(act, act.received_on, url), f"{act.identifier}_accuse_reception.pdf"
            )
        act.save(update_fields=["verification_token", "slip", "updated_at"])
        stamp = None
        if act.document.content_type == PDF:
            lines = stamping.stamp_lines(
                identifier=act.identifier,
                sent_on=_sent_on(act),
                received_on=act.received_on,
                published_on=act.published_on,
            )
            try:
                stamped = stamping.stamp_pdf(read_stored(act.document), lines=lines, url=url)
            except (PyPdfError, ValueError, KeyError, TypeError):
                # Checked readable before sending: a failure here is a bug to look at,
                # not a reason to lose the slip.
                logger.exception("legality: the act %s could not be stamped", act.pk)
            else:
                stamp = Stamp.objects.create(
                    organisation_id=organisation_id,
                    act=act,
                    file=_store_pdf(act, stamped, f"{act.identifier}_tampon.pdf"),
                    published_on=act.published_on,
                )
        audit.record(
            actor=STAMP_ACTOR,
            organisation=act.organisation,
            action="legality.act_stamped",
            target=act,
            payload={
                "identifier": act.identifier,
                "original_sha256": act.document.sha256,
                "stamped_sha256": stamp.file.sha256 if stamp is not None else "",
                "slip_sha256": act.slip.sha256 if act.slip is not None else "",
                "published_on": act.published_on.isoformat() if act.published_on else "",
            },
        )
    return stamp


def enqueue_stamp(*, organisation_id: int, act_id: int) -> None:
    from . import tasks

    tasks.stamp_acknowledged_act.enqueue(organisation_id=organisation_id, act_id=act_id)


def on_act_acknowledged(sender: Any, *, act_id: int, organisation_id: int, **kwargs: Any) -> None:
    """``signals.act_acknowledged`` (sent once committed): stamp in the background."""
    enqueue_stamp(organisation_id=organisation_id, act_id=act_id)


def record_publication(
    *,
    actor: Membership,
    act_id: int,
    published_on: date,
    request_context: Mapping[str, Any] | None = None,
) -> Act:
    """The member's agent records the date the act was published ("Publié le"), which
    a regulatory act needs to enter into force: not before the decision, not in the
    future; a correction is allowed and recorded. The act is stamped again."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = acting_member(actor, AGENT_ROLE)
        act = locked_act(current, act_id)
        if act.status != ActStatus.ACKNOWLEDGED:
            raise errors.NotAcknowledged()
        if published_on < act.decided_on:
            raise errors.PublicationBeforeDecision()
        if published_on > timezone.localdate():
            raise errors.PublicationInFuture()
        if act.published_on == published_on:
            return act
        before = act.published_on
        act.published_on = published_on
        act.save(update_fields=["published_on", "updated_at"])
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.act_published",
            target=act,
            payload={
                "identifier": act.identifier,
                "published_on": published_on.isoformat(),
                "before": before.isoformat() if before else "",
            },
            **audit_context(request_context),
        )
        organisation_id = act.organisation_id
        transaction.on_commit(lambda: enqueue_stamp(organisation_id=organisation_id, act_id=act_id))
    return act
