"""In Chromium (French): a buyer records the reception of a company's backup copy on the
deposit register page and sees it kept sealed; a visitor reads the public availability
record. Each page passes axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from mutualis.deposits.models import AvailabilityProbe
from mutualis.evidence import authority
from mutualis.identity import services as identity
from tests.e2e.conftest import give_authenticator_app
from tests.factories.deposits_api import representative, sealed_consultation
from tests.factories.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def test_a_buyer_records_a_backup_copy(
    page, live_server, agent_a, log_in_with_app, check_accessibility
):
    authority.ensure_authority()
    sealed = sealed_consultation(agent_a)
    rep = representative(1, name="Menuiserie Dupont")
    colleague = identity.ensure_user(email="acheteuse@commune-a.example", password=PASSWORD)
    identity.grant_membership(
        actor=None, user=colleague, organisation=agent_a.organisation, roles=["buyer"]
    )
    log_in_with_app(page, colleague.email, give_authenticator_app(colleague))
    url = reverse(
        "deposit_register:register", kwargs={"org": "commune-a", "pk": sealed.consultation.pk}
    )
    page.goto(live_server.url + url)
    expect(page.get_by_role("heading", name="Copies de sauvegarde")).to_be_visible()
    check_accessibility(page)

    page.get_by_label("SIREN de l'entreprise").fill(rep.company.siren)
    page.locator("#backup-medium").select_option("paper")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(
        page.get_by_text("La réception de la copie de sauvegarde est enregistrée")
    ).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Menuiserie Dupont")
    expect(row).to_contain_text("reçue, conservée scellée")
    expect(row).to_contain_text("sur papier")
    check_accessibility(page)


def test_a_visitor_reads_the_availability_record(page, live_server, check_accessibility, db):
    AvailabilityProbe.objects.create(
        probed_at=timezone.now() - timedelta(minutes=10), ok=True, duration_ms=87,
        clock_offset_ms=-0.12, clock_source="chrony (ntp.example.org)",
    )  # fmt: skip
    page.goto(live_server.url + reverse("deposits_proof:availability"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Disponibilité du service de dépôt")
    expect(page.get_by_role("table")).to_contain_text("dépôt accusé")
    expect(page.get_by_role("table")).to_contain_text("87 ms")
    check_accessibility(page)
