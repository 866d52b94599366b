"""Walk every route as a person of another organisation: nothing of org A leaks to B.

Fails when a route is added that nobody classified in ``mutualis.core.routes``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent, Service, Subscription
from mutualis.core.routes import Access, classify

SECRET = "secret-marker-of-org-a"

SAMPLE_KWARGS = {
    "code": "procurement",
    "key": "abc-def",
    "uidb36": "1",
    "pk": 1,
    "file_id": "00000000-0000-4000-8000-000000000000",
}


def walk(patterns, namespace="", groups=()):
    """(route name, names of its URL arguments) of every route, included ones too."""
    for p in patterns:
        own = tuple(p.pattern.regex.groupindex)
        if isinstance(p, URLResolver):
            ns = namespace + (f"{p.namespace}:" if p.namespace else "")
            yield from walk(p.url_patterns, ns, groups + own)
        elif isinstance(p, URLPattern):
            yield (namespace + p.name) if p.name else str(p.pattern), groups + own


def all_routes():
    return list(walk(get_resolver().url_patterns))


def kwargs_for(names: tuple[str, ...], org_a) -> dict:
    kwargs = {}
    for name in names:
        if name == "slug":
            kwargs[name] = org_a.slug
        elif name in SAMPLE_KWARGS:
            kwargs[name] = SAMPLE_KWARGS[name]
        elif name.endswith(("pk", "_id", "id")):
            kwargs[name] = org_a.pk
        else:
            kwargs[name] = "x"
    return kwargs


def test_every_route_is_classified():
    unclassified = [name for name, _ in all_routes() if not classify(name)]
    assert unclassified == [], f"Classify these routes in mutualis/core/routes.py: {unclassified}"


@pytest.fixture
def org_a_secrets(org_a, agent_a):
    """Private facts of org A that no page may show to anyone else."""
    with scopes_disabled():
        Subscription.objects.create(
            organisation=org_a,
            service=Service.objects.get(code="procurement"),
            since=timezone.localdate(),
        )
    audit.record(actor=agent_a, action="test.secret", payload={"note": SECRET})
    return org_a


def _chain_length(org) -> int:
    with scopes_disabled():
        return AuditEvent.objects.filter(chain=audit.organisation_chain(org.pk)).count()


@pytest.mark.django_db
def test_a_person_of_another_organisation_sees_nothing_of_org_a(client, org_a_secrets, agent_b):
    org_a = org_a_secrets
    for name, pattern in all_routes():
        access = classify(name)
        url = reverse(name, kwargs=kwargs_for(pattern, org_a))
        client.force_login(agent_b.user)
        response = client.get(url)
        body = response.content.decode(errors="replace") if not response.streaming else ""
        assert SECRET not in body, f"{name} ({url}) shows org A's private data to org B"
        assert "agent.a@example.org" not in body, f"{name} ({url}) shows org A's agent to B"
        if access is Access.OPERATOR:
            assert response.status_code in (403, 404), f"{name} lets a member in"
        if access is Access.TENANT and pattern:
            assert response.status_code == 404, f"{name} ({url}) gives {response.status_code}"


@pytest.mark.django_db
def test_posting_to_every_route_as_org_b_changes_nothing_of_org_a(client, org_a_secrets, agent_b):
    org_a = org_a_secrets
    before = _chain_length(org_a)
    for name, pattern in all_routes():
        url = reverse(name, kwargs=kwargs_for(pattern, org_a))
        client.force_login(agent_b.user)
        client.post(url, {"organisation": org_a.pk, "membership": 1, "service": "procurement"})
    assert _chain_length(org_a) == before


@pytest.mark.django_db
def test_operator_routes_send_anonymous_people_to_login(client, org_a):
    for name, pattern in all_routes():
        if classify(name) is not Access.OPERATOR:
            continue
        response = client.get(reverse(name, kwargs=kwargs_for(pattern, org_a)))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_scopes_are_disabled_only_in_named_crossings():
    src = Path(__file__).resolve().parents[2] / "src" / "mutualis"
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if path.name != "crossings.py"
        and re.search(r"scopes_disabled\(|with_scopes_disabled\(", path.read_text())
    ]
    assert offenders == []
