"""Where the contracts context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django_scopes import scopes_disabled

from mutualis.core.api.pagination import changes_since
from mutualis.core.models import AuditEvent
from mutualis.core.registry import crossing

from . import public
from .models import Amendment, ArchivePackage, Award, Contract, RetentionPurge

# --- The public API (api.py) ---------------------------------------------------------------


@crossing
def public_award_changes(*, cursor: str | None, limit: int) -> dict[str, Any]:
    """The API's public feed of award decisions: every member's, once notified to the
    bidders (public facts: the winner and its amount, ``public.awards``)."""
    with scopes_disabled():
        return changes_since(public.awards(), cursor=cursor, limit=limit, scope="awards")


@crossing
def public_award(award_id: int) -> Award | None:
    """One notified award decision of any member, for the public API."""
    with scopes_disabled():
        return public.awards().filter(pk=award_id).first()


@crossing
def public_contract_changes(*, cursor: str | None, limit: int) -> dict[str, Any]:
    """The API's public feed of contracts: every member's, once the holder confirmed
    the notification's receipt (the DECP's public facts), with their amendments."""
    with scopes_disabled():
        feed = changes_since(public.contracts(), cursor=cursor, limit=limit, scope="contracts")
        return feed


@crossing
def public_contract(contract_id: int) -> tuple[Contract, list[Amendment]] | None:
    """One notified contract of any member with its amendments, for the public API."""
    with scopes_disabled():
        found = public.contracts().filter(pk=contract_id).first()
        if found is None:
            return None
        return found, list(found.amendments.all())


# --- The archive package (archive.py) and retention (retention.py) -------------------------


@crossing
def audit_events_about(targets: list[tuple[str, list[int]]]) -> list[AuditEvent]:
    """The audit extract of a procedure's archive package: the events about its
    consultation, deposits, awards, letters and contracts on every chain — the
    companies' chains included (deposits, receipts, letters read), which no member
    scope reaches."""
    condition = Q(pk__in=[])
    for object_type, ids in targets:
        if ids:
            condition |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    with scopes_disabled():
        return list(AuditEvent.objects.filter(condition).order_by("chain", "sequence"))


@crossing
def package_owner(package_id: int) -> int | None:
    """The member whose archive package the background job is to write (the job knows
    only its identifier); the package is then read in that member's scope."""
    with scopes_disabled():
        return (
            ArchivePackage.objects.filter(pk=package_id)
            .values_list("organisation_id", flat=True)
            .first()
        )


@crossing
def procedures_with_decisions() -> list[tuple[int, int]]:
    """The retention job looks at every member's consultations that have a decision or
    were cancelled, and not purged yet: (consultation, member) identifiers only; each is
    then read in its own member's scope."""
    from mutualis.procurement.models import Consultation, State

    with scopes_disabled():
        purged = RetentionPurge.objects.values("consultation_id")
        return list(
            Consultation.objects.filter(is_test=False)
            .filter(Q(pk__in=Award.objects.values("consultation_id")) | Q(state=State.CANCELLED))
            .exclude(pk__in=purged)
            .order_by("pk")
            .values_list("pk", "organisation_id")
        )
