"""A new context plugs into the platform without touching core (tests/plugged), rows two
parties hold stay each side's own, and subscriptions switch a service on and off."""

from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import ScopeError, scope, scopes_disabled

from mutualis.core import catalogue, registry
from mutualis.core.errors import ServiceNotSubscribed
from mutualis.core.models import AuditEvent, Service, Subscription
from mutualis.core.schedule import schedule
from mutualis.core.subscriptions import require_subscription
from mutualis.identity import roles as identity_roles
from mutualis.identity.models import Role
from mutualis.identity.selectors import roles_offered_to
from tests.factories.companies import company_siren, company_url, register_company, verified_person
from tests.factories.core import ORG_B, org_url
from tests.factories.identity import make_member
from tests.plugged.models import Note, SharedNote

SRC = Path(__file__).resolve().parents[2] / "src" / "mutualis"


# --- Plugging in ------------------------------------------------------------------------


def test_no_file_of_core_names_the_new_context():
    mentions = [
        str(path.relative_to(SRC))
        for path in (SRC / "core").rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".html", ".txt"}
        and "plugged" in path.read_text()
    ]
    assert mentions == []


def test_the_context_declares_routes_a_job_a_crossing_a_role_a_menu_and_a_service():
    assert registry.classify("plugged:notes") is registry.Access.TENANT
    assert reverse("plugged:notes", kwargs={"org": "x"}) == "/o/x/plugged/"
    assert reverse("plugged_company:shared", kwargs={"company": "1", "pk": 2}) == (
        "/c/1/plugged/shared/2/"
    )
    assert "plugged_count_notes" in [job.name for job in schedule()]
    assert "tests.plugged.crossings.count_every_note" in [c.name for c in registry.crossings()]
    assert "plugged_editor" in [r.code for r in registry.roles()]
    assert "plugged" in [e.key for e in registry.menu_entries()]
    assert "plugged" in registry.services()


@pytest.mark.django_db
def test_its_periodic_job_runs_through_its_own_crossing(org_a, org_b):
    with scopes_disabled():
        Note.objects.create(organisation=org_a, text="a")
        Note.objects.create(organisation=org_b, text="b")
    job = next(job for job in schedule() if job.name == "plugged_count_notes")
    assert job.task.call() == 2


@pytest.mark.django_db
def test_setup_brings_the_catalogue_and_the_roles_in_line_once():
    out = StringIO()
    for step in registry.setup_steps():
        step.run(out)
    service = Service.objects.get(code="plugged")
    assert (service.name, service.position) == ("Notes (test)", 900)
    role = Role.objects.get(code="plugged_editor")
    assert (role.service_id, role.position) == ("plugged", 900)
    with scopes_disabled():
        declared = AuditEvent.objects.filter(action__in=["service.declared", "role.declared"])
        count = declared.count()
    assert count >= 2

    # A second run changes nothing and records nothing.
    assert catalogue.sync_catalogue() == []
    assert identity_roles.sync_roles() == []
    with scopes_disabled():
        assert (
            AuditEvent.objects.filter(action__in=["service.declared", "role.declared"]).count()
            == count
        )


def test_a_catalogue_row_without_code_is_not_provided():
    assert catalogue.is_provided("plugged")
    assert not catalogue.is_provided("website")


# --- Subscriptions switch the service -------------------------------------------------


@pytest.fixture
def plugged(db):
    catalogue.sync_catalogue()
    identity_roles.sync_roles()


@pytest.fixture
def editor_a(plugged, org_a):
    return make_member(org_a, "editor.a@example.org", roles=["plugged_editor"])


def subscribe(org, *, active=True):
    with scopes_disabled():
        Subscription.objects.update_or_create(
            organisation=org,
            service_id="plugged",
            defaults={"since": date(2025, 1, 1), "is_active": active},
        )


def test_the_service_works_for_a_subscribed_member(client, editor_a, org_a):
    subscribe(org_a)
    client.force_login(editor_a.user)

    response = client.post(org_url("plugged:notes"), {"text": "minutes of the board"})

    assert response.status_code == 200
    assert "minutes of the board" in response.content.decode()
    menu = client.get(org_url("organisation:home")).content.decode()
    assert f'href="{org_url("plugged:notes")}"' in menu


def test_a_suspended_subscription_shows_why_and_stops_new_actions_only(
    client, editor_a, org_a, settings
):
    settings.MUTUALIS_OPERATOR_CONTACT = "adhesions@mutualis.example"
    subscribe(org_a)
    client.force_login(editor_a.user)
    client.post(org_url("plugged:notes"), {"text": "kept"})
    subscribe(org_a, active=False)

    page = client.get(org_url("plugged:notes"))
    posted = client.post(org_url("plugged:notes"), {"text": "refused"})

    assert page.status_code == 403
    html = page.content.decode()
    assert "is suspended" in html
    assert "adhesions@mutualis.example" in html
    assert posted.status_code == 403
    # What was stored is untouched.
    with scopes_disabled():
        assert [n.text for n in Note.objects.filter(organisation=org_a)] == ["kept"]


def test_the_service_refuses_a_member_that_does_not_subscribe(org_a, plugged):
    with scope(organisation=org_a.pk), pytest.raises(ServiceNotSubscribed) as refused:
        require_subscription(org_a.pk, "plugged")
    assert refused.value.code == "service_not_subscribed"


