"""Deposit rows for the company deposit page's tests (deposits/company_views.py): written
directly, as the deposit API's services would leave them; the page only reads them."""

from __future__ import annotations

import secrets
from typing import Any

import pyrage
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.deposits.models import Deposit, DepositFile, DepositState, OpeningKey


def make_deposit(
    *, consultation: Any, representative: Any, state: str = DepositState.ACKNOWLEDGED, **extra: Any
) -> Deposit:
    """A deposit of ``representative``'s company on ``consultation``, with one file."""
    reference = extra.pop("reference", "D-" + secrets.token_hex(6).upper())
    received = state != DepositState.RECEIVING
    with scopes_disabled():
        deposit = Deposit.for_organisation.create(
            organisation_id=consultation.organisation_id,
            company_id=representative.company_id,
            user_id=representative.user_id,
            consultation=consultation,
            reference=reference,
            state=state,
            idempotency_key=secrets.token_hex(8),
            received_at=timezone.now() if received else None,
            **extra,
        )
        DepositFile.for_organisation.create(
            organisation_id=consultation.organisation_id,
            company_id=representative.company_id,
            deposit=deposit,
            kind="offer",
            idempotency_key=secrets.token_hex(8),
            name="offre.pdf",
            plaintext_size=10,
            plaintext_sha256="0" * 64,
            ciphertext_size=200,
            storage_name=f"{consultation.pk}/{reference}/1.age",
        )
    return deposit


def give_opening_key(consultation: Any, buyer: Any) -> pyrage.x25519.Identity:
    """The consultation's opening key pair, as the buyer's browser makes it at
    publication: the server keeps the public half; the identity is returned to the
    test (which opens the ciphertext with it)."""
    identity = pyrage.x25519.Identity.generate()
    with scopes_disabled():
        OpeningKey.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            recipient=str(identity.to_public()),
            threshold=1,
            share_count=1,
            created_by=buyer.user,
        )
    return identity
