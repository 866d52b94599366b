"""The legality context's use cases: the enrolment, and an act from its preparation to
the transmission package waiting to be sent.

Each is one transaction and one event on the member's chain. The actor's membership is
read again under lock (a role withdrawn a moment ago no longer works) and the member
must subscribe to the service now. Files go to the private file store inside the
transaction: a refusal leaves no row.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.errors import ServiceNotSubscribed
from mutualis.core.models import Organisation, StoredFile, Subscription
from mutualis.core.subscriptions import require_subscription
from mutualis.core.text import clean_name
from mutualis.identity.models import ApiClient, Membership

from . import actes, classification, errors, outbox, signals, signature_checks, transitions
from .models import (
    ACT_OWNER_KIND,
    AGENT_ROLE,
    SERVICE,
    Act,
    ActStatus,
    Annex,
    Enrolment,
)

CONVENTION_MAX_LENGTH = 60
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PDF = "application/pdf"
XML_TYPES = frozenset({"text/xml", "application/xml"})
SIGNATURE_TYPES = frozenset(
    {"application/octet-stream", "application/pkcs7-signature", "text/plain"}
)


@dataclasses.dataclass
class Upload:
    """A file the agent sends: its bytes (seekable) and its name."""

    file: IO[bytes]
    name: str


@dataclasses.dataclass
class AnnexUpload:
    file: IO[bytes]
    name: str
    piece_type: str
    signature: Upload | None = None


def audit_context(request_context: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(request_context or {})


@dataclasses.dataclass(frozen=True)
class ClientActor(audit.SystemActor):
    """A member's software acting through the API (``mutualis.legality.api``): an API
    client bound to the organisation, with the ``api:write`` scope. It holds no role:
    the operator registered it for the member, and its scope is its right. Recorded on
    the chain as ``system:api_client:<client id>``."""

    client_id: str = ""
    organisation_id: int = 0

    @classmethod
    def of(cls, client_id: str, organisation_id: int) -> ClientActor:
        return cls(f"api_client:{client_id}", client_id, organisation_id)


Actor = Membership | ClientActor


def _current_client(actor: ClientActor) -> ClientActor:
    """The API client still active and bound to the organisation (read again: a client
    switched off a moment ago no longer works), of a member that subscribes."""
    if not ApiClient.objects.filter(
        client_id=actor.client_id, organisation_id=actor.organisation_id, is_active=True
    ).exists():
        raise PermissionDenied
    require_subscription(actor.organisation_id, SERVICE)
    return actor


def acting_member(actor: Actor, *roles: str, lock_organisation: bool = False) -> Any:
    """The actor's membership read again under lock, with one of ``roles``, of a member
    that subscribes to the service (or the API client acting for the member). With
    ``lock_organisation``, the member's row is locked in the same statement."""
    if isinstance(actor, ClientActor):
        return _current_client(actor)
    if not roles:
        raise PermissionDenied
    current = (
        Membership.objects.select_for_update(
            of=("self", "organisation") if lock_organisation else ("self",)
        )
        # The user too: the audit event names them.
        .select_related("organisation", "user")
        # The role and the subscription are read in the same statement, by the rules
        # of ``core.permissions.require_role`` (one of the roles: a membership without
        # any is not found) and ``core.subscriptions.require_subscription`` (an active
        # subscription to the service now): one round trip instead of three on every
        # use case.
        .filter(pk=actor.pk, is_active=True, roles__in=roles)
        .annotate(
            subscribes=Exists(
                Subscription.objects.filter(
                    organisation_id=OuterRef("organisation_id"), service_id=SERVICE, is_active=True
                )
            ),
        )
        .first()
    )
    if current is None:
        raise PermissionDenied
    if not current.subscribes:
        raise ServiceNotSubscribed()
    return current