def test_roles_of_the_service_are_offered_once_subscribed(editor_a, org_a):
    with scope(organisation=org_a.pk):
        assert "plugged_editor" not in [r.code for r in roles_offered_to(org_a.pk)]
    subscribe(org_a)
    with scope(organisation=org_a.pk):
        assert "plugged_editor" in [r.code for r in roles_offered_to(org_a.pk)]


# --- Rows two parties hold ------------------------------------------------------------


@pytest.fixture
def companies(db):
    alice = verified_person("alice.x@example.org")
    x = register_company(alice, siren=company_siren(1), name="Menuiserie X")
    dave = verified_person("dave.y@example.org")
    y = register_company(dave, siren=company_siren(2), name="Plomberie Y")
    return x, y


@pytest.fixture
def shared(org_a, org_b, companies):
    """Three rows: A with X, A with Y, B with X."""
    (x, y) = (rep.company for rep in companies)
    with scopes_disabled():
        return {
            "ax": SharedNote.for_organisation.create(organisation=org_a, company=x, text="A-X"),
            "ay": SharedNote.for_organisation.create(organisation=org_a, company=y, text="A-Y"),
            "bx": SharedNote.for_organisation.create(organisation=org_b, company=x, text="B-X"),
        }


def test_each_side_reads_the_rows_it_holds_in_its_own_scope(org_a, org_b, companies, shared):
    (x, y) = (rep.company for rep in companies)
    with scope(organisation=org_a.pk):
        assert sorted(n.text for n in SharedNote.for_organisation.all()) == ["A-X", "A-Y"]
    with scope(company=x.pk):
        assert sorted(n.text for n in SharedNote.for_company.all()) == ["A-X", "B-X"]
    # A third party: org B sees its own only, company Y its own only.
    with scope(organisation=org_b.pk):
        assert [n.text for n in SharedNote.for_organisation.all()] == ["B-X"]
    with scope(company=y.pk):
        assert [n.text for n in SharedNote.for_company.all()] == ["A-Y"]


def test_a_side_reaching_for_the_other_sides_manager_fails_loudly(org_a, companies, shared):
    (x, _y) = (rep.company for rep in companies)
    with scope(organisation=org_a.pk), pytest.raises(ScopeError):
        list(SharedNote.for_company.all())
    with scope(company=x.pk), pytest.raises(ScopeError):
        list(SharedNote.for_organisation.all())


def test_both_sides_open_the_row_at_their_own_address_and_nobody_else(
    client, agent_a, agent_b, companies, shared
):
    (admin_x, admin_y) = companies
    note = shared["ax"]
    x_siren, y_siren = admin_x.company.siren, admin_y.company.siren

    client.force_login(agent_a.user)
    assert client.get(org_url("plugged:shared", pk=note.pk)).content == b"A-X"
    client.force_login(admin_x.user)
    assert client.get(company_url("plugged_company:shared", x_siren, pk=note.pk)).content == (
        b"A-X"
    )
    # A third party, at its own address or at the others', gets 404.
    client.force_login(agent_b.user)
    assert client.get(org_url("plugged:shared", org=ORG_B, pk=note.pk)).status_code == 404
    assert client.get(org_url("plugged:shared", pk=note.pk)).status_code == 404
    client.force_login(admin_y.user)
    assert client.get(company_url("plugged_company:shared", y_siren, pk=note.pk)).status_code == (
        404
    )
    assert client.get(company_url("plugged_company:shared", x_siren, pk=note.pk)).status_code == (
        404
    )


def test_a_suspended_member_does_not_cut_the_company_off(client, plugged, org_a, companies, shared):
    """What others are entitled to goes on: the company still reads what it holds."""
    subscribe(org_a, active=False)
    admin_x = companies[0]
    client.force_login(admin_x.user)
    url = company_url("plugged_company:shared", admin_x.company.siren, pk=shared["ax"].pk)
    assert client.get(url).status_code == 200


def test_the_demo_seed_runs_every_contexts_step(db):
    call_command("import_territory", "--region", "27", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "mairie@dijon.localhost" in printed
    assert "gerant@menuiserie.localhost" in printed


@pytest.mark.django_db
def test_a_declared_service_keeps_the_codes_wording_release_after_release(monkeypatch):
    """Given a catalogue row (from the reference data) that a context now declares, the
    reference step leaves it to the code's step: a second release writes nothing."""
    monkeypatch.setitem(
        registry._services,
        "website",
        registry.ServiceDeclaration("website", "Sites des communes", "Un site par commune.", 50),
    )
    from mutualis.core.reference import sync_reference_data

    sync_reference_data()
    catalogue.sync_catalogue()
    assert Service.objects.get(code="website").name == "Sites des communes"

    assert sync_reference_data() == 0
    assert catalogue.sync_catalogue() == []
    assert Service.objects.get(code="website").name == "Sites des communes"


def test_a_provided_services_home_is_its_own_page(client, editor_a, org_a):
    """The catalogue's link to a service leads to the page its context declared."""
    subscribe(org_a)
    client.force_login(editor_a.user)
    home = client.get(org_url("organisation:home")).content.decode()
    link = org_url("organisation:service_home", code="plugged")
    assert f'href="{link}"' in home
    assert client.get(link)["Location"] == org_url("plugged:notes")
