"""Refusals of the commissions' use cases: a stable ``code``, a translated message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class CommissionsError(MutualisError):
    code = "commissions_error"


class TransitionNotAllowed(CommissionsError):
    code = "meeting_transition_not_allowed"
    message = _("This step is not possible in the meeting's present status.")


class NameTaken(CommissionsError):
    code = "commission_name_taken"
    field_name = "name"
    message = _("Your organisation already has a commission of this name.")


class TextInvalid(CommissionsError):
    code = "text_invalid"
    message = _("This text is empty, too long or holds control characters.")


class NotACommissionMember(CommissionsError):
    code = "not_a_commission_member"
    field_name = "membership"
    message = _(
        "This person is not an active agent of your organisation with the commission member role."
    )


class AlreadyMember(CommissionsError):
    code = "already_member"
    field_name = "membership"
    message = _("This person already sits on this commission.")


class PresidentInvalid(CommissionsError):
    code = "president_invalid"
    field_name = "is_president"
    message = _("The president must be a full member with a deliberative vote.")


class ChoiceInvalid(CommissionsError):
    code = "choice_invalid"
    message = _("This choice is not one of those offered.")


class CommissionUnknown(CommissionsError):
    code = "commission_unknown"
    field_name = "commission"
    message = _("This commission is not one of your organisation's.")


class ConsultationUnknown(CommissionsError):
    code = "consultation_unknown"
    field_name = "consultations"
    message = _("This consultation is not one of your organisation's.")


class ConsultationOfAnotherCommission(CommissionsError):
    code = "consultation_of_another_commission"
    field_name = "consultations"
    message = _("Consultation %(reference)s is examined by another commission.")


class AgendaTooLong(CommissionsError):
    code = "agenda_too_long"
    field_name = "consultations"
    message = _("An agenda has at most %(max)s items.")


class AgendaEmpty(CommissionsError):
    code = "agenda_empty"
    message = _("Put at least one consultation on the agenda before convening.")


class StartInPast(CommissionsError):
    code = "meeting_in_past"
    field_name = "starts_at"
    message = _("The meeting must start in the future.")


class PlaceRequired(CommissionsError):
    code = "meeting_place_required"
    field_name = "place"
    message = _("Give the place of the meeting, its video link, or both.")


class DurationInvalid(CommissionsError):
    code = "meeting_duration_invalid"
    field_name = "duration_minutes"
    message = _("The duration must be between %(min)s and %(max)s minutes.")


class NoMembers(CommissionsError):
    code = "commission_without_members"
    message = _("The commission has no member to convene.")


class NotStarted(CommissionsError):
    code = "meeting_not_started"
    message = _("Attendance is recorded once the meeting has started.")


class AttendanceIncomplete(CommissionsError):
    code = "attendance_incomplete"
    message = _("Give the attendance of every member.")


class SubstituteInvalid(CommissionsError):
    code = "substitute_invalid"
    message = _(
        "A full member is replaced by a substitute of the commission with the same vote, marked"
        " present, who replaces nobody else."
    )


class DecisionWithoutQuorum(CommissionsError):
    code = "decision_without_quorum"
    message = _(
        "The quorum was not reached: the commission could not deliberate. Leave the decisions"
        " empty and convene it again."
    )


class CannotReconvene(CommissionsError):
    code = "cannot_reconvene"
    message = _("Only a meeting held without its quorum is convened again, and only once.")


class EmailInvalid(CommissionsError):
    code = "email_invalid"
    field_name = "email"
    message = _("Enter a valid e-mail address.")


class AlreadyExternal(CommissionsError):
    code = "already_external"
    field_name = "email"
    message = _("An outside attendee of this commission already has this address.")


class TooManyExternals(CommissionsError):
    code = "too_many_externals"
    message = _("A commission has at most %(max)s outside attendees.")