def _current_and_member(actor: Actor, *roles: str) -> tuple[Any, Organisation]:
    """``acting_member``, and the member's row, locked (the day's serials, the numbers)."""
    if isinstance(actor, ClientActor):
        client = _current_client(actor)
        return client, Organisation.objects.select_for_update().get(pk=actor.organisation_id)
    current = acting_member(actor, *roles, lock_organisation=True)
    return current, current.organisation


def departement_of(organisation: Organisation) -> str:
    """The member's département code in the @ctes form (three characters), from the
    territory directory; empty when the directory does not say."""
    code = ""
    if organisation.kind == "departement":
        code = organisation.insee_code
    elif organisation.departement_id is not None:
        departement = Organisation.objects.filter(pk=organisation.departement_id).first()
        code = departement.insee_code if departement else ""
    code = code.strip().upper()
    return code.zfill(3) if code else ""


def arrondissement_of(organisation: Organisation) -> str:
    """The member's arrondissement in the @ctes form (its one digit), from the territory
    directory (imported from the Etalab files: ``212`` is Dijon's, the 2nd of the Côte-d'Or);
    empty when the directory does not say."""
    code = (organisation.arrondissement or "").strip()
    return code[-1] if len(code) >= 3 and code[-1].isdigit() else ""


# --- Enrolment -------------------------------------------------------------------------


