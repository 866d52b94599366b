"""Client applications (OpenID Connect clients) in the back office: list, registration
with the secret shown once, renewal of the secret, deletion; bad input changes nothing."""

from __future__ import annotations

import html
import re
from io import StringIO

import pytest
from allauth.idp.oidc.models import Client, Token
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import oidc_clients
from mutualis.identity.models import ApiClient
from tests.factories.identity import make_member

pytestmark = pytest.mark.django_db

LIST_URL = reverse("backoffice:sso_client_list")
CREATE_URL = reverse("backoffice:sso_client_create")


@pytest.fixture
def staff_client(client, operator_staff):
    # Operator staff must have a second factor, or every page leads to its set-up.
    if not Authenticator.objects.filter(user=operator_staff.user).exists():
        TOTP.activate(operator_staff.user, generate_totp_secret())
    client.force_login(operator_staff.user)
    return client


@pytest.fixture
def registered(operator_staff) -> tuple[Client, str]:
    client, secret = oidc_clients.register_client(
        actor=operator_staff,
        name="Nuage du territoire",
        redirect_uris=["https://nuage.example.fr/apps/user_oidc/code"],
        post_logout_redirect_uris=["https://nuage.example.fr/"],
        grant_types=["authorization_code", "refresh_token"],
    )
    assert secret
    return client, secret


def form_data(**changes) -> dict:
    data = {
        "name": "Visio du territoire",
        "kind": "confidential",
        "redirect_uris": "https://visio.example.fr/auth/openid_connect/callback\r\n",
        "post_logout_redirect_uris": "https://visio.example.fr/",
        "scopes": ["openid", "email", "profile"],
        "grant_types": ["authorization_code", "refresh_token"],
    }
    data.update(changes)
    return data


