"""The operator back office reads through named crossings, each saying what it reads, and
tenant data the operator has no business reading (here the test context's notes, standing
for a business's bids and a member's acts before their transmission) is in none of them.

See docs/adr/0005-operator-reads-through-named-crossings.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import ScopeError, scope, scopes_disabled

from mutualis.companies import services as company_services
from mutualis.core import crossings as core_crossings
from mutualis.core import registry
from mutualis.core.models import OutgoingEmail, Service, Subscription
from mutualis.identity import invitations, oidc_clients
from mutualis.procurement import library
from tests.factories.companies import (
    SITE_URL,
    company_siren,
    register_company,
    valid_siret,
    verified_person,
)
from tests.plugged.models import Note, SharedNote

SRC = Path(__file__).resolve().parents[2] / "src" / "mutualis"
BACKOFFICE = SRC / "backoffice"
CONTEXTS = ("core", "identity", "companies", "procurement")

# Tenant tables no back-office page may read: the test context's rows, which stand for
# what a member or a business keeps to itself.
TENANT_TABLES = (SharedNote._meta.db_table, Note._meta.db_table)


# --- Held by the code ------------------------------------------------------------------


def _backoffice_modules() -> list[Path]:
    return sorted(BACKOFFICE.rglob("*.py"))


def test_no_back_office_module_disables_scopes_or_enters_a_blanket_crossing():
    """The back office reads through crossings that return what they read: none of its
    modules disables the scopes, nor enters a crossing that leaves them off."""
    blanket = re.compile(
        r"scopes_disabled|with_scopes_disabled|django_scopes|for_every_member|operator_view"
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in _backoffice_modules()
        if blanket.search(path.read_text())
    ]
    assert offenders == []


def test_the_blanket_operator_crossing_is_gone():
    assert not hasattr(core_crossings, "operator_view")
    assert "mutualis.core.crossings.operator_view" not in {c.name for c in registry.crossings()}


def _crossings_used_by_the_back_office() -> dict[str, set[str]]:
    """``{crossing name: modules}`` for every attribute the back office reads from a
    context's ``crossings`` module, whatever the module is imported as."""
    used: dict[str, set[str]] = {}
    for path in _backoffice_modules():
        tree = ast.parse(path.read_text())
        aliases = {
            alias.asname or alias.name: f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module in {f"mutualis.{c}" for c in CONTEXTS}
            for alias in node.names
            if alias.name == "crossings"
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                name = f"{aliases[node.value.id]}.{node.attr}"
                used.setdefault(name, set()).add(path.name)
    return used


def test_every_read_of_the_back_office_goes_through_a_registered_crossing():
    """What the back office takes from the contexts' crossings modules is a declared
    crossing (with its reason in the registry), never a helper that would hand out a
    scope."""
    used = _crossings_used_by_the_back_office()
    declared = {c.name for c in registry.crossings()}
    assert len(used) >= 15, used  # the back office's pages do read through them
    assert sorted(set(used) - declared) == []


def test_the_back_office_queries_only_the_catalogue_and_territory_itself():
    """Outside the crossings, the back office queries no table but the platform's own
    catalogue and territory, for its forms' choices (départements, fee categories)."""
    queried = {
        node.value.id
        for path in _backoffice_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr in {"objects", "_base_manager", "_default_manager", "for_organisation"}
        and isinstance(node.value, ast.Name)
    }
    assert queried <= {"Organisation", "FeeCategory"}, queried


def test_every_crossing_says_what_it_reads_and_why():
    """Every crossing is a named function of a ``crossings`` module, with its reason."""
    crossings = registry.crossings()
    assert crossings
    for crossing in crossings:
        assert crossing.name.rsplit(".", 2)[-2] == "crossings", crossing.name
        # A sentence, not a placeholder.
        assert len(crossing.reason.split()) >= 8, crossing.name


def test_a_function_without_a_reason_cannot_be_a_crossing():
    def reads_everything():
        return None

    with pytest.raises(ValueError, match="must say why"):
        registry.crossing(reads_everything)
    assert "reads_everything" not in " ".join(c.name for c in registry.crossings())


# --- Held by behaviour -----------------------------------------------------------------


@pytest.fixture
def world(db, org_a, agent_a, operator_staff):
    """One real object of every kind the back office shows, and tenant rows beside them:
    a note of member A (an act before its transmission) and a note A and company X both
    hold (a bid)."""
    with scopes_disabled():
        Subscription.objects.create(
            organisation=org_a, service=Service.objects.get(code="procurement"), since="2025-01-01"
        )
    invitations.send_invitation(
        actor=operator_staff,
        organisation_id=org_a.pk,
        email="invited@example.org",
        roles=["buyer"],
        site_url=SITE_URL,
    )
    alice = verified_person("alice@menuiserie.example", first_name="Alice")
    admin_x = register_company(alice, siren=company_siren(1), name="Menuiserie X")
    company = admin_x.company
    bob = verified_person("bob@menuiserie.example")
    company_services.sign_up_with_siret(
        user=bob, siret=valid_siret(company.siren, 2), site_url=SITE_URL
    )
    company_services.invite_colleague(
        actor=admin_x, email="carol@menuiserie.example", role="member", site_url=SITE_URL
    )
    client_app, _secret = oidc_clients.register_client(
        actor=operator_staff,
        name="Logiciel de la commune",
        scopes=["api:read"],
        grant_types=["client_credentials"],
        organisation_id=org_a.pk,
    )
    email = OutgoingEmail.objects.create(
        to="someone@example.org", subject="Hello", body_text="Hi", status="failed"
    )
    Note.objects.create(organisation=org_a, text="Délibération avant transmission")
    SharedNote.for_organisation.create(organisation=org_a, company=company, text="Offre de X")
    # The clause library: an entry no member owns, a proposal member A sent.
    library_entry = library.create_entry(
        actor=operator_staff,
        data=library.EntryInput(kind="technical", title="Clause", body="<p>Texte</p>"),
    )
    with scope(organisation=org_a.pk):
        library_proposal = library.propose_entry(
            actor=agent_a,
            data=library.EntryInput(kind="technical", title="Proposée", body="<p>Texte</p>"),
        )
    return {
        "library_entry": library_entry,
        "library_proposal": library_proposal,
        "organisation": org_a,
        "membership": agent_a,
        "user": agent_a.user,
        "company": company,
        "client": client_app,
        "email": email,
    }


def _route_arguments(world) -> dict[str, dict[str, object]]:
    """The arguments of each back-office route that takes some (a new route with
    arguments must be added here, so that the walk below opens it)."""
    org, membership, company = world["organisation"], world["membership"], world["company"]
    client_id = world["client"].pk
    return {
        "organisation_detail": {"pk": org.pk},
        "organisation_edit": {"pk": org.pk},
        "membership_add": {"pk": org.pk},
        "membership_invite": {"pk": org.pk},
        "subscription_subscribe": {"pk": org.pk, "code": "signature"},
        "subscription_suspend": {"pk": org.pk, "code": "procurement"},
        "subscription_resume": {"pk": org.pk, "code": "procurement"},
        "user_detail": {"pk": world["user"].pk},
        "membership_detail": {"pk": membership.pk},
        "membership_deactivate": {"pk": membership.pk},
        "membership_reactivate": {"pk": membership.pk},
        "email_detail": {"pk": world["email"].pk},
        "email_retry": {"pk": world["email"].pk},
        "company_detail": {"pk": company.pk},
        "company_verify": {"pk": company.pk},
        "company_suspend": {"pk": company.pk},
        "company_dispute": {"pk": company.pk},
        "sso_client_detail": {"client_id": client_id},
        "sso_client_rotate_secret": {"client_id": client_id},
        "sso_client_delete": {"client_id": client_id},
        "library_entry_edit": {"pk": world["library_entry"].pk},
        "library_proposal_accept": {"pk": world["library_proposal"].pk},
        "library_proposal_reject": {"pk": world["library_proposal"].pk},
    }


def _backoffice_routes() -> list[tuple[str, set[str]]]:
    """Every route of the back office's namespace: (name, names of its arguments)."""
    _prefix, resolver = get_resolver().namespace_dict["backoffice"]
    routes: list[tuple[str, set[str]]] = []

    def walk(patterns, converters: set[str]) -> None:
        for pattern in patterns:
            own = set(pattern.pattern.converters)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, converters | own)
            elif isinstance(pattern, URLPattern) and pattern.name:
                routes.append((pattern.name, converters | own))

    walk(resolver.url_patterns, set())
    return routes