def save_enrolment(
    *,
    actor: Membership,
    convention_reference: str,
    convention_date: date,
    departement: str,
    arrondissement: str,
    authority_nature: str,
    natures: Sequence[int],
    request_context: Mapping[str, Any] | None = None,
) -> Enrolment:
    """Create or change the member's enrolment (its administrators only)."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = acting_member(actor, "org_admin")
        organisation = current.organisation
        reference = clean_name(convention_reference or "")
        if not reference or len(reference) > CONVENTION_MAX_LENGTH:
            raise errors.ConventionReferenceRequired()
        if convention_date > timezone.localdate():
            raise errors.ConventionInFuture()
        departement = (departement or departement_of(organisation)).strip().upper()
        if not actes.DEPARTEMENT_PATTERN.fullmatch(departement):
            raise errors.DepartementInvalid()
        arrondissement = (arrondissement or "").strip() or arrondissement_of(organisation)
        if not actes.ARRONDISSEMENT_PATTERN.fullmatch(arrondissement):
            raise errors.ArrondissementInvalid()
        if not re.fullmatch(r"[0-9]{2}", authority_nature or ""):
            raise errors.AuthorityNatureInvalid()
        chosen = sorted({int(n) for n in natures if int(n) in set(actes.Nature)})
        if not chosen:
            raise errors.NaturesRequired()
        if not organisation.siren:
            raise errors.SirenMissing()
        enrolment = Enrolment.objects.filter(organisation=organisation).first()
        created = enrolment is None
        if enrolment is None:
            enrolment = Enrolment(organisation=organisation)
        enrolment.convention_reference = reference
        enrolment.convention_date = convention_date
        enrolment.departement = departement
        enrolment.arrondissement = arrondissement
        enrolment.authority_nature = authority_nature
        enrolment.natures = chosen
        enrolment.save()
        audit.record(
            actor=current,
            organisation=organisation,
            action="legality.enrolment_created" if created else "legality.enrolment_changed",
            target=enrolment,
            payload={
                "departement": departement,
                "arrondissement": arrondissement,
                "natures": chosen,
            },
            **audit_context(request_context),
        )
    return enrolment


# --- Acts ------------------------------------------------------------------------------


def _enrolment(organisation: Organisation, *, number: str | None = None) -> Enrolment:
    """The member's enrolment, with its classification (``classification.of_enrolment``)
    read in the same statement; with ``number``, also whether an act of the member
    already holds it (``number_taken``)."""
    enrolments = classification.with_classification(
        Enrolment.objects.filter(organisation=organisation)
    )
    if number is not None:
        enrolments = enrolments.annotate(
            number_taken=Exists(
                Act.objects.filter(organisation_id=OuterRef("organisation_id"), number=number)
            )
        )
    enrolment = enrolments.first()
    if enrolment is None:
        raise errors.NotEnrolled()
    return enrolment


def _check_fields(
    enrolment: Enrolment,
    *,
    nature: int,
    number: str,
    decided_on: date,
    classification_code: str,
    subject: str,
    member_classification: classification.Classification | None = None,
) -> str:
    if nature not in enrolment.natures:
        raise errors.NatureNotEnrolled()
    if not actes.number_is_valid(number):
        raise errors.NumberInvalid()
    if decided_on > timezone.localdate():
        raise errors.DecisionInFuture()
    if member_classification is None:
        member_classification = classification.of_enrolment(enrolment)
    if not member_classification.is_leaf(classification_code):
        raise errors.ClassificationInvalid()
    subject = (subject or "").replace("\r\n", "\n").strip()
    if not subject or len(subject) > actes.SUBJECT_MAX_LENGTH or _CONTROLS.search(subject):
        raise errors.SubjectInvalid()
    return subject


def store_upload(
    organisation: Organisation,
    upload: Upload,
    types: frozenset[str],
    error: type[errors.LegalityError],
) -> StoredFile:
    """An agent's file stored in the member's private files, refused with ``error`` unless
    its bytes are one of ``types``."""
    try:
        return file_store.store_file(
            file=upload.file,
            name=upload.name,
            owner_kind=ACT_OWNER_KIND,
            owner_ref=str(organisation.pk),
            allowed_types=types,
            max_size=settings.MUTUALIS_LEGALITY_MAX_BYTES,
        )
    except file_store.errors.FileRefused as exc:
        if isinstance(exc, file_store.errors.FileTooLarge):
            raise errors.TooLarge(
                errors.TooLarge.message
                % {"limit": settings.MUTUALIS_LEGALITY_MAX_BYTES // 1024**2},
                field=error.field_name,
            ) from exc
        raise error() from exc


def _store_signature(
    organisation: Organisation, upload: Upload | None, field: str
) -> StoredFile | None:
    if upload is None:
        return None
    upload.file.seek(0)
    head = upload.file.read(40)
    upload.file.seek(0)
    if not (
        head[:1] == b"\x30" or head.lstrip().startswith((b"-----BEGIN PKCS7", b"-----BEGIN CMS"))
    ):
        raise errors.SignatureType(field=field)
    return store_upload(organisation, upload, SIGNATURE_TYPES, errors.SignatureType)


def _document_types(nature: int) -> frozenset[str]:
    return frozenset({PDF} | (XML_TYPES if nature == actes.Nature.BF else set()))


def prepare_act(
    *,
    actor: Actor,
    nature: int,
    number: str,
    decided_on: date,
    classification_code: str,
    subject: str,
    paper_follows: bool,
    document: Upload | None,
    document_signature: Upload | None = None,
    annexes: Sequence[AnnexUpload] = (),
    request_context: Mapping[str, Any] | None = None,
) -> Act:
    """An agent prepares an act: checked, its files stored; status prepared."""
    # The files stored are synced together before the commit (``synced_together``).
    with (
        transaction.atomic(),
        scope(organisation=actor.organisation_id),
        file_store.synced_together(),
    ):
        current, organisation = _current_and_member(actor, AGENT_ROLE)
        enrolment = _enrolment(organisation, number=number)
        # Read with the enrolment, once for the whole preparation (the member's row is
        # locked).
        member_classification = classification.of_enrolment(enrolment)
        subject = _check_fields(
            enrolment,
            nature=nature,
            number=number,
            decided_on=decided_on,
            classification_code=classification_code,
            subject=subject,
            member_classification=member_classification,
        )
        # Read with the enrolment; the unique constraint still refuses a number taken
        # meanwhile (below).
        if enrolment.number_taken:  # type: ignore[attr-defined]
            raise errors.NumberTaken()
        if document is None:
            raise errors.DocumentRequired()
        for annex in annexes:
            if annex.piece_type not in member_classification.piece_types:
                raise errors.PieceTypeInvalid()
        act = Act(
            organisation=organisation,
            nature=nature,
            number=number,
            decided_on=decided_on,
            classification=classification_code,
            classification_date=member_classification.version_date,
            subject=subject,
            paper_follows=paper_follows,
            status=ActStatus.PREPARED,
        )
        act.document = store_upload(
            organisation, document, _document_types(nature), errors.DocumentType
        )
        act.document_signature = _store_signature(
            organisation, document_signature, "document_signature"
        )
        try:
            # No savepoint: the error leaves the whole preparation, rolled back.
            act.save()
        except IntegrityError:
            raise errors.NumberTaken() from None
        _add_annexes(act, annexes, start=1, piece_types=member_classification.piece_types)
        audit.record(
            actor=current,
            organisation=organisation,
            action="legality.act_prepared",
            target=act,
            payload={"number": number, "nature": nature, "annexes": len(annexes)},
            **audit_context(request_context),
        )
    return act


def _add_annexes(
    act: Act,
    annexes: Sequence[AnnexUpload],
    *,
    start: int,
    piece_types: Mapping[str, str] | None = None,
) -> None:
    organisation = act.organisation
    if not annexes:
        return
    if piece_types is None:
        piece_types = classification.current(organisation.pk).piece_types
    for position, annex in enumerate(annexes, start=start):
        if annex.piece_type not in piece_types:
            raise errors.PieceTypeInvalid()
        Annex.objects.create(
            organisation=organisation,
            act=act,
            position=position,
            piece_type=annex.piece_type,
            file=store_upload(
                organisation, Upload(annex.file, annex.name), frozenset({PDF}), errors.AnnexType
            ),
            signature=_store_signature(organisation, annex.signature, "annexes"),
        )


def locked_act(
    current: Membership,
    act_id: int,
    *,
    files: bool = False,
    organisation: Organisation | None = None,
) -> Act:
    """The member's act, locked; with ``files``, its document and signature read with
    it; ``organisation``: the member's row the caller read already (not read again)."""
    related: tuple[str, ...] = ("document", "document_signature") if files else ()
    if organisation is None:
        related += ("organisation",)
    act = (
        Act.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(organisation_id=current.organisation_id, pk=act_id)
        .first()
    )
    if act is None:
        raise PermissionDenied
    if organisation is not None:
        act.organisation = organisation
    return act


