"""The signatures of an act's files, checked when the act is validated: a PDF's own
signatures (PAdES) and a detached PKCS#7 signature (CAdES, ``.p7s``) attached to a file.

The checks are ``mutualis.evidence.signatures``' (pyHanko and cryptography, against the
operator's trust anchors ``MUTUALIS_SIGNATURE_TRUST_ANCHORS``, offline). What they find is
kept on the act (``Act.signature_report``) and shown to the agent and in the API. A
signature that does not verify blocks the sending, with what to fix: an altered file
always; a certificate that was not valid when it signed, or that does not chain to a
trust anchor, too while ``MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED`` holds (the
default), and is otherwise a warning on the act. A file without any signature is not a
problem: the @ctes protocol does not require one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from mutualis.evidence import signatures

from . import errors


@dataclass(frozen=True)
class SignedFile:
    """A file of the act, its bytes, and the detached signature attached to it if any."""

    name: str
    data: bytes
    signature: bytes | None = None
    is_pdf: bool = False


def _entry(name: str, report: signatures.SignatureReport) -> dict[str, Any]:
    return {
        "file": name,
        "kind": report.kind,
        "valid": report.valid,
        "intact": report.intact,
        "trusted": report.trusted,
        "certificate_valid_at_signing": report.certificate_valid_at_signing,
        "signer": report.signer,
        "issuer": report.issuer,
        "signing_time": report.signing_time.isoformat() if report.signing_time else None,
        "problems": list(report.problems),
    }


def _refusal(entry: dict[str, Any], must_be_trusted: bool) -> str | None:
    """Why this signature blocks the sending, or None."""
    if not entry["intact"]:
        return _("the file was altered after it was signed, or the signature is damaged")
    if not must_be_trusted:
        return None
    if not entry["certificate_valid_at_signing"]:
        return _("the signer's certificate was not valid when it signed")
    if not entry["trusted"]:
        return _("the signer's certificate is not issued by an authority the platform trusts")
    return None


def check(files: Sequence[SignedFile]) -> tuple[list[dict[str, Any]], list[errors.LegalityError]]:
    """The report of every signature found on ``files``, and the problems that block
    the sending (one per signature that does not verify)."""
    must_be_trusted = bool(settings.MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED)
    report: list[dict[str, Any]] = []
    problems: list[errors.LegalityError] = []
    for file in files:
        found: list[dict[str, Any]] = []
        # A PDF without a signature dictionary has no /ByteRange: pyHanko is not needed.
        if file.is_pdf and b"/ByteRange" in file.data:
            found += [_entry(file.name, r) for r in signatures.verify_pdf(file.data)]
        if file.signature is not None:
            detached = signatures.verify_cades(file.signature, file.data)
            if not detached:
                problems.append(
                    errors.SignatureInvalid(
                        errors.SignatureInvalid.message
                        % {"name": file.name, "reason": _("the signature file cannot be read")}
                    )
                )
            found += [_entry(file.name, r) for r in detached]
        for entry in found:
            reason = _refusal(entry, must_be_trusted)
            if reason is not None:
                problems.append(
                    errors.SignatureInvalid(
                        errors.SignatureInvalid.message % {"name": file.name, "reason": reason}
                    )
                )
        report += found
    return report, problems