def _urls(world) -> list[str]:
    arguments = _route_arguments(world)
    urls = []
    for name, converters in _backoffice_routes():
        kwargs = arguments.get(name, {})
        assert set(kwargs) == converters, f"give backoffice:{name} its arguments in this test"
        urls.append(reverse(f"backoffice:{name}", kwargs=kwargs))
    return urls


def _tenant_queries(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if any(table in query["sql"] for table in TENANT_TABLES)
    ]


def test_every_back_office_page_renders_without_reading_tenant_data(client, world, operator_staff):
    """Given a member's note and a bid-like row it holds with a company, when operator
    staff open every page of the back office, then each page renders (no scope error:
    it read only through its crossings) and no SQL statement touches the tenant tables."""
    client.force_login(operator_staff.user)
    urls = _urls(world)
    assert len(urls) >= 30
    opened = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        # The use cases answer POST only; every other page renders.
        assert response.status_code in (200, 405), url
        assert _tenant_queries(captured) == [], url
        if response.status_code == 200:
            opened.append(url)
    assert reverse("backoffice:company_detail", args=[world["company"].pk]) in opened
    assert len(opened) >= 20


def test_the_back_office_use_cases_do_not_read_tenant_data_either(client, world, operator_staff):
    """Every form and action of the back office, posted (valid or not), reads no tenant
    table: the services act in the scope of the member named, through their own reads."""
    client.force_login(operator_staff.user)
    for url in _urls(world):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, {"roles": ["buyer"], "email": "agent.a@example.org"})
        assert response.status_code < 500, url
        assert _tenant_queries(captured) == [], url
    with scopes_disabled():
        assert [n.text for n in SharedNote.for_organisation.all()] == ["Offre de X"]


def test_a_back_office_page_reading_outside_a_crossing_fails_loudly(
    client, world, operator_staff, monkeypatch
):
    """No page runs with the scopes disabled: had the dashboard read the bids itself,
    instead of through its crossing, the request would fail rather than show them."""

    def reads_the_bids():
        return list(SharedNote.for_organisation.all())

    monkeypatch.setattr(core_crossings, "platform_figures", reads_the_bids)
    client.force_login(operator_staff.user)
    with pytest.raises(ScopeError):
        client.get(reverse("backoffice:dashboard"))


def test_the_crossings_read_nothing_of_a_member_but_what_they_name(world):
    """The organisation page's crossings, called in a scope of no member (the back
    office's), give the member's people and subscriptions, and nothing leaks into the
    scope afterwards."""
    org = world["organisation"]
    with scope():
        members = core_crossings.subscriptions_for_operator(org.pk)
        assert [s.service.code for s in members if s.subscription] == ["procurement"]
        with pytest.raises(ScopeError):
            list(Note.objects.all())
