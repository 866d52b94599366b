"""Sealed deposits ready to open, made as the browsers would: holders' identities sealed
by passphrases (age scrypt), a consultation's opening key split in the format of npm
shamir-secret-sharing (GF(2^8), AES polynomial, x coordinate last) with each holder's
share — lowercase hex — age-encrypted to that holder, deposit files age-encrypted to the
opening key, the receipts logged and the on-time section's Merkle root closed.

These rows are written directly (the deposit and key ceremony services belong to other
parts of the context); they follow docs/adr/0008-sealed-deposits.md's conventions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyrage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core.audit.chain import canonical_json
from mutualis.deposits import storage
from mutualis.deposits.models import (
    Deposit,
    DepositFile,
    DepositLogEntry,
    DepositLogRoot,
    DepositState,
    HolderKey,
    LogSection,
    OpeningKey,
    SealedShare,
)
from mutualis.evidence import merkle
from mutualis.procurement.models import Consultation
from tests.factories.age import armored_passphrase_encrypt
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app

_POLYNOMIAL = 0x11B


def _mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= _POLYNOMIAL
        b >>= 1
    return product


def split(secret: bytes, n: int, k: int) -> list[bytes]:
    """``n`` shares of ``secret``, any ``k`` of which rebuild it (npm
    shamir-secret-sharing's layout: the y bytes, then the share's x coordinate)."""
    xs = secrets.SystemRandom().sample(range(1, 256), n)
    shares = [bytearray() for _ in range(n)]
    for byte in secret:
        coefficients = [byte] + [secrets.randbelow(256) for _ in range(k - 1)]
        for share, x in zip(shares, xs, strict=True):
            y, power = 0, 1
            for coefficient in coefficients:
                y ^= _mul(coefficient, power)
                power = _mul(power, x)
            share.append(y)
    return [bytes(share) + bytes([x]) for share, x in zip(shares, xs, strict=True)]


def enrol_holder(membership: Any, passphrase: str) -> tuple[HolderKey, Any]:
    """``membership``'s personal key, its secret sealed by ``passphrase`` (armored), at a
    test-sized scrypt work factor (tests/factories/age.py): the browsers unlock it in
    milliseconds, not seconds."""
    identity = pyrage.x25519.Identity.generate()
    sealed = armored_passphrase_encrypt(str(identity).encode(), passphrase)
    with scopes_disabled():
        holder = HolderKey.objects.create(
            organisation_id=membership.organisation_id,
            user=membership.user,
            recipient=str(identity.to_public()),
            sealed_identity=sealed.decode(),
        )
    return holder, identity


# The passphrase of the tests' commission members who hold an opening key.
PASSPHRASE = "phrase de passe des tests"


def commission_holder(
    organisation: Any, email: str = "commission@commune-a.example", passphrase: str = PASSPHRASE
) -> tuple[Any, HolderKey]:
    """A commission member of ``organisation`` (with the second factor the role needs)
    and their enrolled personal key: someone who may hold an opening key's share."""
    membership = make_member(organisation, email, roles=["commission_member"])
    give_authenticator_app(membership.user)
    holder, _identity = enrol_holder(membership, passphrase)
    return membership, holder


def make_opening_key(
    consultation: Consultation, creator: Any, holders: list[HolderKey], threshold: int
) -> tuple[OpeningKey, Any, list[bytes]]:
    """The consultation's opening key, split in ``len(holders) + 1`` shares (the last one
    the paper escrow), each holder's sealed to them. Returns the key row, the identity
    and the raw shares (holders' first, in order)."""
    identity = pyrage.x25519.Identity.generate()
    shares = split(str(identity).encode(), len(holders) + 1, threshold)
    with scopes_disabled():
        key = OpeningKey.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            recipient=str(identity.to_public()),
            threshold=threshold,
            share_count=len(holders),
            escrow_index=shares[-1][-1],
            created_by=creator.user,
        )
        for holder, share in zip(holders, shares, strict=False):
            recipient = pyrage.x25519.Recipient.from_str(holder.recipient)
            SealedShare.objects.create(
                organisation_id=consultation.organisation_id,
                opening_key=key,
                holder=holder,
                sealed_share=pyrage.encrypt(
                    share.hex().encode(), [recipient], armored=True
                ).decode(),
            )
    return key, identity, shares


def one_holder_key(consultation: Consultation, creator: Any, holder: HolderKey) -> bytes:
    """The consultation's opening key held by ``holder`` alone (threshold 1): their
    share, in the clear."""
    _key, _identity, shares = make_opening_key(consultation, creator, [holder], threshold=1)
    return shares[0]


def open_through_the_pages(
    consultation: Consultation, *, buyer: Any, holder: Any, share: bytes
) -> Client:
    """The consultation opened as the pages open it, once its deadline is past: the
    buyer starts the opening, the holder (a membership) gives their share, which is
    enough. Returns the buyer's signed-in client."""
    kwargs = {"org": buyer.organisation.slug, "pk": consultation.pk}
    buyer_client = Client()
    buyer_client.force_login(buyer.user)
    assert buyer_client.post(reverse("deposits_opening:start", kwargs=kwargs)).status_code == 302
    holder_client = Client()
    holder_client.force_login(holder.user)
    answer = holder_client.post(
        reverse("deposits_opening:share", kwargs=kwargs),
        json.dumps({"share": share.hex()}),
        content_type="application/json",
    )
    assert answer.json()["opened"] is True
    return buyer_client


