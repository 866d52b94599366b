"""The opening of a consultation's sealed responses (docs/adr/0008-sealed-deposits.md).

After the response deadline a buyer starts the consultation's ``OpeningSession``. Each
key holder unlocks in their own browser (passphrase → their identity → their share) and
posts their share, hex, **from their own logged-in session**: the server accepts a share
for a holder only from that holder's account (a commission meeting in one room passes the
keyboard: each holder signs in and unlocks in turn; the chair's screen shows who has
unlocked). A share waits sealed (``core.sealing``, purpose ``deposits.opening``) on the
session for at most an hour; once ``threshold`` distinct holders' shares are in, they are
combined (``keys.rebuild_identity``, which checks the rebuilt key against the public one),
forgotten, and every file of the acknowledged deposits (on time and late) is decrypted
with the rebuilt key, held in memory only, during that one request.

Per file: the stored ciphertext's SHA-256 against the one measured at reception (another
file → *altered*, not decrypted: anyone may encrypt to the public key); age's
authentication, chunk by chunk, decrypting to a temporary file renamed on success (a
truncated or modified file → *unreadable*); the plaintext's SHA-256 against what the
bidder's browser declared (a difference → *altered*, kept for the commission to see);
its type, read from the bytes, against the accepted types (another type is reported and
not stored: the platform serves nothing it would not accept); its signatures (PDF, XML,
detached ``.p7s``) by ``evidence.signatures``. One file's problem never stops the others.

If the on-time section's Merkle root was published, it is recomputed from the log and
the opening refuses to proceed when it differs, or when a deposit's receipt is not the
one logged. Every state change and every read of an opened file is audited on the
organisation's chain. The register and the minutes are PDFs (``core.pdf``) in the
private file store.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]  # no stubs (pyproject may list it at merge)
from asn1crypto import cms
from asn1crypto import pem as asn1_pem
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit
from mutualis.core.audit.chain import canonical_json
from mutualis.core.errors import MutualisError
from mutualis.core.files import DOCUMENT_TYPES, store_file
from mutualis.core.files import errors as file_errors
from mutualis.core.files.sniff import SNIFF_BYTES, sniff_content_type
from mutualis.core.files.store import open_stored_file
from mutualis.core.models import StoredFile
from mutualis.core.pdf import text_document
from mutualis.core.permissions import require_role
from mutualis.core.sealing import sealer
from mutualis.evidence import merkle
from mutualis.evidence.signatures import SignatureReport, verify_signature
from mutualis.procurement.models import Consultation, State

from . import log_sections, scanning, storage
from .models import (
    Deposit,
    DepositFile,
    DepositLogEntry,
    DepositLogRoot,
    DepositState,
    HolderKey,
    LogSection,
    OpenedFile,
    OpenedFileState,
    OpeningKey,
    OpeningSession,
    SealedShare,
)

OWNER_KIND = "deposits.opening"
SEALING_PURPOSE = "deposits.opening"
SHARE_TTL = datetime.timedelta(hours=1)
BUYER = "buyer"
COMMISSION_MEMBER = "commission_member"
ATTENDING_ROLES = (BUYER, COMMISSION_MEMBER)
# What a response may hold, read from the plaintext's bytes: the documents the platform
# accepts everywhere, plus the structured and signature files of a response (ESPD and
# XAdES as XML, detached CAdES signatures). Served as attachments only.
SIGNATURE_TYPE = "application/pkcs7-signature"
ACCEPTED_TYPES = frozenset({*DOCUMENT_TYPES, "text/xml", "application/xml", SIGNATURE_TYPE})
# Signatures are verified in memory: larger documents are reported as not checked here.
SIGNATURE_MAX_BYTES = 64 * 1024 * 1024
_SHARE = re.compile(r"[0-9a-f]{4,2000}")
_HASH_BLOCK = 1024 * 1024


# --- Errors ----------------------------------------------------------------------------


class OpeningError(MutualisError):
    code = "deposits_opening_error"


class BeforeDeadline(OpeningError):
    code = "deposits_opening_before_deadline"
    message = _("The responses cannot be opened before the deadline for responses.")


class NotOpenable(OpeningError):
    code = "deposits_opening_not_openable"
    message = _("Only a published or closed consultation's responses can be opened.")


class NoOpeningKey(OpeningError):
    code = "deposits_opening_no_key"
    message = _("This consultation has no opening key: no sealed response can be opened.")


class AlreadyStarted(OpeningError):
    code = "deposits_opening_already_started"
    message = _("The opening of this consultation has already started.")


class AlreadyOpened(OpeningError):
    code = "deposits_opening_already_opened"
    message = _("The responses of this consultation have already been opened.")


class NotStarted(OpeningError):
    code = "deposits_opening_not_started"
    message = _("No opening session has been started for this consultation.")


class NotAHolder(OpeningError):
    code = "deposits_opening_not_a_holder"
    message = _("You hold no share of this consultation's opening key.")


class InvalidShare(OpeningError):
    code = "deposits_opening_invalid_share"
    message = _("This is not a share of an opening key (lowercase hexadecimal expected).")


class WrongShares(OpeningError):
    code = "deposits_opening_wrong_shares"
    message = _(
        "The shares given do not rebuild this consultation's opening key: a share is wrong. "
        "Nothing was opened; every holder must unlock again."
    )


class LogMismatch(OpeningError):
    code = "deposits_opening_log_mismatch"
    message = _(
        "The stored deposits do not match the published deposit log: the opening is "
        "refused. Contact the platform's operator."
    )


# --- Reading ---------------------------------------------------------------------------


def can_attend(membership: Any) -> bool:
    """Buyers and commission members of the organisation attend an opening."""
    return bool(
        membership is not None
        and membership.is_active
        and membership.role_codes() & set(ATTENDING_ROLES)
    )


def consultation_of(membership: Any, consultation_id: int) -> Consultation | None:
    return Consultation.objects.filter(
        organisation_id=membership.organisation_id, pk=consultation_id
    ).first()


def session_of(consultation: Consultation) -> OpeningSession | None:
    return OpeningSession.objects.filter(
        organisation_id=consultation.organisation_id, consultation=consultation
    ).first()


def opening_key_of(consultation: Consultation) -> OpeningKey | None:
    return OpeningKey.objects.filter(
        organisation_id=consultation.organisation_id, consultation=consultation
    ).first()


def holder_of(membership: Any) -> HolderKey | None:
    """The membership's active personal key, in its organisation."""
    return HolderKey.objects.filter(
        organisation_id=membership.organisation_id,
        user_id=membership.user_id,
        retired_at__isnull=True,
    ).first()


