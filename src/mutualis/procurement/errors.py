"""Errors of the procurement context: a stable ``code``, a translatable ``message`` and,
when the error is about one input, the ``field`` a form shows it on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class ProcurementError(MutualisError):
    code = "procurement_error"


class TransitionNotAllowed(ProcurementError):
    code = "consultation_transition_not_allowed"
    message = _("This consultation cannot do that in its current state.")


class NotEditable(ProcurementError):
    code = "consultation_not_editable"
    message = _(
        "Only a draft can be changed: unschedule it first. A published consultation is "
        "never changed in place."
    )


class ReferenceTaken(ProcurementError):
    code = "consultation_reference_taken"
    field_name = "reference"
    message = _("Another consultation of your organisation already has this reference.")


class LotNumberTaken(ProcurementError):
    code = "lot_number_taken"
    field_name = "number"
    message = _("This consultation already has a lot with this number.")


# --- Deadlines (Europe/Paris) ------------------------------------------------------------


class NonexistentLocalTime(ProcurementError):
    code = "local_time_nonexistent"
    message = _(
        "This time does not exist in Paris: clocks go forward from 2:00 to 3:00 that "
        "night. Choose another time."
    )


class AmbiguousLocalTime(ProcurementError):
    code = "local_time_ambiguous"
    message = _(
        "This time happens twice in Paris: clocks go back from 3:00 to 2:00 that night. "
        "Choose a time before 2:00 or from 3:00."
    )


class DeadlineInPast(ProcurementError):
    code = "deadline_in_past"
    field_name = "response_deadline"
    message = _("The deadlines must be in the future when the consultation is published.")


class QuestionsAfterResponses(ProcurementError):
    code = "questions_after_responses"
    field_name = "questions_deadline"
    message = _("The deadline for questions must come before the deadline for responses.")


class PublicationTimeInvalid(ProcurementError):
    code = "publication_time_invalid"
    field_name = "publish_at"
    message = _("The publication must be planned in the future, before the deadline for questions.")


# --- Publication checks ------------------------------------------------------------------


class CriteriaWeightsInvalid(ProcurementError):
    code = "criteria_weights_invalid"
    message = _("The weights of the award criteria must total 100 %.")


class CpvUnknown(ProcurementError):
    code = "cpv_unknown"
    field_name = "main_cpv"
    message = _("A CPV code of this consultation is not in the CPV 2008 vocabulary.")


class LotsNotNumbered(ProcurementError):
    code = "lots_not_numbered"
    message = _("The lots must be numbered 1, 2, 3… without gaps.")


class CancellationReasonRequired(ProcurementError):
    code = "cancellation_reason_required"
    field_name = "reason"
    message = _("Say why the consultation is cancelled: the reason is published.")


# --- Group purchasing --------------------------------------------------------------------


class ParticipantNotMember(ProcurementError):
    code = "participant_not_member"
    field_name = "organisation"
    message = _(
        "Only a member organisation of the territory can take part in a group purchase: "
        "check its SIREN or public address."
    )


class ParticipantIsCoordinator(ProcurementError):
    code = "participant_is_coordinator"
    field_name = "organisation"
    message = _("Your organisation coordinates this purchase: it is not added as a participant.")


class ParticipantAlreadyAdded(ProcurementError):
    code = "participant_already_added"
    field_name = "organisation"
    message = _("This organisation already takes part in this group purchase.")


class ShareMissing(ProcurementError):
    code = "share_missing"
    field_name = "share_percent"
    message = _("Give the participant's share: a percentage, an estimated amount, or both.")


class SharesOverHundred(ProcurementError):
    code = "shares_over_hundred"
    field_name = "share_percent"
    message = _("The participants' shares total more than 100 %: lower a share.")


class SharesOverValue(ProcurementError):
    code = "shares_over_value"
    field_name = "share_amount"
    message = _(
        "The participants' estimated amounts total more than the estimated value of the "
        "consultation: lower an amount or raise the estimated value."
    )


# --- The clause library -------------------------------------------------------------------


class LibraryTextEmpty(ProcurementError):
    code = "library_text_empty"
    field_name = "body"
    message = _("The text is empty once cleaned of what is not allowed: write the clause.")


class ProposalAlreadyDecided(ProcurementError):
    code = "library_proposal_decided"
    message = _("This proposal has already been accepted or rejected.")


class RejectionReasonRequired(ProcurementError):
    code = "library_rejection_reason_required"
    field_name = "reason"
    message = _("Say why the proposal is rejected: the member reads the reason.")


class LibraryEntryUnavailable(ProcurementError):
    code = "library_entry_unavailable"
    message = _("This clause is no longer offered by the library.")


# --- ESPD selection criteria -----------------------------------------------------------------


class SelectionCriterionUnknown(ProcurementError):
    code = "espd_selection_unknown"
    field_name = "code"
    message = _("Choose a selection criterion of the ESPD list.")


class SelectionValueInvalid(ProcurementError):
    code = "espd_selection_value_invalid"
    message = _(
        "A value of this criterion is not valid: amounts are positive numbers, years and "
        "quantities whole positive numbers, a description is text."
    )


# --- Consultation files and rectifications ----------------------------------------------


class DocumentsNotEditable(ProcurementError):
    code = "documents_not_editable"
    field_name = "uploads"
    message = _(
        "The files of a published consultation change only through a rectification, "
        "before the deadline for responses."
    )


class DocumentNotCurrent(ProcurementError):
    code = "document_not_current"
    field_name = "withdraw"
    message = _("This file is not among the consultation's current files.")


class NoFileSent(ProcurementError):
    code = "no_file_sent"
    field_name = "uploads"
    message = _("Choose at least one file to add.")


class RectificationNotAllowed(ProcurementError):
    code = "rectification_not_allowed"
    message = _("Only a published consultation can be rectified; a draft is changed directly.")


class RectificationTooLate(ProcurementError):
    code = "rectification_too_late"
    message = _(
        "The deadline for responses has passed: the consultation can no longer be "
        "rectified. Cancel it if the contract cannot be awarded as published."
    )


class RectificationSummaryRequired(ProcurementError):
    code = "rectification_summary_required"
    field_name = "summary"
    message = _("Say what the rectification changes: this summary is published.")


class RectificationEmpty(ProcurementError):
    code = "rectification_empty"
    message = _(
        "This rectification changes nothing: change a field, a deadline, or add or withdraw a file."
    )


# --- Identified downloaders, questions and answers ---------------------------------------


class NotPublic(ProcurementError):
    code = "consultation_not_public"
    message = _("This consultation is not published.")


class IdentificationClosed(ProcurementError):
    code = "identification_closed"
    message = _("This consultation is no longer open: identifying on it is not possible any more.")


class NotRepresentative(ProcurementError):
    code = "not_representative"
    field_name = "company"
    message = _("You do not represent this company: choose one of your companies.")


class ConfirmationLinkInvalid(ProcurementError):
    code = "confirmation_link_invalid"
    message = _(
        "This confirmation link is not valid or has expired: identify again on the "
        "consultation's page to receive a new one."
    )


class NotIdentified(ProcurementError):
    code = "downloader_not_identified"
    message = _("Identify on this consultation first to ask a question.")


class EmailNotConfirmed(ProcurementError):
    code = "downloader_email_unconfirmed"
    message = _(
        "Confirm your e-mail address first: follow the link of the e-mail you received, "
        "in this browser."
    )


class QuestionsClosed(ProcurementError):
    code = "questions_closed"
    field_name = "text"
    message = _(
        "The deadline for questions has passed: the buyer no longer accepts questions on "
        "this consultation."
    )


class CompanySuspended(ProcurementError):
    code = "company_suspended"
    message = _(
        "Your company is suspended by the platform's operator: it cannot ask questions "
        "until it is reinstated."
    )


class QuestionLimitReached(ProcurementError):
    code = "question_limit_reached"
    field_name = "text"
    message = _("You have asked many questions recently: wait a while before asking another.")


class QuestionAlreadyAnswered(ProcurementError):
    code = "question_already_answered"
    message = _("This question already has a published answer.")


class AnswerEmpty(ProcurementError):
    code = "answer_empty"
    field_name = "body"
    message = _("Write the answer or the information to publish.")


class AnswersClosed(ProcurementError):
    code = "answers_closed"
    message = _("Answers can be published only while the consultation is published.")


# --- Alerts ------------------------------------------------------------------------------


class AlertWithoutCriteria(ProcurementError):
    code = "alert_without_criteria"
    message = _(
        "Give at least one criterion (words, a CPV code, a département, a procedure, a "
        "category or a buyer): an alert on everything would send every consultation."
    )


class TooManyAlerts(ProcurementError):
    code = "alert_too_many"
    message = _("You have reached the maximum number of alerts: delete one you no longer use.")


class AlertCriterionInvalid(ProcurementError):
    code = "alert_criterion_invalid"
    message = _("One of the criteria is not valid: choose its values from the lists.")
