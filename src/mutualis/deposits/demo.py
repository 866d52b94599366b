"""The deposits context's part of the demo's past procedures: a commission member's
personal key, each consultation's opening key, offers sealed to it as a company's
software would send them, and the opening.

Everything goes through the context's services, as the browsers and the API would call
them, with one exception said plainly: the demo's past offers are *back-dated*. Their
consultations ran weeks ago (procurement publishes them in the past), so their offers
must have arrived before those deadlines; the deposit service reads its clock from
``services.now``, which :func:`backdated_offer` moves to the given moment for the one
call that acknowledges the deposit. The receipt's RFC 3161 token is still the real
time-stamping authority's, dated today: on a receipt of the demo, the two dates differ.
Nothing outside ``mutualis seed_demo`` (refused on a production instance) calls this
module.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Any
from unittest import mock

import pyrage  # type: ignore[import-untyped]
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.demo import DEMO_ACTOR

from . import keys, opening, services, shamir
from .models import Deposit, HolderKey, OpeningKey, OpeningSession, Phase

# The passphrase of the demo commission member's personal key: printed by seed_demo, so
# that a visitor can open the demo's sealed offers in the browser.
HOLDER_PASSPHRASE = "demo-cle-ouverture-2026"  # noqa: S105 - published, demo only
DEMO_CLIENT = "demo-seed"


def holder_identity(membership: Any) -> tuple[HolderKey, Any]:
    """``membership``'s enrolled personal key and its private half: the key enrolled by an
    earlier run (unsealed with the demo passphrase), or a new one sealed by the demo
    passphrase. ``membership`` holds the ``commission_member`` role."""
    with scope(organisation=membership.organisation_id):
        existing = HolderKey.objects.filter(
            organisation_id=membership.organisation_id,
            user_id=membership.user_id,
            retired_at__isnull=True,
        ).first()
        if existing is not None:
            secret = pyrage.passphrase.decrypt(
                existing.sealed_identity.encode(), HOLDER_PASSPHRASE
            ).decode()
            return existing, pyrage.x25519.Identity.from_str(secret)
        identity = pyrage.x25519.Identity.generate()
        sealed = pyrage.passphrase.encrypt(str(identity).encode(), HOLDER_PASSPHRASE, armored=True)
        # Written here rather than through keys.enrol_holder: rage (pyrage) calibrates
        # its scrypt work factor to the machine's speed, which the service bounds to
        # what the browsers use (2^18 to 2^22); a loaded machine gets a lower one.
        holder = HolderKey.objects.create(
            organisation_id=membership.organisation_id,
            user_id=membership.user_id,
            recipient=str(identity.to_public()),
            sealed_identity=sealed.decode(),
        )
        audit.record(
            actor=DEMO_ACTOR,
            organisation=membership.organisation,
            action="deposits.holder_key.enrolled",
            target=holder,
            payload={"recipient": holder.recipient, "demo": True},
        )
        return holder, identity


def register_key(*, buyer: Any, consultation_id: int, holder: HolderKey, now: datetime) -> str:
    """Register ``consultation_id``'s opening key (k = 1: the one holder, and the paper
    share) as the buyer's browser would at ``now``; the holder's share (hex) is returned
    for the opening."""
    identity = pyrage.x25519.Identity.generate()
    holder_share, escrow = shamir.split(str(identity).encode(), 2, 1)
    sealed = pyrage.encrypt(
        holder_share.hex().encode(),
        [pyrage.x25519.Recipient.from_str(holder.recipient)],
        armored=True,
    ).decode()
    with scope(organisation=buyer.organisation_id):
        keys.register_opening_key(
            actor=buyer,
            consultation_id=consultation_id,
            data=keys.OpeningKeyInput(
                recipient=str(identity.to_public()),
                threshold=1,
                sealed_shares={holder.pk: sealed},
                escrow_index=escrow[-1],
                escrow_printed=True,
            ),
            now=now,
        )
    return holder_share.hex()


def backdated_offer(
    *,
    consultation_id: int,
    company_id: int,
    recipient: str,
    files: list[tuple[str, bytes]],
    received_at: datetime,
    lot_id: int | None = None,
    phase: str = Phase.OFFER,
) -> Deposit:
    """One offer of ``company_id``, its ``files`` (name, plaintext) sealed to the
    consultation's key ``recipient``, sent through the deposit services and acknowledged
    as received at ``received_at`` (see the module's docstring)."""
    depositor = services.Depositor(company_id=company_id, api_client_id=DEMO_CLIENT)
    key = f"demo-{consultation_id}-{company_id}-{lot_id or 0}"
    deposit, _created = services.start_deposit(
        depositor,
        consultation_id=consultation_id,
        lot_id=lot_id,
        phase=phase,
        idempotency_key=key,
    )
    sealed_to = pyrage.x25519.Recipient.from_str(recipient)
    for position, (name, plaintext) in enumerate(files):
        ciphertext = pyrage.encrypt(plaintext, [sealed_to])
        declaration = services.FileDeclaration(
            name=name,
            content_type="application/pdf" if name.endswith(".pdf") else "text/plain",
            kind="offer",
            plaintext_size=len(plaintext),
            plaintext_sha256=hashlib.sha256(plaintext).hexdigest(),
            ciphertext_size=len(ciphertext),
        )
        row, _created = services.add_file(
            depositor, deposit, declaration, idempotency_key=f"{key}-{position}"
        )
        services.receive_chunk(
            depositor,
            deposit,
            row.pk,
            offset=0,
            length=len(ciphertext),
            stream=io.BytesIO(ciphertext),
        )
    with mock.patch.object(services, "now", return_value=received_at):
        return services.complete(depositor, deposit)


def open_offers(*, buyer: Any, holder: Any, consultation_id: int, share: str) -> None:
    """The opening: the buyer starts the session, the holder gives their share."""
    with scope(organisation=buyer.organisation_id):
        if not OpeningSession.objects.filter(consultation_id=consultation_id).exists():
            opening.start_session(actor=buyer, consultation_id=consultation_id)
        opening.submit_share(actor=holder, consultation_id=consultation_id, share=share)


def recipient_of(consultation_id: int) -> str:
    """The public half of ``consultation_id``'s opening key."""
    return OpeningKey.objects.get(consultation_id=consultation_id).recipient
