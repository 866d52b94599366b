"""A participant of a group purchase sees it on its own pages and on its own profile: the
coordinator (a métropole) published it on behalf of the participant (a commune). In a
French Chromium, axe-core on every page, the Content-Security-Policy watched."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from mutualis.core.services import subscriptions
from mutualis.identity import services as identity
from mutualis.procurement import groups, library, services
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.procurement import consultation_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Fourniture d'électricité pour le groupement"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def participant(transactional_db):
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(email="operateur@example.org", password=PASSWORD)
    staff_membership = identity.grant_membership(
        actor=None, user=staff, organisation=operator, roles=["org_admin"]
    )
    metropole = OrganisationFactory(
        name="Métropole d'Auxois", slug="metropole", kind="epci_metro", adhesion_status="member"
    )
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    coordinator = identity.grant_membership(
        actor=None,
        user=identity.ensure_user(email="acheteur@metropole.example", password=PASSWORD),
        organisation=metropole,
        roles=["buyer"],
    )
    person = identity.ensure_user(
        email="acheteur@semur.example", password=PASSWORD, first_name="Alix", last_name="Moreau"
    )
    semur_buyer = identity.grant_membership(
        actor=None, user=person, organisation=semur, roles=["buyer"]
    )
    for organisation in (metropole, semur):
        subscriptions.subscribe(
            actor=staff_membership, organisation_id=organisation.pk, service_code="procurement"
        )
    with scope(organisation=metropole.pk):
        consultation = services.create_consultation(
            actor=coordinator,
            data=consultation_input(
                reference="GRP-ELEC", title=TITLE, category="supplies", main_cpv="09310000"
            ),
        )
        groups.add_participant(
            actor=coordinator,
            consultation_id=consultation.pk,
            participant="semur",
            share_percent=Decimal(35),
        )
        services.publish_consultation(actor=coordinator, consultation_id=consultation.pk)
    return {
        "user": person,
        "secret": give_authenticator_app(person),
        "coordinator": coordinator.user,
        "coordinator_secret": give_authenticator_app(coordinator.user),
        "consultation": consultation,
        "staff": staff_membership,
        "staff_secret": give_authenticator_app(staff),
        "buyer": semur_buyer,
    }


def test_a_participant_sees_the_group_purchase_on_its_own_pages_and_profile(
    live_server, page, log_in_with_app, check_accessibility, participant
):
    log_in_with_app(page, participant["user"].email, participant["secret"])
    page.goto(f"{live_server.url}/o/semur/procurement/")
    check_accessibility(page)

    # Its own procurement pages: the group purchases it takes part in, read-only.
    with page.expect_navigation():
        page.get_by_role("link", name=t("Group purchases I take part in")).click()
    check_accessibility(page)
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("Métropole d'Auxois")
    expect(row).to_contain_text("35 %")
    # Read-only: nothing on the page changes the coordinator's consultation.
    expect(page.locator("main form[method=post]")).to_have_count(0)

    # Its own profile in the directory: the group purchase, coordinated by the métropole.
    page.goto(f"{live_server.url}/organisations/semur/")
    check_accessibility(page)
    section = page.get_by_role("region", name=t("Group purchases (buyer profile)"))
    expect(section).to_contain_text(TITLE)
    expect(section).to_contain_text("Métropole d'Auxois")

    # The public page names the group's members.
    with page.expect_navigation():
        section.get_by_role("link", name=TITLE).click()
    check_accessibility(page)
    members = page.get_by_role("region", name=t("Group purchase"))
    expect(members).to_contain_text("Semur-en-Auxois — 35 %")


def test_the_coordinator_workspace_pages_are_accessible(
    live_server, page, log_in_with_app, check_accessibility, participant
):
    """The coordinator's group page, the ESPD selection form, the library and the copy
    form, each checked with axe-core."""
    log_in_with_app(page, participant["coordinator"].email, participant["coordinator_secret"])
    pk = participant["consultation"].pk
    page.goto(f"{live_server.url}/o/metropole/procurement/{pk}/")
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("link", name=t("Group purchase: members and shares")).click()
    check_accessibility(page)
    expect(page.get_by_role("row").filter(has_text="Semur-en-Auxois")).to_contain_text("35 %")
    for path in (f"{pk}/selection/", "library/", "library/propose/", f"{pk}/copy/"):
        page.goto(f"{live_server.url}/o/metropole/procurement/{path}")
        check_accessibility(page)


def test_operator_staff_accept_a_proposal_in_the_back_office(
    live_server, page, log_in_with_app, check_accessibility, participant
):
    with scope(organisation=participant["buyer"].organisation_id):
        library.propose_entry(
            actor=participant["buyer"],
            data=library.EntryInput(
                kind="technical", title="Clause de réversibilité", body="<p>Données rendues.</p>"
            ),
        )
    log_in_with_app(page, "operateur@example.org", participant["staff_secret"])
    page.goto(f"{live_server.url}/operator/library/")
    check_accessibility(page)
    page.goto(f"{live_server.url}/operator/library/proposals/")
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("button", name=t("Accept into the library")).click()
    page.goto(f"{live_server.url}/operator/library/")
    expect(page.get_by_role("row").filter(has_text="Clause de réversibilité")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Clause de réversibilité").click()
    check_accessibility(page)
