"""Deposit API set-ups: a published consultation that accepts sealed deposits (an
``OpeningKey`` whose private half the test keeps), and a company's representative."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pyrage
from django_scopes import scope

from mutualis.deposits.models import OpeningKey
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.procurement import make_consultation, subscribe_to_procurement


@dataclasses.dataclass
class SealedConsultation:
    consultation: Any
    opening_key: OpeningKey
    identity: Any  # pyrage.x25519.Identity: the test alone holds it

    @property
    def recipient(self) -> str:
        return self.opening_key.recipient


def sealed_consultation(buyer: Any, **overrides: Any) -> SealedConsultation:
    """A consultation of ``buyer``'s organisation, published, with an opening key made
    here (as the buyer's browser would at publication)."""
    subscribe_to_procurement(buyer.organisation)
    consultation = make_consultation(buyer, publish=True, **overrides)
    identity = pyrage.x25519.Identity.generate()
    with scope(organisation=buyer.organisation_id):
        key = OpeningKey.objects.create(
            organisation_id=buyer.organisation_id,
            consultation=consultation,
            recipient=str(identity.to_public()),
            threshold=1,
            share_count=1,
            created_by=buyer.user,
        )
    return SealedConsultation(consultation, key, identity)


def representative(n: int = 1, *, email: str | None = None, name: str | None = None) -> Any:
    """The administrator of a new company (``company_siren(n)``), signed up by SIRET."""
    return register_company(
        verified_person(email or f"rep{n}@example.org"),
        siren=company_siren(n),
        name=name or f"Entreprise {n}",
    )


@dataclasses.dataclass(frozen=True)
class SealedFile:
    name: str
    plaintext: bytes
    ciphertext: bytes

    def declaration(self, kind: str = "offer", content_type: str = "application/pdf") -> dict:
        return {
            "name": self.name,
            "content_type": content_type,
            "kind": kind,
            "plaintext_size": len(self.plaintext),
            "plaintext_sha256": hashlib.sha256(self.plaintext).hexdigest(),
            "ciphertext_size": len(self.ciphertext),
        }


def seal(name: str, plaintext: bytes, recipient: str) -> SealedFile:
    """``plaintext`` encrypted with pyrage to the consultation's recipient."""
    ciphertext = pyrage.encrypt(plaintext, [pyrage.x25519.Recipient.from_str(recipient)])
    return SealedFile(name, plaintext, ciphertext)