def events(action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def error_codes(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


def shown_secret(response) -> str:
    match = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode())
    assert match, "no secret on the page"
    return html.unescape(match.group(1))


def sso_urls(client_id: str) -> dict[str, list[str]]:
    return {
        "get": [
            LIST_URL,
            CREATE_URL,
            reverse("backoffice:sso_client_detail", args=[client_id]),
            reverse("backoffice:sso_client_delete", args=[client_id]),
        ],
        "post": [
            CREATE_URL,
            reverse("backoffice:sso_client_rotate_secret", args=[client_id]),
            reverse("backoffice:sso_client_delete", args=[client_id]),
        ],
    }


# --- Who gets in -----------------------------------------------------------------------


def test_operator_staff_see_every_client_with_its_settings(
    staff_client, registered, operator_staff, django_assert_max_num_queries
):
    client, _secret = registered
    oidc_clients.register_client(
        actor=operator_staff,
        name="Application mobile",
        confidential=False,
        redirect_uris=["http://localhost:8400/callback"],
        scopes=["openid"],
    )
    with django_assert_max_num_queries(12):
        response = staff_client.get(LIST_URL)
    assert response.status_code == 200
    page = response.content.decode()
    for text in [
        "Nuage du territoire",
        client.pk,
        "https://nuage.example.fr/apps/user_oidc/code",
        "openid, email, profile, organisations",
        "authorization_code, refresh_token",
        "Application mobile",
        "http://localhost:8400/callback",
        "/.well-known/openid-configuration",
    ]:
        assert text in page
    assert 'aria-current="true">' in page


@pytest.fixture
def secretary_a(org_a):
    """An agent of a member whose role needs no second factor: reaches the pages' check."""
    return make_member(org_a, "secretary.a@example.org", roles=["secretary"])


def test_a_member_agent_gets_404_on_every_page(client, secretary_a, registered):
    client.force_login(secretary_a.user)
    urls = sso_urls(registered[0].pk)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert client.post(url, form_data()).status_code == 404, url
    assert Client.objects.count() == 1
    assert Client.objects.get().check_secret(registered[1])


def test_an_outsider_without_membership_gets_404(client, outsider, registered):
    client.force_login(outsider)
    for url in sso_urls(registered[0].pk)["get"]:
        assert client.get(url).status_code == 404, url


def test_anonymous_people_are_sent_to_the_login_page(client, registered):
    urls = sso_urls(registered[0].pk)
    for url in urls["get"] + urls["post"]:
        response = client.get(url) if url in urls["get"] else client.post(url, form_data())
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert Client.objects.count() == 1


def test_an_unknown_client_is_not_found(staff_client):
    for url in sso_urls("no-such-client")["get"][2:]:
        assert staff_client.get(url).status_code == 404
    assert (
        staff_client.post(
            reverse("backoffice:sso_client_rotate_secret", args=["no-such-client"])
        ).status_code
        == 404
    )


# --- Registering -----------------------------------------------------------------------


def test_registering_a_confidential_client_shows_its_secret_once(staff_client):
    """Given the registration form, when the operator registers a server-side tool, then
    the secret is shown on the answer only, stored hashed, and the platform trail says
    who registered what."""
    response = staff_client.post(CREATE_URL, form_data())

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    client = Client.objects.get()
    assert client.name == "Visio du territoire"
    assert client.type == Client.Type.CONFIDENTIAL
    assert client.secret != secret
    assert client.check_secret(secret)
    assert client.get_redirect_uris() == ["https://visio.example.fr/auth/openid_connect/callback"]
    assert client.get_post_logout_redirect_uris() == ["https://visio.example.fr/"]
    assert client.get_scopes() == ["openid", "email", "profile"]
    assert client.get_grant_types() == ["authorization_code", "refresh_token"]
    assert client.skip_consent is False
    assert 'id="secret-title"' in response.content.decode()

    for url in (LIST_URL, reverse("backoffice:sso_client_detail", args=[client.pk])):
        later = staff_client.get(url)
        assert later.status_code == 200
        assert secret not in later.content.decode()

    (event,) = events("oidc.client_registered")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.object_id == client.pk
    assert secret not in str(event.payload)


def test_registering_a_public_client_gives_no_secret(staff_client):
    response = staff_client.post(
        CREATE_URL,
        form_data(
            name="Application mobile",
            kind="public",
            redirect_uris="http://localhost:8400/callback",
            skip_consent="on",
        ),
    )
    client = Client.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:sso_client_detail", args=[client.pk])
    assert client.type == Client.Type.PUBLIC
    assert client.skip_consent is True
    page = staff_client.get(response["Location"]).content.decode()
    assert "Application mobile" in page
    assert "client-secret" not in page


def test_the_form_offers_the_known_scopes_and_grants(staff_client):
    page = staff_client.get(CREATE_URL).content.decode()
    for value in ["openid", "email", "profile", "organisations", "client_credentials"]:
        assert f'value="{value}"' in page


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        (
            {"redirect_uris": "https://ok.example.fr/cb\nhttp://cloud.example.fr/cb"},
            "redirect_uris",
            "oidc_redirect_uri_invalid",
        ),
        (
            {"post_logout_redirect_uris": "https://ok.example.fr/#after"},
            "post_logout_redirect_uris",
            "oidc_redirect_uri_invalid",
        ),
        (
            {"redirect_uris": "https://*.example.fr/cb"},
            "redirect_uris",
            "oidc_redirect_uri_invalid",
        ),
        ({"redirect_uris": ""}, "redirect_uris", "oidc_redirect_uri_required"),
        ({"scopes": ["openid", "admin"]}, "scopes", "oidc_scope_unknown"),
        ({"scopes": []}, "scopes", "required"),
        ({"grant_types": ["password"]}, "grant_types", "oidc_grant_type_unknown"),
        (
            {"kind": "public", "grant_types": ["client_credentials"]},
            "grant_types",
            "oidc_public_client_credentials",
        ),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 101}, "name", "max_length"),
        ({"kind": "secret-ish"}, "kind", "invalid_choice"),
        ({"acts_for": "nobody-here"}, "acts_for", "api_party_unknown"),
        (
            {"scopes": ["api:read"], "grant_types": ["client_credentials"]},
            "acts_for",
            "oidc_api_client_acts_for_nobody",
        ),
    ],
)
def test_bad_input_gets_a_form_error_and_writes_nothing(staff_client, changes, field, code):
    response = staff_client.post(CREATE_URL, form_data(**changes))
    assert response.status_code == 200
    assert error_codes(response, field) == [code]
    assert 'role="alert"' in response.content.decode()
    assert not Client.objects.exists()
    assert events("oidc.client_registered") == []


def test_the_error_names_the_refused_address(staff_client):
    response = staff_client.post(
        CREATE_URL,
        form_data(redirect_uris="https://ok.example.fr/cb\nhttp://cloud.example.fr/cb"),
    )
    (message,) = response.context["form"].errors["redirect_uris"]
    assert "http://cloud.example.fr/cb" in message
    assert "https://ok.example.fr/cb" not in message


def test_plain_http_is_accepted_for_localhost_only(staff_client):
    response = staff_client.post(
        CREATE_URL, form_data(redirect_uris="http://localhost:8400/callback")
    )
    assert response.status_code == 200
    assert Client.objects.get().get_redirect_uris() == ["http://localhost:8400/callback"]


# --- Renewing the secret ---------------------------------------------------------------


