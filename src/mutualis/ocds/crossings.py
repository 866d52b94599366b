"""Where the ocds context reads across members, each saying why (``registry.crossing``).
``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it).

The open data of every member's procedures is built by one background job, which has no
member's scope: it reads the public facts of one procedure at a time (a published
consultation, never a draft, a scheduled one, the operator's test consultation nor an
offer phase or a negotiation round on its own) and what the award and the contract made
public. The releases themselves are public rows of this context (no organisation
dimension).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django_scopes import scopes_disabled

from mutualis.contracts.models import Amendment, Award, Contract
from mutualis.core.registry import crossing
from mutualis.deposits.models import Deposit, DepositState, Phase
from mutualis.procurement.models import PUBLIC_STATES, Consultation, Lot, Rectification


@dataclasses.dataclass(frozen=True)
class ProcedureFacts:
    """What is public about one procedure: its consultation (the root of a procedure in
    two phases), lots and rectifications; the decisions notified (letters sent), the
    contracts signed with their amendments; the companies whose on-time offers were
    opened, once a decision was notified."""

    consultation: Consultation
    lots: list[Lot]
    rectifications: list[Rectification]
    awards: list[Award]
    contracts: list[Contract]
    amendments: dict[int, list[Amendment]]
    tenderers: list[Any]


# A procedure's chain is a handful of consultations; the walks stop there whatever.
MAX_CHAIN = 100


def _root_id(consultation_id: int) -> int | None:
    """The first consultation of the procedure: an offer phase and the negotiation
    rounds (``procurement.rounds``) fold into it, however long the chain."""
    current = consultation_id
    for _step in range(MAX_CHAIN):
        found = Consultation._base_manager.filter(pk=current).values_list("pk", "parent_id").first()
        if found is None:
            return None
        pk, parent_id = found
        if not parent_id:  # the first consultation
            return int(pk)
        current = int(parent_id)
    return None


def _chain_ids(root_id: int) -> list[int]:
    """The root and every later consultation of its chain, in order."""
    ids = [root_id]
    for _step in range(MAX_CHAIN):
        child = (
            Consultation._base_manager.filter(parent_id=ids[-1])
            .values_list("pk", flat=True)
            .first()
        )
        if child is None:
            break
        ids.append(child)
    return ids


@crossing
def procedure_facts(consultation_id: int) -> ProcedureFacts | None:
    """The open data job builds the release of any member's procedure: public facts only
    (a public, non-test consultation; notified decisions; signed contracts; the bidders'
    names once decisions were notified, never an offer's content or amount)."""
    with scopes_disabled():
        root_id = _root_id(consultation_id)
        if root_id is None:
            return None
        consultation = (
            Consultation.objects.select_related("organisation")
            .filter(pk=root_id, state__in=PUBLIC_STATES, is_test=False, parent__isnull=True)
            .first()
        )
        if consultation is None:
            return None
        # The offer phase and every negotiation round: their decisions and offers are
        # the procedure's. A round's award is on the round alone (``contracts.awards``
        # refuses one on earlier offers), so it appears once.
        phase_ids = _chain_ids(root_id)
        lots = list(Lot.objects.filter(consultation_id=root_id).order_by("number"))
        rectifications = list(
            Rectification.objects.filter(consultation_id=root_id).order_by("number")
        )
        awards = list(
            Award.objects.filter(consultation_id__in=phase_ids, notified_at__isnull=False)
            .select_related("company", "lot")
            .order_by("pk")
        )
        contracts = list(
            Contract.for_organisation.filter(award__in=[a.pk for a in awards]).order_by("pk")
        )
        amendments: dict[int, list[Amendment]] = {c.pk: [] for c in contracts}
        for amendment in Amendment.for_organisation.filter(contract__in=contracts).order_by(
            "contract_id", "number"
        ):
            amendments[amendment.contract_id].append(amendment)
        tenderers: list[Any] = []
        if awards:
            offers = (
                Deposit.for_organisation.filter(
                    consultation_id__in=phase_ids,
                    phase=Phase.OFFER,
                    state=DepositState.ACKNOWLEDGED,
                    late=False,
                )
                .select_related("company")
                .order_by("company__name", "company_id")
            )
            seen: set[int] = set()
            for offer in offers:
                if offer.company_id not in seen:
                    seen.add(offer.company_id)
                    tenderers.append(offer.company)
        return ProcedureFacts(
            consultation=consultation,
            lots=lots,
            rectifications=rectifications,
            awards=awards,
            contracts=contracts,
            amendments=amendments,
            tenderers=tenderers,
        )


@crossing
def consultations_modified_since(moment: datetime) -> list[int]:
    """The reconciliation job notices what procurement records without a signal (a
    consultation closed at its deadline, cancelled): the public consultations of every
    member modified since ``moment``, identifiers only."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(
                updated_at__gte=moment,
                state__in=PUBLIC_STATES,
                is_test=False,
                parent__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )


@crossing
def decisions_recorded_since(moment: datetime) -> list[int]:
    """The reconciliation job also catches a lost job of an award or a contract: the
    consultations of every member with a decision notified, a contract or an amendment
    recorded since ``moment``, identifiers only."""
    with scopes_disabled():
        awards = Award.objects.filter(notified_at__gte=moment).values_list(
            "consultation_id", flat=True
        )
        contracts = Contract.for_organisation.filter(created_at__gte=moment).values_list(
            "award__consultation_id", flat=True
        )
        amendments = Amendment.for_organisation.filter(created_at__gte=moment).values_list(
            "contract__award__consultation_id", flat=True
        )
        return sorted({*awards, *contracts, *amendments})


@crossing
def consultation_of_award(award_id: int) -> int | None:
    """A contract's change names its award; the open data job of any member finds the
    award's consultation (its identifier only)."""
    with scopes_disabled():
        return Award.objects.filter(pk=award_id).values_list("consultation_id", flat=True).first()
