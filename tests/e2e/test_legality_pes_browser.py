"""An accounting agent imports a PES with signed bordereaux; the platform deposits it on
the treasury gateway's stand-in (a real SFTP server on a loopback port) and collects its
acknowledgement; the agent sees the flow acknowledged with one anomaly explained. The
periodic jobs are run by the test, as the worker would. In Chromium, in French, with
axe-core on the list, the import form and the flow's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mutualis.identity import services as identity
from mutualis.legality.pes import tasks
from mutualis.legality.pes.standin import GatewayStandin
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.legality import subscribe
from tests.factories.pes import SIRET, make_signer, signed_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def treasury(tmp_path, settings):
    from cryptography.hazmat.primitives import serialization

    signer, ca = make_signer()
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)
    standin = GatewayStandin(tmp_path / "gw", tmp_path / "keys", delay=0.0, tick=3600).start()
    standin.anomalies = {"102"}
    settings.MUTUALIS_PES_SFTP_HOST = standin.host
    settings.MUTUALIS_PES_SFTP_PORT = standin.port
    settings.MUTUALIS_PES_SFTP_USER = standin.user
    settings.MUTUALIS_PES_SFTP_KEY = str(standin.keys.client_key)
    settings.MUTUALIS_PES_SFTP_HOST_KEY = standin.host_public_key
    yield standin, signer
    standin.stop()


def test_a_signed_pes_is_sent_and_acknowledged_with_one_anomaly(
    page, live_server, log_in_with_app, check_accessibility, treasury
):
    standin, signer = treasury
    org = OrganisationFactory(
        name="Commune T",
        slug="commune-t",
        siren=SIRET[:9],
        siret=SIRET,
        adhesion_status="member",
    )
    subscribe(org)
    agent = identity.ensure_user(email="compta.t@example.org", password=PASSWORD)
    identity.grant_membership(
        actor=None, user=agent, organisation=org, roles=["legality_accountant"]
    )
    secret = give_authenticator_app(agent)

    log_in_with_app(page, agent.email, secret)
    page.goto(f"{live_server.url}/o/commune-t/legality/pes/")
    check_accessibility(page)
    page.goto(f"{live_server.url}/o/commune-t/legality/pes/new/")
    check_accessibility(page)
    page.set_input_files(
        "input[name=file]",
        {
            "name": "pes_aller.xml",
            "mimeType": "text/xml",
            "buffer": signed_flow(signer, bordereaux=(101, 102)),
        },
    )
    with page.expect_navigation():
        page.locator("main form[method=post] [type=submit]").first.click()
    expect(page.locator("main")).to_contain_text(t("Ready to be sent (signatures verified)"))
    expect(page.locator("main")).to_contain_text("Marie Martin, maire")

    # What the worker does every few seconds: deposit, then collect the acknowledgements.
    assert tasks.deposit_flows.call()["sent"] == 1
    assert standin.process() == 1
    assert tasks.collect_acknowledgements.call()["processed"] == 1

    page.reload()
    main = page.locator("main")
    expect(main).to_contain_text(t("Acknowledged by the treasury"))
    expect(main).to_contain_text("ERREUR_CODIFICATION")
    expect(main).to_contain_text("Imputation inconnue")
    expect(main).to_contain_text(t("Rejected"))
    check_accessibility(page)
