"""The key ceremony set up through its services, as the browser would post it.

Real age files where an identity must open them again (pyrage), and a quick stand-in for
a passphrase-sealed identity (scrypt is slow on purpose; the server cannot tell the
difference, since it never holds the passphrase)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import pyrage
from django_scopes import scope

from mutualis.deposits import key_formats, keys, shamir
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def passphrase_sealed_stand_in(*, work_factor: int = 18, plaintext_size: int = 74) -> str:
    """An armored age file of the shape the browser makes with a passphrase (one scrypt
    stanza), with random contents: a key nobody can open, for tests that do not unlock."""
    header = (
        b"age-encryption.org/v1\n"
        + f"-> scrypt {_b64(secrets.token_bytes(16))} {work_factor}\n".encode()
        + f"{_b64(secrets.token_bytes(32))}\n".encode()
        + f"--- {_b64(secrets.token_bytes(32))}\n".encode()
    )
    payload = secrets.token_bytes(16 + plaintext_size + 16)
    return key_formats.armor(header + payload)


@dataclass
class Holder:
    membership: Any
    identity: Any  # pyrage.x25519.Identity
    key: Any  # HolderKey

    @property
    def recipient(self) -> str:
        return str(self.identity.to_public())


def commission_member(organisation: Any, email: str, roles: tuple[str, ...] = ()) -> Any:
    membership = make_member(organisation, email, roles=["commission_member", *roles])
    give_authenticator_app(membership.user)
    return membership


def enrol(membership: Any) -> Holder:
    """Enrol ``membership`` (a commission member) with a fresh identity."""
    identity = pyrage.x25519.Identity.generate()
    with scope(organisation=membership.organisation_id):
        key = keys.enrol_holder(
            actor=membership,
            recipient=str(identity.to_public()),
            sealed_identity=passphrase_sealed_stand_in(),
        )
    return Holder(membership, identity, key)


@dataclass
class Ceremony:
    opening_key: Any
    identity: str
    shares: dict[int, bytes]  # HolderKey id -> share
    escrow: bytes


def seal_share(share: bytes, recipient: str) -> str:
    return key_formats.armor(
        pyrage.encrypt(
            keys.share_text(share).encode(), [pyrage.x25519.Recipient.from_str(recipient)]
        )
    )


def opening_input(
    holders: list[Holder], threshold: int, *, identity: Any = None
) -> tuple[keys.OpeningKeyInput, Ceremony]:
    identity = identity or pyrage.x25519.Identity.generate()
    shares = shamir.split(str(identity).encode(), len(holders) + 1, threshold)
    data = keys.OpeningKeyInput(
        recipient=str(identity.to_public()),
        threshold=threshold,
        sealed_shares={
            h.key.pk: seal_share(share, h.recipient)
            for h, share in zip(holders, shares, strict=False)
        },
        escrow_index=shares[-1][-1],
    )
    ceremony = Ceremony(
        None,
        str(identity),
        {h.key.pk: s for h, s in zip(holders, shares, strict=False)},
        shares[-1],
    )
    return data, ceremony


def make_opening_key(
    buyer: Any, consultation: Any, holders: list[Holder], threshold: int
) -> Ceremony:
    """Register ``consultation``'s opening key as ``buyer``'s browser would."""
    data, ceremony = opening_input(holders, threshold)
    with scope(organisation=buyer.organisation_id):
        ceremony.opening_key = keys.register_opening_key(
            actor=buyer, consultation_id=consultation.pk, data=data
        )
    return ceremony
