"""Errors of the evidence context: a stable ``code`` and a translatable ``message``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class EvidenceError(MutualisError):
    code = "evidence_error"


class AuthorityNotConfigured(EvidenceError):
    code = "tsa_not_configured"
    message = _(
        "The time-stamping authority has no key or certificate: run `mutualis setup` or set "
        "MUTUALIS_TSA_KEY and MUTUALIS_TSA_CERTIFICATE."
    )


class InvalidTimestamp(EvidenceError):
    code = "timestamp_invalid"
    message = _("The time-stamp token is not valid.")


class TimestampMismatch(InvalidTimestamp):
    code = "timestamp_mismatch"
    message = _("The time-stamp token covers another digest.")


class InvalidProof(EvidenceError):
    code = "merkle_proof_invalid"
    message = _("The proof does not match the tree.")