def sealed_share_of(membership: Any, opening_key: OpeningKey) -> SealedShare | None:
    holder = holder_of(membership)
    if holder is None or not membership.has_role(COMMISSION_MEMBER):
        return None
    return (
        SealedShare.objects.filter(
            organisation_id=membership.organisation_id, opening_key=opening_key, holder=holder
        )
        .select_related("holder")
        .first()
    )


def _live_pending(session: OpeningSession, now: datetime.datetime) -> dict[str, dict[str, str]]:
    pending = session.pending_shares or {}
    return {
        holder_id: entry
        for holder_id, entry in pending.items()
        if now - datetime.datetime.fromisoformat(entry["at"]) < SHARE_TTL
    }


def unlocked_holders(session: OpeningSession) -> list[int]:
    """The holders whose shares are in (waiting, or combined once opened)."""
    if session.completed_at is not None:
        return [int(h) for h in session.unlocked_by]
    return sorted(int(h) for h in _live_pending(session, timezone.now()))


def holder_names(holder_ids: Collection[int], organisation_id: int) -> list[str]:
    holders = HolderKey.objects.filter(
        organisation_id=organisation_id, pk__in=list(holder_ids)
    ).select_related("user")
    return sorted(_person(h.user) for h in holders)


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.email)


def opened_deposits(session: OpeningSession) -> list[dict[str, Any]]:
    """The opened deposits, on time first then late, each with its opened files."""
    files = (
        OpenedFile.objects.filter(organisation_id=session.organisation_id, session=session)
        .select_related("deposit_file", "stored_file")
        .order_by("deposit_file__deposit_id", "deposit_file__position", "deposit_file_id")
    )
    by_deposit: dict[int, list[OpenedFile]] = {}
    for opened in files:
        by_deposit.setdefault(opened.deposit_file.deposit_id, []).append(opened)
    deposits = Deposit.for_organisation.filter(
        organisation_id=session.organisation_id, pk__in=list(by_deposit)
    ).order_by("late", "received_at", "id")
    return [{"deposit": d, "files": by_deposit[d.pk]} for d in deposits]


