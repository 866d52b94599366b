"""The OCDS content of a procedure, built from its public facts (``crossings.ProcedureFacts``),
and the tags of a release from what changed since the previous one.

Each release is a full snapshot of what is public at that moment (tender, awards,
contracts, parties): OCDS lets a release repeat unchanged fields, ``ocdsmerge`` compiles
them alike, and a consumer reading one release sees the whole procedure. The tags say
what changed (``tags``); the stage is the furthest part that changed.

What is never here: anything of a deposit that was not opened, the amount of an offer
that did not win (only an award's value, the winner's), a decision not yet notified
(a draft), the reasons written to each bidder. Identifiers: the ocid is
``<OCDS_OCID_PREFIX>-<consultation id>``; parties are named ``FR-RCS-<SIREN>`` after the
org-id.guide list FR-RCS (http://org-id.guide/list/FR-RCS: SIREN, the identifier INSEE
gives every French business and public body in the SIRENE register).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from mutualis.contracts.models import AwardOutcome, AwardState, ContractState
from mutualis.contracts.records import current_terms
from mutualis.procurement.models import CancellationKind, State
from mutualis.procurement.vocabulary import DECP_PROCEDURE, Category, Procedure

from .crossings import ProcedureFacts
from .models import Stage

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_PREFIX = "ocds-mutual"
SCHEME = "FR-RCS"
CURRENCY = "EUR"

# OCDS ``procurementMethod`` (codelist method.csv) of each French procedure.
METHOD: dict[str, str] = {
    Procedure.ADAPTED: "open",  # published: any business may respond
    Procedure.OPEN: "open",
    Procedure.RESTRICTED: "selective",
    Procedure.NEGOTIATED: "selective",
    Procedure.COMPETITIVE_DIALOGUE: "selective",
    Procedure.WITHOUT_PUBLICITY: "limited",
    Procedure.REQUEST_FOR_INFORMATION: "open",
    Procedure.SUBSEQUENT: "selective",  # the framework agreement's holders only
}
# ``procurementMethodDetails``: the procedure in French, as the DECP names it.
METHOD_DETAILS: dict[str, str] = {
    **{k: v for k, v in DECP_PROCEDURE.items() if v},
    Procedure.REQUEST_FOR_INFORMATION: "Demande de renseignements (sourçage)",
    Procedure.SUBSEQUENT: "Marché subséquent d'un accord-cadre",
}
CATEGORY: dict[str, str] = {
    Category.WORKS: "works",
    Category.SUPPLIES: "goods",
    Category.SERVICES: "services",
}


def ocid_prefix() -> str:
    # Registered with the Open Contracting Partnership for each publisher (docs/adr/0011).
    return str(getattr(settings, "OCDS_OCID_PREFIX", DEFAULT_PREFIX))


def ocid_of(consultation_id: int) -> str:
    return f"{ocid_prefix()}-{consultation_id}"


def canonical(data: Any) -> bytes:
    """The canonical JSON of ``data``: keys sorted, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def moment(value: datetime) -> str:
    """A date-time in UTC, to the second."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def day_start(value: date) -> str:
    """A day as OCDS wants it (a date-time): its midnight in Paris."""
    return datetime.combine(value, time(0), tzinfo=PARIS).isoformat()


def amount(value: Decimal | None) -> dict[str, Any] | None:
    if value is None:
        return None
    number: int | float = int(value) if value == value.to_integral_value() else float(value)
    return {"amount": number, "currency": CURRENCY}


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months (the last day of a shorter month)."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    month += 1
    for day in range(start.day, 27, -1):
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return start.replace(year=year, month=month, day=min(start.day, 28))


def party_id(siren: str, fallback: str) -> str:
    return f"{SCHEME}-{siren}" if siren else fallback


def _party(name: str, siren: str, fallback: str, roles: list[str]) -> dict[str, Any]:
    party: dict[str, Any] = {"id": party_id(siren, fallback), "name": name, "roles": roles}
    if siren:
        party["identifier"] = {"scheme": SCHEME, "id": siren, "legalName": name}
    return party


def _company_ref(company: Any) -> dict[str, str]:
    return {"id": party_id(company.siren, f"company-{company.pk}"), "name": company.name}


def _lot_id(number: int) -> str:
    return f"lot-{number}"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without its None values and empty lists (OCDS omits unknown fields)."""
    return {k: v for k, v in data.items() if v is not None and v != []}


# --- The parts of a release ------------------------------------------------------------


def _lot_decisions(facts: ProcedureFacts) -> dict[int | None, Any]:
    """The living notified decision of each lot number (None: the whole procedure)."""
    decisions: dict[int | None, Any] = {}
    for award in facts.awards:
        if award.state == AwardState.ABANDONED:
            continue
        decisions[award.lot.number if award.lot is not None else None] = award
    return decisions


def _tender_status(facts: ProcedureFacts) -> str:
    c = facts.consultation
    if c.state == State.CANCELLED:
        return (
            "unsuccessful" if c.cancellation_kind == CancellationKind.UNSUCCESSFUL else "cancelled"
        )
    if c.procedure == Procedure.REQUEST_FOR_INFORMATION:
        return "planning"
    decisions = _lot_decisions(facts)
    numbers: list[int | None] = [lot.number for lot in facts.lots] or [None]
    if all(n in decisions for n in numbers) or None in decisions:
        return "complete"
    return "active"


