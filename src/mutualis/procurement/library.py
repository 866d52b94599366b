"""The clause and template library that buyers share: administrative, technical, social
or environmental clauses and template texts, curated by the operator.

Entries belong to no member (``LibraryEntry`` has no organisation): operator staff write
them in the back office, every buyer reads them, searches them and copies one into the
description of a draft (``insert_clause``). A member contributes by proposing a text
(``LibraryProposal``, the member's row); operator staff accept it, and it becomes an
entry, or reject it with a reason the member reads.

The proposal's life, in one table: proposed → accepted | rejected, nothing after.

Audit: the library's entries are the platform's, their changes go on the platform's
chain; a proposal and the decision on it go on the proposing member's chain.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.html import escape
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.permissions import require_operator

from . import crossings, errors
from .models import Consultation, LibraryEntry, LibraryKind, LibraryProposal, ProposalState
from .services import locked_consultation, record_event, require_buyer, require_draft
from .text import sanitise

PROPOSAL_TRANSITIONS: dict[tuple[ProposalState, str], ProposalState] = {
    (ProposalState.PROPOSED, "accept"): ProposalState.ACCEPTED,
    (ProposalState.PROPOSED, "reject"): ProposalState.REJECTED,
}


@dataclasses.dataclass(frozen=True)
class EntryInput:
    kind: str
    title: str
    body: str
    keywords: str = ""


def _clean(data: EntryInput) -> dict[str, Any]:
    body = sanitise(data.body)
    if not body:
        raise errors.LibraryTextEmpty()
    return {
        "kind": LibraryKind(data.kind).value,
        "title": data.title.strip(),
        "body": body,
        "keywords": data.keywords.strip(),
    }


def _record_platform(actor: Any, action: str, entry: LibraryEntry, **context: Any) -> None:
    audit.record(
        actor=actor,
        chain=audit.PLATFORM_CHAIN,
        action=action,
        target=entry,
        payload={"kind": entry.kind, "active": entry.is_active},
        **context,
    )


# --- What buyers read -------------------------------------------------------------------


def entries(
    *, text: str = "", kind: str = "", include_withdrawn: bool = False
) -> QuerySet[LibraryEntry]:
    """The library, searched in titles, keywords and texts (a plain, case-insensitive
    match: the library holds hundreds of entries, not millions)."""
    rows = LibraryEntry.objects.all()
    if not include_withdrawn:
        rows = rows.filter(is_active=True)
    if kind:
        rows = rows.filter(kind=kind)
    for word in text.split()[:10]:
        rows = rows.filter(
            Q(title__icontains=word) | Q(keywords__icontains=word) | Q(body__icontains=word)
        )
    return rows.order_by("kind", "title", "pk")


def entry(pk: int, *, include_withdrawn: bool = False) -> LibraryEntry | None:
    return entries(include_withdrawn=include_withdrawn).filter(pk=pk).first()


def proposals_of(*, organisation_id: int) -> QuerySet[LibraryProposal]:
    """A member's own proposals (read in its scope)."""
    return LibraryProposal.objects.filter(organisation_id=organisation_id).order_by(
        "-created_at", "-pk"
    )


# --- Operator staff edit the library ------------------------------------------------------


@transaction.atomic(durable=True)
def create_entry(
    *, actor: Any, data: EntryInput, request_context: dict[str, Any] | None = None
) -> LibraryEntry:
    require_operator(actor)
    entry = LibraryEntry.objects.create(**_clean(data))
    _record_platform(actor, "library.entry_created", entry, **(request_context or {}))
    return entry


@transaction.atomic(durable=True)
def update_entry(
    *,
    actor: Any,
    entry_id: int,
    data: EntryInput,
    is_active: bool = True,
    request_context: dict[str, Any] | None = None,
) -> LibraryEntry:
    """Change an entry, or withdraw it (``is_active=False``): a withdrawn entry is kept,
    no longer offered to buyers."""
    require_operator(actor)
    entry = LibraryEntry.objects.select_for_update().get(pk=entry_id)
    for key, value in _clean(data).items():
        setattr(entry, key, value)
    entry.is_active = is_active
    entry.save()
    _record_platform(actor, "library.entry_updated", entry, **(request_context or {}))
    return entry


