"""A contract's DECP 2.0.3 ``marche``, from the procedure's own records: pure functions,
no database (``entries.py`` reads the records and stores the result).

Nothing is typed twice: every field is read from the consultation (nature, object,
CPV, procedure, CCAG, techniques, execution modes, price types and form,
considerations, innovative purchase, advance payment, place of execution), the award
(offers received), the contract (reference, holder and co-contractors by SIRET,
grouping, subcontracting declared, amount, duration, notification) and its amendments
(``modifications``, each with the new values it sets; the original stays), and the
buyer's SIRET.

What the schema requires and a record may lack is never guessed: it is a *problem*
(``Problem``) the buyer is shown, and the entry is not published until it is fixed —
a missing CCAG, price types or price form, a buyer without a SIRET, a subsequent
contract (its framework agreement's procedure and ``idAccordCadre`` are not recorded),
no place of execution that gives a code. The defaults the format itself defines are
applied: no technique is "Sans objet", no consideration is "Pas de considération …".
Optional fields the platform does not record are left out (``tauxAvance``,
``origineUE``, ``origineFrance``, ``actesSousTraitance``).
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from datetime import date
from decimal import Decimal
from typing import Any

from mutualis.contracts.models import DECP_GROUPING
from mutualis.procurement.vocabulary import (
    DECP_CCAG,
    DECP_ENVIRONMENTAL,
    DECP_EXECUTION_MODE,
    DECP_NATURE,
    DECP_NOT_APPLICABLE,
    DECP_PRICE_FORM,
    DECP_PRICE_TYPE,
    DECP_PROCEDURE,
    DECP_SOCIAL,
    DECP_TECHNIQUE,
)

# Arrêté du 22 décembre 2022, article 1: contracts of 40,000 € excl. VAT or more.
THRESHOLD = Decimal("40000")
# R2196-1 and the arrêté: published within two months of the notification.
CLOCK_MONTHS = 2
OBJECT_MAX = 1000
NO_SOCIAL = "Pas de considération sociale"
NO_ENVIRONMENTAL = "Pas de considération environnementale"
_POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")


@dataclasses.dataclass(frozen=True)
class Problem:
    """What stops an entry from being valid: the DECP field, a stable code, and for a
    schema error the validator's own words (``detail``)."""

    field: str
    code: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class AmendmentRecord:
    number: int
    notified_on: date
    new_amount: Decimal | None = None
    new_duration_months: int | None = None


@dataclasses.dataclass(frozen=True)
class Place:
    """DECP ``lieuExecution``: a code and its type ("Code postal", "Code commune"…)."""

    code: str
    type_code: str


@dataclasses.dataclass(frozen=True)
class ContractRecords:
    """What the records say about one contract, read by ``entries.records_of``."""

    reference: str
    buyer_siret: str
    nature: str
    object: str
    cpv: str
    procedure: str
    ccag: str
    techniques: tuple[str, ...]
    execution_modes: tuple[str, ...]
    price_types: tuple[str, ...]
    price_form: str
    social: tuple[str, ...]
    environmental: tuple[str, ...]
    innovative: bool
    advance_payment: bool
    bidders: int
    grouping: str
    holder_siret: str
    co_contractors: tuple[str, ...]
    subcontractors: tuple[str, ...]
    place: Place | None
    amount: Decimal
    duration_months: int
    notified_on: date
    amendments: tuple[AmendmentRecord, ...] = ()


def concerned(amount: Decimal) -> bool:
    """Is a contract of ``amount`` excl. VAT (as signed) subject to the DECP? Below the
    threshold nothing is generated (publication is optional there; the platform does
    not offer it)."""
    return amount >= THRESHOLD


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, on the month's last day when the day
    does not exist (31 December + 2 months = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_on(notified_on: date) -> date:
    """The last day to publish: two months after the notification."""
    return add_months(notified_on, CLOCK_MONTHS)


def place_of(place_text: str, *, kind: str, insee_code: str, postcode: str) -> Place | None:
    """The place of execution: the postcode written in the consultation's place, else
    the buyer's own commune (INSEE code) when it is a commune, else the buyer's
    postcode; None when none of these exists (a problem to fix)."""
    found = _POSTCODE.search(place_text or "")
    if found:
        return Place(found.group(1), "Code postal")
    if kind == "commune" and insee_code:
        return Place(insee_code, "Code commune")
    if postcode:
        return Place(postcode, "Code postal")
    return None


def _number(value: Decimal) -> int | float:
    # JSON numbers: whole euros as integers, cents as a float of the exact text.
    return int(value) if value == value.to_integral_value() else float(str(value))


def _holders(sirets: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}} for siret in sirets]


