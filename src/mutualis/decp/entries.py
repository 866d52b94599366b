"""Use cases of the DECP entries: (re)generate a contract's entry from its records, and
record what the national portal took.

``refresh_entry`` is what the background job runs after every ``contract_changed``: it
reads the records in the buyer's scope, generates, validates and stores the entry in
one transaction, audited. It is idempotent: the same records give the same entry, no
new version, no event, and the change feed does not move.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.contracts.models import Amendment, Contract
from mutualis.core import audit
from mutualis.core.models import Organisation

from . import transitions, validation
from .generation import AmendmentRecord, ContractRecords, concerned, due_on, generate, place_of
from .models import DecpEntry, Status
from .transitions import Event

PARIS = ZoneInfo("Europe/Paris")
ACTOR = audit.SystemActor("decp")


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def records_of(contract: Contract, amendments: list[Amendment]) -> ContractRecords:
    """What the records say, read from the contract, its award, consultation and lot,
    and the buyer (``contract`` loaded with ``award__consultation``, ``award__lot`` and
    ``organisation``)."""
    award = contract.award
    consultation = award.consultation
    lot = award.lot
    buyer: Organisation = contract.organisation
    if lot is not None:
        object_text = f"{consultation.object} — Lot {lot.number} : {lot.title}"
        cpv = next(iter(lot.cpv_codes or []), consultation.main_cpv)
    else:
        object_text = consultation.object
        cpv = consultation.main_cpv
    if contract.receipt_confirmed_at is None:
        raise ValueError("A contract not notified has no DECP entry.")
    return ContractRecords(
        reference=contract.reference,
        buyer_siret=buyer.siret,
        nature=consultation.contract_nature,
        object=object_text,
        cpv=cpv,
        procedure=consultation.procedure,
        ccag=consultation.ccag,
        techniques=tuple(consultation.techniques or ()),
        execution_modes=tuple(consultation.execution_modes or ()),
        price_types=tuple(consultation.price_types or ()),
        price_form=consultation.price_form,
        social=tuple(consultation.social_considerations or ()),
        environmental=tuple(consultation.environmental_considerations or ()),
        innovative=consultation.innovative,
        advance_payment=consultation.advance_payment,
        bidders=award.bidders,
        grouping=contract.grouping,
        holder_siret=contract.holder_siret,
        co_contractors=tuple(p["siret"] for p in contract.co_contractors or ()),
        subcontractors=tuple(p["siret"] for p in contract.subcontractors or ()),
        place=place_of(
            consultation.place_of_execution,
            kind=buyer.kind,
            insee_code=buyer.insee_code,
            postcode=buyer.postcode,
        ),
        amount=contract.amount,
        duration_months=contract.duration_months,
        notified_on=paris_day(contract.receipt_confirmed_at),
        amendments=tuple(
            AmendmentRecord(
                number=a.number,
                notified_on=a.notified_on,
                new_amount=a.new_amount,
                new_duration_months=a.new_duration_months,
            )
            for a in amendments
        ),
    )


def _record(entry: DecpEntry, action: str, payload: dict[str, Any]) -> None:
    audit.record(
        actor=ACTOR,
        organisation=entry.organisation,
        action=action,
        target=entry,
        payload={"reference": entry.reference, **payload},
    )


@transaction.atomic
def refresh_entry(
    *, organisation_id: int, contract_id: int, now: datetime | None = None
) -> DecpEntry | None:
    """Generate and store the entry of a contract (None: the contract is not subject to
    the DECP, or not notified yet). Runs in the buyer's scope."""
    now = now or timezone.now()
    today = paris_day(now)
    with scope(organisation=organisation_id):
        contract = (
            Contract.for_organisation.select_for_update(of=("self",))
            .filter(organisation_id=organisation_id, pk=contract_id)
            .select_related("award__consultation", "award__lot", "organisation")
            .first()
        )
        if contract is None or contract.receipt_confirmed_at is None:
            return None
        if not concerned(contract.amount):
            return None
        amendments = list(
            Amendment.for_organisation.filter(contract_id=contract.pk).order_by("number")
        )
        records = records_of(contract, amendments)
        entry = DecpEntry.objects.filter(contract_id=contract.pk).first()
        if entry is None:
            entry = DecpEntry(
                organisation_id=organisation_id,
                contract=contract,
                reference=contract.reference,
                notified_on=records.notified_on,
                due_on=due_on(records.notified_on),
            )
        entry.organisation = contract.organisation
        generated, found = generate(
            records,
            today=today,
            first_public_on=entry.first_public_on,
            modifications_public_on=entry.modifications_public_on,
        )
        problems = [p.as_dict() for p in validation.check(generated, found)]
        entry.buyer_siret = records.buyer_siret
        entry.buyer_siren = records.buyer_siret[:9]
        if problems:
            if entry.pk is not None and problems == entry.problems and not _moved(entry):
                return entry
            transitions.apply(entry, Event.INVALID)
            entry.problems = problems
            entry.save()
            _record(entry, "decp.entry_incomplete", {"fields": [p["field"] for p in problems]})
            return entry
        if entry.pk is not None and generated == entry.data:
            if entry.status == Status.INCOMPLETE:
                transitions.apply(entry, Event.VALID)
                entry.problems = []
                entry.save()
                _record(entry, "decp.entry_valid_again", {"version": entry.version})
            return entry
        transitions.apply(entry, Event.VALID)
        entry.data = generated
        entry.problems = []
        entry.version += 1
        entry.first_public_on = entry.first_public_on or today
        entry.modifications_public_on = {
            **{str(a.number): today.isoformat() for a in records.amendments},
            **entry.modifications_public_on,
        }
        entry.save()
        _record(
            entry,
            "decp.entry_generated",
            {"version": entry.version, "modifications": len(records.amendments)},
        )
        return entry


