"""An agent validates an act; the platform sends it to the ministry's stand-in (a real
HTTPS server with client certificates, on a loopback port) and reads its acknowledgement
back; the agent sees the act acknowledged. The two periodic jobs are run by the test, as
the worker would. In Chromium, in French, with axe-core on the act's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mutualis.core.pdf import text_pdf
from mutualis.identity import services as identity
from mutualis.legality import tasks
from mutualis.legality.standin.pki import make_pki
from mutualis.legality.standin.server import StandinServer, serve
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD, make_member
from tests.factories.legality import enrol, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def ministry(tmp_path, settings):
    pki = make_pki(tmp_path / "pki")
    server = StandinServer(("127.0.0.1", 0), pki, tmp_path / "returns")
    thread = serve(server)
    settings.MUTUALIS_LEGALITY_ENDPOINT_URL = server.url
    settings.MUTUALIS_LEGALITY_CLIENT_CERTIFICATE = str(pki.client_certificate)
    settings.MUTUALIS_LEGALITY_CLIENT_KEY = str(pki.client_key)
    settings.MUTUALIS_LEGALITY_SERVER_CA = str(pki.ca)
    settings.MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE = True
    settings.MUTUALIS_LEGALITY_WINDOWS = ""
    settings.MUTUALIS_LEGALITY_MAILBOX = "maildir"
    settings.MUTUALIS_LEGALITY_MAILDIR = tmp_path / "returns"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_validated_act_is_sent_and_acknowledged(
    page, live_server, log_in_with_app, check_accessibility, ministry
):
    org = OrganisationFactory(
        name="Commune T", slug="commune-t", siren="212100108", adhesion_status="member"
    )
    subscribe(org)
    admin = make_member(org, "maire.t@example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)
    enrol(admin)
    agent = identity.ensure_user(email="actes.t@example.org", password=PASSWORD)
    identity.grant_membership(
        actor=None, user=agent, organisation=org, roles=["legality_agent", "legality_sender"]
    )
    secret = give_authenticator_app(agent)

    log_in_with_app(page, agent.email, secret)
    page.goto(f"{live_server.url}/o/commune-t/legality/acts/new/")
    page.locator("select[name=nature]").select_option("1")
    page.fill("input[name=number]", "DEL_2026_120")
    page.fill("input[name=decided_on]", "2026-02-03")
    page.locator("select[name=classification]").select_option("7.5")
    page.fill("textarea[name=subject]", "Tarifs de la médiathèque")
    page.set_input_files(
        "input[name=document]",
        {
            "name": "deliberation.pdf",
            "mimeType": "application/pdf",
            "buffer": text_pdf(["Délibération"]),
        },
    )
    with page.expect_navigation():
        page.locator("main form[method=post] [type=submit]").first.click()
    with page.expect_navigation():
        page.locator("main form[action$='/validate/'] [type=submit]").click()
    expect(page.locator("main")).to_contain_text(t("Waiting to be sent"))

    # After its acknowledgement, the prefecture asks for additional documents.
    ministry.letters = {"DEL_2026_120": "DemandePieceComplementaire"}
    # What the worker does every few seconds: send, then read the return mailbox.
    assert tasks.send_acts.call()["sent"] == 1
    assert ministry.received
    assert tasks.read_returns.call()["processed"] == 2

    page.reload()
    expect(page.locator("main")).to_contain_text(t("Acknowledged"))
    expect(page.locator("main")).to_contain_text(t("Transmission"))
    expect(page.locator("main")).to_contain_text(t("Letters of the prefecture"))
    check_accessibility(page)

    # The agent answers the request with a document.
    with page.expect_navigation():
        page.get_by_role("link", name=t("Request for additional documents")).click()
    expect(page.locator("main")).to_contain_text(t("Answer due by"))
    check_accessibility(page)
    page.get_by_label(t("Send the documents asked for")).check()
    page.set_input_files(
        "input[name=documents]",
        {"name": "rapport.pdf", "mimeType": "application/pdf", "buffer": text_pdf(["Rapport"])},
    )
    with page.expect_navigation():
        page.locator("main form[action$='/answer/'] [type=submit]").click()
    expect(page.locator("main")).to_contain_text(t("Answered"))
    expect(page.locator("main")).to_contain_text("PieceComplementaire")
    check_accessibility(page)
