"""Deposit API set-ups: a published consultation that accepts sealed deposits (an
``OpeningKey`` whose private half the test keeps), a company's representative, and the
API's calls as a client makes them (start, declare, send in chunks, complete; a bearer
token of an API client)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pyrage
from django_scopes import scope

from mutualis.deposits.models import OpeningKey
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.identity import api_client_token
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


# --- The deposit API's calls, as a client makes them -------------------------------------

API = "/api/v1/deposits"
PLAINTEXT = b"%PDF-1.7\n" + bytes(range(256)) * 400  # 102,409 bytes: two age chunks


def post(client, path, data=None, *, key="k-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        path, json.dumps(data or {}), content_type="application/json", **headers, **extra
    )


def put(client, path, body, *, key="chunk", content_type="application/octet-stream", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.put(path, body, content_type=content_type, **headers, **extra)


def start(client, consultation, *, key="start-1", **data):
    response = post(client, API, {"consultation": consultation.pk, **data}, key=key)
    assert response.status_code in (200, 201), response.content
    return response.json()["reference"]


def declare(client, reference, sealed_file, *, key="file-1", **overrides):
    data = {**sealed_file.declaration(), **overrides}
    response = post(client, f"{API}/{reference}/files", data, key=key)
    assert response.status_code in (200, 201), response.content
    return response.json()["id"]


def send(client, reference, file_id, ciphertext, *, chunk=40_000):
    url = f"{API}/{reference}/files/{file_id}/content"
    for offset in range(0, len(ciphertext), chunk):
        response = put(
            client, f"{url}?offset={offset}", ciphertext[offset : offset + chunk], key=f"c{offset}"
        )
        assert response.status_code == 200, response.content
    return response.json()


def full_deposit(client, sealed, *, key="start-1", name="offre.pdf", plaintext=PLAINTEXT):
    reference = start(client, sealed.consultation, key=key)
    sealed_file = seal(name, plaintext, sealed.recipient)
    file_id = declare(client, reference, sealed_file, key=f"{key}-file")
    send(client, reference, file_id, sealed_file.ciphertext)
    response = post(client, f"{API}/{reference}/complete", key=f"{key}-complete")
    assert response.status_code == 200, response.content
    return reference, sealed_file, response.json()


def api_token(client, *, company=None, organisation=None, scopes=("api:read", "api:write")):
    """A bearer token of a new API client of ``company`` (or ``organisation``)."""
    _client_id, token = api_client_token(
        client,
        organisation=organisation,
        company=company,
        scopes=scopes,
        name="Logiciel de réponse",
    )
    return token
