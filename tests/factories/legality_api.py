"""Legality API test data: a subscribed, enrolled member, another one, an API client's
token, and the multipart form of an act."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from mutualis.core import audit
from mutualis.core.pdf import text_pdf
from mutualis.identity import oidc_clients
from tests.factories.legality import enrol, subscribe


def token_for(client, *, organisation=None, company=None, scopes=("api:read", "api:write")):
    api_client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Logiciel de délibérations",
        scopes=list(scopes),
        grant_types=["client_credentials"],
        organisation_id=organisation.pk if organisation else None,
        company_id=company.pk if company else None,
    )
    basic = base64.b64encode(f"{api_client.pk}:{secret}".encode()).decode()
    response = client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "client_credentials", "scope": " ".join(scopes)},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return api_client.pk, {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}


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
