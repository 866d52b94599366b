"""The archive package of a finished procedure, and the export of all of a member's
(reversibility), written by a background job as ZIP files into the private file store.

A procedure is finished as ``retention.procedure_end`` says (every lot contracted or
declared unsuccessful or discontinued, or the consultation cancelled). Its package
holds, under ``<reference>/``:

- ``documents/v<version>/<name>``: every document of the consultation as published,
  every version (withdrawn ones included, named by the version that added them);
- ``registers/downloads.csv`` (procurement's download register),
  ``registers/deposits.csv`` (the deposit register), ``deposits/deposits.json`` (each
  deposit: reference, company, times, its files' names, sizes and SHA-256, the receipt
  and its digest) and ``deposits/receipts/<reference>.pdf``;
- ``opening/register.pdf``, ``opening/minutes.pdf`` and ``opening/signatures.json``
  (each opened file's state and signature report);
- ``analysis/report.pdf`` and ``analysis/report.xlsx`` when the offers were analysed;
- ``letters/<kind>-<siren>-<award>.pdf``: every award, rejection or cancellation letter;
- ``awards.json`` and ``contracts/<number>.json`` (each contract with its amendments and
  orders);
- ``messages/messages.json`` and ``messages/attachments/<id>-<name>``: the secure
  messages of the consultation (``messaging.selectors.messages_of_consultation``);
- ``audit.jsonl``: the audit events of the consultation and of its deposits, awards,
  letters and contracts, on every chain, one JSON object a line, in chain order;
- ``manifest.json`` (the package: the consultation, when and by whom, each file's path,
  size and SHA-256) and ``SHA256SUMS`` (``sha256sum -c`` checks it).

The export (``kind = export``) puts every finished procedure's package side by side in
one ZIP, with a manifest and SHA256SUMS of its own. A SEDA 2.x package (the French
standard for transfers to an archiving service) is made from it later: manifest.json
maps to the ``ArchiveTransfer`` message (one ``ArchiveUnit`` per procedure, one per
folder, one ``BinaryDataObject`` per file with its SHA-256 ``MessageDigest`` and size),
the consultation's facts to the units' ``Content`` (title, reference, dates), the
retention of ``retention.py`` to each unit's ``AppraisalRule`` (``Keep`` then destroy,
duration from the procedure's end); the files stay as they are.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.files import store as file_store
from mutualis.core.files.names import sanitise_name
from mutualis.core.models import StoredFile
from mutualis.deposits import services as deposit_services
from mutualis.deposits.models import Deposit, OpenedFile, OpeningSession
from mutualis.evaluation import report as evaluation_report
from mutualis.evaluation import selectors as evaluation_selectors
from mutualis.procurement import downloaders, rounds
from mutualis.procurement.models import Consultation, ConsultationDocument

from . import crossings, errors, orders, records, retention
from .awards import require_buyer
from .models import (
    ArchivePackage,
    Award,
    AwardLetter,
    Contract,
    PackageKind,
    PackageState,
)

OWNER_KIND = "contracts.archive"
ZIP = "application/zip"
# The packages hold every file of a procedure: far beyond the upload limit.
MAX_BYTES = 2**40


def nobody_reads(request: Any, stored_file: Any) -> bool:
    """The generic download view serves no package: the buyer's page does."""
    return False