def _lot_status(award: Any) -> str:
    if award is None:
        return "active"
    return {
        AwardOutcome.AWARDED: "complete",
        AwardOutcome.UNSUCCESSFUL: "unsuccessful",
        AwardOutcome.DISCONTINUED: "cancelled",
    }[award.outcome]


def _tender(facts: ProcedureFacts) -> dict[str, Any]:
    c = facts.consultation
    decisions = _lot_decisions(facts)
    items = [
        _clean(
            {
                "id": "1",
                "description": c.object,
                "classification": {"scheme": "CPV", "id": c.main_cpv},
                "additionalClassifications": [
                    {"scheme": "CPV", "id": code} for code in c.additional_cpv
                ],
            }
        )
    ]
    for lot in facts.lots:
        for index, code in enumerate(lot.cpv_codes or [c.main_cpv]):
            items.append(
                {
                    "id": f"{_lot_id(lot.number)}-{index + 1}",
                    "description": lot.title,
                    "classification": {"scheme": "CPV", "id": code},
                    "relatedLot": _lot_id(lot.number),
                }
            )
    lots = [
        _clean(
            {
                "id": _lot_id(lot.number),
                "title": lot.title,
                "description": lot.description or None,
                "value": amount(lot.estimated_value),
                "status": _lot_status(decisions.get(lot.number)),
            }
        )
        for lot in facts.lots
    ]
    published = c.published_at
    tender: dict[str, Any] = {
        "id": c.reference,
        "title": c.title,
        "description": c.object,
        "status": _tender_status(facts),
        "procurementMethod": METHOD.get(c.procedure, "open"),
        "procurementMethodDetails": METHOD_DETAILS.get(c.procedure),
        "mainProcurementCategory": CATEGORY.get(c.category),
        "value": amount(c.estimated_value),
        "items": items,
        "lots": lots,
        "tenderPeriod": _clean(
            {
                "startDate": moment(published) if published else None,
                "endDate": moment(c.response_deadline),
            }
        ),
        "enquiryPeriod": _clean(
            {
                "startDate": moment(published) if published else None,
                "endDate": moment(c.questions_deadline),
            }
        ),
        "submissionMethod": ["electronicSubmission"],
        "amendments": [
            {
                "id": f"rectification-{r.number}",
                "date": moment(r.published_at),
                "description": r.summary,
            }
            for r in facts.rectifications
        ],
    }
    if facts.awards:
        tender["numberOfTenderers"] = len(facts.tenderers)
        tender["tenderers"] = [_company_ref(company) for company in facts.tenderers]
    return _clean(tender)


def _award_status(award: Any) -> str:
    if award.state == AwardState.ABANDONED:
        return "cancelled"
    if award.outcome == AwardOutcome.UNSUCCESSFUL:
        return "unsuccessful"
    if award.outcome == AwardOutcome.DISCONTINUED:
        return "cancelled"
    # Letters sent, the standstill period running: proposed, not yet in force.
    if award.state == AwardState.NOTIFIED and award.standstill_ends_on is not None:
        return "pending"
    return "active"


def _awards(facts: ProcedureFacts) -> list[dict[str, Any]]:
    awards = []
    for award in facts.awards:
        awarded = award.outcome == AwardOutcome.AWARDED
        awards.append(
            _clean(
                {
                    "id": f"award-{award.pk}",
                    "status": _award_status(award),
                    "date": moment(award.notified_at) if award.notified_at else None,
                    "value": amount(award.amount) if awarded else None,
                    "suppliers": [_company_ref(award.company)] if awarded else None,
                    "relatedLots": [_lot_id(award.lot.number)] if award.lot is not None else None,
                }
            )
        )
    return awards


CONTRACT_STATUS = {
    ContractState.SIGNED: "pending",  # in force once notified (R2182-4)
    ContractState.SENT: "pending",
    ContractState.NOTIFIED: "active",
    ContractState.IN_EXECUTION: "active",
    ContractState.COMPLETED: "terminated",
    ContractState.TERMINATED: "terminated",
}


def _contracts(facts: ProcedureFacts) -> list[dict[str, Any]]:
    contracts = []
    for contract in facts.contracts:
        amendments = facts.amendments.get(contract.pk, [])
        value, months = current_terms(contract, amendments)
        # The period is known once the execution starts (the start of the implementation).
        start = contract.started_on
        end = contract.ended_on or (add_months(start, int(months)) if start else None)
        period = _clean(
            {
                "startDate": day_start(start) if start else None,
                "endDate": day_start(end) if end else None,
            }
        )
        contracts.append(
            _clean(
                {
                    "id": f"contract-{contract.pk}",
                    "awardID": f"award-{contract.award_id}",
                    "title": contract.reference,
                    "status": CONTRACT_STATUS[ContractState(contract.state)],
                    "value": amount(Decimal(value)),
                    "dateSigned": day_start(contract.signed_on),
                    "period": period or None,
                    "amendments": [
                        {
                            "id": f"amendment-{a.number}",
                            "date": day_start(a.notified_on),
                            "description": a.object,
                        }
                        for a in amendments
                    ],
                }
            )
        )
    return contracts