def opened_file(session: OpeningSession, opened_id: int) -> OpenedFile | None:
    return (
        OpenedFile.objects.filter(
            organisation_id=session.organisation_id, session=session, pk=opened_id
        )
        .select_related("stored_file", "deposit_file")
        .first()
    )


# --- The deposit log -------------------------------------------------------------------


def check_log(consultation: Consultation) -> None:
    """Refuse (``LogMismatch``) when the on-time section's published root is not the
    root of the logged receipts, or when an on-time deposit to open is not logged with
    the receipt it holds. Without a published root there is nothing to compare yet."""
    published = DepositLogRoot.objects.filter(
        consultation=consultation, section=LogSection.ON_TIME
    ).first()
    if published is None:
        return
    entries = list(
        DepositLogEntry.objects.filter(consultation=consultation, section=LogSection.ON_TIME)
        .order_by("received_at", "id")
        .values_list("deposit_reference", "receipt_digest")
    )
    try:
        leaves = [bytes.fromhex(digest) for _reference, digest in entries]
    except ValueError as exc:
        raise LogMismatch() from exc
    if len(leaves) != published.size or merkle.root(leaves).hex() != published.root:
        raise LogMismatch()
    logged = dict(entries)
    for deposit in _deposits_to_open(consultation).filter(late=False):
        digest = hashlib.sha256(canonical_json(deposit.receipt)).hexdigest()
        if digest != deposit.receipt_digest or logged.get(deposit.reference) != digest:
            raise LogMismatch()


def _deposits_to_open(consultation: Consultation) -> Any:
    return Deposit.for_organisation.filter(
        organisation_id=consultation.organisation_id,
        consultation=consultation,
        state=DepositState.ACKNOWLEDGED,
    ).order_by("late", "received_at", "id")


# --- Starting --------------------------------------------------------------------------


def _openable(consultation: Consultation, now: datetime.datetime) -> OpeningKey:
    if consultation.state not in (State.PUBLISHED, State.CLOSED):
        raise NotOpenable()
    if now < consultation.response_deadline:
        raise BeforeDeadline()
    key = opening_key_of(consultation)
    if key is None:
        raise NoOpeningKey()
    return key


def start_session(
    *, actor: Any, consultation_id: int, request_context: dict[str, Any] | None = None
) -> OpeningSession:
    """A buyer opens the session: after the deadline, once, if the log holds."""
    require_role(actor, BUYER)
    with transaction.atomic():
        consultation = (
            Consultation.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=consultation_id)
            .first()
        )
        if consultation is None:
            raise NotStarted()
        _openable(consultation, timezone.now())
        existing = session_of(consultation)
        if existing is not None:
            raise AlreadyOpened() if existing.completed_at else AlreadyStarted()
        check_log(consultation)
        session = OpeningSession.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            started_by=actor.user,
        )
        audit.record(
            actor=actor,
            action="deposits.opening_started",
            target=session,
            payload={"consultation": consultation.pk},
            **(request_context or {}),
        )
    return session


def own_sealed_key(*, actor: Any, consultation_id: int) -> dict[str, Any]:
    """What the holder's browser needs to unlock: their own sealed identity and their own
    sealed share of this consultation's key, nobody else's."""
    require_role(actor, COMMISSION_MEMBER)
    consultation = consultation_of(actor, consultation_id)
    if consultation is None:
        raise NotStarted()
    session = session_of(consultation)
    if session is None:
        raise NotStarted()
    if session.completed_at is not None:
        raise AlreadyOpened()
    key = opening_key_of(consultation)
    share = sealed_share_of(actor, key) if key is not None else None
    if share is None:
        raise NotAHolder()
    return {
        "holder": share.holder_id,
        "sealed_identity": share.holder.sealed_identity,
        "sealed_share": share.sealed_share,
    }


# --- Shares in, and the opening --------------------------------------------------------


@dataclasses.dataclass
class Progress:
    session: OpeningSession
    unlocked: int
    threshold: int
    opened: bool