@dataclass
class Writer:
    """Writes files into a ZIP and keeps the manifest's lines."""

    archive: zipfile.ZipFile
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, content: bytes) -> None:
        self.archive.writestr(path, content)
        self.entries.append(
            {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        )

    def add_stored(self, path: str, stored: StoredFile | None) -> None:
        if stored is None:
            return
        try:
            with file_store.open_stored_file(stored) as handle:
                content = handle.read()
        except OSError:  # purged or lost: the manifest says so
            self.entries.append({"path": path, "missing": True, "sha256": stored.sha256})
            return
        self.add(path, content)

    def add_json(self, path: str, value: Any) -> None:
        self.add(path, _json(value))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def _name(text: str) -> str:
    return sanitise_name(text) or "file"


def _folder(consultation: Consultation) -> str:
    return slugify(consultation.reference) or f"consultation-{consultation.pk}"


# --- What a package holds ----------------------------------------------------------------


def _documents(w: Writer, prefix: str, consultation: Consultation) -> None:
    # No selector gives every version (documents.current_documents gives the current).
    rows = ConsultationDocument.objects.filter(consultation_id=consultation.pk).select_related(
        "file"
    )
    for row in rows.order_by("added_in_version", "pk"):
        w.add_stored(
            f"{prefix}documents/v{row.added_in_version}/{row.pk}-{_name(row.file.original_name)}",
            row.file,
        )


def _deposits(w: Writer, prefix: str, consultation: Consultation) -> list[int]:
    # With the applications of the first phase, and the offers of earlier negotiation
    # rounds.
    ids = rounds.ancestor_ids(consultation.pk) if consultation.parent_id else [consultation.pk]
    deposits = list(
        Deposit.for_organisation.filter(consultation_id__in=ids)
        .select_related("company", "receipt_pdf")
        .prefetch_related("files")
        .order_by("received_at", "pk")
    )
    w.add(
        f"{prefix}registers/deposits.csv",
        deposit_services.register_csv(
            deposit_services.register_of(
                organisation_id=consultation.organisation_id, consultation_id=consultation.pk
            )
        ).encode(),
    )
    rows = []
    for deposit in deposits:
        rows.append(
            {
                "reference": deposit.reference,
                "consultation": deposit.consultation_id,
                "lot": deposit.lot_id,
                "phase": deposit.phase,
                "company": {"siren": deposit.company.siren, "name": deposit.company.name},
                "state": deposit.state,
                "started_at": deposit.started_at,
                "received_at": deposit.received_at,
                "late": deposit.late,
                "files": [
                    {
                        "name": f.name,
                        "kind": f.kind,
                        "plaintext_size": f.plaintext_size,
                        "plaintext_sha256": f.plaintext_sha256,
                        "ciphertext_size": f.ciphertext_size,
                        "ciphertext_sha256": f.ciphertext_sha256,
                    }
                    for f in deposit.files.all()
                ],
                "receipt": deposit.receipt,
                "receipt_digest": deposit.receipt_digest,
            }
        )
        w.add_stored(
            f"{prefix}deposits/receipts/{_name(deposit.reference)}.pdf", deposit.receipt_pdf
        )
    w.add_json(f"{prefix}deposits/deposits.json", rows)
    return [d.pk for d in deposits]


def _opening(w: Writer, prefix: str, consultation: Consultation) -> None:
    session = (
        OpeningSession.objects.filter(consultation_id=consultation.pk)
        .select_related("register_pdf", "minutes_pdf")
        .first()
    )
    if session is None:
        return
    w.add_stored(f"{prefix}opening/register.pdf", session.register_pdf)
    w.add_stored(f"{prefix}opening/minutes.pdf", session.minutes_pdf)
    opened = OpenedFile.objects.filter(session=session).select_related("deposit_file__deposit")
    w.add_json(
        f"{prefix}opening/signatures.json",
        [
            {
                "deposit": o.deposit_file.deposit.reference,
                "file": o.deposit_file.name,
                "state": o.state,
                "detail": o.detail,
                "signatures": o.signatures,
            }
            for o in opened.order_by("pk")
        ],
    )


def _analysis(w: Writer, prefix: str, consultation: Consultation) -> None:
    analyses = evaluation_selectors.analyses_of(
        organisation_id=consultation.organisation_id, consultation_id=consultation.pk
    )
    if not analyses:
        return
    w.add(f"{prefix}analysis/report.pdf", evaluation_report.pdf(consultation, analyses))
    w.add(f"{prefix}analysis/report.xlsx", evaluation_report.xlsx(consultation, analyses))


def _awards_and_contracts(
    w: Writer, prefix: str, consultation: Consultation
) -> tuple[list[int], list[int], list[int]]:
    award_rows = list(
        Award.objects.filter(consultation_id=consultation.pk)
        .select_related("lot", "company")
        .order_by("pk")
    )
    w.add_json(
        f"{prefix}awards.json",
        [
            {
                "id": a.pk,
                "lot": a.lot.number if a.lot else None,
                "outcome": a.outcome,
                "company": a.company.siren if a.company else None,
                "amount": a.amount,
                "reasons": a.reasons,
                "state": a.state,
                "decided_at": a.decided_at,
                "notified_at": a.notified_at,
                "standstill_ends_on": a.standstill_ends_on,
                "offers_received": a.bidders,
                "abandoned_reason": a.abandoned_reason,
            }
            for a in award_rows
        ],
    )
    letters = list(
        AwardLetter.for_organisation.filter(award__consultation_id=consultation.pk)
        .select_related("company", "pdf")
        .order_by("pk")
    )
    for letter in letters:
        w.add_stored(
            f"{prefix}letters/{letter.kind}-{letter.company.siren}-{letter.award_id}.pdf",
            letter.pdf,
        )
    contracts = list(
        Contract.for_organisation.filter(award__consultation_id=consultation.pk)
        .select_related("company", "award__lot")
        .order_by("pk")
    )
    for contract in contracts:
        amendments = records.amendments_of(contract, side="organisation")
        w.add_json(
            f"{prefix}contracts/{_name(contract.reference)}.json",
            {
                "reference": contract.reference,
                "lot": contract.award.lot.number if contract.award.lot else None,
                "holder": {"siren": contract.company.siren, "siret": contract.holder_siret},
                "grouping": contract.grouping,
                "co_contractors": contract.co_contractors,
                "subcontractors": contract.subcontractors,
                "amount": contract.amount,
                "duration_months": contract.duration_months,
                "framework_maximum": contract.framework_maximum,
                "signed_on": contract.signed_on,
                "notification_sent_at": contract.notification_sent_at,
                "receipt_confirmed_at": contract.receipt_confirmed_at,
                "state": contract.state,
                "started_on": contract.started_on,
                "ended_on": contract.ended_on,
                "termination_reason": contract.termination_reason,
                "amendments": [
                    {
                        "number": a.number,
                        "object": a.object,
                        "notified_on": a.notified_on,
                        "new_amount": a.new_amount,
                        "new_duration_months": a.new_duration_months,
                    }
                    for a in amendments
                ],
                "orders": [
                    {
                        "number": o.number,
                        "issued_on": o.issued_on,
                        "object": o.object,
                        "amount": o.amount,
                    }
                    for o in orders.orders_of(contract, side="organisation")
                ],
            },
        )
    return (
        [a.pk for a in award_rows],
        [letter.pk for letter in letters],
        [c.pk for c in contracts],
    )


def _messages(w: Writer, prefix: str, consultation: Consultation) -> None:
    try:
        from mutualis.messaging.selectors import messages_of_consultation
    except ImportError:  # pragma: no cover (messaging not installed)
        return
    rows = []
    for message in messages_of_consultation(consultation.pk):
        attachments = []
        for attachment in message.attachments.all():
            name = _name(attachment.file.original_name)
            path = f"{prefix}messages/attachments/{attachment.pk}-{name}"
            w.add_stored(path, attachment.file)
            attachments.append(path.removeprefix(prefix))
        rows.append(
            {
                "id": message.pk,
                "thread": message.thread_id,
                "company": message.company.siren,
                "side": message.side,
                "kind": message.kind,
                "subject": message.subject,
                "body": message.body,
                "sent_at": message.sent_at,
                "reply_by": message.reply_by,
                "read_at": message.read_at,
                "digest": message.digest,
                "attachments": attachments,
            }
        )
    if rows:
        w.add_json(f"{prefix}messages/messages.json", rows)


def _audit(w: Writer, prefix: str, targets: list[tuple[str, list[int]]]) -> None:
    events = crossings.audit_events_about(targets)
    lines = [
        json.dumps(
            {
                "chain": e.chain,
                "sequence": e.sequence,
                "occurred_at": e.occurred_at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "payload": e.payload,
                "payload_digest": e.payload_digest,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        for e in events
    ]
    w.add(f"{prefix}audit.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")


def write_procedure(w: Writer, prefix: str, consultation: Consultation) -> None:
    """Every file of the procedure's package under ``prefix``, inside the buyer's
    scope (``scope(organisation=…)``)."""
    _documents(w, prefix, consultation)
    w.add(
        f"{prefix}registers/downloads.csv",
        downloaders.register_csv(
            downloaders.register_of(
                organisation_id=consultation.organisation_id, consultation_id=consultation.pk
            )
        ).encode(),
    )
    deposit_ids = _deposits(w, prefix, consultation)
    _opening(w, prefix, consultation)
    _analysis(w, prefix, consultation)
    award_ids, letter_ids, contract_ids = _awards_and_contracts(w, prefix, consultation)
    _messages(w, prefix, consultation)
    # The steps before this one (the applications of a two-phase procedure, the offers
    # a negotiation round improved): their documents, opening, analysis and messages.
    chain = rounds.chain_of(consultation)
    earlier = chain[: [c.pk for c in chain].index(consultation.pk)]
    for step in earlier:
        step_prefix = f"{prefix}earlier-steps/{step.pk}-{_name(step.reference)}/"
        _documents(w, step_prefix, step)
        _opening(w, step_prefix, step)
        _analysis(w, step_prefix, step)
        _messages(w, step_prefix, step)
    _audit(
        w,
        prefix,
        [
            ("procurement.consultation", [consultation.pk] + [c.pk for c in earlier]),
            ("deposits.deposit", deposit_ids),
            ("contracts.award", award_ids),
            ("contracts.awardletter", letter_ids),
            ("contracts.contract", contract_ids),
        ],
    )


def _close(w: Writer, prefix: str, about: dict[str, Any]) -> None:
    """The manifest and SHA256SUMS of the files written under ``prefix``."""
    entries = [e for e in w.entries if e["path"].startswith(prefix)]
    w.add_json(
        f"{prefix}manifest.json",
        {**about, "files": [{**e, "path": e["path"].removeprefix(prefix)} for e in entries]},
    )
    sums = "".join(
        f"{e['sha256']}  {e['path'].removeprefix(prefix)}\n" for e in entries if "size" in e
    )
    w.add(f"{prefix}SHA256SUMS", sums.encode())


def _about(consultation: Consultation, now: datetime) -> dict[str, Any]:
    return {
        "format": "mutualis-archive-package/1",
        "consultation": {
            "id": consultation.pk,
            "reference": consultation.reference,
            "title": consultation.title,
            "procedure": consultation.procedure,
            "buyer": consultation.organisation.name,
            "ended_on": retention.procedure_end(consultation),
        },
        "created_at": now.isoformat(),
        "retention_years": retention.retention_years(),
    }


# --- Requests and the job ----------------------------------------------------------------


def finished(consultation: Consultation) -> bool:
    return retention.procedure_end(consultation) is not None


def finished_procedures(organisation_id: int) -> list[Consultation]:
    with scope(organisation=organisation_id):
        candidates = Consultation.objects.filter(
            organisation_id=organisation_id, is_test=False
        ).exclude(state="draft")
        rows = list(candidates.order_by("pk"))
        ends = retention.procedure_ends(rows)
        return [c for c in rows if ends[c.pk] is not None]


@transaction.atomic(durable=True)
def request_package(
    *,
    actor: Any,
    consultation_id: int | None,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> ArchivePackage:
    """Ask for a procedure's package (``consultation_id``), or the export of all
    (None); the job writes it. A request already waiting is answered as is."""
    require_buyer(actor)
    now = now or timezone.now()
    kind = PackageKind.EXPORT if consultation_id is None else PackageKind.PROCEDURE
    with scope(organisation=actor.organisation_id):
        if consultation_id is not None:
            consultation = Consultation.objects.filter(
                organisation_id=actor.organisation_id, pk=consultation_id
            ).first()
            if consultation is None or not finished(consultation):
                raise errors.NotFinished()
        pending = ArchivePackage.objects.filter(
            organisation_id=actor.organisation_id,
            kind=kind,
            consultation__isnull=consultation_id is None,
            state=PackageState.REQUESTED,
        )
        if consultation_id is not None:
            pending = pending.filter(consultation_id=consultation_id)
        waiting = pending.first()
        if waiting is not None:
            return waiting
        package = ArchivePackage.objects.create(
            organisation_id=actor.organisation_id,
            kind=kind,
            consultation_id=consultation_id,
            requested_at=now,
            requested_by=getattr(actor, "user", None),
        )
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="contracts.package_requested",
            target=package,
            payload={"kind": kind, "consultation": consultation_id},
            **(context or {}),
        )
        transaction.on_commit(lambda: _enqueue(package.pk))
    return package


def _enqueue(package_id: int) -> None:
    from . import tasks

    tasks.build_archive_package.enqueue(package_id)


def _write(package: ArchivePackage, target: IO[bytes], now: datetime) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        w = Writer(archive)
        if package.kind == PackageKind.PROCEDURE:
            consultation = Consultation.objects.select_related("organisation").get(
                pk=package.consultation_id or 0
            )
            write_procedure(w, "", consultation)
            _close(w, "", _about(consultation, now))
            return
        procedures = finished_procedures(package.organisation_id)
        folders = []
        for consultation in procedures:
            prefix = f"{_folder(consultation)}-{consultation.pk}/"
            write_procedure(w, prefix, consultation)
            _close(w, prefix, _about(consultation, now))
            folders.append(prefix.rstrip("/"))
        _close(
            w,
            "",
            {
                "format": "mutualis-export/1",
                "organisation": package.organisation_id,
                "created_at": now.isoformat(),
                "procedures": folders,
            },
        )


def build(package_id: int, *, now: datetime | None = None) -> str | None:
    """Write the package's ZIP into the private file store (idempotent: a package
    ready or failed is left as it is); the stored file's identifier."""
    now = now or timezone.now()
    organisation_id = crossings.package_owner(package_id)
    if organisation_id is None:
        return None
    with scope(organisation=organisation_id):
        package = ArchivePackage.objects.get(pk=package_id)
        if package.state != PackageState.REQUESTED:
            return str(package.file_id) if package.file_id else None
    with scope(organisation=organisation_id), tempfile.TemporaryFile() as target:
        try:
            _write(package, target, now)
        except Exception as exc:
            with transaction.atomic():
                ArchivePackage.objects.filter(pk=package.pk).update(
                    state=PackageState.FAILED, error=str(exc)[:1000], completed_at=now
                )
            raise
        size = target.tell()
        target.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: target.read(1024 * 1024), b""):
            digest.update(chunk)
        target.seek(0)
        name = (
            f"archive-{_folder(package.consultation)}.zip"
            if package.consultation is not None
            else f"export-{now:%Y%m%d-%H%M%S}.zip"
        )
        with transaction.atomic():
            stored = file_store.store_file(
                file=target,
                name=name,
                owner_kind=OWNER_KIND,
                owner_ref=str(package.pk),
                allowed_types=frozenset({ZIP}),
                max_size=MAX_BYTES,
            )
            package.file = stored
            package.sha256 = digest.hexdigest()
            package.size = size
            package.state = PackageState.READY
            package.completed_at = now
            package.save(update_fields=["file", "sha256", "size", "state", "completed_at"])
            audit.record(
                actor=retention.JOB,
                organisation=package.organisation,
                action="contracts.package_ready",
                target=package,
                payload={"sha256": package.sha256, "size": size},
            )
    return str(stored.pk)


def packages_of(*, organisation_id: int, consultation_id: int | None) -> list[ArchivePackage]:
    with scope(organisation=organisation_id):
        rows = ArchivePackage.objects.filter(organisation_id=organisation_id).select_related("file")
        rows = (
            rows.filter(kind=PackageKind.EXPORT)
            if consultation_id is None
            else rows.filter(consultation_id=consultation_id)
        )
        return list(rows.order_by("-requested_at", "-pk")[:10])


def package_of(*, organisation_id: int, package_id: int) -> ArchivePackage | None:
    with scope(organisation=organisation_id):
        return (
            ArchivePackage.objects.filter(organisation_id=organisation_id, pk=package_id)
            .select_related("file")
            .first()
        )


def zip_entries(content: bytes) -> dict[str, bytes]:
    """The files of a ZIP (for the tests and checks)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
