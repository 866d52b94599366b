"""After the prefecture's acknowledgement, a legality agent downloads the stamped act,
follows the address of its QR code to the public verification page, records the
publication date and sees the files offered there. In Chromium, in French, with
axe-core on every page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.identity import services as identity
from mutualis.legality import services, stamping
from mutualis.legality.models import Act, ActStatus
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD, make_member
from tests.factories.legality import enrol, prepare, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IDENTIFIER = "021-212100108-20260203-DEL_2026_099-DE"


@pytest.fixture
def browser_context_args(browser_context_args):
    """A browser that asks for French, as the member's agents' do."""
    return {**browser_context_args, "locale": "fr-FR"}


def test_an_agent_downloads_the_stamped_act_and_opens_its_verification_page(
    page, live_server, log_in_with_app, check_accessibility
):
    org = OrganisationFactory(
        name="Commune S", slug="commune-s", siren="212100108", adhesion_status="member"
    )
    subscribe(org)
    admin = make_member(org, "maire.s@example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)
    enrol(admin)
    user = identity.ensure_user(email="actes.s@example.org", password=PASSWORD)
    clerk = identity.grant_membership(
        actor=None, user=user, organisation=org, roles=["legality_agent"]
    )
    secret = give_authenticator_app(user)
    act = prepare(clerk, number="DEL_2026_099", decided_on=date(2026, 2, 3))
    services.validate_act(actor=clerk, act_id=act.pk)
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(
            status=ActStatus.SENT, sent_at=datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
        )
    # The return channel reads the acknowledgement; once committed, the job stamps.
    services.acknowledge_act(
        organisation_id=org.pk, identifier=IDENTIFIER, received_on=date(2026, 2, 4)
    )

    log_in_with_app(page, user.email, secret)
    page.goto(f"{live_server.url}/o/commune-s/legality/acts/{act.pk}/")
    expect(page.locator("main")).to_contain_text(t("Acknowledged by the prefecture"))
    check_accessibility(page)

    link = page.get_by_role("link", name=t("Download the stamped act (PDF)"))
    stamped = page.context.request.get(live_server.url + link.get_attribute("href"))
    assert stamped.ok
    assert stamped.headers["content-type"] == "application/pdf"
    text, address = stamping.stamp_of(stamped.body())
    assert "Reçu en préfecture le 04/02/2026" in text
    assert f"ID : {IDENTIFIER}" in text
    slip = page.get_by_role("link", name=t("Download the acknowledgement slip (PDF)"))
    assert page.context.request.get(live_server.url + slip.get_attribute("href")).ok

    # The address the QR code carries is the page's, shown on the act's page too.
    assert address.startswith(live_server.url + "/actes/verification/")
    expect(page.locator(f"a[href='{address}']")).to_be_visible()

    # Anyone holding the stamp: a fresh browser, signed in as nobody.
    visitor = page.context.browser.new_context(locale="fr-FR")
    public = visitor.new_page()
    public.goto(address)
    expect(public.locator("h1")).to_contain_text(
        t("Verification of an act transmitted to the prefecture")
    )
    expect(public.locator("main")).to_contain_text(IDENTIFIER)
    expect(public.locator("main")).to_contain_text("Commune S")
    expect(public.locator("main")).to_contain_text(t("Not published yet"))
    check_accessibility(public)

    # The agent records the publication: the act is stamped again, its files go public.
    page.fill("input[name=published_on]", "2026-02-10")
    with page.expect_navigation():
        page.get_by_role("button", name=t("Record the publication date")).click()
    expect(page.locator("main")).to_contain_text(t("Earlier stamped copies"))
    check_accessibility(page)

    public.reload()
    expect(public.locator("main")).to_contain_text("Publié le 10/02/2026")
    downloads = public.locator("main a[href*='/files/']")
    expect(downloads.first).to_be_visible()
    assert downloads.count() >= 4  # the act, its annex, two stamped copies
    check_accessibility(public)
    visitor.close()