_counter = iter(range(1, 10**9))


def make_deposit(
    consultation: Consultation,
    representative: Any,
    files: list[tuple[str, bytes]],
    *,
    late: bool = False,
    received_at: datetime | None = None,
    declared: dict[str, str] | None = None,
    log: bool = True,
    phase: str = "offer",
) -> Deposit:
    """An acknowledged deposit of ``representative``'s company whose ``files`` (name,
    plaintext) are age-encrypted to the consultation's opening key and stored as the
    deposit API stores them. ``declared`` overrides a file's declared plaintext SHA-256."""
    with scopes_disabled():
        recipient = pyrage.x25519.Recipient.from_str(
            OpeningKey.objects.get(consultation=consultation).recipient
        )
        number = next(_counter)
        received_at = received_at or (
            consultation.response_deadline + (timedelta(minutes=5) if late else -timedelta(hours=1))
        )
        deposit = Deposit.for_organisation.create(
            organisation_id=consultation.organisation_id,
            reference=f"D-{consultation.pk}-{number:05d}",
            consultation=consultation,
            company_id=representative.company_id,
            user=representative.user,
            state=DepositState.ACKNOWLEDGED,
            idempotency_key=f"test-{number}",
            received_at=received_at,
            late=late,
            phase=phase,
        )
        rows = []
        for position, (name, plaintext) in enumerate(files):
            ciphertext = pyrage.encrypt(plaintext, [recipient])
            row = DepositFile.for_organisation.create(
                organisation_id=consultation.organisation_id,
                deposit=deposit,
                company_id=representative.company_id,
                position=position,
                idempotency_key=f"file-{position}",
                name=name,
                plaintext_size=len(plaintext),
                plaintext_sha256=(declared or {}).get(name)
                or hashlib.sha256(plaintext).hexdigest(),
                ciphertext_size=len(ciphertext),
                received_size=len(ciphertext),
                ciphertext_sha256=hashlib.sha256(ciphertext).hexdigest(),
                storage_name="",
                completed_at=received_at,
            )
            row.storage_name = storage.storage_name(
                consultation_id=consultation.pk, reference=deposit.reference, file_id=row.pk
            )
            row.save(update_fields=["storage_name"])
            path = storage.path_of(row.storage_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(ciphertext)
            rows.append(row)
        deposit.receipt = {
            "reference": deposit.reference,
            "received_at": received_at.isoformat(),
            "late": late,
            "files": [
                {"name": r.name, "plaintext_sha256": r.plaintext_sha256,
                 "ciphertext_sha256": r.ciphertext_sha256}
                for r in rows
            ],
        }  # fmt: skip
        deposit.receipt_digest = hashlib.sha256(canonical_json(deposit.receipt)).hexdigest()
        deposit.save(update_fields=["receipt", "receipt_digest"])
        if log:
            entry = {
                "consultation": consultation.pk,
                "deposit_reference": deposit.reference,
                "section": LogSection.LATE if late else LogSection.ON_TIME,
                "receipt_digest": deposit.receipt_digest,
                "received_at": received_at.isoformat(),
            }
            DepositLogEntry.objects.create(
                consultation=consultation,
                deposit_reference=deposit.reference,
                section=entry["section"],
                receipt_digest=deposit.receipt_digest,
                received_at=received_at,
                entry_hash=hashlib.sha256(canonical_json(entry)).hexdigest(),
            )
    return deposit


def close_on_time_section(consultation: Consultation) -> DepositLogRoot:
    """The on-time section's root, as the deadline job publishes it (token not checked
    at the opening)."""
    entries = DepositLogEntry.objects.filter(
        consultation=consultation, section=LogSection.ON_TIME
    ).order_by("received_at", "id")
    leaves = [bytes.fromhex(e.receipt_digest) for e in entries]
    return DepositLogRoot.objects.create(
        consultation=consultation,
        section=LogSection.ON_TIME,
        size=len(leaves),
        root=merkle.root(leaves).hex(),
        timestamp_token=b"not checked at the opening",
        closed_at=consultation.response_deadline,
    )


def pass_deadline(consultation: Consultation, *, ago: timedelta = timedelta(minutes=1)) -> None:
    """Move the response deadline into the past (the consultation stays published)."""
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(
            response_deadline=timezone.now() - ago
        )
        consultation.refresh_from_db()


def opened(buyer, holder, restricted):
    """The restricted procedure's application phase past its deadline and opened through
    the pages by ``buyer`` with the first of ``holder``'s shares."""
    pass_deadline(restricted)
    return open_through_the_pages(
        restricted, buyer=buyer, holder=holder[0], share=restricted.test_share
    )
