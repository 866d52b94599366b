"""The key ceremony: holders enrol their personal keys, buyers register each consultation's
opening key, the opening rebuilds it (docs/adr/0008-sealed-deposits.md).

What the server receives and keeps, and why it cannot open anything with it:

- A holder (an agent with the ``commission_member`` role) enrols an age X25519 key pair
  generated in their browser: the public key (``age1…``) and the private key sealed by
  their passphrase (an armored age file whose only stanza is ``scrypt``).
- A buyer registers a consultation's opening key: its public key, k and n, and for each
  of the n chosen holders an armored age file sealed to that holder's public key whose
  plaintext is the holder's share, in lowercase hexadecimal (``share_text``). The share
  is one of ``split(utf8(identity), n + 1, k)`` of npm ``shamir-secret-sharing``; the
  extra one is printed on paper in the browser and never sent; only its x coordinate
  (the share's last byte, ``escrow_index``) is recorded.
- At the opening, k holders unlock their shares; ``rebuild_identity`` combines them and
  refuses a key whose public key is not the recorded one.

Every change is audited on the organisation's chain. Re-enrolment (a forgotten
passphrase, a lost key) retires the previous key, unless it still holds a share of a
consultation not yet opened: those shares would become unusable, so the holder waits for
those openings (the other holders and the paper share cover the interval).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

import pyrage  # type: ignore[import-untyped]
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mutualis.commissions import selectors as commission_selectors
from mutualis.core import audit
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.identity.models import Membership
from mutualis.procurement import rounds as procurement_rounds
from mutualis.procurement.models import Consultation, State

from . import key_errors as errors
from . import key_formats, shamir
from .models import Deposit, HolderKey, OpeningKey, OpeningKeyDefaults, SealedShare

SERVICE = "procurement"
COMMISSION_MEMBER = "commission_member"
BUYER = "buyer"
# Bounds of what a browser posts. An armored passphrase-sealed identity is about 480
# characters, a sealed share about 600 (a 75-byte share as 150 hexadecimal digits).
SEALED_IDENTITY_MAX_CHARS = 4096
SEALED_SHARE_MAX_CHARS = 4096
# age's scrypt work factor (log2 N): 18 is the default of age, rage and age-encryption;
# more than 22 would make an unlock take minutes in a browser.
SCRYPT_MIN_WORK = 18
SCRYPT_MAX_WORK = 22
# A commission, not a crowd: n + 1 shares must stay within the format's 255.
MAX_HOLDERS = 20
_HEX = re.compile(r"[0-9a-f]+")


# --- Who may do what -------------------------------------------------------------------


def is_holder_candidate(membership: Any) -> bool:
    return bool(membership and membership.is_active and membership.has_role(COMMISSION_MEMBER))


def may_see_holders(membership: Any) -> bool:
    """The holders' list (public keys, dates; no secret) is for the commission, the
    buyers who choose among them and the organisation's administrators."""
    return bool(
        membership
        and membership.is_active
        and membership.role_codes() & {COMMISSION_MEMBER, BUYER, "org_admin"}
    )


def _require(actor: Any, *roles: str) -> None:
    require_role(actor, *roles)
    require_subscription(actor.organisation_id, SERVICE)


