"""A software security key for tests: registers a passkey the way a browser would store it
for allauth, and signs the assertions of the login step (no browser needed)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import STATE_SESSION_KEY, WebAuthn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

# The test client's host: allauth takes the relying party's id from the request.
RP_ID = "testserver"
ORIGIN = f"http://{RP_ID}"
FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV


@dataclass
class SoftwareKey:
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    counter: int = 0

    def register(self, user, name: str = "Clé de test") -> Authenticator:
        """Store the key for ``user`` as allauth does after a browser registered it."""
        public_key = ES256.from_cryptography_key(self.key.public_key())
        credential_data = AttestedCredentialData.create(b"\0" * 16, self.credential_id, public_key)
        auth_data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(),
            FLAGS | AuthenticatorData.FLAG.AT,
            self.counter,
            credential_data,
        )
        client_data = CollectedClientData.create("webauthn.create", os.urandom(32), ORIGIN)
        attestation = AttestationObject.create("none", auth_data, {})
        credential = {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
            },
            "clientExtensionResults": {},
        }
        return WebAuthn.add(user, name, credential).instance

    def assertion(self, client) -> str:
        """The JSON a browser posts to answer the challenge now in ``client``'s session
        (set when the page of the step was shown)."""
        challenge = client.session[STATE_SESSION_KEY]["challenge"]
        client_data = CollectedClientData.create("webauthn.get", challenge, ORIGIN)
        self.counter += 1
        auth_data = AuthenticatorData.create(
            hashlib.sha256(RP_ID.encode()).digest(), FLAGS, self.counter
        )
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": websafe_encode(self.credential_id),
                "rawId": websafe_encode(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": websafe_encode(client_data),
                    "authenticatorData": websafe_encode(auth_data),
                    "signature": websafe_encode(signature),
                },
                "clientExtensionResults": {},
            }
        )