# --- Members propose, operator staff decide -----------------------------------------------


@transaction.atomic(durable=True)
def propose_entry(
    *,
    actor: Any,
    data: EntryInput,
    note: str = "",
    request_context: dict[str, Any] | None = None,
) -> LibraryProposal:
    """A buyer proposes a clause of its own for the library."""
    require_buyer(actor)
    proposal = LibraryProposal.objects.create(
        organisation_id=actor.organisation_id, note=note.strip(), **_clean(data)
    )
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action="library.proposal_sent",
        target=proposal,
        payload={"kind": proposal.kind},
        **(request_context or {}),
    )
    return proposal


def _decide(actor: Any, proposal_id: int, organisation_id: int, event: str) -> LibraryProposal:
    require_operator(actor)
    proposal = LibraryProposal.objects.select_for_update().get(
        pk=proposal_id, organisation_id=organisation_id
    )
    after = PROPOSAL_TRANSITIONS.get((ProposalState(proposal.state), event))
    if after is None:
        raise errors.ProposalAlreadyDecided()
    proposal.state = after
    proposal.decided_at = timezone.now()
    return proposal


@transaction.atomic(durable=True)
def accept_proposal(
    *, actor: Any, proposal_id: int, request_context: dict[str, Any] | None = None
) -> LibraryEntry:
    """Operator staff accept a member's proposal: it becomes an entry of the library."""
    require_operator(actor)
    organisation_id = _organisation_of(proposal_id)
    with scope(organisation=organisation_id):
        proposal = _decide(actor, proposal_id, organisation_id, "accept")
        entry = LibraryEntry.objects.create(
            **_clean(
                EntryInput(
                    kind=proposal.kind,
                    title=proposal.title,
                    body=proposal.body,
                    keywords=proposal.keywords,
                )
            )
        )
        proposal.entry = entry
        proposal.save(update_fields=["state", "decided_at", "entry"])
        audit.record(
            actor=actor,
            organisation=proposal.organisation,
            action="library.proposal_accepted",
            target=proposal,
            payload={"entry": entry.pk},
            **(request_context or {}),
        )
    _record_platform(actor, "library.entry_created", entry, **(request_context or {}))
    return entry


@transaction.atomic(durable=True)
def reject_proposal(
    *,
    actor: Any,
    proposal_id: int,
    reason: str,
    request_context: dict[str, Any] | None = None,
) -> LibraryProposal:
    """Operator staff reject a member's proposal, saying why."""
    require_operator(actor)
    reason = reason.strip()
    if not reason:
        raise errors.RejectionReasonRequired()
    organisation_id = _organisation_of(proposal_id)
    with scope(organisation=organisation_id):
        proposal = _decide(actor, proposal_id, organisation_id, "reject")
        proposal.rejection_reason = reason
        proposal.save(update_fields=["state", "decided_at", "rejection_reason"])
        audit.record(
            actor=actor,
            organisation=proposal.organisation,
            action="library.proposal_rejected",
            target=proposal,
            **(request_context or {}),
        )
    return proposal


def _organisation_of(proposal_id: int) -> int:
    found = crossings.library_proposal_for_operator(proposal_id)
    if found is None:
        raise LibraryProposal.DoesNotExist
    organisation_id: int = found.organisation_id
    return organisation_id


# --- Buyers copy a clause into a draft ------------------------------------------------------


@transaction.atomic(durable=True)
def insert_clause(
    *,
    actor: Any,
    consultation_id: int,
    entry_id: int,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Append an entry of the library to the description of a draft: a copy, which the
    buyer then adapts; later changes of the entry do not follow."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    found = entry(entry_id)
    if found is None:
        raise errors.LibraryEntryUnavailable()
    heading = f"<h3>{escape(found.title)}</h3>"
    consultation.description = sanitise(f"{consultation.description}{heading}{found.body}")
    consultation.save()
    record_event(
        consultation,
        actor=actor,
        action="consultation.clause_inserted",
        payload={"entry": found.pk},
        request_context=request_context,
    )
    return consultation