def submit_share(
    *,
    actor: Any,
    consultation_id: int,
    share: Any,
    request_context: dict[str, Any] | None = None,
) -> Progress:
    """A holder's share, posted from their own session. The session opens once
    ``threshold`` distinct holders' shares are in."""
    require_role(actor, COMMISSION_MEMBER)
    if not isinstance(share, str) or not _SHARE.fullmatch(share) or len(share) % 2:
        raise InvalidShare()
    raw = bytes.fromhex(share)
    context = request_context or {}
    failure: OpeningError | None = None
    with transaction.atomic():
        session = (
            OpeningSession.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, consultation_id=consultation_id)
            .select_related("consultation")
            .first()
        )
        if session is None:
            raise NotStarted()
        if session.completed_at is not None:
            raise AlreadyOpened()
        consultation = session.consultation
        key = _openable(consultation, timezone.now())
        sealed_share = sealed_share_of(actor, key)
        if sealed_share is None:
            raise NotAHolder()
        now = timezone.now()
        pending = _live_pending(session, now)
        box = sealer(SEALING_PURPOSE)
        lengths = set()
        for holder_id, entry in list(pending.items()):
            try:
                lengths.add(len(box.decrypt(entry["share"].encode())))
            except InvalidToken:  # sealed under a key since rotated away: forgotten
                del pending[holder_id]
        if lengths and lengths != {len(raw)}:
            raise InvalidShare()
        pending[str(sealed_share.holder_id)] = {
            "at": now.isoformat(),
            "share": box.encrypt(raw).decode(),
        }
        audit.record(
            actor=actor,
            action="deposits.opening_unlocked",
            target=session,
            payload={"consultation": consultation.pk, "holder": sealed_share.holder_id},
            **context,
        )
        if len(pending) < key.threshold:
            session.pending_shares = pending
            session.unlocked_by = sorted(int(h) for h in pending)
            session.save(update_fields=["pending_shares", "unlocked_by"])
            return Progress(session, len(pending), key.threshold, False)
        try:
            _open(session, key, pending, actor=actor, context=context)
        except (WrongShares, LogMismatch) as exc:
            # Forget every share: which one was wrong cannot be told.
            failure = exc
            session.pending_shares = {}
            session.unlocked_by = []
            session.save(update_fields=["pending_shares", "unlocked_by"])
            audit.record(
                actor=actor,
                action="deposits.opening_refused",
                target=session,
                payload={"consultation": consultation.pk, "reason": exc.code},
                **context,
            )
    if failure is not None:
        raise failure
    return Progress(session, len(session.unlocked_by), key.threshold, True)


def _open(
    session: OpeningSession,
    key: OpeningKey,
    pending: dict[str, dict[str, str]],
    *,
    actor: Any,
    context: dict[str, Any],
) -> None:
    from .keys import rebuild_identity

    box = sealer(SEALING_PURPOSE)
    try:
        shares = [box.decrypt(entry["share"].encode()) for entry in pending.values()]
    except InvalidToken as exc:
        raise WrongShares() from exc
    try:
        secret = rebuild_identity(shares, key)
    except Exception as exc:  # the combiner's own refusals, whatever their class
        raise WrongShares() from exc
    del shares
    identity = pyrage.x25519.Identity.from_str(secret)
    del secret
    consultation = session.consultation
    # The on-time section is closed by its job within a minute of the deadline; an opening
    # that comes first closes it itself (idempotent), then checks it.
    log_sections.close_section(consultation, LogSection.ON_TIME)
    check_log(consultation)
    results: list[OpenedFile] = []
    for deposit in _deposits_to_open(consultation):
        files = list(
            DepositFile.for_organisation.filter(
                organisation_id=session.organisation_id,
                deposit=deposit,
                completed_at__isnull=False,
            )
        )
        opened = [_open_file(session, f, identity) for f in files]
        _verify_detached(opened)
        results.extend(opened)
    del identity
    # The late section closes at the opening: published with its root and token from now.
    log_sections.close_section(consultation, LogSection.LATE)
    session.pending_shares = {}
    session.unlocked_by = sorted(int(h) for h in pending)
    session.completed_at = timezone.now()
    session.report = _report(results)
    session.register_pdf = _store_pdf(session, "register", register_lines(session, results))
    session.minutes_pdf = _store_pdf(session, "minutes", minutes_lines(session, results))
    session.save()
    audit.record(
        actor=actor,
        action="deposits.opening_completed",
        target=session,
        payload={
            "consultation": consultation.pk,
            "holders": session.unlocked_by,
            "files": {state: session.report["counts"][state] for state in OpenedFileState.values},
        },
        **context,
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _opened(
    session: OpeningSession,
    deposit_file: DepositFile,
    state: str,
    detail: str,
    stored: StoredFile | None = None,
    signatures: list[dict[str, Any]] | None = None,
) -> OpenedFile:
    return OpenedFile.objects.create(
        organisation_id=session.organisation_id,
        deposit_file=deposit_file,
        session=session,
        state=state,
        detail=detail,
        stored_file=stored,
        signatures=signatures or [],
    )


def _open_file(session: OpeningSession, deposit_file: DepositFile, identity: Any) -> OpenedFile:
    """One file: check, decrypt, check again, store; what went wrong is its state."""
    path = storage.path_of(deposit_file.storage_name)
    if not path.is_file():
        return _opened(session, deposit_file, OpenedFileState.ALTERED,
                       gettext("The stored ciphertext is missing."))  # fmt: skip
    if _sha256_of(path) != deposit_file.ciphertext_sha256:
        return _opened(
            session,
            deposit_file,
            OpenedFileState.ALTERED,
            gettext("The stored ciphertext is not the one received (its SHA-256 differs): it was "
               "altered after the deposit and has not been decrypted."),
        )  # fmt: skip
    work = Path(settings.MUTUALIS_DEPOSIT_DIR) / ".opening"
    work.mkdir(parents=True, exist_ok=True)
    descriptor, partial_name = tempfile.mkstemp(dir=work, suffix=".part")
    os.close(descriptor)
    partial = Path(partial_name)
    final = partial.with_suffix(".plain")
    try:
        try:
            with path.open("rb") as source, partial.open("wb") as out:
                pyrage.decrypt_io(source, out, [identity])
        except (pyrage.DecryptError, OSError, ValueError):
            return _opened(
                session,
                deposit_file,
                OpenedFileState.UNREADABLE,
                gettext("The file cannot be decrypted with the consultation's key: it is damaged, "
                   "truncated, or was not sealed to this consultation."),
            )  # fmt: skip
        os.replace(partial, final)  # only a fully authenticated plaintext gets here
        return _keep(session, deposit_file, final)
    finally:
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)