def _parties(facts: ProcedureFacts) -> list[dict[str, Any]]:
    organisation = facts.consultation.organisation
    parties = [
        _party(organisation.name, organisation.siren, f"organisation-{organisation.pk}", ["buyer"])
    ]
    roles: dict[int, tuple[Any, list[str]]] = {}
    for company in facts.tenderers:
        roles[company.pk] = (company, ["tenderer"])
    for award in facts.awards:
        if (
            award.outcome == AwardOutcome.AWARDED
            and award.state != AwardState.ABANDONED
            and award.company_id is not None
        ):
            company, held = roles.setdefault(award.company_id, (award.company, []))
            if "supplier" not in held:
                held.insert(0, "supplier")
    for company, held in sorted(roles.values(), key=lambda r: (r[0].name, r[0].pk)):
        parties.append(_party(company.name, company.siren, f"company-{company.pk}", held))
    return parties


def content(facts: ProcedureFacts) -> dict[str, Any]:
    """What a release of the procedure says now, without its id, date and tags."""
    organisation = facts.consultation.organisation
    buyer = party_id(organisation.siren, f"organisation-{organisation.pk}")
    return _clean(
        {
            "ocid": ocid_of(facts.consultation.pk),
            "initiationType": "tender",
            "language": "fr",
            "buyer": {"id": buyer, "name": organisation.name},
            "parties": _parties(facts),
            "tender": _tender(facts),
            "awards": _awards(facts),
            "contracts": _contracts(facts),
        }
    )


def release(
    content: dict[str, Any], *, release_id: str, at: datetime, tags: list[str]
) -> dict[str, Any]:
    """The release: ``content`` with its identifier, date and tags, in the schema's order."""
    return {
        "ocid": content["ocid"],
        "id": release_id,
        "date": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tag": tags,
        **{k: v for k, v in content.items() if k != "ocid"},
    }


def without_identity(data: dict[str, Any]) -> dict[str, Any]:
    """A stored release's content: what ``content`` gives for the same facts."""
    return {k: v for k, v in data.items() if k not in ("id", "date", "tag")}


# --- Tags --------------------------------------------------------------------------------


def _by_id(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items or []}


def _own_tender(tender: dict[str, Any]) -> dict[str, Any]:
    """What the buyer itself publishes of the tender: without what the award adds to it
    (the tenderers, their number, the statuses that follow the decisions)."""
    own = {k: v for k, v in tender.items() if k not in ("tenderers", "numberOfTenderers", "status")}
    own["lots"] = [{k: v for k, v in lot.items() if k != "status"} for lot in own.get("lots", [])]
    return own


def _award_tags(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    old_awards = _by_id((previous or {}).get("awards"))
    found: list[str] = []
    for award_id, award in _by_id(current.get("awards")).items():
        old = old_awards.get(award_id)
        if old is None:
            found.append("award")
        elif old != award:
            if award["status"] == "cancelled" and old.get("status") != "cancelled":
                found.append("awardCancellation")
            else:
                found.append("awardUpdate")
    return found


def _contract_tags(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    old_contracts = _by_id((previous or {}).get("contracts"))
    found: list[str] = []
    for contract_id, contract in _by_id(current.get("contracts")).items():
        old = old_contracts.get(contract_id)
        if old is None:
            found.append("contract")
        elif old == contract:
            continue
        elif len(contract.get("amendments", [])) > len(old.get("amendments", [])):
            found.append("contractAmendment")
        elif contract["status"] == "terminated" and old.get("status") != "terminated":
            found.append("contractTermination")
        elif "startDate" in contract.get("period", {}) and "startDate" not in old.get("period", {}):
            found.append("implementation")
        else:
            found.append("contractUpdate")
    return found


def tags(previous: dict[str, Any] | None, current: dict[str, Any]) -> tuple[list[str], Stage]:
    """The release tags (codelist releaseTag) of ``current`` after ``previous`` (None:
    the first release of the procedure), and the furthest stage they touch."""
    planning = current["tender"].get("status") == "planning"
    found: list[str] = []
    if previous is None:
        found.append("planning" if planning else "tender")
    else:
        before, after = previous.get("tender", {}), current["tender"]
        ended = ("cancelled", "unsuccessful")
        if after.get("status") in ended and before.get("status") not in ended:
            found.append("tenderCancellation")
        elif _own_tender(before) != _own_tender(after):
            found.append("planningUpdate" if planning else "tenderUpdate")
    award_tags = _award_tags(previous, current)
    contract_tags = _contract_tags(previous, current)
    found = list(dict.fromkeys([*found, *award_tags, *contract_tags]))
    if not found:
        # Only what follows from a decision changed (a status, a party's name).
        found = ["planningUpdate" if planning else "tenderUpdate"]
    stage = Stage.CONTRACT if contract_tags else Stage.AWARD if award_tags else Stage.TENDER
    return found, stage
