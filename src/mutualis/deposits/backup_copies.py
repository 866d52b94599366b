"""Use cases of the backup copy ("copie de sauvegarde", art. R2132-11 of the code and the
arrêté of 22 March 2019; ``../shared/DOMAIN.md``).

A company announces a backup copy with its deposit (the API's ``backup_copy_announced``);
the buyer records its reception (on paper, on a medium or electronically: announced or
not, one per company and consultation) and keeps it sealed. Once the electronic responses
are opened, the buyer either opens it, for a listed reason only (a malicious program, a
response not received in time, a response that could not be opened; never a missing or
invalid signature), saying what was found, or destroys it unopened. Each change goes
through ``backup_transitions`` and is one audit event: the announcement on the company's
chain, the buyer's acts on the organisation's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.companies.models import Company
from mutualis.core import audit
from mutualis.core.audit.chain import company_chain
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.procurement import selectors as procurement_selectors

from . import backup_transitions, errors
from .backup_transitions import Event
from .models import (
    BackupCopy,
    BackupMedium,
    BackupOpenReason,
    BackupState,
    Deposit,
    OpeningSession,
)

BUYER = "buyer"
MAX_NOTE = 2000


def _require_buyer(actor: Any) -> None:
    require_role(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        require_subscription(actor.organisation_id, "procurement")


def _record(copy: BackupCopy, *, actor: Any, action: str, payload: dict[str, Any],
            context: dict[str, Any] | None) -> None:  # fmt: skip
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action=action,
        target=copy,
        payload={"state": copy.state, "company": copy.company_id, **payload},
        **(context or {}),
    )


# --- The company ----------------------------------------------------------------------------


def announce(deposit: Deposit, *, actor: Any, at: datetime) -> BackupCopy:
    """The backup copy a deposit announced (inside its acknowledgement's transaction):
    one per company and consultation, a later deposit's announcement keeps the first."""
    with scope(company=deposit.company_id):
        copy = BackupCopy.for_company.filter(
            consultation_id=deposit.consultation_id, company_id=deposit.company_id
        ).first()
        if copy is not None:
            return copy
        copy = BackupCopy.for_company.create(
            organisation_id=deposit.organisation_id,
            consultation_id=deposit.consultation_id,
            company_id=deposit.company_id,
            deposit=deposit,
            announced_at=at,
        )
    audit.record(
        actor=actor,
        action="deposits.backup_copy_announced",
        chain=company_chain(deposit.company_id),
        target=copy,
        payload={"reference": deposit.reference, "consultation": deposit.consultation_id},
    )
    return copy


# --- The buyer ------------------------------------------------------------------------------


def copies_of(*, organisation_id: int, consultation_id: int) -> list[BackupCopy]:
    with scope(organisation=organisation_id):
        return list(
            BackupCopy.for_organisation.filter(consultation_id=consultation_id)
            .select_related("company")
            .order_by("company__name", "pk")
        )


def _locked(actor: Any, copy_id: int) -> BackupCopy:
    copy = (
        BackupCopy.for_organisation.select_for_update()
        .filter(pk=copy_id, organisation_id=actor.organisation_id)
        .first()
    )
    if copy is None:
        raise errors.DepositNotFound()
    return copy


def _opened(copy: BackupCopy) -> bool:
    return OpeningSession.objects.filter(
        consultation_id=copy.consultation_id, completed_at__isnull=False
    ).exists()


@transaction.atomic(durable=True)
def record_reception(
    *,
    actor: Any,
    consultation_id: int,
    siren: str,
    medium: str,
    at: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> BackupCopy:
    """The backup copy of the company ``siren`` has arrived (announced or not)."""
    _require_buyer(actor)
    if medium not in BackupMedium.values:
        raise errors.BackupMediumInvalid()
    company = Company.objects.filter(siren=siren).first() if len(siren) == 9 else None
    if company is None:
        raise errors.BackupCompanyUnknown()
    at = at or timezone.now()
    with scope(organisation=actor.organisation_id):
        consultation = procurement_selectors.consultation(
            organisation_id=actor.organisation_id, consultation_id=consultation_id
        )
        if consultation is None or not consultation.is_public:
            raise errors.DepositNotFound()
        copy = (
            BackupCopy.for_organisation.select_for_update()
            .filter(consultation_id=consultation_id, company_id=company.pk)
            .first()
        )
        if copy is None:
            try:
                with transaction.atomic():
                    copy = BackupCopy.for_organisation.create(
                        organisation_id=actor.organisation_id,
                        consultation_id=consultation_id,
                        company_id=company.pk,
                    )
            except IntegrityError:  # announced at this very moment: that row it is
                copy = BackupCopy.for_organisation.select_for_update().get(
                    consultation_id=consultation_id, company_id=company.pk
                )
        backup_transitions.apply(copy, Event.RECEIVE)
        copy.medium = medium
        copy.received_at = at
        copy.received_by = actor.user
        copy.save()
        _record(copy, actor=actor, action="deposits.backup_copy_received",
                payload={"medium": medium, "late": at >= consultation.response_deadline},
                context=context)  # fmt: skip
    return copy


@transaction.atomic(durable=True)
def open_copy(
    *,
    actor: Any,
    copy_id: int,
    reason: str,
    note: str,
    context: dict[str, Any] | None = None,
) -> BackupCopy:
    """Open a received backup copy, once the electronic responses are opened, for a
    listed reason, saying what was found."""
    _require_buyer(actor)
    note = (note or "").strip()
    if reason not in BackupOpenReason.values or not note or len(note) > MAX_NOTE:
        raise errors.BackupOpenReasonRequired()
    if "\x00" in note:
        raise errors.BackupOpenReasonRequired()
    with scope(organisation=actor.organisation_id):
        copy = _locked(actor, copy_id)
        if not _opened(copy):
            raise errors.BackupBeforeOpening()
        backup_transitions.apply(copy, Event.OPEN)
        copy.opened_at = timezone.now()
        copy.opened_by = actor.user
        copy.open_reason = reason
        copy.open_note = note
        copy.save()
        _record(copy, actor=actor, action="deposits.backup_copy_opened",
                payload={"reason": reason, "note": note}, context=context)  # fmt: skip
    return copy


@transaction.atomic(durable=True)
def destroy(*, actor: Any, copy_id: int, context: dict[str, Any] | None = None) -> BackupCopy:
    """Destroy a backup copy unopened (or close an announcement that never arrived),
    once the electronic responses are opened."""
    _require_buyer(actor)
    with scope(organisation=actor.organisation_id):
        copy = _locked(actor, copy_id)
        if not _opened(copy):
            raise errors.BackupBeforeOpening()
        was = copy.state
        backup_transitions.apply(copy, Event.DESTROY)
        copy.destroyed_at = timezone.now()
        copy.destroyed_by = actor.user
        copy.save()
        _record(copy, actor=actor, action="deposits.backup_copy_destroyed",
                payload={"received": was == BackupState.RECEIVED}, context=context)  # fmt: skip
    return copy
