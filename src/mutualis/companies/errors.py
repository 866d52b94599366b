"""Errors of the companies context: a stable ``code``, a translatable ``message`` and,
when the error is about one input, the ``field`` a form shows it on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MailLimitReached, MutualisError


class CompanyError(MutualisError):
    code = "company_error"


# --- SIRET -----------------------------------------------------------------------------


class SiretOfAnotherCompany(CompanyError):
    code = "siret_of_another_company"
    field_name = "siret"
    message = _(
        "This SIRET number belongs to another company: its first 9 digits must be your "
        "company's SIREN."
    )


class SiretTaken(CompanyError):
    code = "siret_taken"
    field_name = "siret"
    message = _("This establishment is already registered.")


# --- Sign-up and joining ---------------------------------------------------------------


class EmailNotVerified(CompanyError):
    code = "email_not_verified"
    message = _("Confirm your e-mail address before registering a business.")


class NameRequired(CompanyError):
    code = "company_name_required"
    field_name = "name"
    message = _("Enter the company's name, as in the SIRENE register.")


class AlreadyRepresentative(CompanyError):
    code = "already_representative"
    field_name = "siret"
    message = _("You already represent this company.")


class JoinRequestPending(CompanyError):
    code = "join_request_pending"
    field_name = "siret"
    message = _(
        "You have already asked to join this company: its administrators have not answered yet."
    )


class JoinRequestDecided(CompanyError):
    code = "join_request_decided"
    message = _("This request has already been answered.")


class CompanySuspended(CompanyError):
    code = "company_suspended"
    message = _(
        "This company is suspended by the platform's operator: nobody can join it until "
        "it is reinstated."
    )


class CompanyDisputed(CompanyError):
    code = "company_disputed"
    message = _(
        "The platform's operator is reviewing who may represent this company: nobody can "
        "join it or be invited until the review ends."
    )


class CompanyNotDisputed(CompanyError):
    code = "company_not_disputed"
    message = _("Open a dispute on this company first.")


# --- Colleagues ------------------------------------------------------------------------


class LastAdministrator(CompanyError):
    code = "last_administrator"
    message = _(
        "The company must keep at least one administrator: make a colleague administrator first."
    )


class UnknownRole(CompanyError):
    code = "unknown_company_role"
    field_name = "role"
    message = _("Choose administrator or member.")


class RepresentativeNotActive(CompanyError):
    code = "representative_not_active"
    message = _("This person no longer represents the company.")


class ColleagueAlreadyActive(CompanyError):
    code = "colleague_already_active"
    field_name = "email"
    message = _("This person already represents the company.")


class UnverifiedCompanyInvitationCap(MailLimitReached, CompanyError):
    code = "unverified_company_invitation_cap"
    field_name = "email"

    def __init__(self, *, cap: int, first: bool = True) -> None:
        super().__init__(
            _(
                "An unverified company may have at most %(cap)s invitations waiting until "
                "the platform's operator verifies it: withdraw one, or wait for the "
                "verification."
            )
            % {"cap": cap},
            rule="unverified-company-invitations",
            first=first,
        )


# --- Status ----------------------------------------------------------------------------


class TransitionNotAllowed(CompanyError):
    code = "company_transition_not_allowed"
    message = _("The company's status does not allow this change.")


# --- Procurement profile ---------------------------------------------------------------


class UnknownDepartement(CompanyError):
    code = "unknown_departement"
    field_name = "main_departement"
    message = _("Choose a département of the territory from the list.")


class UnknownCompanySize(CompanyError):
    code = "unknown_company_size"
    field_name = "size"
    message = _("Choose a size from the list.")


class UnknownCpvCode(CompanyError):
    code = "cpv_unknown"
    field_name = "cpv_codes"
    message = _("Choose CPV codes of the CPV 2008 vocabulary from the list.")


class TooManyCpvCodes(CompanyError):
    code = "cpv_too_many"
    field_name = "cpv_codes"
    message = _("Give at most 50 CPV codes: choose the ones closest to what you do.")


class TextTooLong(CompanyError):
    code = "text_too_long"
    message = _("This text is too long.")


class ControlCharacters(CompanyError):
    code = "control_characters"
    message = _("This text holds invisible control characters: type it again without them.")


# --- Business vault --------------------------------------------------------------------


class UnknownDocumentType(CompanyError):
    code = "unknown_document_type"
    field_name = "document_type"
    message = _("Choose a type of document from the list.")


class EndDateRequired(CompanyError):
    code = "end_date_required"
    field_name = "valid_until"
    message = _("This type of certificate has an end of validity: give its date.")


class EndBeforeIssue(CompanyError):
    code = "end_before_issue"
    field_name = "valid_until"
    message = _("The end of validity cannot come before the issue date.")


class IssuedInFuture(CompanyError):
    code = "issued_in_future"
    field_name = "issued_on"
    message = _("The issue date cannot be in the future.")


class DocumentFileRequired(CompanyError):
    code = "document_file_required"
    field_name = "file"
    message = _("Choose the document's file.")


class DocumentTypeRefused(CompanyError):
    code = "document_type_refused"
    field_name = "file"
    message = _(
        "This file is not accepted: its content is not a PDF, an image (PNG, JPEG) or an "
        "office document (OpenDocument, Word, Excel), whatever its name says. Programs and "
        "renamed files are refused."
    )


class DocumentNotCurrent(CompanyError):
    code = "document_not_current"
    message = _("This document has already been replaced or archived.")
