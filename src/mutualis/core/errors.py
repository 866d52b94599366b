"""Errors of the platform core: a stable ``code`` and a translatable ``message``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class MutualisError(Exception):
    """A refused use case: ``code`` is stable, ``message`` translated, and ``field`` names
    the input a form shows it on (``field_name`` gives the default)."""

    code = "error"
    message: _StrOrPromise = _("Something went wrong.")
    field_name: str | None = None

    def __init__(self, message: _StrOrPromise | None = None, *, field: str | None = None) -> None:
        if message is not None:
            self.message = message
        self.field = field or self.field_name
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": str(self.message)}


class NoMembership(PermissionDenied):
    code = "no_membership"
    message = _("You do not act for any organisation.")


class TerritoryFileError(MutualisError):
    code = "territory_file_invalid"
    message = _("A territory file is invalid.")


class PlatformError(MutualisError):
    """A refused use case of the platform core (organisations, subscriptions, outbox)."""

    code = "platform_error"


# --- Organisations ---------------------------------------------------------------------


class InvalidSiren(PlatformError):
    code = "invalid_siren"
    field_name = "siren"
    message = _("This is not a valid SIREN number (9 digits with a valid check digit).")


class SirenRequired(PlatformError):
    code = "siren_required"
    field_name = "siren"
    message = _("Communes and groupings of communes (EPCI) must have a SIREN number.")


class SirenTaken(PlatformError):
    code = "siren_taken"
    field_name = "siren"
    message = _("Another organisation already has this SIREN number.")


class InvalidColour(PlatformError):
    code = "invalid_colour"
    message = _("Enter a colour as #RRGGBB, for example #1d4e89.")


class KindNotCreatable(PlatformError):
    code = "kind_not_creatable"
    field_name = "kind"
    message = _(
        "Organisations of this kind come from the territory import and cannot be created by hand."
    )


class OperatorExists(PlatformError):
    code = "operator_exists"
    field_name = "kind"
    message = _("The platform already has its operator organisation.")


class NameRequired(PlatformError):
    code = "name_required"
    field_name = "name"
    message = _("Enter the organisation's name.")


# --- Logos -----------------------------------------------------------------------------


class LogoTooLarge(PlatformError):
    code = "logo_too_large"
    field_name = "logo"
    message = _("The logo file is too large: at most 1 MB.")


class LogoFormatRefused(PlatformError):
    code = "logo_format_refused"
    field_name = "logo"
    message = _(
        "The logo must be a PNG or JPEG image. Other formats (SVG, GIF, WebP, PDF…) "
        "are not accepted."
    )


class LogoDamaged(PlatformError):
    code = "logo_damaged"
    field_name = "logo"
    message = _("The logo file is damaged: it could not be read as a PNG or JPEG image.")


class LogoDimensionsTooLarge(PlatformError):
    code = "logo_dimensions_too_large"
    field_name = "logo"
    message = _("The logo is too large: at most 4000 by 4000 pixels.")


# --- Subscriptions ---------------------------------------------------------------------


class NotAMember(PlatformError):
    code = "not_a_member"
    message = _("Only members of the grouping can subscribe to its services.")


class ServiceUnavailable(PlatformError):
    code = "service_unavailable"
    message = _("This service is not open to subscriptions.")


class AlreadySubscribed(PlatformError):
    code = "already_subscribed"
    message = _("This organisation already subscribes to this service (resume it if suspended).")


class SubscriptionNotFound(PlatformError):
    code = "subscription_not_found"
    message = _("This organisation does not subscribe to this service.")


class SubscriptionNotActive(PlatformError):
    code = "subscription_not_active"
    message = _("This subscription is already suspended.")


class SubscriptionAlreadyActive(PlatformError):
    code = "subscription_already_active"
    message = _("This subscription is already active.")


# --- E-mails ---------------------------------------------------------------------------


class EmailNotFailed(PlatformError):
    code = "email_not_failed"
    message = _("Only failed e-mails can be retried.")


class EmailLinksRemoved(PlatformError):
    code = "email_links_removed"
    message = _(
        "This e-mail carried a single-use link, removed once it failed: it cannot be sent "
        "again. The person can ask for a new one (a new invitation, a new password reset)."
    )


# --- Organisation contact data ---------------------------------------------------------


class InvalidSiret(PlatformError):
    code = "invalid_siret"
    field_name = "siret"
    message = _("This is not a valid SIRET number.")


class SiretWrongLength(InvalidSiret):
    code = "siret_wrong_length"
    message = _("A SIRET number has 14 digits: the 9 of the SIREN, then the 5 of the NIC.")


class SiretNotDigits(InvalidSiret):
    code = "siret_not_digits"
    message = _("A SIRET number is made of digits only (spaces are ignored).")


class SiretBadCheckDigit(InvalidSiret):
    code = "siret_bad_check_digit"
    message = _(
        "This SIRET number does not exist: its check digit is wrong. Check it against "
        "your Kbis extract or the SIRENE register."
    )


class SiretOfAnotherSiren(PlatformError):
    code = "siret_of_another_siren"
    field_name = "siret"
    message = _(
        "This SIRET number is not an establishment of this organisation: its first 9 digits "
        "must be the organisation's SIREN."
    )


class InvalidPostcode(PlatformError):
    code = "invalid_postcode"
    field_name = "postcode"
    message = _("A postcode has 5 digits, for example 21000.")


class InvalidPhone(PlatformError):
    code = "invalid_phone"
    field_name = "phone"
    message = _(
        "Enter a telephone number of 10 digits (03 80 12 34 56), or an international "
        "number starting with + (+33 3 80 12 34 56)."
    )


class InvalidContactEmail(PlatformError):
    code = "invalid_contact_email"
    field_name = "contact_email"
    message = _("Enter a valid e-mail address.")


class TextTooLong(PlatformError):
    code = "text_too_long"
    message = _("This text is too long.")


class NulCharacter(PlatformError):
    code = "nul_character"
    message = _("This text contains a character that is not allowed.")


# --- Invitations -----------------------------------------------------------------------


class InvitationError(MutualisError):
    """A link that does not work (any more), or an invitation that cannot change: the
    same codes for an organisation's and a company's invitations."""

    code = "invitation_error"


class InvitationNotFound(InvitationError):
    code = "invitation_not_found"
    message = _("This invitation link is not valid. Check that you copied the whole link.")


class InvitationExpired(InvitationError):
    code = "invitation_expired"
    message = _("This invitation has expired. Ask the person who invited you to send a new one.")


class InvitationRevoked(InvitationError):
    code = "invitation_revoked"
    message = _("This invitation has been withdrawn.")


class InvitationUsed(InvitationError):
    code = "invitation_used"
    message = _("This invitation has already been accepted. Each link can be used only once.")


class InvitationForAnotherAddress(InvitationError):
    code = "invitation_other_address"
    message = _(
        "This invitation was sent to an e-mail address that is not a verified address of "
        "your account. Log in with the account of that address, or add and verify it."
    )


class InvitationNotOpen(InvitationError):
    code = "invitation_not_open"
    message = _("This invitation has already been accepted or withdrawn.")


class ServiceNotSubscribed(MutualisError):
    """The acting organisation has no active subscription to the service: new actions of
    the member stop; what it published and what others are entitled to goes on."""

    code = "service_not_subscribed"
    message = _(
        "Your organisation's subscription to this service is suspended or missing: "
        "nothing new can be done in it for now."
    )


class MailLimitReached(MutualisError):
    """A person asked for an e-mail beyond a limit (``core.ratelimit.take``): nothing
    was sent. ``rule`` names the limit; ``first`` says whether this is its first refusal
    in the window (the one the audit trail records)."""

    code = "mail_limit_reached"
    message = _("Too many e-mails were sent recently: nothing was sent. Try again later.")

    def __init__(
        self, message: _StrOrPromise | None = None, *, rule: str = "", first: bool = True
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.first = first


class EmailRefused(MutualisError):
    """An e-mail that ``queue_email`` refuses to write to the outbox."""

    code = "email_refused"
    message = _("This e-mail cannot be sent.")


class EmailHeaderRefused(EmailRefused):
    code = "email_header_refused"

    def __init__(self, name: object) -> None:
        super().__init__(
            _(
                "The e-mail header %(name)s is refused: a header name must be printable "
                "ASCII without a colon, its value without line breaks, and the platform "
                "sets the address and content headers itself."
            )
            % {"name": repr(name)}
        )


class EmailAlternativeRefused(EmailRefused):
    code = "email_alternative_refused"

    def __init__(self, mimetype: str) -> None:
        super().__init__(
            _("An alternative part must be text (text/html, text/calendar…), not %(type)s.")
            % {"type": repr(mimetype)}
        )


class EmailAttachmentRefused(EmailRefused):
    code = "email_attachment_refused"

    def __init__(self, filename: str) -> None:
        super().__init__(
            _(
                "The attachment %(name)s is refused: it needs a name without line breaks "
                "or slashes, and a content type such as application/pdf."
            )
            % {"name": repr(filename)}
        )


class EmailAttachmentsTooLarge(EmailRefused):
    code = "email_attachments_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            _(
                "The attachments weigh %(size)d bytes, above the limit of %(limit)d bytes "
                "per e-mail: share large documents by link."
            )
            % {"size": size, "limit": limit}
        )


# --- Input refused at the edge (mutualis.core.edge) -------------------------------------


class InputRefused(MutualisError):
    """Input that no page or operation can use, refused before any view (answered 400)."""

    code = "input_refused"
    status = 400


class ControlCharacter(InputRefused):
    code = "control_character"
    message = _(
        "The request contains a control character (such as a NUL byte), which no text may contain."
    )


class InvalidEncoding(InputRefused):
    code = "invalid_encoding"
    message = _("The request is not valid UTF-8 text.")


class MalformedInput(InputRefused):
    code = "malformed_input"
    message = _("The request's content is nested too deeply to be read.")


class InputTooLong(InputRefused):
    code = "input_too_long"
    message = _("A value of the request is too long.")
