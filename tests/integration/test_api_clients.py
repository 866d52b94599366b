"""API clients: client-credentials tokens bound to one member (or company) and to scopes.

A test-only API (tests/integration/api_test_urls.py) exposes a read and a write operation
built as a service will build them.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from allauth.idp.oidc.models import Token
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from mutualis.core import audit
from mutualis.identity import oidc_clients
from mutualis.identity.models import ApiClient, Membership

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integration.api_test_urls")]


def register_api_client(*, organisation=None, company=None, scopes=("api:read", "api:write")):
    return oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Logiciel de la commune",
        scopes=list(scopes),
        grant_types=["client_credentials"],
        organisation_id=organisation.pk if organisation else None,
        company_id=company.pk if company else None,
    )


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def get_token(client, credentials, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post(reverse("idp:oidc:token"), data, HTTP_AUTHORIZATION=basic(*credentials))
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def client_of_a(org_a):
    api_client, secret = register_api_client(organisation=org_a)
    return api_client.pk, secret


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) >= {"code", "field", "message"}
    assert body["message"]
    return body


# --- Tokens --------------------------------------------------------------------------


def test_a_token_runs_the_operation_in_the_bound_organisation_only(
    client, client_of_a, org_a, agent_a, agent_b
):
    token = get_token(client, client_of_a)

    response = client.get("/test-api/scope", **bearer(token))

    assert response.status_code == 200
    assert response.json() == {"client": client_of_a[0], "scope": {"organisation": org_a.pk}}
    listed = client.get("/test-api/memberships", **bearer(token)).json()
    assert listed == [agent_a.pk]


def test_a_session_of_another_member_does_not_widen_the_scope(client, client_of_a, org_a, agent_b):
    token = get_token(client, client_of_a)
    client.force_login(agent_b.user)

    response = client.get("/test-api/scope", **bearer(token))

    assert response.json()["scope"] == {"organisation": org_a.pk}


def test_a_company_client_runs_in_the_company_scope(client, db):
    from tests.factories.companies import company_siren, register_company, verified_person

    company = register_company(
        verified_person("gerant@example.org"), siren=company_siren(1)
    ).company
    api_client, secret = register_api_client(company=company)
    token = get_token(client, (api_client.pk, secret))

    response = client.get("/test-api/scope", **bearer(token))

    assert response.json()["scope"] == {"company": company.pk}


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, {"HTTP_AUTHORIZATION": "Basic eDp5"}],
)
def test_a_missing_or_unknown_token_is_401(client, headers):
    response = client.get("/test-api/scope", **headers)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_expired_token_is_401(client, client_of_a):
    token = get_token(client, client_of_a)
    Token.objects.filter(type=Token.Type.ACCESS_TOKEN).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert_error(client.get("/test-api/scope", **bearer(token)), 401, "not_authenticated")


def test_a_token_of_a_deactivated_client_is_401(client, client_of_a):
    token = get_token(client, client_of_a)
    ApiClient.objects.filter(client_id=client_of_a[0]).update(is_active=False)

    assert_error(client.get("/test-api/scope", **bearer(token)), 401, "not_authenticated")


def test_a_token_of_a_client_that_acts_for_nobody_is_401(client):
    sso_client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Entrepôt",
        scopes=["openid"],
        grant_types=["client_credentials"],
    )
    token = get_token(client, (sso_client.pk, secret))

    assert_error(client.get("/test-api/scope", **bearer(token)), 401, "not_authenticated")


# --- Writes --------------------------------------------------------------------------


def test_a_write_changes_a_row_of_the_bound_organisation(client, client_of_a, agent_a):
    token = get_token(client, client_of_a)

    response = client.post(f"/test-api/memberships/{agent_a.pk}/deactivate", **bearer(token))

    assert response.status_code == 200, response.content
    assert response.json() == {"id": agent_a.pk, "is_active": False}
    assert not Membership._base_manager.get(pk=agent_a.pk).is_active


def test_a_write_cannot_touch_another_members_row(client, client_of_a, agent_b):
    token = get_token(client, client_of_a)

    response = client.post(f"/test-api/memberships/{agent_b.pk}/deactivate", **bearer(token))

    assert_error(response, 404, "not_found")
    assert Membership._base_manager.get(pk=agent_b.pk).is_active


def test_a_read_only_token_is_refused_on_a_write(client, client_of_a, agent_a):
    token = get_token(client, client_of_a, scope="api:read")

    assert client.get("/test-api/scope", **bearer(token)).status_code == 200
    response = client.post(f"/test-api/memberships/{agent_a.pk}/deactivate", **bearer(token))

    assert_error(response, 403, "insufficient_scope")
    assert Membership._base_manager.get(pk=agent_a.pk).is_active


def test_a_read_only_client_cannot_get_a_write_token(client, org_a):
    api_client, secret = register_api_client(organisation=org_a, scopes=["api:read"])
    response = client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "client_credentials", "scope": "api:write"},
        HTTP_AUTHORIZATION=basic(api_client.pk, secret),
    )
    assert response.status_code != 200
    assert response.json()["error"] == "invalid_scope"


# --- Registration --------------------------------------------------------------------


def test_exactly_one_binding_is_enforced_by_the_database(org_a, client_of_a):
    from tests.factories.companies import company_siren, register_company, verified_person

    company = register_company(
        verified_person("gerant@example.org"), siren=company_siren(2)
    ).company
    access = ApiClient.objects.get(client_id=client_of_a[0])
    for organisation, company_ in [(None, None), (org_a, company)]:
        access.organisation, access.company = organisation, company_
        with pytest.raises(IntegrityError), transaction.atomic():
            access.save()


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"scopes": ["api:read"]}, "oidc_api_client_acts_for_nobody"),
        ({"scopes": ["openid"], "organisation": True}, "oidc_api_client_without_api_scope"),
        ({"organisation": True, "company": True}, "oidc_api_client_acts_for_two"),
        (
            {"organisation": True, "grant_types": ["authorization_code"]},
            "oidc_api_client_needs_client_credentials",
        ),
    ],
)
def test_registration_refuses_an_api_client_badly_bound(org_a, options, code):
    with pytest.raises(oidc_clients.ClientRegistrationError) as refused:
        oidc_clients.register_client(
            actor=audit.SystemActor("test"),
            name="Logiciel",
            redirect_uris=["https://logiciel.example.fr/cb"],
            scopes=options.get("scopes", ["api:read"]),
            grant_types=options.get("grant_types", ["client_credentials"]),
            organisation_id=org_a.pk if options.get("organisation") else None,
            company_id=org_a.pk if options.get("company") else None,
        )
    assert refused.value.code == code