def _keep(session: OpeningSession, deposit_file: DepositFile, plaintext: Path) -> OpenedFile:
    details: list[str] = []
    state = OpenedFileState.INTACT
    if _sha256_of(plaintext) != deposit_file.plaintext_sha256.lower():
        state = OpenedFileState.ALTERED
        details.append(
            gettext("The decrypted content does not match the SHA-256 the bidder declared.")
        )
    scanned = scanning.scan(plaintext)
    if scanned.outcome == "infected":
        details.append(
            gettext("A malicious program was found in it (%(name)s): it is kept sealed and is "
               "not served; the company's backup copy may be opened.") % {"name": scanned.signature}
        )  # fmt: skip
        return _opened(session, deposit_file, state, " ".join(details))
    if scanned.outcome == "unavailable":
        details.append(
            gettext("It could not be scanned for malicious programs (%(why)s).")
            % {"why": scanned.signature}
        )
    with plaintext.open("rb") as file:
        sniffed = sniff_content_type(file.read(SNIFF_BYTES))
        content_type = _signature_type(deposit_file.name, plaintext) or sniffed
        if content_type not in ACCEPTED_TYPES:
            details.append(
                gettext("Its type (%(type)s) is not one the consultation accepts: it is kept "
                   "sealed and is not served.") % {"type": content_type}
            )  # fmt: skip
            return _opened(session, deposit_file, state, " ".join(details))
        try:
            stored = store_file(
                file=file,
                name=deposit_file.name,
                owner_kind=OWNER_KIND,
                owner_ref=str(session.pk),
                allowed_types=ACCEPTED_TYPES | {sniffed},  # sniffed: a .p7s read as CMS
                max_size=settings.MUTUALIS_DEPOSIT_MAX_FILE_BYTES,
            )
        except file_errors.FileRefused as exc:
            details.append(str(exc.message))
            return _opened(session, deposit_file, state, " ".join(details))
    signatures = _signatures_of(stored)
    return _opened(session, deposit_file, state, " ".join(details), stored, signatures)


def _signature_type(name: str, plaintext: Path) -> str | None:
    """libmagic knows no detached CMS signature: a ``.p7s`` file is one when its bytes
    (DER, or PEM) are a CMS SignedData."""
    if not name.lower().endswith(".p7s") or plaintext.stat().st_size > SIGNATURE_MAX_BYTES:
        return None
    data = plaintext.read_bytes()
    try:
        if asn1_pem.detect(data):
            _kind, _headers, data = asn1_pem.unarmor(data)
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            return None
        info["content"].native  # noqa: B018 - parses it all
    except (ValueError, TypeError, KeyError):
        return None
    return SIGNATURE_TYPE