def test_renewing_the_secret_shows_the_new_one_once_and_the_old_one_stops_working(
    staff_client, registered
):
    client, old_secret = registered
    url = reverse("backoffice:sso_client_rotate_secret", args=[client.pk])
    assert staff_client.get(url).status_code == 405

    response = staff_client.post(url)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = shown_secret(response)
    client.refresh_from_db()
    assert new_secret != old_secret
    assert client.check_secret(new_secret)
    assert not client.check_secret(old_secret)
    detail = staff_client.get(reverse("backoffice:sso_client_detail", args=[client.pk]))
    assert new_secret not in detail.content.decode()
    (event,) = events("oidc.client_secret_rotated")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.object_id == client.pk
    assert new_secret not in str(event.payload)


def test_a_public_client_has_no_secret_to_renew(staff_client, operator_staff):
    client, _none = oidc_clients.register_client(
        actor=operator_staff,
        name="Application mobile",
        confidential=False,
        redirect_uris=["http://localhost:8400/callback"],
    )
    detail_url = reverse("backoffice:sso_client_detail", args=[client.pk])
    rotate_url = reverse("backoffice:sso_client_rotate_secret", args=[client.pk])
    assert rotate_url not in staff_client.get(detail_url).content.decode()

    response = staff_client.post(rotate_url, follow=True)

    assert response.redirect_chain == [(detail_url, 302)]
    (message,) = response.context["messages"]
    with translation.override(settings.LANGUAGE_CODE):
        assert str(message) == str(oidc_clients.PublicClientHasNoSecret.message)
    assert events("oidc.client_secret_rotated") == []


# --- Deleting --------------------------------------------------------------------------


def test_deleting_a_client_asks_first_then_revokes_its_tokens(staff_client, registered, agent_a):
    client, _secret = registered
    token = Token(type=Token.Type.REFRESH_TOKEN, client=client, user=agent_a.user)
    token.set_value("refresh-me")
    token.save()
    url = reverse("backoffice:sso_client_delete", args=[client.pk])

    confirm = staff_client.get(url)
    assert confirm.status_code == 200
    assert "Nuage du territoire" in confirm.content.decode()
    assert Client.objects.exists()

    response = staff_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert not Client.objects.exists()
    assert not Token.objects.exists()
    (event,) = events("oidc.client_deleted")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.object_id == client.pk
    assert event.payload["name"] == "Nuage du territoire"


# --- The services themselves -----------------------------------------------------------


def test_only_operator_staff_may_renew_or_delete(agent_a, registered):
    client, secret = registered
    with pytest.raises(PermissionDenied):
        oidc_clients.rotate_client_secret(actor=agent_a, client_id=client.pk)
    with pytest.raises(PermissionDenied):
        oidc_clients.delete_client(actor=agent_a, client_id=client.pk)
    client.refresh_from_db()
    assert client.check_secret(secret)


def test_renewing_or_deleting_an_unknown_client_is_refused(operator_staff):
    for use_case in (oidc_clients.rotate_client_secret, oidc_clients.delete_client):
        with pytest.raises(oidc_clients.ClientUnknown) as excinfo:
            use_case(actor=operator_staff, client_id="no-such-client")
        assert excinfo.value.code == "oidc_client_unknown"


def test_registering_an_api_client_binds_it_to_the_member(staff_client, org_a):
    """Given an organisation, when the operator registers a machine client acting for it
    (named by its SIREN), then the client is bound to it and the detail page says so."""
    response = staff_client.post(
        CREATE_URL,
        form_data(
            name="Logiciel de la commune",
            redirect_uris="",
            post_logout_redirect_uris="",
            scopes=["api:read", "api:write"],
            grant_types=["client_credentials"],
            acts_for=org_a.siren,
        ),
    )

    assert response.status_code == 200, error_codes(response, "acts_for")
    client = Client.objects.get()
    access = ApiClient.objects.get(client=client)
    assert (access.organisation_id, access.company_id) == (org_a.pk, None)
    assert client.get_scopes() == ["api:read", "api:write"]
    page = staff_client.get(reverse("backoffice:sso_client_detail", args=[client.pk]))
    assert org_a.name in page.content.decode()
    (event,) = events("oidc.client_registered")
    assert event.payload["organisation_id"] == org_a.pk


def test_the_command_registers_an_api_client_for_an_organisation(org_a):
    out = StringIO()
    call_command(
        "register_oidc_client",
        "--name=Logiciel",
        "--grant-type=client_credentials",
        "--scope=api:read",
        f"--organisation={org_a.slug}",
        stdout=out,
    )
    access = ApiClient.objects.get()
    assert access.organisation_id == org_a.pk
    assert f"client_id:     {access.client_id}" in out.getvalue()
    with pytest.raises(CommandError, match="No company"):
        call_command(
            "register_oidc_client",
            "--name=Logiciel",
            "--grant-type=client_credentials",
            "--scope=api:read",
            "--company=123456789",
        )
