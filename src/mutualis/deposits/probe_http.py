"""The availability probe through the platform's public address, as a company's software
deposits: a token from the token endpoint (client credentials), the test consultation's
key read from the API, then the deposit started, its file declared, its ciphertext sent
as a raw chunk and the deposit completed, each call with its ``Idempotency-Key``.

A probe that called the services inside the worker would say "available" while the web
server was down; through ``MUTUALIS_PROBE_URL`` (the site's own address by default, the
one businesses use, through the reverse proxy), it fails when a business would.

The probe company's API client is registered once (``mutualis setup``, or the first probe)
and its secret kept in ``MUTUALIS_PROBE_CLIENT_FILE`` (0600), like the platform's other
keys: the database holds only its hash.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]
import requests
from django.conf import settings
from django.urls import reverse

from mutualis.core import audit
from mutualis.core.secret_files import write_new
from mutualis.identity import oidc_clients

TIMEOUT = 15
SCOPES = ("api:read", "api:write")


class ProbeFailed(Exception):
    """A step of the deposit over HTTP did not give the answer a company expects."""


def _client_file() -> Path:
    return Path(settings.MUTUALIS_PROBE_CLIENT_FILE)


def _stored() -> dict[str, str] | None:
    try:
        data = json.loads(_client_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"client_id", "secret"} <= data.keys():
        return None
    return {"client_id": str(data["client_id"]), "secret": str(data["secret"])}


def _usable(stored: dict[str, str], company_id: int) -> bool:
    client = oidc_clients.get_client(stored["client_id"])
    access = oidc_clients.api_access_of(client) if client is not None else None
    return access is not None and access.is_active and access.company_id == company_id


def ensure_client(company_id: int) -> tuple[dict[str, str], bool]:
    """The probe company's API client and its secret, registered when the file is
    missing or names a client that no longer acts for the probe company: (client,
    created). A stale file is set aside (``.stale``), never silently overwritten."""
    stored = _stored()
    if stored is not None and _usable(stored, company_id):
        return stored, False
    path = _client_file()
    if path.exists():
        path.replace(path.with_name(f"{path.name}.stale"))
    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("availability-probe"),
        name="Sonde de disponibilité de la plateforme",
        scopes=list(SCOPES),
        confidential=True,
        grant_types=["client_credentials"],
        company_id=company_id,
    )
    stored = {"client_id": str(client.pk), "secret": str(secret)}
    if not write_new(path, json.dumps(stored).encode(), 0o600):
        # Another process registered one at the same time: use the one on disk.
        found = _stored()
        if found is not None:
            return found, False
    return stored, True


def _expect(response: requests.Response, step: str, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise ProbeFailed(f"{step}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise ProbeFailed(f"{step}: not JSON") from exc


def deposit(base_url: str, client: dict[str, str], consultation_id: int, plaintext: bytes) -> str:
    """One synthetic deposit over HTTP; the deposit's reference."""
    base = base_url.rstrip("/")
    api = base + reverse("api:api-root") + "deposits"
    key = f"probe-{uuid.uuid4().hex}"
    with requests.Session() as http:
        http.headers["User-Agent"] = "Mutualis availability probe"
        token = _expect(
            http.post(
                base + reverse("idp:oidc:token"),
                data={"grant_type": "client_credentials", "scope": " ".join(SCOPES)},
                auth=(client["client_id"], client["secret"]),
                timeout=TIMEOUT,
            ),
            "token",
            200,
        )
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        info = _expect(
            http.get(f"{api}/consultations/{consultation_id}", timeout=TIMEOUT),
            "consultation",
            200,
        )
        recipient = pyrage.x25519.Recipient.from_str(str(info["recipient"]))
        ciphertext = pyrage.encrypt(plaintext, [recipient])
        started = _expect(
            http.post(
                api,
                json={"consultation": consultation_id, "phase": "offer"},
                headers={"Idempotency-Key": key},
                timeout=TIMEOUT,
            ),
            "start",
            201,
        )
        reference = str(started["reference"])
        declared = _expect(
            http.post(
                f"{api}/{reference}/files",
                json={
                    "name": "sonde.txt",
                    "content_type": "text/plain",
                    "kind": "offer",
                    "plaintext_size": len(plaintext),
                    "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
                    "ciphertext_size": len(ciphertext),
                },
                headers={"Idempotency-Key": f"{key}-f"},
                timeout=TIMEOUT,
            ),
            "file",
            201,
        )
        _expect(
            http.put(
                f"{api}/{reference}/files/{declared['id']}/content",
                params={"offset": 0},
                data=ciphertext,
                headers={"Idempotency-Key": f"{key}-c", "Content-Type": "application/octet-stream"},
                timeout=TIMEOUT,
            ),
            "chunk",
            200,
        )
        done = _expect(
            http.post(
                f"{api}/{reference}/complete",
                headers={"Idempotency-Key": f"{key}-d"},
                timeout=TIMEOUT,
            ),
            "complete",
            200,
        )
        if done.get("state") != "acknowledged":
            raise ProbeFailed(f"complete: {done.get('state')}")
        return reference