def _moved(entry: DecpEntry) -> bool:
    # An incomplete entry stays incomplete with the same problems: nothing to write.
    return entry.status != Status.INCOMPLETE


@transaction.atomic
def record_portal_took(*, taken: dict[int, int], now: datetime | None = None) -> int:
    """The portal took these entries (id → version sent): each whose version is still
    the current one becomes published (the first time stops its clock). A version the
    portal took after a newer one was generated leaves the entry ready."""
    now = now or timezone.now()
    done = 0
    for entry_id, version in sorted(taken.items()):
        entry = _locked_entry(entry_id)
        if entry is None or entry.version != version or entry.status != Status.READY:
            continue
        transitions.apply(entry, Event.PORTAL_TOOK)
        entry.published_version = version
        if entry.published_at is None:
            entry.published_at = now
        entry.save(update_fields=["status", "published_version", "published_at", "updated_at"])
        _record(entry, "decp.entry_published", {"version": version})
        done += 1
    return done


def _locked_entry(entry_id: int) -> DecpEntry | None:
    from . import crossings

    organisation_id = crossings.organisation_of_entry(entry_id)
    if organisation_id is None:
        return None
    with scope(organisation=organisation_id):
        return (
            DecpEntry.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk=entry_id, organisation_id=organisation_id)
            .first()
        )


def entry_of(*, organisation_id: int, contract_id: int) -> DecpEntry | None:
    """The buyer's view of a contract's entry."""
    with scope(organisation=organisation_id):
        return DecpEntry.objects.filter(
            organisation_id=organisation_id, contract_id=contract_id
        ).first()


def entries_of(*, organisation_id: int) -> list[DecpEntry]:
    with scope(organisation=organisation_id):
        return list(
            DecpEntry.objects.filter(organisation_id=organisation_id).order_by("due_on", "pk")
        )


def entries_of_consultation(*, organisation_id: int, consultation_id: int) -> list[DecpEntry]:
    with scope(organisation=organisation_id):
        return list(
            DecpEntry.objects.filter(
                organisation_id=organisation_id, contract__award__consultation_id=consultation_id
            ).order_by("reference")
        )
