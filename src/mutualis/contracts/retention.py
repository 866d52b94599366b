"""Retention of a procedure's records, and the purge of what the law no longer requires.

When a procedure ends
    A consultation's procedure is finished when the consultation is cancelled
    (unsuccessful or discontinued as a whole), or when every lot (the consultation
    itself without lots) has its contract signed, or its decision of unsuccessful or
    discontinued notified to the bidders. Its end is the latest of those days: each
    contract's signature date, each such decision's notification date (Paris), the
    cancellation's date (``procedure_end``).

How long
    Article R2184-12 of the public procurement code keeps the applications and tenders
    of the candidates and bidders not retained for at least five years from the
    signature of the contract; R2184-13 keeps the contract's own documents (the winner's
    tender among them) five years (supplies, services) or ten (works, project
    management) from the end of its execution. The platform counts
    ``settings.PROCUREMENT_RETENTION_YEARS`` (5 by default) from the end of the
    procedure as defined above: for a lot with a contract, its signature, the start
    R2184-12 names; for a lot without one, the notification of the decision that ends
    it. The purge is due on the anniversary (29 February: the 28th).

What is purged
    The files (the sealed ciphertexts and the plaintexts opened at the opening) of the
    applications and offers that did not win: every deposit of the consultation (and
    of its first phase, for a procedure in two phases) except the winners' — a company
    awarded a lot keeps its offer for that lot and its application. What stays: the
    deposits' rows with their hashes (the register and the deposit log verify without
    the files), the receipts, the opening report, the letters, the contracts, the audit
    trail; the winners' files stay, kept under R2184-13 with the contract.

The files are the deposits context's: it purges them (``purge_files`` below calls its
service), and this module records each purge once (``RetentionPurge``), audited on the
buyer's chain (``contracts.retention_purged``). The periodic job runs daily.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.audit import SystemActor
from mutualis.deposits import purge as deposit_purge
from mutualis.deposits.models import Deposit
from mutualis.procurement import rounds
from mutualis.procurement.models import Consultation, Lot, State

from . import crossings
from .awards import paris_today
from .models import Award, AwardOutcome, AwardState, Contract, RetentionPurge

DEFAULT_YEARS = 5
JOB = SystemActor("retention")
ENDING = (AwardOutcome.UNSUCCESSFUL, AwardOutcome.DISCONTINUED)


def retention_years() -> int:
    return int(getattr(settings, "PROCUREMENT_RETENTION_YEARS", DEFAULT_YEARS))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _living_awards(consultation: Consultation) -> list[Award]:
    return list(
        Award.objects.filter(consultation_id=consultation.pk)
        .exclude(state=AwardState.ABANDONED)
        .select_related("contract")
    )


def procedure_end(consultation: Consultation) -> date | None:
    """The day the procedure ended (see the module's docstring), None while it runs.
    Call in the buyer's scope."""
    lots = list(consultation.lots.values_list("pk", flat=True))
    return _end(consultation, _living_awards(consultation), lots)


# Consultations read per query by ``procedure_ends`` (below SQLite's bound on the
# parameters of one statement).
BATCH = 500


def procedure_ends(consultations: Sequence[Consultation]) -> dict[int, date | None]:
    """``procedure_end`` of each consultation (of one member, in its scope) in two
    queries per ``BATCH``, rather than two per consultation."""
    ends: dict[int, date | None] = {}
    for start in range(0, len(consultations), BATCH):
        batch = consultations[start : start + BATCH]
        ids = [c.pk for c in batch]
        living: dict[int, list[Award]] = defaultdict(list)
        for award in (
            Award.objects.filter(consultation_id__in=ids)
            .exclude(state=AwardState.ABANDONED)
            .select_related("contract")
            .order_by("pk")
        ):
            living[award.consultation_id].append(award)
        lots: dict[int, list[int]] = defaultdict(list)
        for lot_id, consultation_id in (
            Lot.objects.filter(consultation_id__in=ids)
            .order_by("pk")
            .values_list("pk", "consultation_id")
        ):
            lots[consultation_id].append(lot_id)
        for consultation in batch:
            ends[consultation.pk] = _end(
                consultation, living[consultation.pk], lots[consultation.pk]
            )
    return ends


def _end(consultation: Consultation, living: list[Award], lot_ids: list[int]) -> date | None:
    if consultation.state == State.CANCELLED:
        ends: list[date] = [paris_today(consultation.cancelled_at or consultation.updated_at)]
        ends += [paris_today(a.notified_at) for a in living if a.notified_at is not None]
        return max(ends)
    lots: list[int | None] = list(lot_ids) or [None]
    by_lot = {award.lot_id: award for award in living}
    days: list[date] = []
    for lot in lots:
        award = by_lot.get(lot)
        if award is None:
            return None
        if award.outcome in ENDING and award.notified_at is not None:
            days.append(paris_today(award.notified_at))
            continue
        contract: Contract | None = getattr(award, "contract", None)
        if award.state != AwardState.CONTRACTED or contract is None:
            return None
        days.append(contract.signed_on)
    return max(days)


def _procedure_consultations(consultation: Consultation) -> list[int]:
    """The consultation and those before it in its procedure: for an offer phase, its
    first phase (the applications); for a negotiation round, the rounds and phases whose
    offers it negotiates."""
    if consultation.parent_id is None:
        return [consultation.pk]
    return rounds.ancestor_ids(consultation.pk)


def losing_deposits(consultation: Consultation) -> list[int]:
    """The deposits of the procedure that won nothing (see the module's docstring)."""
    winners = {
        (a.lot_id, a.company_id)
        for a in _living_awards(consultation)
        if a.outcome == AwardOutcome.AWARDED
    }
    winning_companies = {company for _lot, company in winners}
    rows = Deposit.for_organisation.filter(
        consultation_id__in=_procedure_consultations(consultation)
    ).values_list("pk", "consultation_id", "lot_id", "company_id")
    losing = []
    for pk, consultation_id, lot_id, company_id in rows:
        if consultation_id != consultation.pk:  # an application, or an earlier round's offer
            if company_id in winning_companies:
                continue
        elif (lot_id, company_id) in winners:
            continue
        losing.append(pk)
    return sorted(losing)


def purge_files(deposit_ids: list[int], *, reason: str) -> dict[str, Any]:
    """Delete the files of ``deposit_ids`` (ciphertexts and opened plaintexts), keeping
    every row and hash: the deposits context's service (see ADR 0010, "Retention")."""
    result: dict[str, Any] = deposit_purge.purge_deposit_files(
        deposit_ids=deposit_ids, reason=reason
    )
    return result


def due(now: datetime | None = None) -> list[tuple[Consultation, date, date]]:
    """Finished procedures past their retention period, not purged yet: (consultation,
    end, due day), by consultation. Read member by member, a few queries each."""
    today = paris_today(now)
    years = retention_years()
    by_member: dict[int, list[int]] = defaultdict(list)
    for consultation_id, organisation_id in crossings.procedures_with_decisions():
        by_member[organisation_id].append(consultation_id)
    found = []
    for organisation_id, ids in by_member.items():
        with scope(organisation=organisation_id):
            consultations = _consultations(organisation_id, ids)
            ends = procedure_ends(consultations)
        for consultation in consultations:
            end = ends[consultation.pk]
            if end is None:
                continue
            due_on = add_years(end, years)
            if due_on <= today:
                found.append((consultation, end, due_on))
    return sorted(found, key=lambda row: row[0].pk)


def _consultations(organisation_id: int, ids: Iterable[int]) -> list[Consultation]:
    ids = list(ids)
    result: list[Consultation] = []
    for start in range(0, len(ids), BATCH):
        result += (
            Consultation.objects.filter(
                organisation_id=organisation_id, pk__in=ids[start : start + BATCH]
            )
            .select_related("organisation")
            .order_by("pk")
        )
    return result


@transaction.atomic
def _purge_one(consultation: Consultation, end: date, due_on: date, now: datetime) -> bool:
    with scope(organisation=consultation.organisation_id):
        if (
            RetentionPurge.objects.select_for_update()
            .filter(consultation_id=consultation.pk)
            .exists()
        ):
            return False
        deposits = losing_deposits(consultation)
        result = purge_files(deposits, reason="retention") if deposits else {}
        purge = RetentionPurge.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            ended_on=end,
            due_on=due_on,
            purged_at=now,
            deposits=deposits,
            result=result,
        )
        audit.record(
            actor=JOB,
            organisation=consultation.organisation,
            action="contracts.retention_purged",
            target=purge,
            payload={
                "consultation": consultation.pk,
                "ended_on": end.isoformat(),
                "due_on": due_on.isoformat(),
                "years": retention_years(),
                "deposits": deposits,
                "result": result,
            },
        )
    return True


def purge_due(now: datetime | None = None) -> int:
    """Purge every procedure past its retention period; how many were purged.
    Idempotent: a procedure is purged once (``RetentionPurge``)."""
    now = now or timezone.now()
    count = 0
    for consultation, end, due_on in due(now):
        count += _purge_one(consultation, end, due_on, now)
    return count
