"""Walk every route, built from real objects of organisation A and company X, as a person
of another organisation and as a representative of another company: nothing of A or X
is shown, nothing of theirs changes.

Fails when a route is added that no context classified (``registry.declare_routes``), or
whose URL arguments the walk cannot build from real objects (add them to ``ARGUMENTS``
in tests/factories/tenancy_world.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mutualis.core import registry
from mutualis.core.routes import Access, classify
from tests.factories.companies import (
    company_siren,
    register_company,
    verified_person,
)
from tests.factories.tenancy_world import SECRET, World, all_routes, chain_lengths, url_of, world

__all__ = ["world"]  # a fixture (tests/factories/tenancy_world.py)


def test_every_route_is_classified():
    unclassified = [name for name, _ in all_routes() if not classify(name)]
    assert unclassified == [], f"Classify these routes (registry.declare_routes): {unclassified}"


@pytest.mark.django_db
def test_every_route_can_be_built_from_real_objects(world):
    for name, arguments in all_routes():
        url_of(name, arguments, world)


def _walk_as(client, person, world: World) -> None:
    """GET then POST every route as ``person``: A's and X's secrets never show, their
    tenant and operator pages answer 404, and nothing of theirs changes."""
    before = chain_lengths(world)
    for name, arguments in all_routes():
        access = classify(name)
        url = url_of(name, arguments, world)
        client.force_login(person)
        response = client.get(url)
        body = response.content.decode(errors="replace") if not response.streaming else ""
        assert SECRET not in body, f"{name} ({url}) shows org A's private data"
        assert "agent.a@example.org" not in body, f"{name} ({url}) shows org A's agent"
        assert "carol.x@example.org" not in body, f"{name} ({url}) shows company X's member"
        if access in (Access.TENANT, Access.OPERATOR):
            assert response.status_code == 404, f"{name} ({url}) gives {response.status_code}"
        if access is Access.PUBLIC and name in ("invitations:accept", "business:invitation"):
            continue  # whoever holds a link may accept it: the link is the secret
        client.force_login(person)
        posted = client.post(url, {"roles": ["org_admin"], "role": "admin", "email": "x@x.org"})
        if access in (Access.TENANT, Access.OPERATOR):
            assert posted.status_code == 404, f"POST {name} ({url}) gives {posted.status_code}"
    assert chain_lengths(world) == before


@pytest.mark.django_db
def test_an_agent_of_another_organisation_reaches_nothing_of_a_or_x(client, world, agent_b):
    _walk_as(client, agent_b.user, world)


@pytest.mark.django_db
def test_a_representative_of_another_company_reaches_nothing_of_a_or_x(client, world):
    dave = verified_person("dave.y@example.org")
    register_company(dave, siren=company_siren(2), name="Plomberie Y")
    _walk_as(client, dave, world)


@pytest.mark.django_db
def test_tenant_and_operator_routes_send_anonymous_people_to_login(client, world):
    for name, arguments in all_routes():
        if classify(name) not in (Access.TENANT, Access.OPERATOR):
            continue
        response = client.get(url_of(name, arguments, world))
        assert response.status_code == 302, name
        assert "/accounts/login/" in response["Location"]


def test_every_crossing_says_why():
    """Every function that reads across members is named, with its reason."""
    named = {c.name for c in registry.crossings()}
    assert "mutualis.identity.crossings.memberships_of_user" in named
    assert all(c.reason for c in registry.crossings())


def test_scopes_are_disabled_only_in_named_crossings():
    src = Path(__file__).resolve().parents[2] / "src" / "mutualis"
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if path.name != "crossings.py"
        and re.search(r"scopes_disabled\(|with_scopes_disabled\(", path.read_text())
    ]
    assert offenders == []
