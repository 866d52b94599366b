"""Where the integrity context reads and writes across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

The job computes every member's indicators in a few set-based queries rather than one
pass per member (ADR 0005's rule holds: what leaves here are plain values and figures,
and the operator's reads return this context's own computed rows, counts and shares,
never a bid). Each member reads its own rows in its own scope (``selectors.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django_scopes import scopes_disabled

from mutualis.contracts.models import Award, AwardOutcome
from mutualis.core.models import Organisation
from mutualis.core.registry import crossing
from mutualis.deposits.models import Deposit, DepositState, Phase
from mutualis.evaluation.models import Offer
from mutualis.procurement.models import PUBLIC_STATES, Consultation, Lot

from .models import BuyerIndicator, Computation, ProcedureFlag

BATCH = 2000

CONSULTATION_COLUMNS = (
    "pk",
    "organisation_id",
    "parent_id",
    "procedure",
    "category",
    "main_cpv",
    "estimated_value",
    "published_at",
    "response_deadline",
    "round",
)


@dataclasses.dataclass
class Facts:
    """What the indicators need of every member's procedures, as plain tuples."""

    consultations: list[tuple[Any, ...]]
    lot_values: dict[int, Decimal]
    offers: list[tuple[int, int | None, int]]
    withdrawn: list[tuple[int, int | None, int]]
    prices: list[tuple[int, int | None, Decimal]]
    awards: list[tuple[int, int | None, int | None, Decimal | None, str, datetime]]


def _rows(queryset: Any) -> Iterator[Any]:
    # A server-side cursor on PostgreSQL: 100,000 procedures are read in chunks.
    rows: Iterator[Any] = queryset.iterator(chunk_size=BATCH)
    return rows


@crossing
def procedure_facts() -> Facts:
    """The integrity job reads, for every member at once, the facts its indicators need:
    published consultations (dates, procedure, values), on-time offers and withdrawals
    (consultation, lot, company), the prices entered in the analyses and the awards. It
    writes only integrity's own rows, which each member reads for itself alone and the
    operator as figures; one set-based read instead of a pass per member keeps the job
    at a few queries for 100,000 procedures."""
    with scopes_disabled():
        consultations = list(
            _rows(
                Consultation.objects.filter(
                    state__in=PUBLIC_STATES, is_test=False, published_at__isnull=False
                )
                .order_by()
                .values_list(*CONSULTATION_COLUMNS)
            )
        )
        lot_values = {
            row["consultation_id"]: row["total"]
            for row in Lot.objects.filter(estimated_value__isnull=False)
            .order_by()
            .values("consultation_id")
            .annotate(total=Sum("estimated_value"))
        }
        # The company's current offer: an acknowledged, on-time offer deposit (a later
        # deposit supersedes an earlier one; late ones are eliminated).
        offers = list(
            _rows(
                Deposit.for_organisation.filter(
                    state=DepositState.ACKNOWLEDGED, late=False, phase=Phase.OFFER
                )
                .order_by()
                .values_list("consultation_id", "lot_id", "company_id")
                .distinct()
            )
        )
        withdrawn = list(
            _rows(
                Deposit.for_organisation.filter(
                    state=DepositState.WITHDRAWN, phase=Phase.OFFER, received_at__isnull=False
                )
                .order_by()
                .values_list("consultation_id", "lot_id", "company_id")
                .distinct()
            )
        )
        prices = list(
            _rows(
                Offer.objects.filter(price__isnull=False)
                .order_by()
                .values_list("analysis__consultation_id", "analysis__lot_id", "price")
            )
        )
        awards = list(
            _rows(
                Award.objects.filter(outcome=AwardOutcome.AWARDED)
                .order_by()
                .values_list(
                    "consultation_id", "lot_id", "company_id", "amount", "state", "decided_at"
                )
            )
        )
    return Facts(consultations, lot_values, offers, withdrawn, prices, awards)


@crossing
def replace_results(
    *,
    flags: list[ProcedureFlag],
    indicators: list[BuyerIndicator],
    computation: Computation,
) -> None:
    """The integrity job replaces every member's computed flags and figures at once, in
    one transaction (readers see the previous run until it commits): these are its own
    derived rows, rewritten whole by each run, so that a job run twice leaves the same
    rows."""
    with scopes_disabled(), transaction.atomic():
        ProcedureFlag.objects.all().delete()
        BuyerIndicator.objects.all().delete()
        ProcedureFlag.objects.bulk_create(flags, batch_size=BATCH)
        BuyerIndicator.objects.bulk_create(indicators, batch_size=BATCH)
        computation.save()


@dataclasses.dataclass(frozen=True)
class BuyerFigures:
    organisation_id: int
    name: str
    slug: str
    indicators: dict[str, BuyerIndicator]


@crossing
def buyers_for_operator() -> list[BuyerFigures]:
    """Operator staff watch the integrity indicators of every buyer: the counts and
    shares the job computed (integrity's own rows), with each buyer's name. No bid, no
    company and no price is read."""
    with scopes_disabled():
        rows = list(BuyerIndicator.objects.order_by("organisation_id", "indicator"))
        names = dict(
            (pk, (name, slug))
            for pk, name, slug in Organisation.objects.filter(
                pk__in={row.organisation_id for row in rows}
            ).values_list("pk", "name", "slug")
        )
    buyers: dict[int, BuyerFigures] = {}
    for row in rows:
        name, slug = names.get(row.organisation_id, ("", ""))
        figures = buyers.setdefault(
            row.organisation_id, BuyerFigures(row.organisation_id, name, slug, {})
        )
        figures.indicators[row.indicator] = row
    return sorted(buyers.values(), key=lambda b: b.name.casefold())


@crossing
def buyer_for_operator(organisation_id: int) -> tuple[Any, list[BuyerIndicator], list[Any]]:
    """Operator staff open one buyer's integrity figures and its procedures' flags
    (integrity's own rows, with each procedure's public reference and title: flags are
    raised on published procedures only). None for the organisation when unknown."""
    with scopes_disabled():
        organisation = Organisation.objects.filter(pk=organisation_id).first()
        if organisation is None:
            return None, [], []
        indicators = list(BuyerIndicator.objects.filter(organisation_id=organisation_id))
        flags = list(
            ProcedureFlag.objects.filter(organisation_id=organisation_id)
            .select_related("consultation", "lot")
            .order_by("-consultation__published_at", "consultation_id", "lot__number")
        )
    return organisation, indicators, flags