def edit_act(
    *,
    actor: Actor,
    act_id: int,
    nature: int,
    number: str,
    decided_on: date,
    classification_code: str,
    subject: str,
    paper_follows: bool,
    document: Upload | None = None,
    document_signature: Upload | None = None,
    annexes: Sequence[AnnexUpload] = (),
    request_context: Mapping[str, Any] | None = None,
) -> Act:
    """Change an act that is not sent yet; a waiting act goes back to prepared and its
    package is dropped (it is built again at the next validation)."""
    # The files stored are synced together before the commit (``synced_together``).
    with (
        transaction.atomic(),
        scope(organisation=actor.organisation_id),
        file_store.synced_together(),
    ):
        current = acting_member(actor, AGENT_ROLE)
        act = locked_act(current, act_id)
        if not transitions.allowed(act, transitions.Event.EDIT):
            raise errors.ActNotEditable()
        enrolment = _enrolment(act.organisation)
        member_classification = classification.of_enrolment(enrolment)
        subject = _check_fields(
            enrolment,
            nature=nature,
            number=number,
            decided_on=decided_on,
            classification_code=classification_code,
            subject=subject,
            member_classification=member_classification,
        )
        if (
            Act.objects.filter(organisation_id=act.organisation_id, number=number)
            .exclude(pk=act.pk)
            .exists()
        ):
            raise errors.NumberTaken()
        before = act.status
        act.nature, act.number, act.decided_on = nature, number, decided_on
        act.classification, act.subject, act.paper_follows = (
            classification_code,
            subject,
            paper_follows,
        )
        act.classification_date = member_classification.version_date
        if document is not None:
            act.document = store_upload(
                act.organisation, document, _document_types(nature), errors.DocumentType
            )
            act.document_signature = _store_signature(
                act.organisation, document_signature, "document_signature"
            )
        elif act.document.content_type != PDF and nature != actes.Nature.BF:
            raise errors.DocumentType()
        transitions.apply(act, transitions.Event.EDIT)
        act.package = None
        act.package_name = ""
        act.signature_report = []
        act.save()
        last = act.annexes.order_by("-position").values_list("position", flat=True).first() or 0
        _add_annexes(act, annexes, start=last + 1, piece_types=member_classification.piece_types)
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.act_edited",
            target=act,
            payload={"number": number, "status_before": before, "annexes_added": len(annexes)},
            **audit_context(request_context),
        )
    return act


