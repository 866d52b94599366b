"""Errors of the operator back office: a stable ``code``, a translatable ``message`` and,
when the error is about one input, the ``field`` a form shows it on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class BackofficeError(MutualisError):
    code = "backoffice_error"


# --- Organisations ---------------------------------------------------------------------


class InvalidSiren(BackofficeError):
    code = "invalid_siren"
    field_name = "siren"
    message = _("This is not a valid SIREN number (9 digits with a valid check digit).")


class SirenRequired(BackofficeError):
    code = "siren_required"
    field_name = "siren"
    message = _("Communes and groupings of communes (EPCI) must have a SIREN number.")


class SirenTaken(BackofficeError):
    code = "siren_taken"
    field_name = "siren"
    message = _("Another organisation already has this SIREN number.")


class InvalidColour(BackofficeError):
    code = "invalid_colour"
    message = _("Enter a colour as #RRGGBB, for example #1d4e89.")


class KindNotCreatable(BackofficeError):
    code = "kind_not_creatable"
    field_name = "kind"
    message = _(
        "Organisations of this kind come from the territory import and cannot be created by hand."
    )


class OperatorExists(BackofficeError):
    code = "operator_exists"
    field_name = "kind"
    message = _("The platform already has its operator organisation.")


class NameRequired(BackofficeError):
    code = "name_required"
    field_name = "name"
    message = _("Enter the organisation's name.")


# --- Logos -----------------------------------------------------------------------------


class LogoTooLarge(BackofficeError):
    code = "logo_too_large"
    field_name = "logo"
    message = _("The logo file is too large: at most 1 MB.")


class LogoFormatRefused(BackofficeError):
    code = "logo_format_refused"
    field_name = "logo"
    message = _(
        "The logo must be a PNG or JPEG image. Other formats (SVG, GIF, WebP, PDF…) "
        "are not accepted."
    )


class LogoDamaged(BackofficeError):
    code = "logo_damaged"
    field_name = "logo"
    message = _("The logo file is damaged: it could not be read as a PNG or JPEG image.")


class LogoDimensionsTooLarge(BackofficeError):
    code = "logo_dimensions_too_large"
    field_name = "logo"
    message = _("The logo is too large: at most 4000 by 4000 pixels.")


# --- Subscriptions ---------------------------------------------------------------------


class NotAMember(BackofficeError):
    code = "not_a_member"
    message = _("Only members of the grouping can subscribe to its services.")


class ServiceUnavailable(BackofficeError):
    code = "service_unavailable"
    message = _("This service is not open to subscriptions.")


class AlreadySubscribed(BackofficeError):
    code = "already_subscribed"
    message = _("This organisation already subscribes to this service (resume it if suspended).")


class SubscriptionNotFound(BackofficeError):
    code = "subscription_not_found"
    message = _("This organisation does not subscribe to this service.")


class SubscriptionNotActive(BackofficeError):
    code = "subscription_not_active"
    message = _("This subscription is already suspended.")


class SubscriptionAlreadyActive(BackofficeError):
    code = "subscription_already_active"
    message = _("This subscription is already active.")


# --- E-mails ---------------------------------------------------------------------------


class EmailNotFailed(BackofficeError):
    code = "email_not_failed"
    message = _("Only failed e-mails can be retried.")
