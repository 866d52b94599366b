"""What the agent is told when a PES flow is refused: a stable ``code`` and what to fix."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..errors import LegalityError


class PesError(LegalityError):
    code = "pes_error"
    field_name = "file"


class FileRequired(PesError):
    code = "pes_file_required"
    message = _("Choose the PES_Aller file exported by your finance software.")


class TooLarge(PesError):
    code = "pes_too_large"
    message = _("The file is larger than %(limit)s MB, the limit for one flow.")


class NulBytes(PesError):
    code = "pes_nul_bytes"
    message = _(
        "The file contains NUL bytes: it is not a PES XML file (export it again from your "
        "finance software)."
    )


class Unreadable(PesError):
    code = "pes_unreadable"
    message = _("The file is not well-formed XML (%(detail)s): it may be truncated.")


class DoctypeRefused(PesError):
    code = "pes_doctype"
    message = _("The file declares a document type (DOCTYPE), which a PES file never has.")


class NotAller(PesError):
    code = "pes_not_aller"
    message = _("The file is not a PES_Aller flow (%(detail)s).")


class SchemaInvalid(PesError):
    code = "pes_schema_invalid"
    message = _("The flow does not follow the PES V2 schema: %(detail)s.")


class NotPesAller(PesError):
    code = "pes_typfic"
    message = _("The flow's file type (TypFic) must be PESALR1.")


class SirenMissing(PesError):
    code = "pes_siren_missing"
    message = _(
        "Your organisation has no SIREN number in the directory: ask the operator to add it."
    )


class OtherCollectivity(PesError):
    code = "pes_other_collectivity"
    message = _(
        "The flow is for the collectivity %(siret)s (IdColl), not for your organisation: "
        "import only your own flows."
    )


class NomficTaken(PesError):
    code = "pes_nomfic_taken"
    message = _(
        "A flow named %(nomfic)s (NomFic) was already imported: each flow needs a new name."
    )

    def __init__(self, nomfic: str = "") -> None:
        super().__init__(self.message % {"nomfic": nomfic})
        # The name, for the API's retry of an import (``api.py``).
        self.nomfic = nomfic


class SignatureMissing(PesError):
    code = "pes_signature_missing"
    message = _(
        "The flow is declared dematerialised (InfoDematerialisee = 1): every bordereau "
        "must be signed. Missing: %(detail)s."
    )


class SignatureForbidden(PesError):
    code = "pes_signature_forbidden"
    message = _(
        "The flow is declared non-dematerialised (InfoDematerialisee = 0): it must carry "
        "no signature."
    )


class SignatureInvalid(PesError):
    code = "pes_signature_invalid"
    message = _("A signature does not hold (%(detail)s): sign the flow again.")


class NotTheSameFlow(PesError):
    code = "pes_not_the_same_flow"
    message = _(
        "The signed file is not the flow imported (its content differs apart from the "
        "signatures): import it as a new flow."
    )


class UnknownFlow(PesError):
    code = "pes_unknown_flow"
    message = _("No flow of this member has this name.")
