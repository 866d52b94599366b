"""The selection criteria a buyer sets in its ESPD request (the DUME), with their
requirements, stored on the consultation (``Consultation.espd_selection``) and exported
by ``espd_export``.

The criteria are the ESPD-EDM taxonomy's (``espd.of_family("selection")``, each with its
official code and French name), in the three headings of article 58 of directive
2014/24 and R. 2142-1 of the code de la commande publique: suitability to pursue the
professional activity, economic and financial standing, technical and professional
ability. Each criterion asks only the requirements the taxonomy gives it: a description,
a minimum amount (EUR), a number of years, a minimum quantity. The buyer sets each
criterion once; setting it again replaces it. Changes only while the consultation is a
draft, like everything else the buyer publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import errors, espd
from .models import Consultation
from .services import locked_consultation, record_event, require_buyer, require_draft

SUITABILITY = ("prof-regist", "trade-regist", "authorisation", "membership")
ECONOMIC = (
    "gen-year-to", "aver-year-to", "spec-aver-to", "spec-year-to", "finan-rat", "indem-insu",
    "finan-requ",
)  # fmt: skip
HEADINGS = (
    ("suitability", _("Suitability to pursue the professional activity")),
    ("economic", _("Economic and financial standing")),
    ("technical", _("Technical and professional ability")),
)
# The requirement types the form's fields fill (a criterion has at most one quantity).
QUANTITIES = ("MINIMUM_QUANTITY_YEAR", "MINIMUM_QUANTITY_INTEGER", "MINIMUM_QUANTITY")
WHOLE = {"QUANTITY_YEAR", "MINIMUM_QUANTITY_YEAR", "MINIMUM_QUANTITY_INTEGER"}
DESCRIPTION_LENGTH = 2000


def heading_of(code: str) -> str:
    if code in SUITABILITY:
        return "suitability"
    if code in ECONOMIC:
        return "economic"
    return "technical"


def criteria() -> dict[str, espd.Criterion]:
    return {c.code: c for c in espd.of_family("selection")}


def choices() -> list[tuple[Any, list[tuple[str, str]]]]:
    """The criteria grouped under their headings, for a select."""
    known = criteria().values()
    return [
        (label, [(c.code, c.name_fr or c.name) for c in known if heading_of(c.code) == key])
        for key, label in HEADINGS
    ]


@dataclass(frozen=True)
class SetCriterion:
    """What the buyer enters for one criterion; the fields the criterion does not ask
    are ignored."""

    code: str
    description: str = ""
    minimum_amount: Decimal | None = None
    years: int | None = None
    minimum_quantity: Decimal | None = None


def _values(data: SetCriterion) -> dict[str, str]:
    criterion = criteria().get(data.code)
    if criterion is None:
        raise errors.SelectionCriterionUnknown()
    asked = set(criterion.requirements)
    values: dict[str, str] = {}
    description = data.description.strip()
    if "DESCRIPTION" in asked and description:
        if len(description) > DESCRIPTION_LENGTH or "\x00" in description:
            raise errors.SelectionValueInvalid(field="description")
        values["DESCRIPTION"] = description
    if "MINIMUM_AMOUNT" in asked and data.minimum_amount is not None:
        values["MINIMUM_AMOUNT"] = _number(data.minimum_amount, whole=False, field="minimum_amount")
    if "QUANTITY_YEAR" in asked and data.years is not None:
        values["QUANTITY_YEAR"] = _number(Decimal(data.years), whole=True, field="years")
    quantity = next((kind for kind in QUANTITIES if kind in asked), None)
    if quantity and data.minimum_quantity is not None:
        values[quantity] = _number(
            data.minimum_quantity, whole=quantity in WHOLE, field="minimum_quantity"
        )
    return values


def _number(value: Decimal, *, whole: bool, field: str) -> str:
    try:
        if not value.is_finite() or value < 0 or (whole and value != value.to_integral()):
            raise errors.SelectionValueInvalid(field=field)
        return format(value.normalize(), "f")
    except InvalidOperation:
        raise errors.SelectionValueInvalid(field=field) from None


def rows_of(consultation: Consultation) -> list[dict[str, Any]]:
    """The criteria set on ``consultation``, for its pages, in the taxonomy's order."""
    known = criteria()
    chosen = {row["code"]: row.get("values", {}) for row in consultation.espd_selection}
    return [
        {"criterion": c, "values": chosen[c.code], "heading": heading_of(c.code)}
        for c in known.values()
        if c.code in chosen
    ]


def selections_of(consultation: Consultation) -> list[espd.Selection]:
    """What ``espd_export`` gives the ESPD request: every criterion, for every lot."""
    return [
        espd.Selection(code=row["criterion"].code, values=dict(row["values"]))
        for row in rows_of(consultation)
    ]


@transaction.atomic(durable=True)
def set_criterion(
    *,
    actor: Any,
    consultation_id: int,
    data: SetCriterion,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    values = _values(data)
    rows = [row for row in consultation.espd_selection if row.get("code") != data.code]
    rows.append({"code": data.code, "values": values})
    consultation.espd_selection = rows
    consultation.save(update_fields=["espd_selection", "updated_at"])
    record_event(
        consultation,
        actor=actor,
        action="consultation.selection_criterion_set",
        payload={"code": data.code, "requirements": sorted(values)},
        request_context=request_context,
    )
    return consultation


@transaction.atomic(durable=True)
def remove_criterion(
    *,
    actor: Any,
    consultation_id: int,
    code: str,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    rows = [row for row in consultation.espd_selection if row.get("code") != code]
    if len(rows) == len(consultation.espd_selection):
        raise errors.SelectionCriterionUnknown()
    consultation.espd_selection = rows
    consultation.save(update_fields=["espd_selection", "updated_at"])
    record_event(
        consultation,
        actor=actor,
        action="consultation.selection_criterion_removed",
        payload={"code": code},
        request_context=request_context,
    )
    return consultation
