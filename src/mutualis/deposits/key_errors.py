"""Refusals of the key ceremony (``keys.py``): a stable ``code``, a translated message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class KeyCeremonyError(MutualisError):
    code = "key_ceremony_error"


class RecipientTaken(KeyCeremonyError):
    code = "holder_recipient_taken"
    field_name = "recipient"
    message = _("This public key is already enrolled: generate a new key pair.")


class HolderKeyStillNeeded(KeyCeremonyError):
    code = "holder_key_still_needed"
    message = _(
        "Your current key holds a share of the opening key of consultations not yet opened"
        " (%(references)s): it cannot be replaced before they are opened."
    )


class ConsultationClosed(KeyCeremonyError):
    code = "opening_key_too_late"
    message = _(
        "The opening key can only be set before the deadline for responses, on a consultation"
        " that is neither closed nor cancelled."
    )


class OpeningKeyInUse(KeyCeremonyError):
    code = "opening_key_in_use"
    message = _(
        "Responses have already been sealed with the current opening key: it cannot be replaced."
    )


class HoldersInvalid(KeyCeremonyError):
    code = "opening_key_holders_invalid"
    field_name = "holders"
    message = _("Choose key holders among the enrolled commission members of your organisation.")


class ThresholdInvalid(KeyCeremonyError):
    code = "opening_key_threshold_invalid"
    field_name = "threshold"
    message = _("The number of members needed to open must be between 1 and the number of holders.")


class SharesInvalid(KeyCeremonyError):
    code = "opening_key_shares_invalid"
    message = _("The sealed key shares do not match the chosen holders.")


class EscrowInvalid(KeyCeremonyError):
    code = "opening_key_escrow_invalid"
    field_name = "escrow_index"
    message = _("The paper share's coordinate must be between 1 and 255.")


class NotEnoughShares(KeyCeremonyError):
    code = "opening_key_not_enough_shares"
    message = _("%(threshold)d key shares are needed to rebuild the opening key.")


class RebuiltKeyInvalid(KeyCeremonyError):
    code = "opening_key_rebuilt_invalid"
    message = _(
        "The shares do not rebuild an age private key: one of them is wrong or belongs to"
        " another consultation."
    )


class RebuiltKeyMismatch(KeyCeremonyError):
    code = "opening_key_rebuilt_mismatch"
    message = _(
        "The rebuilt key does not match this consultation's public key: one of the shares is"
        " wrong or belongs to another consultation."
    )


class ShareTextInvalid(KeyCeremonyError):
    code = "key_share_text_invalid"
    message = _("A key share is written in hexadecimal digits (0-9, a-f).")


class DefaultsInvalid(KeyCeremonyError):
    code = "opening_key_defaults_invalid"
    field_name = "threshold"
    message = _(
        "The members needed to open must be between 1 and the number of holders, at most %(max)d."
    )
