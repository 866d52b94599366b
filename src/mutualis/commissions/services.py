"""Use cases of a member's commissions: composition and the consultations they examine.

Who: the organisation's administrators (``org_admin``) make a commission and decide its
composition — the commission is elected or appointed by the assembly's deliberation
(CGCT L1411-5), an administrative act rather than a purchase; buyers choose which
commission examines each of their consultations. Meetings are ``meetings.py``. Every
change is audited on the organisation's chain, in the same transaction.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mutualis.core import audit
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.identity.models import Membership
from mutualis.procurement.models import Consultation

from . import errors
from .models import (
    NAME_LENGTH,
    Commission,
    CommissionKind,
    CommissionMember,
    ConsultationCommission,
    QuorumRule,
    Seat,
    Vote,
)

SERVICE = "procurement"
ORG_ADMIN = "org_admin"
BUYER = "buyer"
SECRETARY = "secretary"
COMMISSION_MEMBER = "commission_member"
# Who composes commissions; who assigns consultations; who runs meetings; who reads.
MANAGERS = (ORG_ADMIN,)
ASSIGNERS = (BUYER,)
MEETING_MANAGERS = (BUYER, SECRETARY)
READERS = (ORG_ADMIN, BUYER, SECRETARY, COMMISSION_MEMBER)


def require(actor: Any, *roles: str) -> None:
    require_role(actor, *roles)
    require_subscription(actor.organisation_id, SERVICE)


def record(
    actor: Any,
    action: str,
    target: Any,
    payload: dict[str, Any],
    request_context: dict[str, Any] | None,
) -> None:
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action=action,
        target=target,
        payload=payload,
        **(request_context or {}),
    )


def clean_text(value: Any, *, max_length: int, required: bool = True, lines: bool = False) -> str:
    """A typed text, trimmed: refused when empty (if required), longer than
    ``max_length`` or holding a control character (line breaks and tabs allowed in a
    text of several ``lines``)."""
    if not isinstance(value, str):
        raise errors.TextInvalid()
    text: str = value.replace("\r\n", "\n").strip()
    allowed = {"\n", "\t"} if lines else set()
    if (
        len(text) > max_length
        or (required and not text)
        or any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)
    ):
        raise errors.TextInvalid()
    return text


def _choice(value: Any, choices: Any) -> str:
    if value not in choices.values:
        raise errors.ChoiceInvalid()
    return str(value)


def _locked_commission(actor: Any, commission_id: int) -> Commission:
    commission = (
        Commission.objects.select_for_update()
        .filter(organisation_id=actor.organisation_id, pk=commission_id)
        .first()
    )
    if commission is None:
        raise errors.CommissionUnknown()
    return commission


# --- Commissions -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def create_commission(
    *,
    actor: Any,
    name: str,
    kind: str = CommissionKind.TENDER,
    quorum_rule: str = QuorumRule.MAJORITY,
    request_context: dict[str, Any] | None = None,
) -> Commission:
    require(actor, *MANAGERS)
    name = clean_text(name, max_length=NAME_LENGTH)
    kind = _choice(kind, CommissionKind)
    quorum_rule = _choice(quorum_rule, QuorumRule)
    if Commission.objects.filter(organisation_id=actor.organisation_id, name=name).exists():
        raise errors.NameTaken()
    try:
        with transaction.atomic():
            commission = Commission.objects.create(
                organisation_id=actor.organisation_id,
                name=name,
                kind=kind,
                quorum_rule=quorum_rule,
            )
    except IntegrityError:
        raise errors.NameTaken() from None
    record(actor, "commissions.commission.created", commission,
           {"kind": kind, "quorum_rule": quorum_rule}, request_context)  # fmt: skip
    return commission


@transaction.atomic(durable=True)
def update_commission(
    *,
    actor: Any,
    commission_id: int,
    name: str,
    kind: str,
    quorum_rule: str,
    request_context: dict[str, Any] | None = None,
) -> Commission:
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    name = clean_text(name, max_length=NAME_LENGTH)
    kind = _choice(kind, CommissionKind)
    quorum_rule = _choice(quorum_rule, QuorumRule)
    if (
        Commission.objects.filter(organisation_id=actor.organisation_id, name=name)
        .exclude(pk=commission.pk)
        .exists()
    ):
        raise errors.NameTaken()
    before = {"kind": commission.kind, "quorum_rule": commission.quorum_rule}
    commission.name, commission.kind, commission.quorum_rule = name, kind, quorum_rule
    commission.save(update_fields=["name", "kind", "quorum_rule"])
    record(actor, "commissions.commission.updated", commission,
           {"before": before, "kind": kind, "quorum_rule": quorum_rule},
           request_context)  # fmt: skip
    return commission


# --- Members ---------------------------------------------------------------------------


def _check_seat(seat: Any, vote: Any, is_president: Any) -> tuple[str, str, bool]:
    seat = _choice(seat, Seat)
    vote = _choice(vote, Vote)
    president = bool(is_president)
    if president and (seat != Seat.FULL or vote != Vote.DELIBERATIVE):
        raise errors.PresidentInvalid()
    return seat, vote, president


def _clear_president(commission: Commission, *, keep: int | None = None) -> None:
    others = CommissionMember.objects.filter(
        organisation_id=commission.organisation_id,
        commission=commission,
        removed_at__isnull=True,
        is_president=True,
    )
    if keep is not None:
        others = others.exclude(pk=keep)
    others.update(is_president=False)


@transaction.atomic(durable=True)
def add_member(
    *,
    actor: Any,
    commission_id: int,
    membership_id: int,
    seat: str = Seat.FULL,
    vote: str = Vote.DELIBERATIVE,
    is_president: bool = False,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> CommissionMember:
    """Seat an agent of the organisation holding the commission member role."""
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    seat, vote, president = _check_seat(seat, vote, is_president)
    membership = (
        Membership.objects.filter(
            organisation_id=actor.organisation_id,
            pk=membership_id,
            is_active=True,
            roles__code=COMMISSION_MEMBER,
        )
        .distinct()
        .first()
    )
    if membership is None:
        raise errors.NotACommissionMember()
    if CommissionMember.objects.filter(
        organisation_id=actor.organisation_id,
        commission=commission,
        membership=membership,
        removed_at__isnull=True,
    ).exists():
        raise errors.AlreadyMember()
    if president:
        _clear_president(commission)
    member = CommissionMember.objects.create(
        organisation_id=actor.organisation_id,
        commission=commission,
        membership=membership,
        seat=seat,
        vote=vote,
        is_president=president,
        added_at=now or timezone.now(),
    )
    record(actor, "commissions.member.added", commission,
           {"member": member.pk, "membership": membership.pk, "seat": seat, "vote": vote,
            "president": president}, request_context)  # fmt: skip
    return member


def _current_member(commission: Commission, member_id: int) -> CommissionMember:
    member = CommissionMember.objects.filter(
        organisation_id=commission.organisation_id,
        commission=commission,
        pk=member_id,
        removed_at__isnull=True,
    ).first()
    if member is None:
        raise errors.ChoiceInvalid()
    return member


@transaction.atomic(durable=True)
def update_member(
    *,
    actor: Any,
    commission_id: int,
    member_id: int,
    seat: str,
    vote: str,
    is_president: bool,
    request_context: dict[str, Any] | None = None,
) -> CommissionMember:
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    member = _current_member(commission, member_id)
    seat, vote, president = _check_seat(seat, vote, is_president)
    if president:
        _clear_president(commission, keep=member.pk)
    before = {"seat": member.seat, "vote": member.vote, "president": member.is_president}
    member.seat, member.vote, member.is_president = seat, vote, president
    member.save(update_fields=["seat", "vote", "is_president"])
    record(actor, "commissions.member.updated", commission,
           {"member": member.pk, "before": before, "seat": seat, "vote": vote,
            "president": president}, request_context)  # fmt: skip
    return member


@transaction.atomic(durable=True)
def remove_member(
    *,
    actor: Any,
    commission_id: int,
    member_id: int,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> CommissionMember:
    """The member leaves the commission; their row stays for the past meetings."""
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    member = _current_member(commission, member_id)
    member.removed_at = now or timezone.now()
    member.is_president = False
    member.save(update_fields=["removed_at", "is_president"])
    record(actor, "commissions.member.removed", commission,
           {"member": member.pk, "membership": member.membership_id},
           request_context)  # fmt: skip
    return member


# --- Which commission examines a consultation ------------------------------------------


@transaction.atomic(durable=True)
def assign_consultation(
    *,
    actor: Any,
    consultation_id: int,
    commission_id: int | None,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> ConsultationCommission | None:
    """Have ``commission_id`` examine the consultation (None: no commission). The
    opening-key holders offered from now on are that commission's members; an opening
    key already made keeps its holders."""
    require(actor, *ASSIGNERS)
    consultation = (
        Consultation.objects.select_for_update()
        .filter(organisation_id=actor.organisation_id, pk=consultation_id)
        .first()
    )
    if consultation is None:
        raise errors.ConsultationUnknown()
    current = ConsultationCommission.objects.filter(
        organisation_id=actor.organisation_id, consultation=consultation
    ).first()
    previous_id = current.commission_id if current else None
    if commission_id is None:
        if current is not None:
            current.delete()
            record(actor, "commissions.consultation.unassigned", consultation,
                   {"commission": previous_id}, request_context)  # fmt: skip
        return None
    commission = Commission.objects.filter(
        organisation_id=actor.organisation_id, pk=commission_id
    ).first()
    if commission is None:
        raise errors.CommissionUnknown()
    if previous_id == commission.pk:
        return current
    if current is None:
        current = ConsultationCommission(
            organisation_id=actor.organisation_id, consultation=consultation
        )
    current.commission = commission
    current.assigned_at = now or timezone.now()
    current.assigned_by_id = actor.user_id
    current.save()
    record(actor, "commissions.consultation.assigned", consultation,
           {"commission": commission.pk, "previous": previous_id}, request_context)  # fmt: skip
    return current