def read_stored(stored: StoredFile) -> bytes:
    """The bytes of a stored file of the member."""
    with file_store.open_stored_file(stored) as handle:
        data: bytes = handle.read()
    return data


def pdf_problem(name: str, content: bytes) -> errors.LegalityError | None:
    """Why ``content`` is not a readable PDF (the refusal to show), or None when it is."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted or len(reader.pages) == 0:
            raise PyPdfError("encrypted or empty")
    except (PyPdfError, ValueError, OSError, KeyError, TypeError):
        return errors.PdfUnreadable(errors.PdfUnreadable.message % {"name": name})
    return None


def _message_of(
    act: Act,
    enrolment: Enrolment,
    contents: dict[str, bytes],
    annexes: Sequence[Annex] | None = None,
) -> actes.ActMessage:
    def piece(stored: StoredFile, piece_type: str, signature: StoredFile | None) -> actes.Piece:
        extension = "xml" if stored.content_type in XML_TYPES else "pdf"
        return actes.Piece(
            contents[str(stored.pk)],
            extension,
            piece_type,
            contents[str(signature.pk)] if signature is not None else None,
        )

    nature = actes.Nature(act.nature)
    return actes.ActMessage(
        departement=enrolment.departement,
        arrondissement=enrolment.arrondissement,
        siren=act.organisation.siren,
        nature=nature,
        number=act.number,
        decided_on=act.decided_on,
        matieres=classification.levels(act.classification),
        subject=act.subject,
        classification_date=act.classification_date,
        document=piece(act.document, actes.DEFAULT_MAIN_PIECE_TYPE[nature], act.document_signature),
        annexes=[
            piece(a.file, a.piece_type, a.signature)
            for a in (act.annexes.all() if annexes is None else annexes)
        ],
        paper_follows=act.paper_follows,
    )


def check_act(
    act: Act,
) -> tuple[list[errors.LegalityError], actes.ActMessage | None, Enrolment | None]:
    """Every reason the act cannot be sent yet (empty: it can), with the message it
    makes. Reads the files once."""
    problems: list[errors.LegalityError] = []
    # The enrolment with the member's classification and the version its prefecture
    # announced, in one statement.
    enrolment = classification.with_classification(
        Enrolment.objects.filter(organisation_id=act.organisation_id)
    ).first()
    if enrolment is None:
        return [errors.NotEnrolled()], None, None
    if not act.organisation.siren:
        problems.append(errors.SirenMissing())
    if not actes.number_is_valid(act.number):
        problems.append(errors.NumberInvalid())
    # No other act of the member can hold this number: the unique constraint on
    # (organisation, number) refused it when the act was prepared or edited.
    if act.decided_on > timezone.localdate():
        problems.append(errors.DecisionInFuture())
    if act.nature not in enrolment.natures:
        problems.append(errors.NatureNotEnrolled())
    # The member's classification: current (not older than the prefecture announced),
    # and the act's code one of it; the act is sent with the member's version.
    outdated = classification.outdated_for(enrolment)
    if outdated is not None:
        problems.append(outdated)
    member_classification = classification.of_enrolment(enrolment)
    if not member_classification.is_leaf(act.classification):
        problems.append(errors.ClassificationInvalid())
    act.classification_date = member_classification.version_date
    # The annexes with their files, read once (the message names them too).
    annexes = list(act.annexes.select_related("file", "signature"))
    files = [(act.document, act.document_signature)] + [(a.file, a.signature) for a in annexes]
    total = sum(f.size + (s.size if s else 0) for f, s in files)
    limit = settings.MUTUALIS_LEGALITY_MAX_BYTES
    if total > limit:
        problems.append(errors.TooLarge(errors.TooLarge.message % {"limit": limit // 1024**2}))
        return problems, None, enrolment
    contents: dict[str, bytes] = {}
    for stored, signature in files:
        contents[str(stored.pk)] = read_stored(stored)
        if signature is not None:
            contents[str(signature.pk)] = read_stored(signature)
        # The type the store read from the bytes when the file was added.
        sniffed = stored.content_type
        if sniffed == PDF:
            problem = pdf_problem(stored.original_name, contents[str(stored.pk)])
            if problem is not None:
                problems.append(problem)
        elif (
            sniffed in XML_TYPES and stored.pk == act.document.pk and act.nature == actes.Nature.BF
        ):
            for detail in actes.budget_errors(contents[str(stored.pk)])[:3]:
                problems.append(
                    errors.BudgetDocumentInvalid(
                        errors.BudgetDocumentInvalid.message
                        % {"name": stored.original_name, "detail": detail}
                    )
                )
        else:
            problems.append(
                errors.DocumentType() if stored.pk == act.document.pk else errors.AnnexType()
            )
    message = _message_of(act, enrolment, contents, annexes)
    for detail in actes.schema_errors(actes.act_message(message))[:3]:
        problems.append(errors.MessageInvalid(errors.MessageInvalid.message % {"detail": detail}))
    # The signatures the files carry: their report is kept on the act (saved when the
    # act is validated), a signature that does not verify blocks the sending.
    act.signature_report, signature_problems = signature_checks.check(
        [
            signature_checks.SignedFile(
                stored.original_name,
                contents[str(stored.pk)],
                contents[str(signature.pk)] if signature is not None else None,
                is_pdf=stored.content_type == PDF,
            )
            for stored, signature in files
        ]
    )
    problems += signature_problems
    return problems, message, enrolment


class ActRefused(errors.LegalityError):
    """The act cannot be validated: ``problems`` says every reason."""

    code = "legality_act_refused"

    def __init__(self, problems: list[errors.LegalityError]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p.message) for p in problems))


def validate_act(
    *, actor: Actor, act_id: int, request_context: Mapping[str, Any] | None = None
) -> Act:
    """Check the act, build its transmission package and queue it: prepared → waiting.
    Refused with every reason (``ActRefused``) when something must be fixed first."""
    # The files stored are synced together before the commit (``synced_together``).
    with (
        transaction.atomic(),
        scope(organisation=actor.organisation_id),
        file_store.synced_together(),
    ):
        current, organisation = _current_and_member(actor, AGENT_ROLE)
        act = locked_act(current, act_id, files=True, organisation=organisation)
        if not transitions.allowed(act, transitions.Event.VALIDATE):
            raise errors.TransitionNotAllowed()
        problems, message, enrolment = check_act(act)
        if problems or message is None or enrolment is None:
            raise ActRefused(problems)
        today = timezone.localdate()
        serial = outbox.next_serial(act.organisation_id, today)
        sender = actes.Sender(
            siren=act.organisation.siren,
            departement=enrolment.departement,
            arrondissement=enrolment.arrondissement,
            nature=enrolment.authority_nature,
            return_addresses=[settings.MUTUALIS_LEGALITY_RETURN_ADDRESS],
        )
        name = actes.package_name(
            settings.MUTUALIS_LEGALITY_TRI,
            settings.MUTUALIS_LEGALITY_APPLI,
            sender.siren,
            today,
            serial,
        )
        # In memory up to 1 MiB (an act's package is usually a few KiB), else on disk.
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as target:
            actes.write_package(target, sender, message, today, serial)
            target.seek(0)
            act.package = file_store.store_file(
                file=target,
                name=name,
                owner_kind=ACT_OWNER_KIND,
                owner_ref=str(act.organisation_id),
                allowed_types=frozenset({"application/gzip", "application/x-gzip"}),
            )
        act.package_name = name
        act.identifier = actes.act_identifier(
            enrolment.departement,
            act.organisation.siren,
            act.decided_on,
            act.number,
            actes.Nature(act.nature),
        )
        # A new package starts its transmission afresh (transmission.py).
        act.send_attempts, act.next_attempt_at, act.error_reason = 0, None, ""
        transitions.apply(act, transitions.Event.VALIDATE)
        # What validation sets (check_act: the classification's version, the signature
        # report); the act's other fields are the agent's, unchanged since the lock.
        act.save(
            update_fields=[
                "status",
                "classification_date",
                "signature_report",
                "package",
                "package_name",
                "identifier",
                "send_attempts",
                "next_attempt_at",
                "error_reason",
                "updated_at",
            ]
        )
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.act_validated",
            target=act,
            payload={"number": act.number, "package": name, "sha256": act.package.sha256},
            **audit_context(request_context),
        )
    return act


def cancel_act(
    *, actor: Actor, act_id: int, request_context: Mapping[str, Any] | None = None
) -> Act:
    """Cancel an act that has not left: it stays in the list, marked cancelled."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = acting_member(actor, AGENT_ROLE)
        act = locked_act(current, act_id)
        before = act.status
        transitions.apply(act, transitions.Event.CANCEL)
        act.save(update_fields=["status", "updated_at"])
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.act_cancelled",
            target=act,
            payload={"number": act.number, "status_before": before},
            **audit_context(request_context),
        )
    return act