def _report_of(report: SignatureReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "valid": report.valid,
        "intact": report.intact,
        "signer": report.signer,
        "issuer": report.issuer,
        "signing_time": report.signing_time.isoformat() if report.signing_time else None,
        "certificate_valid_at_signing": report.certificate_valid_at_signing,
        "trusted": report.trusted,
        "problems": [str(p) for p in report.problems],
    }


def _read_for_signatures(stored: StoredFile) -> bytes | None:
    if stored.size > SIGNATURE_MAX_BYTES:
        return None
    with open_stored_file(stored) as file:
        return bytes(file.read())


def _signatures_of(stored: StoredFile) -> list[dict[str, Any]]:
    """A PDF's or an XML document's own signatures (``.p7s`` files wait for their
    document: ``_verify_detached``)."""
    if stored.content_type not in ("application/pdf", "text/xml", "application/xml"):
        return []
    data = _read_for_signatures(stored)
    if data is None:
        return [_too_large()]
    return [_report_of(r) for r in verify_signature(data, name=stored.original_name)]


def _too_large() -> dict[str, Any]:
    return {"kind": "", "valid": False, "intact": False, "signer": "", "issuer": "",
            "signing_time": None, "certificate_valid_at_signing": False, "trusted": False,
            "problems": [gettext("Too large to be verified at the opening.")]}  # fmt: skip


def _verify_detached(opened: list[OpenedFile]) -> None:
    """A deposit's ``x.p7s`` signs its file ``x`` (``offre.pdf.p7s`` → ``offre.pdf``)."""
    by_name = {o.deposit_file.name: o for o in opened}
    for signature in opened:
        name = signature.deposit_file.name
        if not name.lower().endswith(".p7s") or signature.stored_file is None:
            continue
        document = by_name.get(name[: -len(".p7s")])
        if document is None or document.stored_file is None:
            missing = gettext("The signed document is not among the readable files of the deposit.")
            reports = [{**_too_large(), "kind": "CAdES", "problems": [missing]}]
        else:
            data = _read_for_signatures(document.stored_file)
            sig = _read_for_signatures(signature.stored_file)
            if data is None or sig is None:
                reports = [_too_large()]
            else:
                reports = [_report_of(r) for r in verify_signature(data, sig, name=name)]
                for report in reports:
                    report["document"] = document.deposit_file.name
        signature.signatures = reports
        signature.save(update_fields=["signatures"])


def _report(results: list[OpenedFile]) -> dict[str, Any]:
    counts = {state: 0 for state in OpenedFileState.values}
    for opened in results:
        counts[opened.state] += 1
    return {
        "counts": counts,
        "files": [
            {"deposit_file": o.deposit_file_id, "state": o.state, "detail": o.detail,
             "signatures": len(o.signatures)}
            for o in results
        ],
    }  # fmt: skip


# --- The register and the minutes ------------------------------------------------------


