"""Errors of the sealed deposits: a stable ``code``, a translatable ``message`` and the
HTTP ``status`` the API answers with (400 refused input, 404 nothing the caller may see,
409 a state or an offset that does not allow it)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class DepositError(MutualisError):
    code = "deposit_error"
    status = 400


class DepositNotFound(DepositError):
    code = "not_found"
    status = 404
    message = _("There is no such object.")


class ConsultationNotOpen(DepositError):
    code = "consultation_not_accepting_deposits"
    field_name = "consultation"
    message = _("This consultation does not accept electronic deposits.")


class OpeningStarted(DepositError):
    code = "opening_started"
    status = 409
    message = _("The responses to this consultation are being opened: no deposit is accepted.")


class LotRequired(DepositError):
    code = "lot_required"
    field_name = "lot"
    message = _("This consultation has lots: say which lot the deposit answers.")


class UnknownLot(DepositError):
    code = "unknown_lot"
    field_name = "lot"
    message = _("This lot is not one of the consultation's.")


class UnknownPhase(DepositError):
    code = "unknown_phase"
    field_name = "phase"
    message = _("The phase must be “application” or “offer”.")


class NotRepresentative(DepositError):
    code = "not_a_representative"
    status = 403
    message = _("You do not represent this company.")


class CompanyRequired(DepositError):
    code = "company_required"
    field_name = "company"
    message = _("You represent several companies: give the SIREN of the one that deposits.")


class IdempotencyKeyReused(DepositError):
    code = "idempotency_key_reused"
    status = 409
    message = _("This Idempotency-Key was already used for a different request.")


class IdempotencyKeyMissing(DepositError):
    code = "idempotency_key_required"
    field_name = "Idempotency-Key"
    message = _(
        "Every POST and PUT needs an Idempotency-Key header (1 to 100 printable ASCII "
        "characters): the same key again gives the first answer."
    )


class IdempotencyKeyInvalid(DepositError):
    code = "idempotency_key_invalid"
    field_name = "Idempotency-Key"
    message = _("The Idempotency-Key header must have 1 to 100 printable ASCII characters.")


class UnknownKind(DepositError):
    code = "unknown_kind"
    field_name = "kind"
    message = _("The kind of file must be “application”, “espd” or “offer”.")


class InvalidContentType(DepositError):
    code = "invalid_content_type"
    field_name = "content_type"
    message = _("The content type has at most 100 printable ASCII characters.")


class NotReceiving(DepositError):
    code = "deposit_not_receiving"
    status = 409
    message = _("This deposit no longer receives files.")


class InvalidFileName(DepositError):
    code = "invalid_file_name"
    field_name = "name"
    message = _(
        "The file name is empty, too long (at most 255 characters) or has control characters."
    )


class FileTypeRefused(DepositError):
    code = "file_type_refused"
    field_name = "name"
    message = _("The consultation does not accept files of this type.")


class InvalidSize(DepositError):
    code = "invalid_size"
    field_name = "plaintext_size"
    message = _("A file must not be empty nor larger than the limit.")


class DepositTooLarge(DepositError):
    code = "deposit_too_large"
    field_name = "plaintext_size"
    message = _("The files of this deposit would exceed its size limit.")


class TooManyFiles(DepositError):
    code = "too_many_files"
    message = _("A deposit has at most %(count)d files.")


class InvalidDigest(DepositError):
    code = "invalid_sha256"
    field_name = "plaintext_sha256"
    message = _("The SHA-256 must be 64 hexadecimal characters.")


class CiphertextSizeMismatch(DepositError):
    code = "ciphertext_size_mismatch"
    field_name = "ciphertext_size"
    message = _("This ciphertext size is not what age makes of a file of this size.")


class InvalidChunk(DepositError):
    code = "invalid_chunk"
    field_name = "offset"
    message = _("A chunk has 1 byte to 16 MiB, at an offset of 0 or more.")


class ChunkPastEnd(DepositError):
    code = "chunk_past_end"
    field_name = "offset"
    message = _("This chunk goes past the ciphertext size declared for the file.")


class IncompleteBody(DepositError):
    code = "incomplete_body"
    message = _("The chunk arrived incomplete: send it again.")


class UnexpectedOffset(DepositError):
    code = "unexpected_offset"
    status = 409
    field_name = "offset"
    message = _("The server expects the chunk at offset %(offset)d.")

    def __init__(self, received_size: int) -> None:
        self.received_size = received_size
        super().__init__(self.message % {"offset": received_size})

    def as_dict(self) -> dict[str, str | None]:
        return {**super().as_dict(), "received_size": self.received_size}  # type: ignore[dict-item]


class FilesIncomplete(DepositError):
    code = "files_incomplete"
    status = 409
    message = _("Some files have not fully arrived: %(names)s.")


class NoFiles(DepositError):
    code = "no_files"
    status = 409
    message = _("A deposit needs at least one file.")


class NotAgeCiphertext(DepositError):
    code = "not_age_ciphertext"
    message = _(
        "The file “%(name)s” is not encrypted in the age format to an X25519 key: "
        "encrypt it to the consultation's key and send it again in a new deposit."
    )


class DeadlinePassed(DepositError):
    code = "deadline_passed"
    status = 409
    message = _("The deadline has passed: the deposit can no longer be withdrawn.")


class NotWithdrawable(DepositError):
    code = "not_withdrawable"
    status = 409
    message = _("Only a deposit being received or deposited can be withdrawn.")


class NotCompanyClient(DepositError):
    code = "not_a_company_client"
    status = 403
    message = _("Only an API client of a company may deposit.")


class NotRawBody(DepositError):
    code = "unsupported_media_type"
    status = 415
    message = _("Send the chunk as the raw body, with Content-Type: application/octet-stream.")


class LengthRequired(DepositError):
    code = "length_required"
    status = 411
    message = _("A chunk needs its Content-Length.")


class FormBodyRefused(DepositError):
    code = "unsupported_media_type"
    status = 415
    message = _("Send JSON (Content-Type: application/json), not a form.")


class ReceiptNotReady(DepositError):
    code = "receipt_not_ready"
    status = 404
    message = _(
        "The signed receipt of this deposit is not made yet: the acknowledgement's token "
        "already proves it; try again in a minute."
    )


# --- Backup copies (backup_copies.py) ------------------------------------------------------


class BackupTransitionNotAllowed(DepositError):
    code = "backup_copy_transition_not_allowed"
    status = 409
    message = _("This backup copy cannot go to that state from the one it is in.")


class BackupOpenReasonRequired(DepositError):
    code = "backup_copy_reason_required"
    field_name = "reason"
    message = _(
        "A backup copy is opened only for a listed reason (a malicious program, a response "
        "not received in time, a response that could not be opened), with what was found."
    )


class BackupBeforeOpening(DepositError):
    code = "backup_copy_before_opening"
    status = 409
    message = _("A backup copy is opened or destroyed only once the electronic responses are.")


class BackupCompanyUnknown(DepositError):
    code = "backup_copy_company_unknown"
    field_name = "siren"
    message = _("No company with this SIREN is registered on the platform.")


class BackupMediumInvalid(DepositError):
    code = "backup_copy_medium_invalid"
    field_name = "medium"
    message = _(
        "Say how the backup copy arrived: on paper, on a physical medium or electronically."
    )


# --- Two-phase procedures: applications, admission, offers (admissions.py) ---------------


class ApplicationsOnly(DepositError):
    code = "applications_only"
    field_name = "phase"
    message = _(
        "This consultation takes applications: offers come later, from the candidates the "
        "buyer admits, in its offer phase."
    )


class OffersOnly(DepositError):
    code = "offers_only"
    field_name = "phase"
    message = _(
        "This consultation takes offers, with the application documents in the same "
        "deposit: the phase is “offer”."
    )


class AdmissionBeforeOpening(DepositError):
    code = "admission_before_opening"
    status = 409
    message = _("Decide on the candidates once their applications have been opened.")


class NotACandidate(DepositError):
    code = "not_a_candidate"
    status = 404
    message = _("This company has no application received on time to decide on.")


class AdmissionDecisionInvalid(DepositError):
    code = "admission_decision_invalid"
    field_name = "decision"
    message = _("The decision must be “admitted” or “rejected”.")


class AdmissionReasonsRequired(DepositError):
    code = "admission_reasons_required"
    field_name = "reasons"
    message = _(
        "Say why this candidate is not admitted (at most 2,000 characters): the reasons are "
        "notified to it."
    )


class AdmissionsNotified(DepositError):
    code = "admissions_notified"
    status = 409
    message = _("The decisions have been notified: they can no longer be changed.")


class CandidatesUndecided(DepositError):
    code = "candidates_undecided"
    status = 409
    message = _("Decide on every candidate received on time before notifying the decisions.")


class NotTwoPhase(DepositError):
    code = "not_two_phase"
    status = 404
    message = _("This consultation is not a procedure in two phases.")


class OffersDeadlineInvalid(DepositError):
    code = "offers_deadline_invalid"
    field_name = "offers_deadline"
    message = _("Give the deadline for offers as a date and a time (Paris time).")