# The return channel reads the prefecture's answers and records them as this actor.
RETURN_ACTOR = audit.SystemActor("legality.return_channel")


def acknowledge_act(
    *,
    organisation_id: int,
    identifier: str,
    received_on: date,
    message_sha256: str = "",
    now: Any = None,
) -> Act:
    """Record the prefecture's acknowledgement (``ARActe``) of a sent act: sent →
    acknowledged, with the reception date it states (the legal proof of transmission).

    Idempotent: the same acknowledgement read twice (a mailbox read again after a
    crash) changes nothing and records nothing more. An identifier the member did not
    send raises ``UnknownAct`` (the caller quarantines the message).
    """
    now = now or timezone.now()
    with transaction.atomic(), scope(organisation=organisation_id):
        act = (
            Act.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=organisation_id, identifier=identifier)
            .exclude(identifier="")
            .first()
        )
        if act is None:
            raise errors.UnknownAct()
        if act.status == ActStatus.ACKNOWLEDGED and act.received_on == received_on:
            return act
        transitions.apply(act, transitions.Event.ACKNOWLEDGE)
        act.received_on = received_on
        act.acknowledged_at = now
        act.save(update_fields=["status", "received_on", "acknowledged_at", "updated_at"])
        audit.record(
            actor=RETURN_ACTOR,
            organisation=act.organisation,
            action="legality.act_acknowledged",
            target=act,
            payload={
                "identifier": identifier,
                "received_on": received_on.isoformat(),
                "message_sha256": message_sha256,
            },
        )
        signals.send_on_commit(
            signals.act_acknowledged, act_id=act.pk, organisation_id=organisation_id
        )
    return act
