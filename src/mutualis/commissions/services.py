"""Use cases of a member's commissions: composition and the consultations they examine.

Who: the organisation's administrators (``org_admin``) make a commission and decide its
composition — the commission is elected or appointed by the assembly's deliberation
(CGCT L1411-5), an administrative act rather than a purchase; buyers choose which
commission examines each of their consultations. Meetings are ``meetings.py``. Every
change is audited on the organisation's chain, in the same transaction.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from mutualis.core import audit
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.identity.models import Membership
from mutualis.procurement.models import Consultation

from . import errors
from .models import (
    EMAIL_LENGTH,
    MAX_EXTERNAL_MEMBERS,
    NAME_LENGTH,
    Commission,
    CommissionKind,
    CommissionMember,
    ConsultationCommission,
    ExternalMember,
    ExternalQuality,
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


# --- Who sits: members and outside attendees ---------------------------------------------
#
# A commission lists two kinds of people: its members (agents of the organisation, who
# vote) and its advisory attendees from outside (no account, never a voter: ADR 0013).
# They are seated, changed and leave by the same rules: one row per person while they
# sit, kept when they leave for the past meetings, every change audited on the
# organisation's chain with what it was before. ``_Seated`` says what differs.


_Row = TypeVar("_Row", CommissionMember, ExternalMember)


@dataclasses.dataclass(frozen=True)
class _Seated(Generic[_Row]):
    model: type[_Row]
    # Names the row in the audit actions (``commissions.<noun>.added``…) and payloads.
    noun: str
    # What a change may set: the name in the audit payload → the column.
    fields: dict[str, str]
    # What the audit names when one leaves (payload name, attribute), and the columns
    # leaving resets.
    leaving: tuple[str, str]
    cleared: dict[str, Any] = dataclasses.field(default_factory=dict)


MEMBERS: _Seated[CommissionMember] = _Seated(
    CommissionMember,
    "member",
    {"seat": "seat", "vote": "vote", "president": "is_president"},
    ("membership", "membership_id"),
    {"is_president": False},  # a president who leaves presides no more
)
EXTERNALS: _Seated[ExternalMember] = _Seated(
    ExternalMember,
    "external",
    {"name": "name", "quality": "quality", "title": "title", "email": "email"},
    ("email", "email"),
)


def _record_seated(
    actor: Any,
    kind: _Seated[_Row],
    verb: str,
    commission: Commission,
    row: _Row,
    payload: dict[str, Any],
    request_context: dict[str, Any] | None,
) -> None:
    record(actor, f"commissions.{kind.noun}.{verb}", commission, {kind.noun: row.pk, **payload},
           request_context)  # fmt: skip


def _seat(
    actor: Any,
    kind: _Seated[_Row],
    commission: Commission,
    columns: dict[str, Any],
    audited: dict[str, Any],
    *,
    now: datetime | None,
    request_context: dict[str, Any] | None,
) -> _Row:
    """A new row of ``kind`` on the (locked) commission, audited with ``audited``."""
    row: _Row = kind.model.objects.create(
        organisation_id=actor.organisation_id,
        commission=commission,
        added_at=now or timezone.now(),
        **columns,
    )
    _record_seated(actor, kind, "added", commission, row, audited, request_context)
    return row


def _locked_seated(
    actor: Any, kind: _Seated[_Row], commission_id: int, row_id: int
) -> tuple[Commission, _Row]:
    """For a manager, the commission (locked) and its row ``row_id`` of ``kind``, sitting
    now; a row that left, or of another commission, is refused."""
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    row: _Row | None = kind.model.objects.filter(
        organisation_id=commission.organisation_id,
        commission=commission,
        pk=row_id,
        removed_at__isnull=True,
    ).first()
    if row is None:
        raise errors.ChoiceInvalid()
    return commission, row


def _change(
    actor: Any,
    kind: _Seated[_Row],
    commission: Commission,
    row: _Row,
    values: dict[str, Any],
    request_context: dict[str, Any] | None,
) -> _Row:
    """Set ``values`` (checked, by payload name) on the row; audited with the values
    before."""
    before = {name: getattr(row, column) for name, column in kind.fields.items()}
    for name, column in kind.fields.items():
        setattr(row, column, values[name])
    row.save(update_fields=list(kind.fields.values()))
    _record_seated(actor, kind, "updated", commission, row, {"before": before, **values},
                   request_context)  # fmt: skip
    return row


def _leave(
    actor: Any,
    kind: _Seated[_Row],
    commission_id: int,
    row_id: int,
    *,
    now: datetime | None,
    request_context: dict[str, Any] | None,
) -> _Row:
    """The person leaves the commission (no longer convened); the row stays, for the
    past meetings."""
    commission, row = _locked_seated(actor, kind, commission_id, row_id)
    row.removed_at = now or timezone.now()
    for column, value in kind.cleared.items():
        setattr(row, column, value)
    row.save(update_fields=["removed_at", *kind.cleared])
    name, attribute = kind.leaving
    _record_seated(actor, kind, "removed", commission, row, {name: getattr(row, attribute)},
                   request_context)  # fmt: skip
    return row


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
    return _seat(
        actor,
        MEMBERS,
        commission,
        {"membership": membership, "seat": seat, "vote": vote, "is_president": president},
        {"membership": membership.pk, "seat": seat, "vote": vote, "president": president},
        now=now,
        request_context=request_context,
    )


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
    commission, member = _locked_seated(actor, MEMBERS, commission_id, member_id)
    seat, vote, president = _check_seat(seat, vote, is_president)
    if president:
        _clear_president(commission, keep=member.pk)
    values = {"seat": seat, "vote": vote, "president": president}
    return _change(actor, MEMBERS, commission, member, values, request_context)


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
    return _leave(
        actor, MEMBERS, commission_id, member_id, now=now, request_context=request_context
    )


# --- Advisory attendees from outside the organisation -----------------------------------
#
# Only an administrator gives the platform an outside address to write to, and each one
# is audited with the address: the convocations then go to it at each change of a
# convened meeting, as to the members, and the minutes once issued. At most
# ``MAX_EXTERNAL_MEMBERS`` per commission.


def clean_email(value: Any) -> str:
    """An e-mail address, trimmed and in lower case; refused when invalid, too long or
    holding anything but printable characters (no header can be smuggled in)."""
    if not isinstance(value, str):
        raise errors.EmailInvalid()
    address = value.strip().lower()
    if (
        not address
        or len(address) > EMAIL_LENGTH
        or any(unicodedata.category(c)[0] in "CZ" for c in address)
    ):
        raise errors.EmailInvalid()
    try:
        validate_email(address)
    except ValidationError:
        raise errors.EmailInvalid() from None
    return address


def _checked_external(name: Any, quality: Any, title: Any, email: Any) -> tuple[str, str, str, str]:
    return (
        clean_text(name, max_length=NAME_LENGTH),
        _choice(quality, ExternalQuality),
        clean_text(title, max_length=NAME_LENGTH, required=False),
        clean_email(email),
    )


def _address_taken(commission: Commission, email: str, *, other_than: int | None = None) -> bool:
    rows = ExternalMember.objects.filter(
        organisation_id=commission.organisation_id,
        commission=commission,
        email=email,
        removed_at__isnull=True,
    )
    if other_than is not None:
        rows = rows.exclude(pk=other_than)
    return rows.exists()


@transaction.atomic(durable=True)
def add_external(
    *,
    actor: Any,
    commission_id: int,
    name: str,
    quality: str,
    email: str,
    title: str = "",
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> ExternalMember:
    """Add an advisory attendee who is not an agent of the organisation: convened with
    the members from the next convocation on, never a voter nor a key holder."""
    require(actor, *MANAGERS)
    commission = _locked_commission(actor, commission_id)
    name, quality, title, email = _checked_external(name, quality, title, email)
    current = ExternalMember.objects.filter(
        organisation_id=actor.organisation_id, commission=commission, removed_at__isnull=True
    ).count()
    if current >= MAX_EXTERNAL_MEMBERS:
        raise errors.TooManyExternals(
            errors.TooManyExternals.message % {"max": MAX_EXTERNAL_MEMBERS}
        )
    if _address_taken(commission, email):
        raise errors.AlreadyExternal()
    return _seat(
        actor,
        EXTERNALS,
        commission,
        {"name": name, "quality": quality, "title": title, "email": email,
         "added_by_id": actor.user_id},
        {"name": name, "quality": quality, "email": email},
        now=now,
        request_context=request_context,
    )  # fmt: skip


@transaction.atomic(durable=True)
def update_external(
    *,
    actor: Any,
    commission_id: int,
    external_id: int,
    name: str,
    quality: str,
    email: str,
    title: str = "",
    request_context: dict[str, Any] | None = None,
) -> ExternalMember:
    commission, external = _locked_seated(actor, EXTERNALS, commission_id, external_id)
    name, quality, title, email = _checked_external(name, quality, title, email)
    if _address_taken(commission, email, other_than=external.pk):
        raise errors.AlreadyExternal()
    values = {"name": name, "quality": quality, "title": title, "email": email}
    return _change(actor, EXTERNALS, commission, external, values, request_context)


@transaction.atomic(durable=True)
def remove_external(
    *,
    actor: Any,
    commission_id: int,
    external_id: int,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> ExternalMember:
    """The attendee is no longer convened; the row stays for the past meetings."""
    return _leave(
        actor, EXTERNALS, commission_id, external_id, now=now, request_context=request_context
    )


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
