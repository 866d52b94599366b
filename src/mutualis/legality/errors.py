"""Errors of the legality context: a stable ``code``, a translatable ``message`` saying
what to fix and, when the error is about one input, the ``field`` a form shows it on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class LegalityError(MutualisError):
    code = "legality_error"


class TransitionNotAllowed(LegalityError):
    code = "legality_transition_not_allowed"
    message = _("The act's status does not allow this change.")


class NotEnrolled(LegalityError):
    code = "legality_not_enrolled"
    message = _(
        "Your organisation is not enrolled with the prefecture yet: an administrator must "
        "fill in the enrolment first."
    )


class SirenMissing(LegalityError):
    code = "legality_siren_missing"
    message = _(
        "Your organisation has no SIREN number in the directory: ask the operator to add it."
    )


class ConventionReferenceRequired(LegalityError):
    code = "legality_convention_reference_required"
    field_name = "convention_reference"
    message = _("Enter the reference of the agreement signed with the prefecture.")


class ConventionInFuture(LegalityError):
    code = "legality_convention_in_future"
    field_name = "convention_date"
    message = _("The agreement's date cannot be in the future.")


class DepartementInvalid(LegalityError):
    code = "legality_departement_invalid"
    field_name = "departement"
    message = _("Enter the département as three characters, for example 021 or 02A.")


class ArrondissementInvalid(LegalityError):
    code = "legality_arrondissement_invalid"
    field_name = "arrondissement"
    message = _("Enter the arrondissement as one digit, for example 1.")


class AuthorityNatureInvalid(LegalityError):
    code = "legality_authority_nature_invalid"
    field_name = "authority_nature"
    message = _("Enter the authority's nature code given by the prefecture: two digits.")


class NaturesRequired(LegalityError):
    code = "legality_natures_required"
    field_name = "natures"
    message = _("Choose at least one nature of act your organisation transmits.")


class NatureNotEnrolled(LegalityError):
    code = "legality_nature_not_enrolled"
    field_name = "nature"
    message = _(
        "Your enrolment does not cover this nature of act: choose another or ask an administrator."
    )


class NumberInvalid(LegalityError):
    code = "legality_number_invalid"
    field_name = "number"
    message = _(
        "The internal number must have 1 to 15 characters: upper-case letters without "
        "accents, digits and “_” only."
    )


class NumberTaken(LegalityError):
    code = "legality_number_taken"
    field_name = "number"
    message = _("Another act of your organisation already has this internal number.")


class DecisionInFuture(LegalityError):
    code = "legality_decision_in_future"
    field_name = "decided_on"
    message = _("The decision date cannot be in the future.")


class ClassificationInvalid(LegalityError):
    code = "legality_classification_invalid"
    field_name = "classification"
    message = _("Choose a subject code of your current classification (two levels).")


class SubjectInvalid(LegalityError):
    code = "legality_subject_invalid"
    field_name = "subject"
    message = _("Enter the subject of the act, at most 499 characters, without control characters.")


class DocumentRequired(LegalityError):
    code = "legality_document_required"
    field_name = "document"
    message = _("Attach the act itself.")


class DocumentType(LegalityError):
    code = "legality_document_type"
    field_name = "document"
    message = _("The act must be a PDF file (or an XML file for a budget document).")


class AnnexType(LegalityError):
    code = "legality_annex_type"
    field_name = "annexes"
    message = _("Every annex must be a PDF file.")


class PieceTypeInvalid(LegalityError):
    code = "legality_piece_type_invalid"
    field_name = "annex_types"
    message = _("Choose a piece type for every annex from the list.")


class SignatureType(LegalityError):
    code = "legality_signature_type"
    field_name = "document_signature"
    message = _("A signature must be a detached PKCS#7 file (.p7s).")


class PdfUnreadable(LegalityError):
    code = "legality_pdf_unreadable"
    message = _("The file “%(name)s” is not a readable PDF: export it again from its software.")


class TooLarge(LegalityError):
    code = "legality_too_large"
    message = _("The act and its annexes exceed %(limit)s MB in all: remove or compress annexes.")


class MessageInvalid(LegalityError):
    code = "legality_message_invalid"
    message = _("The @ctes message built from this act is not valid: %(detail)s")


class ActNotEditable(LegalityError):
    code = "legality_act_not_editable"
    message = _("Only a prepared act, waiting act or act in error can be changed.")


class UnknownAct(LegalityError):
    """An answer of the prefecture names an act the platform did not send for that
    member: the message is kept aside (quarantined), nothing changes."""

    code = "legality_unknown_act"
    message = _("No act sent by this organisation has this identifier.")


class NotAcknowledged(LegalityError):
    code = "legality_not_acknowledged"
    message = _("The prefecture has not acknowledged this act yet.")


class PublicationBeforeDecision(LegalityError):
    code = "legality_publication_before_decision"
    field_name = "published_on"
    message = _("The act cannot have been published before its decision date.")


class PublicationInFuture(LegalityError):
    code = "legality_publication_in_future"
    field_name = "published_on"
    message = _("The publication date cannot be in the future.")


# --- Correspondence, cancellation, classification ------------------------------------


class ClassificationOutdated(LegalityError):
    code = "legality_classification_outdated"
    message = _(
        "The prefecture announced a classification of %(announced)s, newer than yours "
        "(%(current)s): request the new classification on the classification page, then "
        "send again."
    )


class ClassificationRequestPending(LegalityError):
    code = "legality_classification_request_pending"
    message = _("A classification request is already waiting to be sent.")


class LetterNotOpen(LegalityError):
    code = "legality_letter_not_open"
    message = _("This letter has already been answered, or it expects no answer.")


class AnswerNotAllowed(LegalityError):
    code = "legality_answer_not_allowed"
    field_name = "answer"
    message = _("This answer does not fit this letter.")


class AnswerFilesRequired(LegalityError):
    code = "legality_answer_files_required"
    field_name = "documents"
    message = _("Attach the documents asked for (PDF files).")


class AnswerTextRequired(LegalityError):
    code = "legality_answer_text_required"
    field_name = "text"
    message = _(
        "Attach your answer as a PDF, or write it (at most 5,000 characters, without control "
        "characters)."
    )


class AnswerFileType(LegalityError):
    code = "legality_answer_file_type"
    field_name = "documents"
    message = _("Every document of the answer must be a readable PDF file.")


class AnswerTooLarge(LegalityError):
    code = "legality_answer_too_large"
    field_name = "documents"
    message = _("The documents exceed %(limit)s MB in all: remove or compress some.")


class DueDateInvalid(LegalityError):
    code = "legality_due_date_invalid"
    field_name = "due_on"
    message = _("The answer's due date cannot be before the letter's date.")


class CancellationNotAllowed(LegalityError):
    code = "legality_cancellation_not_allowed"
    message = _(
        "Only an act the prefecture has acknowledged can have its transmission cancelled; "
        "an act not sent yet is cancelled directly, an act sent waits for its acknowledgement."
    )


class CancellationPending(LegalityError):
    code = "legality_cancellation_pending"
    message = _("The cancellation of this act has already been asked for.")


class MessageNotInError(LegalityError):
    code = "legality_message_not_in_error"
    message = _("Only a message in error can be sent again.")


class SignatureInvalid(LegalityError):
    code = "legality_signature_invalid"
    message = _(
        "The signature of “%(name)s” does not verify: %(reason)s. Sign the file again, or "
        "remove the signature, then validate again."
    )


class BudgetDocumentInvalid(LegalityError):
    code = "legality_budget_document_invalid"
    field_name = "document"
    message = _(
        "The budget document “%(name)s” does not follow the budget document schema "
        "(DocumentBudgetaire): %(detail)s. Export it again from the budget software."
    )