def _when(moment: datetime.datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M:%S %Z")


def _deposit_lines(
    results: list[OpenedFile], *, late: bool, detailed: bool
) -> list[tuple[str, bool]]:
    from mutualis.companies.models import Company

    deposits: dict[int, list[OpenedFile]] = {}
    for opened in results:
        deposits.setdefault(opened.deposit_file.deposit_id, []).append(opened)
    rows = Deposit.for_organisation.filter(pk__in=list(deposits), late=late).order_by(
        "received_at", "id"
    )
    names = dict(
        Company.objects.filter(pk__in=[d.company_id for d in rows]).values_list("pk", "name")
    )
    lines: list[tuple[str, bool]] = []
    for deposit in rows:
        lines.append((
            gettext("Deposit %(reference)s - %(company)s - received on %(when)s") % {
                "reference": deposit.reference, "company": names.get(deposit.company_id, "?"),
                "when": _when(deposit.received_at)},
            False,
        ))  # fmt: skip
        for opened in deposits[deposit.pk]:
            file = opened.deposit_file
            lines.append((
                gettext("  %(name)s, %(size)d bytes, plaintext SHA-256 %(plain)s, ciphertext "
                   "SHA-256 %(cipher)s") % {"name": file.name, "size": file.plaintext_size,
                   "plain": file.plaintext_sha256, "cipher": file.ciphertext_sha256},
                False,
            ))  # fmt: skip
            if detailed:
                lines.append((
                    gettext("    State: %(state)s. %(detail)s") % {
                        "state": OpenedFileState(opened.state).label, "detail": opened.detail},
                    False,
                ))  # fmt: skip
                for report in opened.signatures:
                    lines.append((_signature_line(report), False))
    if not lines:
        lines.append((gettext("None."), False))
    return lines


def _signature_line(report: dict[str, Any]) -> str:
    verdict = gettext("valid") if report.get("valid") else gettext("not valid")
    text = gettext("    Signature %(kind)s by %(signer)s (issuer %(issuer)s): %(verdict)s.") % {
        "kind": report.get("kind") or "?", "signer": report.get("signer") or "?",
        "issuer": report.get("issuer") or "?", "verdict": verdict}  # fmt: skip
    problems = " ".join(report.get("problems") or [])
    return f"{text} {problems}".rstrip()


def _deadline_line(consultation: Consultation) -> str:
    return gettext("Deadline for responses: %(when)s") % {
        "when": _when(consultation.response_deadline)
    }


def register_lines(session: OpeningSession, results: list[OpenedFile]) -> list[tuple[str, bool]]:
    consultation = session.consultation
    return [
        (gettext("Register of deposits"), True),
        (f"{consultation.reference} - {consultation.title}", False),
        (_deadline_line(consultation), False),
        (gettext("Deposits received on time"), True),
        *_deposit_lines(results, late=False, detailed=False),
        (gettext("Deposits received late (kept, not admissible)"), True),
        *_deposit_lines(results, late=True, detailed=False),
    ]  # fmt: skip


def minutes_lines(session: OpeningSession, results: list[OpenedFile]) -> list[tuple[str, bool]]:
    consultation = session.consultation
    holders = holder_names([int(h) for h in session.unlocked_by], session.organisation_id)
    published = DepositLogRoot.objects.filter(
        consultation=consultation, section=LogSection.ON_TIME
    ).first()
    counts = _report(results)["counts"]
    log_line = (
        gettext("The on-time deposits match the published deposit log (%(size)d receipts, Merkle "
           "root %(root)s).") % {"size": published.size, "root": published.root}
        if published is not None
        else gettext("No deposit log root had been published for this consultation.")
    )  # fmt: skip
    return [
        (gettext("Minutes of the opening of the responses"), True),
        (f"{consultation.reference} - {consultation.title}", False),
        (_deadline_line(consultation), False),
        (gettext("Session started on %(when)s by %(who)s") % {
            "when": _when(session.started_at), "who": _person(session.started_by)}, False),
        (gettext("Opened on %(when)s") % {"when": _when(session.completed_at)}, False),
        (gettext("Unlocked by: %(names)s") % {"names": ", ".join(holders)}, False),
        (log_line, False),
        (gettext("Files: %(intact)d intact, %(altered)d altered, %(unreadable)d unreadable.")
         % counts, False),
        (gettext("Deposits received on time"), True),
        *_deposit_lines(results, late=False, detailed=True),
        (gettext("Deposits received late (kept, not admissible)"), True),
        *_deposit_lines(results, late=True, detailed=True),
    ]  # fmt: skip


def _store_pdf(session: OpeningSession, kind: str, lines: list[tuple[str, bool]]) -> StoredFile:
    import io

    title = lines[0][0]
    data = text_document(lines, title=title)
    return store_file(
        file=io.BytesIO(data),
        name=f"{kind}-{session.consultation.reference}.pdf",
        owner_kind=OWNER_KIND,
        owner_ref=str(session.pk),
        allowed_types={"application/pdf"},
    )


# --- Reads, audited --------------------------------------------------------------------


def record_read(
    *, actor: Any, session: OpeningSession, what: str, target: Any,
    request_context: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Every read of an opened file, the register or the minutes, on the organisation's
    chain."""
    audit.record(
        actor=actor,
        action="deposits.opened_file_read",
        target=target,
        payload={"consultation": session.consultation_id, "what": what},
        **(request_context or {}),
    )


def nobody_reads(request: Any, stored_file: StoredFile) -> bool:
    """The file store's generic download view never serves an opened file: they are read
    through the opening's own view, which audits each read."""
    return False
