"""The DECP's reads across members, each named with its reason (STYLE §4). The DECP is
public by law (arrêté du 22 décembre 2022): what crosses is the valid public data and
the publication dates, never an incomplete entry's problems."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django_scopes import scopes_disabled

from mutualis.contracts.models import Contract
from mutualis.core.api.pagination import changes_since
from mutualis.core.models import Organisation
from mutualis.core.registry import crossing

from .generation import THRESHOLD
from .models import DecpEntry, Status

FEED_SCOPE = "decp"


def _public() -> QuerySet[DecpEntry]:
    return DecpEntry.objects.filter(version__gte=1)


@crossing
def public_changes(
    *, cursor: str | None, limit: int, siret: str | None = None, siren: str | None = None
) -> dict[str, Any]:
    """The API's change feed: the public entries of every buyer, oldest modification
    first; open data every reuser may copy."""
    with scopes_disabled():
        rows = _public()
        if siret:
            rows = rows.filter(buyer_siret=siret)
        if siren:
            rows = rows.filter(buyer_siren=siren)
        return changes_since(
            rows.only("pk", "data", "updated_at"), cursor=cursor, limit=limit, scope=FEED_SCOPE
        )


@crossing
def public_entry(*, siret: str, reference: str) -> DecpEntry | None:
    """One public entry by its buyer's SIRET and its identifier (unique per buyer):
    open data."""
    with scopes_disabled():
        return _public().filter(buyer_siret=siret, reference=reference).first()


@crossing
def public_data(*, modified_on: date | None = None, chunk: int = 500) -> Iterator[dict[str, Any]]:
    """Every public entry's data (those modified on ``modified_on``, Europe/Paris, when
    given), read in chunks for the bulk files: open data of every buyer."""
    with scopes_disabled():
        rows = _public()
        if modified_on is not None:
            rows = rows.filter(updated_at__date=modified_on)
        for data in rows.order_by("pk").values_list("data", flat=True).iterator(chunk_size=chunk):
            yield data or {}


@crossing
def entries_to_push() -> list[tuple[int, int, dict[str, Any]]]:
    """The valid entries the national portal does not hold in their current version, of
    every buyer: (id, version, data), for the connector that publishes them for all."""
    with scopes_disabled():
        rows = DecpEntry.objects.filter(status=Status.READY).order_by("pk")
        return [
            (pk, version, data or {})
            for pk, version, data in rows.values_list("pk", "version", "data")
        ]


@crossing
def organisation_of_entry(entry_id: int) -> int | None:
    """The buyer of an entry, to enter its scope: the connector works for every buyer."""
    with scopes_disabled():
        return (
            DecpEntry.objects.filter(pk=entry_id).values_list("organisation_id", flat=True).first()
        )


@crossing
def entries_to_remind(until: date) -> list[tuple[int, int]]:
    """Entries not yet taken by the portal whose due date is before ``until``, of every
    member: (id, organisation id), for the reminder job that then enters each member's
    scope in turn."""
    with scopes_disabled():
        return list(
            DecpEntry.objects.filter(published_at__isnull=True, due_on__lte=until)
            .order_by("due_on", "pk")
            .values_list("pk", "organisation_id")
        )


@crossing
def contracts_to_refresh() -> list[tuple[int, int]]:
    """Notified contracts of 40,000 € or more with no entry yet (a lost signal) or an
    incomplete one (a record fixed outside the contract, such as the consultation's
    CCAG), of every member: (contract id, organisation id), for the daily sweep."""
    with scopes_disabled():
        return list(
            Contract.for_organisation.filter(
                Q(decp_entry__isnull=True) | Q(decp_entry__status=Status.INCOMPLETE),
                receipt_confirmed_at__isnull=False,
                amount__gte=THRESHOLD,
            )
            .order_by("pk")
            .values_list("pk", "organisation_id")
        )


@crossing
def completeness(organisation: Organisation, *, today: date) -> dict[str, int]:
    """A buyer's DECP figures, public: the contracts notified and subject to the DECP,
    published on time, published late, not published within the deadline, not yet
    published and not yet due. Counts only, from publication dates that are public."""
    with scopes_disabled():
        concerned = Contract.for_organisation.filter(
            organisation=organisation, receipt_confirmed_at__isnull=False, amount__gte=THRESHOLD
        ).count()
        counts = DecpEntry.objects.filter(organisation=organisation).aggregate(
            on_time=Count(
                "pk", filter=Q(published_at__isnull=False, published_at__date__lte=F("due_on"))
            ),
            late=Count(
                "pk", filter=Q(published_at__isnull=False, published_at__date__gt=F("due_on"))
            ),
            overdue=Count("pk", filter=Q(published_at__isnull=True, due_on__lt=today)),
            pending=Count("pk", filter=Q(published_at__isnull=True, due_on__gte=today)),
        )
    counted = sum(counts.values())
    # A notified contract without an entry yet (the job has not run) is pending.
    return {"concerned": concerned, **counts, "pending": counts["pending"] + concerned - counted}