def _record(
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


# --- Selectors -------------------------------------------------------------------------


def _commission_user_ids(organisation_id: int) -> Any:
    """The people who are commission members of the organisation now (an active
    membership with the role): a key whose holder left the commission stays enrolled
    but is offered for no new opening key."""
    return Membership.objects.filter(
        organisation_id=organisation_id, is_active=True, roles__code=COMMISSION_MEMBER
    ).values("user_id")


def _holder_user_ids(organisation_id: int, consultation_id: int | None) -> Any:
    """Whom a consultation's holders are drawn from: the members of the commission that
    examines it (``commissions``), or without one the organisation's commission members.
    An offer phase or a negotiation round without a commission of its own is examined by
    the commission of the procedure: the nearest earlier consultation's in its chain."""
    if consultation_id is not None:
        for examined_id in procurement_rounds.ancestor_ids(consultation_id):
            members = commission_selectors.member_user_ids(
                organisation_id=organisation_id, consultation_id=examined_id
            )
            if members is not None:
                return members
    return _commission_user_ids(organisation_id)


def active_holders(*, organisation_id: int, consultation_id: int | None = None) -> list[HolderKey]:
    """The organisation's enrolled holders who are still commission members (of the
    consultation's commission, when one examines it), by name."""
    return list(
        HolderKey.objects.filter(
            organisation_id=organisation_id,
            retired_at__isnull=True,
            user_id__in=_holder_user_ids(organisation_id, consultation_id),
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__email", "pk")
    )


def current_key(*, organisation_id: int, user_id: int) -> HolderKey | None:
    return HolderKey.objects.filter(
        organisation_id=organisation_id, user_id=user_id, retired_at__isnull=True
    ).first()


def opening_key_of(*, organisation_id: int, consultation_id: int) -> OpeningKey | None:
    return (
        OpeningKey.objects.filter(organisation_id=organisation_id, consultation_id=consultation_id)
        .prefetch_related("shares__holder__user")
        .first()
    )


def has_deposits(key: OpeningKey) -> bool:
    """Whether a response was started with this key (it can no longer be replaced)."""
    return Deposit.for_organisation.filter(
        organisation_id=key.organisation_id, consultation_id=key.consultation_id
    ).exists()


def _pending_references(key: HolderKey) -> list[str]:
    """The consultations where ``key`` holds a share that an opening may still need:
    neither opened (a completed opening session) nor cancelled."""
    return sorted(
        SealedShare.objects.filter(organisation_id=key.organisation_id, holder=key)
        .exclude(opening_key__consultation__state=State.CANCELLED)
        .exclude(opening_key__consultation__opening_session__completed_at__isnull=False)
        .values_list("opening_key__consultation__reference", flat=True)
    )


@dataclasses.dataclass(frozen=True)
class Defaults:
    threshold: int
    share_count: int
    stored: bool


def defaults_of(*, organisation_id: int) -> Defaults:
    stored = OpeningKeyDefaults.objects.filter(organisation_id=organisation_id).first()
    if stored is None:
        return Defaults(threshold=2, share_count=3, stored=False)
    return Defaults(threshold=stored.threshold, share_count=stored.share_count, stored=True)


def proposal(*, organisation_id: int, holder_count: int) -> tuple[int, int]:
    """The k and n a new opening key starts from, given the enrolled holders: the
    organisation's defaults as far as there are holders (2 of 3 without stored defaults;
    with fewer holders than that, every holder and k = 1)."""
    defaults = defaults_of(organisation_id=organisation_id)
    if holder_count < defaults.share_count and not defaults.stored:
        return 1, holder_count
    n = min(defaults.share_count, holder_count)
    return min(defaults.threshold, n), n


# --- Holders ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def enrol_holder(
    *,
    actor: Any,
    recipient: str,
    sealed_identity: str,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> HolderKey:
    """Enrol the acting commission member's key pair (made in their browser): the public
    key and the private key sealed by their passphrase. A previous key is retired."""
    now = now or timezone.now()
    _require(actor, COMMISSION_MEMBER)
    recipient = recipient.strip() if isinstance(recipient, str) else recipient
    key_formats.recipient_key(recipient)
    try:
        key_formats.passphrase_file(
            sealed_identity,
            max_chars=SEALED_IDENTITY_MAX_CHARS,
            min_work=SCRYPT_MIN_WORK,
            max_work=SCRYPT_MAX_WORK,
        )
    except key_formats.AgeFormatError as exc:
        raise key_formats.AgeFormatError(exc.message, field="sealed_identity") from None
    organisation_id = actor.organisation_id
    if HolderKey.objects.filter(organisation_id=organisation_id, recipient=recipient).exists():
        raise errors.RecipientTaken()
    previous = (
        HolderKey.objects.select_for_update()
        .filter(organisation_id=organisation_id, user_id=actor.user_id, retired_at__isnull=True)
        .first()
    )
    if previous is not None:
        pending = _pending_references(previous)
        if pending:
            raise errors.HolderKeyStillNeeded(
                errors.HolderKeyStillNeeded.message % {"references": ", ".join(pending)}
            )
        previous.retired_at = now
        previous.save(update_fields=["retired_at"])
        _record(actor, "deposits.holder_key.retired", previous,
                {"recipient": previous.recipient, "reason": "re-enrolment"},
                request_context)  # fmt: skip
    try:
        with transaction.atomic():
            key = HolderKey.objects.create(
                organisation_id=organisation_id,
                user_id=actor.user_id,
                recipient=recipient,
                sealed_identity=sealed_identity.strip().replace("\r\n", "\n") + "\n",
            )
    except IntegrityError:
        # Two enrolments of one person at once: the other one won.
        raise errors.KeyCeremonyError(_("Another enrolment of yours just happened.")) from None
    _record(actor, "deposits.holder_key.enrolled", key,
            {"recipient": recipient, "replaces": previous.pk if previous else None},
            request_context)  # fmt: skip
    return key


# --- Opening keys ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OpeningKeyInput:
    """What the buyer's browser posts: the consultation's public key, k, the holders
    (HolderKey ids) with each one's sealed share, and the paper share's x coordinate."""

    recipient: str
    threshold: int
    sealed_shares: dict[int, str]
    escrow_index: int
    escrow_printed: bool = False


@transaction.atomic(durable=True)
def register_opening_key(
    *,
    actor: Any,
    consultation_id: int,
    data: OpeningKeyInput,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> OpeningKey:
    """Record a consultation's opening key and its sealed shares, before its deadline.
    A key already used to seal a response is never replaced."""
    now = now or timezone.now()
    _require(actor, BUYER)
    organisation_id = actor.organisation_id
    # Locked: a deposit starting now waits for the new key (the deposit service reads
    # the key under the same consultation).
    consultation = Consultation.objects.select_for_update().get(
        pk=consultation_id, organisation_id=organisation_id
    )
    if (
        consultation.state in (State.CLOSED, State.CANCELLED)
        or consultation.response_deadline <= now
    ):
        raise errors.ConsultationClosed()
    key_formats.recipient_key(data.recipient)
    holder_ids = sorted(data.sealed_shares)
    if not 1 <= len(holder_ids) <= MAX_HOLDERS:
        raise errors.HoldersInvalid()
    if not (isinstance(data.threshold, int) and 1 <= data.threshold <= len(holder_ids)):
        raise errors.ThresholdInvalid()
    if not (isinstance(data.escrow_index, int) and 1 <= data.escrow_index <= shamir.MAX_SHARES):
        raise errors.EscrowInvalid()
    # Enrolled, not retired, still of the commission (the consultation's, when it has
    # one: a holder posted from outside it is refused). In primary-key order, so that two
    # ceremonies lock the same holders alike; an enrolment retiring one of them waits,
    # then finds its share (and refuses).
    holders = list(
        HolderKey.objects.select_for_update()
        .filter(
            organisation_id=organisation_id,
            pk__in=holder_ids,
            retired_at__isnull=True,
            user_id__in=_holder_user_ids(organisation_id, consultation.pk),
        )
        .order_by("pk")
    )
    if [h.pk for h in holders] != holder_ids:
        raise errors.HoldersInvalid()
    sizes = set()
    for holder in holders:
        try:
            parsed = key_formats.x25519_file(
                data.sealed_shares[holder.pk], max_chars=SEALED_SHARE_MAX_CHARS
            )
        except key_formats.AgeFormatError as exc:
            raise errors.SharesInvalid(exc.message) from None
        sizes.add(parsed.payload_size)
    if len(sizes) != 1:
        # Every share of one split has the same length, so does every sealed one.
        raise errors.SharesInvalid()

    previous = OpeningKey.objects.filter(consultation=consultation).first()
    if previous is not None:
        if has_deposits(previous):
            raise errors.OpeningKeyInUse()
        _record(actor, "deposits.opening_key.replaced", consultation,
                {"recipient": previous.recipient}, request_context)  # fmt: skip
        previous.delete()
    key = OpeningKey.objects.create(
        organisation_id=organisation_id,
        consultation=consultation,
        recipient=data.recipient,
        threshold=data.threshold,
        share_count=len(holders),
        escrow_index=data.escrow_index,
        created_by_id=actor.user_id,
        escrow_printed_at=now if data.escrow_printed else None,
    )
    SealedShare.objects.bulk_create(
        SealedShare(
            organisation_id=organisation_id,
            opening_key=key,
            holder=holder,
            sealed_share=data.sealed_shares[holder.pk].strip().replace("\r\n", "\n") + "\n",
        )
        for holder in holders
    )
    _record(actor, "deposits.opening_key.registered", consultation,
            {"recipient": key.recipient, "threshold": key.threshold,
             "share_count": key.share_count, "holders": holder_ids,
             "escrow_index": key.escrow_index}, request_context)  # fmt: skip
    return key


@transaction.atomic(durable=True)
def set_defaults(
    *,
    actor: Any,
    threshold: int,
    share_count: int,
    request_context: dict[str, Any] | None = None,
) -> OpeningKeyDefaults:
    """Set what new opening keys of the organisation propose (k of n)."""
    _require(actor, BUYER, "org_admin")
    if not (
        isinstance(threshold, int)
        and isinstance(share_count, int)
        and 1 <= threshold <= share_count <= MAX_HOLDERS
    ):
        raise errors.DefaultsInvalid(errors.DefaultsInvalid.message % {"max": MAX_HOLDERS})
    defaults, _created = OpeningKeyDefaults.objects.update_or_create(
        organisation_id=actor.organisation_id,
        defaults={"threshold": threshold, "share_count": share_count},
    )
    _record(actor, "deposits.opening_key.defaults_set", defaults,
            {"threshold": threshold, "share_count": share_count},
            request_context)  # fmt: skip
    return defaults


# --- Shares and the rebuilt key --------------------------------------------------------


def share_text(share: bytes) -> str:
    """How a share travels inside its sealed file and on the paper sheet: lowercase hex."""
    return share.hex()


def parse_share(text: str) -> bytes:
    """A share from its text: the plaintext of a sealed share, or the paper sheet's digits
    as typed (spaces, line breaks and capitals ignored)."""
    if not isinstance(text, str) or len(text) > 2048:
        raise errors.ShareTextInvalid()
    digits = "".join(text.split()).lower()
    if not digits or len(digits) % 2 or not _HEX.fullmatch(digits):
        raise errors.ShareTextInvalid()
    return bytes.fromhex(digits)


def rebuild_identity(shares: list[bytes], opening_key: OpeningKey) -> str:
    """The consultation's age private key (``AGE-SECRET-KEY-1…``) from at least k of its
    shares, refused unless its public key is ``opening_key.recipient``.

    Raises ``NotEnoughShares``, ``shamir.ShareError`` (duplicates, unequal lengths),
    ``RebuiltKeyInvalid`` or ``RebuiltKeyMismatch``. Nothing is stored: the caller keeps
    the key in memory for the opening only."""
    if len(shares) < max(opening_key.threshold, 1):
        raise errors.NotEnoughShares(
            errors.NotEnoughShares.message % {"threshold": opening_key.threshold}
        )
    secret = shamir.secret_of(shares[0]) if len(shares) == 1 else shamir.combine(shares)
    try:
        text = secret.decode("ascii")
        identity = pyrage.x25519.Identity.from_str(text)
    except (UnicodeDecodeError, pyrage.IdentityError, ValueError):
        raise errors.RebuiltKeyInvalid() from None
    if str(identity.to_public()) != opening_key.recipient:
        raise errors.RebuiltKeyMismatch()
    return text
