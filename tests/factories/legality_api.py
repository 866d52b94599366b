"""Legality API test data: a subscribed, enrolled member, another one, an API client's
token, the multipart form of an act, and ``receiver``: a member's software receiving
webhooks on a local HTTP server."""

from __future__ import annotations

import http.server
import threading

import pytest

from mutualis.core.pdf import text_pdf
from tests.factories.identity import api_client_token
from tests.factories.legality import enrol, subscribe


def token_for(client, *, organisation=None, company=None, scopes=("api:read", "api:write")):
    """A member's (or company's) software: its client id and the headers of its bearer token."""
    client_id, token = api_client_token(
        client,
        organisation=organisation,
        company=company,
        scopes=scopes,
        name="Logiciel de délibérations",
    )
    return client_id, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def member_b(org_b):
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    org_b.siren = "212102313"
    org_b.save(update_fields=["siren"])
    subscribe(org_b)
    admin = make_member(org_b, "admin.b@example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)
    enrol(admin)
    return org_b


@pytest.fixture
def software(client, member):
    return token_for(client, organisation=member)


def pdf(text: str = "Délibération") -> bytes:
    return text_pdf([text, "Texte de l'acte."], title=text)


def act_form(**changes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "nature": "1",
        "number": "DEL_2026_101",
        "decided_on": "2026-01-15",
        "classification": "1.1",
        "subject": "Attribution du marché de voirie",
        "paper_follows": "false",
        "annex_piece_types": ["99_AU"],
        "document": SimpleUploadedFile("acte.pdf", pdf(), "application/pdf"),
        "annexes": [SimpleUploadedFile("annexe.pdf", pdf("Annexe"), "application/pdf")],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def create(client, headers, **changes):
    return client.post("/api/v1/legality/acts", act_form(**changes), **headers)


class Receiver(http.server.ThreadingHTTPServer):
    """A member's software: records what it receives, answers the statuses queued."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[dict] = []
        self.answers: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/actes?source=mutualis"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        status = self.server.answers.pop(0) if self.server.answers else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver(settings):
    settings.MUTUALIS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.MUTUALIS_WEBHOOK_RETRY_SECONDS = 30
    settings.MUTUALIS_WEBHOOK_MAX_ATTEMPTS = 3
    settings.MUTUALIS_WEBHOOK_TIMEOUT_SECONDS = 5
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
