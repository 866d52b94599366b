"""The ``organisations`` claim and the redirect addresses a client may register."""

from types import SimpleNamespace

import pytest

from mutualis.identity.oidc import organisations_claim
from mutualis.identity.oidc_clients import RedirectUriInvalid, validate_redirect_uri


def membership(name, siren, slug, roles, *, active=True):
    return SimpleNamespace(
        organisation=SimpleNamespace(name=name, siren=siren, slug=slug),
        role_codes=lambda: set(roles),
        is_active=active,
    )


def test_organisations_claim_lists_each_active_membership_with_sorted_roles():
    claim = organisations_claim(
        [
            membership("Commune A", "213100017", "commune-a", ["secretary", "buyer"]),
            membership("Commune B", "200054807", "commune-b", []),
            membership("Ancienne", "210100012", "ancienne", ["buyer"], active=False),
        ]
    )
    assert claim == [
        {
            "siren": "213100017",
            "slug": "commune-a",
            "name": "Commune A",
            "roles": ["buyer", "secretary"],
        },
        {"siren": "200054807", "slug": "commune-b", "name": "Commune B", "roles": []},
    ]


def test_an_organisation_without_siren_has_a_null_siren_and_its_slug():
    claim = organisations_claim([membership("Opérateur", "", "operateur", ["org_admin"])])
    assert claim == [
        {"siren": None, "slug": "operateur", "name": "Opérateur", "roles": ["org_admin"]}
    ]


def test_no_membership_gives_an_empty_list():
    assert organisations_claim([]) == []


@pytest.mark.parametrize(
    "uri",
    [
        "https://cloud.example.fr/apps/user_oidc/code",
        "https://visio.example.fr:8443/auth/openid_connect/callback?x=1",
        "http://localhost:8080/callback",
        "http://127.0.0.1:9000/cb",
        "http://[::1]:9000/cb",
    ],
)
def test_https_and_loopback_http_redirects_are_accepted(uri):
    assert validate_redirect_uri(f"  {uri} ") == uri


@pytest.mark.parametrize(
    "uri",
    [
        "http://cloud.example.fr/callback",  # plain http off the developer's machine
        "http://localhost.example.fr/callback",
        "https://cloud.example.fr/callback#fragment",
        "https://*.example.fr/callback",
        "javascript:alert(1)",
        "/relative/callback",
        "https://cloud.example.fr:notaport/cb",
        "https:///no-host",
        "ftp://cloud.example.fr/cb",
    ],
)
def test_other_redirects_are_refused(uri):
    with pytest.raises(RedirectUriInvalid) as excinfo:
        validate_redirect_uri(uri)
    assert excinfo.value.code == "oidc_redirect_uri_invalid"