def _mapped(values: tuple[str, ...], table: dict[Any, str], empty: str) -> list[str]:
    words = [table[v] for v in values if v in table]
    return list(dict.fromkeys(words)) or [empty]


def generate(
    records: ContractRecords,
    *,
    today: date,
    first_public_on: date | None = None,
    modifications_public_on: dict[str, str] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """The ``marche`` of ``records`` and the problems found before the schema is asked.

    ``first_public_on`` is the ``datePublicationDonnees``: the day the data were first
    made public, kept from then on (``today`` until they are). ``modifications_public_on``
    gives the day each amendment first was, by number; the others take ``today``. A
    field with a problem is left out, so that the schema names it too.
    """
    problems: list[Problem] = []
    published = modifications_public_on or {}
    entry: dict[str, Any] = {"id": records.reference}
    if records.buyer_siret:
        entry["acheteur"] = {"id": records.buyer_siret}
    else:
        problems.append(Problem("acheteur", "buyer_siret_missing"))
    if records.nature in DECP_NATURE:
        entry["nature"] = DECP_NATURE[records.nature]  # type: ignore[index]
    else:
        problems.append(Problem("nature", "nature_missing"))
    entry["objet"] = records.object[:OBJECT_MAX]
    entry["codeCPV"] = records.cpv
    entry["techniques"] = {
        "technique": _mapped(records.techniques, DECP_TECHNIQUE, DECP_NOT_APPLICABLE)
    }
    entry["modalitesExecution"] = {
        "modaliteExecution": _mapped(
            records.execution_modes, DECP_EXECUTION_MODE, DECP_NOT_APPLICABLE
        )
    }
    entry["marcheInnovant"] = records.innovative
    if records.ccag in DECP_CCAG:
        entry["ccag"] = DECP_CCAG[records.ccag]  # type: ignore[index]
    else:
        problems.append(Problem("ccag", "ccag_missing"))
    if records.bidders >= 1:
        entry["offresRecues"] = records.bidders
    else:
        problems.append(Problem("offresRecues", "bidders_missing"))
    entry["attributionAvance"] = records.advance_payment
    entry["typeGroupementOperateurs"] = DECP_GROUPING.get(
        records.grouping,  # type: ignore[call-overload]
        DECP_GROUPING["none"],  # type: ignore[index]
    )
    procedure = DECP_PROCEDURE.get(records.procedure)
    if procedure:
        entry["procedure"] = procedure
    else:
        problems.append(Problem("procedure", "procedure_not_in_decp"))
    if records.place is not None:
        entry["lieuExecution"] = {"code": records.place.code, "typeCode": records.place.type_code}
    else:
        problems.append(Problem("lieuExecution", "place_missing"))
    entry["dureeMois"] = records.duration_months
    entry["dateNotification"] = records.notified_on.isoformat()
    entry["datePublicationDonnees"] = (first_public_on or today).isoformat()
    entry["montant"] = _number(records.amount)
    price_types = [DECP_PRICE_TYPE[p] for p in records.price_types if p in DECP_PRICE_TYPE]  # type: ignore[index]
    if price_types:
        entry["typesPrix"] = {"typePrix": list(dict.fromkeys(price_types))}
    else:
        problems.append(Problem("typesPrix", "price_types_missing"))
    if records.price_form in DECP_PRICE_FORM:
        entry["formePrix"] = DECP_PRICE_FORM[records.price_form]  # type: ignore[index]
    else:
        problems.append(Problem("formePrix", "price_form_missing"))
    entry["sousTraitanceDeclaree"] = bool(records.subcontractors)
    holders = tuple(dict.fromkeys((records.holder_siret, *records.co_contractors)))
    entry["titulaires"] = _holders(holders)
    entry["considerationsSociales"] = {
        "considerationSociale": _mapped(records.social, DECP_SOCIAL, NO_SOCIAL)
    }
    entry["considerationsEnvironnementales"] = {
        "considerationEnvironnementale": _mapped(
            records.environmental, DECP_ENVIRONMENTAL, NO_ENVIRONMENTAL
        )
    }
    modifications = []
    for amendment in sorted(records.amendments, key=lambda a: a.number):
        modification: dict[str, Any] = {
            "id": amendment.number,
            "dateNotificationModification": amendment.notified_on.isoformat(),
            "datePublicationDonneesModification": published.get(
                str(amendment.number), today.isoformat()
            ),
        }
        if amendment.new_duration_months is not None:
            modification["dureeMois"] = amendment.new_duration_months
        if amendment.new_amount is not None:
            modification["montant"] = _number(amendment.new_amount)
        modifications.append({"modification": modification})
    if modifications:
        entry["modifications"] = modifications
    return entry, problems
