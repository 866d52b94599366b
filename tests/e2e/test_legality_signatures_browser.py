"""An agent sees, on the act's page, what the verification of its signatures found: one
valid detached signature and one by an authority the platform does not trust (a warning,
the operator allowing it). In Chromium, in French, with axe-core on the page."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from mutualis.core.pdf import text_pdf
from mutualis.identity import services as identity
from mutualis.legality import services
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD, make_member
from tests.factories.legality import enrol, prepare, subscribe
from tests.factories.signing import pem, pki, sign_cades

__all__ = ["pki"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def test_the_signature_report_is_shown_on_the_act(
    page, live_server, log_in_with_app, check_accessibility, pki, settings, tmp_path
):
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pem(pki.root))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)
    settings.MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED = False
    org = OrganisationFactory(
        name="Commune S", slug="commune-s", siren="212100108", adhesion_status="member"
    )
    subscribe(org)
    admin = make_member(org, "maire.s@example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)
    enrol(admin)
    agent = identity.ensure_user(email="actes.s@example.org", password=PASSWORD)
    membership = identity.grant_membership(
        actor=None, user=agent, organisation=org, roles=["legality_agent"]
    )
    secret = give_authenticator_app(agent)
    first, second = text_pdf(["Annexe 1"]), text_pdf(["Annexe 2"])
    act = prepare(
        membership,
        annexes=[
            services.AnnexUpload(
                io.BytesIO(first),
                "annexe-1.pdf",
                "99_AU",
                services.Upload(io.BytesIO(sign_cades(pki.signer, first)), "annexe-1.p7s"),
            ),
            services.AnnexUpload(
                io.BytesIO(second),
                "annexe-2.pdf",
                "99_AU",
                services.Upload(io.BytesIO(sign_cades(pki.stranger, second)), "annexe-2.p7s"),
            ),
        ],
    )
    services.validate_act(actor=membership, act_id=act.pk)

    log_in_with_app(page, agent.email, secret)
    page.goto(f"{live_server.url}/o/commune-s/legality/acts/{act.pk}/")

    section = page.locator("section[aria-labelledby=signatures-title]")
    expect(section).to_contain_text(t("Signatures"))
    expect(section).to_contain_text("Jeanne Signataire")
    expect(section).to_contain_text(
        t("Valid: intact, certificate valid at signing, trusted authority")
    )
    expect(section).to_contain_text(t("authority not trusted by the platform"))
    check_accessibility(page)
