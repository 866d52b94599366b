"""The proof of deposit's pages in Chromium (French): the page on how deposits work, the
consultation's public page with its published log, and a company's proof page; each
passes axe."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from mutualis.deposits import log_sections, receipt_pdf
from mutualis.deposits.models import LogSection
from mutualis.evidence import authority
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.deposits_proof import accept_deposits, make_deposit, move_deadline, past
from tests.factories.identity import PASSWORD
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture(autouse=True)
def _keys() -> None:
    authority.ensure_authority()
    receipt_pdf.ensure_signing_key()


def test_a_visitor_reads_how_deposits_work(page, live_server, check_accessibility):
    page.goto(live_server.url + reverse("deposits_proof:how_it_works"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Fonctionnement des dépôts, du chiffrement et de l'horodatage"
    )
    expect(page.locator("pre").first).to_contain_text("openssl ts -verify -digest")
    check_accessibility(page)


def test_the_published_log_and_a_companys_proof(
    page, live_server, agent_a, log_in, check_accessibility
):
    subscribe_to_procurement(agent_a.organisation)
    consultation = accept_deposits(make_consultation(agent_a, publish=True), agent_a)
    alice = verified_person("alice.x@example.org")
    rep = register_company(alice, siren=company_siren(1))
    deposit = make_deposit(consultation, rep, received_at=past(7200))
    move_deadline(consultation, past())
    closed = log_sections.close_section(consultation, LogSection.ON_TIME)
    # The job runs in a worker, never in a thread with an event loop (Playwright keeps one
    # in this test's thread): pyHanko's signing runs its own loop.
    worker = threading.Thread(target=receipt_pdf.make_receipt_pdf, args=(deposit.pk,))
    worker.start()
    worker.join(timeout=60)

    page.goto(live_server.url + reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    log = page.locator("section.deposit-log")
    expect(log).to_contain_text("1 pli a été reçu avant la date limite.")
    expect(log).to_contain_text(closed.root)
    check_accessibility(page)

    log_in(page, alice.email, PASSWORD)
    page.goto(
        live_server.url
        + reverse(
            "company_deposits_proof:proof",
            kwargs={"company": rep.company.siren, "reference": deposit.reference},
        )
    )
    expect(page.get_by_role("link", name="Preuve d'inclusion (proof.json)")).to_be_visible()
    expect(page.get_by_role("link", name="Accusé de réception signé (PDF)")).to_be_visible()
    expect(page.locator("main")).to_contain_text(closed.root)
    check_accessibility(page)
