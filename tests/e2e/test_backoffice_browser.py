"""The operator's staff run the back office in Chromium; axe-core checks every page.

One journey: dashboard, organisations (filter, open, edit with and without errors,
subscribe), users and memberships, audit trail and its verification, outgoing e-mails,
then the public page of the organisation in the colours just chosen.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import formats, timezone, translation
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.models import OutgoingEmail, Service
from mutualis.identity import services as identity
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory, valid_siren
from tests.factories.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # A French browser, as the platform's people have: LocaleMiddleware follows it.
    return {**browser_context_args, "locale": "fr-FR"}


PRIMARY = "#7a1f5c"  # dark: the public banner must write in white on it
SECONDARY = "#e3efd6"  # light: the facts box must write in black on it


@pytest.fixture
def platform(transactional_db):
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(
        email="operateur@example.org", password=PASSWORD, first_name="Dominique", last_name="Roy"
    )
    identity.grant_membership(actor=None, user=staff, organisation=operator, roles=["org_admin"])
    beaune = OrganisationFactory(name="Beaune", kind="commune", slug="beaune")
    # Same word, another kind: the kind filter must set them apart.
    OrganisationFactory(name="Communauté d'agglomération Beaune Côte et Sud", kind="epci_ca")
    OrganisationFactory(name="Nuits-Saint-Georges", kind="commune")
    agent = identity.ensure_user(
        email="claude.petit@example.org", password=PASSWORD, first_name="Claude", last_name="Petit"
    )
    email = OutgoingEmail.objects.create(
        to=agent.email,
        subject="Votre compte Mutualis",
        body_text="Bonjour,\nvotre compte est ouvert : http://localhost/accounts/login/\n",
        body_html="<p>Bonjour,</p><p>votre compte est ouvert.</p>",
        status=OutgoingEmail.Status.FAILED,
        attempts=3,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    return {
        "staff": staff,
        "staff_secret": give_authenticator_app(staff),
        "commune": beaune,
        "agent": agent,
        "email": email,
    }


def test_operator_runs_the_back_office(
    live_server, page, log_in_with_app, check_accessibility, platform
):
    commune, agent = platform["commune"], platform["agent"]
    log_in_with_app(page, platform["staff"].email, platform["staff_secret"])
    # Operator staff act for one organisation only: they land in its space.
    assert urlsplit(page.url).path.startswith("/o/")
    # Pico's stylesheet is loaded: axe's contrast checks depend on it.
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")

    # axe runs once per page and state: a page met again in the same shape (the list
    # unfiltered, the organisation after each change) is not checked twice.

    # --- Dashboard, from the main menu.
    main_menu = page.get_by_role("navigation", name=t("Main menu"))
    with page.expect_navigation():
        main_menu.get_by_role("link", name=t("Back office")).click()
    assert urlsplit(page.url).path == "/operator/"
    expect(page.locator("h1")).to_have_text(t("Back office"))
    check_accessibility(page)
    back_office_menu = page.get_by_role("navigation", name=t("Back office"))

    # --- Organisations: filter by text and kind.
    with page.expect_navigation():
        back_office_menu.get_by_role("link", name=t("Organisations")).click()
    expect(page.locator("table tbody tr")).to_have_count(4)

    page.get_by_role("searchbox", name=t("Search")).fill("Beaune")
    page.get_by_role("combobox", name=t("Kind")).select_option("commune")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Filter"), exact=True).click()
    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == ["Beaune"]
    assert query["kind"] == ["commune"]
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("th")).to_have_text("Beaune")
    check_accessibility(page)

    # --- The organisation's page.
    with page.expect_navigation():
        rows.first.get_by_role("link", name="Beaune").click()
    assert urlsplit(page.url).path == f"/operator/organisations/{commune.pk}/"
    expect(page.locator("h1")).to_have_text("Beaune")
    check_accessibility(page)

    # --- Edit: an invalid SIREN first; the form comes back with the error announced.
    with page.expect_navigation():
        page.get_by_role("button", name=t("Edit")).click()
    check_accessibility(page)
    siren = page.locator("#id_siren")
    siren.fill("123 456 789")
    page.get_by_role("combobox", name=t("Adhesion")).select_option("member")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Save")).click()
    assert urlsplit(page.url).path == f"/operator/organisations/{commune.pk}/edit/"
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(t("SIREN"))
    # The summary links to the field; the field says it is invalid and points to its error.
    assert summary.get_by_role("link", name=t("SIREN")).get_attribute("href") == "#id_siren"
    assert siren.get_attribute("aria-invalid") == "true"
    described_by = (siren.get_attribute("aria-describedby") or "").split()
    assert "id_siren_error" in described_by
    error_text = page.locator("#id_siren_error").inner_text().strip()
    assert error_text
    # Chromium's accessibility tree gives the error as part of the field's description.
    expect(siren).to_have_accessible_description(re.compile(re.escape(error_text)))
    check_accessibility(page)

    # Corrected: a member, with a fee category and colours.
    new_siren = valid_siren(4242)
    siren.fill(new_siren)
    page.get_by_label(t("Fee category")).select_option(label="Commune de 500 à 3 500 habitants")
    page.locator("#id_primary_colour").fill(PRIMARY)
    page.locator("#id_secondary_colour").fill(SECONDARY)
    with page.expect_navigation():
        page.get_by_role("button", name=t("Save")).click()
    assert urlsplit(page.url).path == f"/operator/organisations/{commune.pk}/"
    expect(page.locator(".message-success")).to_have_text(t("The organisation has been updated."))
    data = page.locator("#data-title + dl")
    expect(_term(data, t("Adhesion"))).to_have_text(t("Member"))
    expect(_term(data, t("SIREN"))).to_have_text(new_siren)
    expect(_term(data, t("Fee category"))).to_contain_text("Commune de 500 à 3 500 habitants")
    expect(_term(data, t("Member since"))).not_to_have_text("—")
    expect(_term(data, t("Primary colour"))).to_contain_text(PRIMARY)
    expect(_term(data, t("Secondary colour"))).to_contain_text(SECONDARY)

    # --- Subscribe it to public procurement.
    procurement = _service_name("procurement")
    services = page.locator("#services table")
    with page.expect_navigation():
        services.get_by_role(
            "button", name=t("Subscribe to %(service)s") % {"service": procurement}
        ).click()
    expect(page.locator(".message-success")).to_have_text(
        t("%(org)s now subscribes to %(service)s.") % {"org": "Beaune", "service": procurement}
    )
    procurement_row = services.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=procurement)
    )
    expect(procurement_row.locator("td").first).to_have_text(
        t("Active since %(since)s") % {"since": _short_date(timezone.localdate())}
    )
    expect(
        procurement_row.get_by_role(
            "button", name=t("Suspend %(service)s") % {"service": procurement}
        )
    ).to_be_visible()

    # --- Users: find the agent, open their page.
    with page.expect_navigation():
        back_office_menu.get_by_role("link", name=t("Users")).click()
    page.get_by_role("searchbox", name=t("Search")).fill("petit")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Search"), exact=True).click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    check_accessibility(page)
    with page.expect_navigation():
        rows.first.get_by_role("link", name="Claude Petit").click()
    assert urlsplit(page.url).path == f"/operator/users/{agent.pk}/"
    expect(page.locator("table tbody")).to_contain_text(t("This person acts for no organisation."))

    # --- Add a membership of the commune: an unknown account first, then the agent.
    page.goto(f"{live_server.url}/operator/organisations/{commune.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Add a member")).click()
    assert urlsplit(page.url).path == f"/operator/organisations/{commune.pk}/members/add/"
    check_accessibility(page)
    email_field = page.locator("#id_email")
    email_field.fill("nobody@example.org")
    roles = page.get_by_role("group", name=t("Roles"))
    roles.get_by_label(_role_label("buyer")).check()
    with page.expect_navigation():
        page.get_by_role("button", name=t("Add"), exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert email_field.get_attribute("aria-invalid") == "true"
    assert "id_email_error" in (email_field.get_attribute("aria-describedby") or "").split()
    # What was ticked is kept.
    expect(roles.get_by_label(_role_label("buyer"))).to_be_checked()
    check_accessibility(page)

    email_field.fill(agent.email)
    roles.get_by_label(_role_label("org_admin")).check()
    with page.expect_navigation():
        page.get_by_role("button", name=t("Add"), exact=True).click()
    assert urlsplit(page.url).path == f"/operator/organisations/{commune.pk}/"
    expect(page.locator(".message-success")).to_have_text(
        t("%(person)s is now a member of %(org)s.") % {"person": str(agent), "org": "Beaune"}
    )
    member_row = page.locator("#members tbody tr").filter(has_text=agent.email)
    expect(member_row).to_contain_text(_role_label("buyer"))
    expect(member_row).to_contain_text(_role_label("org_admin"))
    check_accessibility(page)

    # The person's page now lists the membership.
    with page.expect_navigation():
        member_row.get_by_role("link", name="Claude Petit").click()
    expect(page.locator("table tbody tr").first).to_contain_text("Beaune")
    check_accessibility(page)

    # --- Audit trail, filtered on the organisation's events.
    with page.expect_navigation():
        back_office_menu.get_by_role("link", name=t("Audit trail")).click()
    page.get_by_label(t("Action starts with")).fill("organisation.")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Filter"), exact=True).click()
    actions = page.locator("table tbody tr td:nth-child(5)").all_inner_texts()
    assert actions, "the edit wrote events"
    assert all(action.startswith("organisation.") for action in actions), actions
    check_accessibility(page)

    # --- Verify now: every chain checks out.
    with page.expect_navigation():
        page.get_by_role("button", name=t("Verify now")).click()
    assert urlsplit(page.url).path == "/operator/audit/verify/"
    expect(page.get_by_role("status").filter(has_text=t("Result: OK"))).to_be_visible()
    check_accessibility(page)

    # --- Outgoing e-mails and one e-mail.
    with page.expect_navigation():
        back_office_menu.get_by_role("link", name=t("E-mails")).click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Votre compte Mutualis").click()
    assert urlsplit(page.url).path == f"/operator/emails/{platform['email'].pk}/"
    expect(page.locator("h1")).to_have_text("Votre compte Mutualis")
    expect(page.get_by_role("button", name=t("Retry sending"))).to_be_visible()
    check_accessibility(page)

    # --- The public page wears the colours chosen, readably.
    page.goto(f"{live_server.url}/operator/organisations/{commune.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name=t("Public page")).click()
    assert urlsplit(page.url).path == "/organisations/beaune/"
    banner = page.locator(".org-banner")
    assert _css(banner, "backgroundColor") == _rgb(PRIMARY)
    assert _css(banner, "color") == "rgb(255, 255, 255)"
    facts = page.locator(".org-facts")
    assert _css(facts, "backgroundColor") == _rgb(SECONDARY)
    assert _css(facts, "color") == "rgb(0, 0, 0)"
    expect(page.locator("#services-title + ul")).to_contain_text(procurement)
    check_accessibility(page)


def _term(dl, term: str):
    """The <dd> that follows the <dt> reading ``term`` in a description list."""
    return dl.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def _css(locator, property_name: str) -> str:
    return locator.evaluate(f"e => getComputedStyle(e).{property_name}")


def _rgb(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def _service_name(code: str) -> str:
    return Service.objects.get(code=code).name


def _role_label(code: str) -> str:
    from mutualis.identity.models import Role

    with scopes_disabled():
        return Role.objects.get(code=code).label


def _short_date(day) -> str:
    with translation.override("fr"):
        return formats.date_format(day, "SHORT_DATE_FORMAT")
