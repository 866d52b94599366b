"""The use cases of the open data: snapshot a procedure into a new release when what is
public about it changed, and reconcile what changed without a signal.

Both run in background jobs (``tasks.py``) and are idempotent: a release is stored only
when its content differs from the latest release of the same ocid, so a job run twice, or
a signal and the reconciliation noticing the same change, store it once. No service
updates or deletes a release (``models.Release`` refuses it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import crossings, releases, schemas
from .models import Reconciliation, Release

logger = logging.getLogger(__name__)

# A modification committed late carries an older ``updated_at`` than the mark reached:
# the reconciliation reads a little before its mark.
RECONCILIATION_OVERLAP = timedelta(minutes=5)
ATTEMPTS = 3


class ReleaseInvalid(Exception):
    """A built release fails the OCDS schema: a defect of the builder, never stored."""


def _store(
    content: dict[str, object], *, ocid: str, facts: crossings.ProcedureFacts, now: datetime
) -> Release | None:
    latest = Release.objects.filter(ocid=ocid).order_by("-pk").first()
    previous = releases.without_identity(latest.data) if latest is not None else None
    if previous is not None and releases.digest(previous) == releases.digest(content):
        return None
    tags, stage = releases.tags(previous, content)
    number = Release.objects.filter(ocid=ocid).count() + 1
    # Releases of an ocid are merged in date order: never older than the previous one.
    at = now if latest is None or now > latest.date else latest.date + timedelta(microseconds=1)
    data = releases.release(content, release_id=f"{ocid}-{number}", at=at, tags=tags)
    problems = schemas.errors(data, schemas.RELEASE)
    if problems:
        raise ReleaseInvalid("; ".join(problems[:5]))
    with transaction.atomic():
        return Release.objects.create(
            ocid=ocid,
            release_id=data["id"],
            date=at,
            tags=tags,
            stage=stage,
            buyer_id=facts.consultation.organisation_id,
            consultation_id=facts.consultation.pk,
            data=data,
            sha256=releases.digest(data),
        )


def snapshot_procedure(*, consultation_id: int, now: datetime | None = None) -> Release | None:
    """Store a release of the procedure of ``consultation_id`` (an offer phase or a
    negotiation round stands for its procedure) if what is public about it changed; the
    new release, or None (nothing changed, or nothing public)."""
    facts = crossings.procedure_facts(consultation_id)
    if facts is None:
        return None
    content = releases.content(facts)
    ocid = str(content["ocid"])
    for attempt in range(ATTEMPTS):
        try:
            stored = _store(content, ocid=ocid, facts=facts, now=now or timezone.now())
        except IntegrityError:
            # A concurrent job stored the same release number first: compare with it.
            if attempt == ATTEMPTS - 1:
                raise
            continue
        if stored is not None:
            logger.info("ocds: %s stored (%s)", stored.release_id, ",".join(stored.tags))
        return stored
    return None


def snapshot_award_procedure(*, award_id: int) -> Release | None:
    consultation_id = crossings.consultation_of_award(award_id)
    if consultation_id is None:
        return None
    return snapshot_procedure(consultation_id=consultation_id)


def reconcile(*, now: datetime | None = None) -> int:
    """Snapshot every procedure whose consultation, decisions or contracts were modified
    since the last run (a minute's overlap), including what procurement records
    without a signal (a consultation closed or cancelled); the number of releases
    stored. The first run reads everything."""
    now = now or timezone.now()
    mark = Reconciliation.objects.order_by("pk").first()
    since = (
        mark.reached_at - RECONCILIATION_OVERLAP
        if mark is not None
        else datetime(2000, 1, 1, tzinfo=timezone.get_current_timezone())
    )
    ids = sorted(
        {*crossings.consultations_modified_since(since), *crossings.decisions_recorded_since(since)}
    )
    stored = 0
    for consultation_id in ids:
        stored += snapshot_procedure(consultation_id=consultation_id) is not None
    if mark is None:
        Reconciliation.objects.create(reached_at=now)
    else:
        Reconciliation.objects.filter(pk=mark.pk).update(reached_at=now)
    return stored
