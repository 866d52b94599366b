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
