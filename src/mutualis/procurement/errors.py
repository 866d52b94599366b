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
