"""A business identifies on a published consultation with its SIRET, confirms its address
by the e-mailed link, and asks a question; the buyer reads it on its consultation page
and answers, then rectifies the consultation; the business receives the answer and the
rectification by e-mail and reads the answer on the public page, which never says who
asked. In a French Chromium, axe-core on every page, the
Content-Security-Policy watched."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mutualis.core.models import OutgoingEmail
from mutualis.core.pdf import text_pdf
from mutualis.core.services import subscriptions
from mutualis.identity import services as identity
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.companies import company_siren, valid_siret
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.procurement import make_consultation
from tests.mailbox import delivered_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUSINESS_EMAIL = "contact@charpente-auxois.example"
PLAN = text_pdf(["Plan de la halle", "Échelle 1/100"])


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def buyer(transactional_db):
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(email="operateur@example.org", password=PASSWORD)
    staff_membership = identity.grant_membership(
        actor=None, user=staff, organisation=operator, roles=["org_admin"]
    )
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    person = identity.ensure_user(
        email="acheteur@semur.example", password=PASSWORD, first_name="Alix", last_name="Moreau"
    )
    membership = identity.grant_membership(
        actor=None, user=person, organisation=semur, roles=["buyer"]
    )
    subscriptions.subscribe(
        actor=staff_membership, organisation_id=semur.pk, service_code="procurement"
    )
    consultation = make_consultation(
        membership, publish=True, title="Réfection de la charpente de la halle"
    )
    return {"user": person, "secret": give_authenticator_app(person), "consultation": consultation}


def submit(page, form) -> None:
    with page.expect_navigation():
        form.locator("[type=submit]").first.click()


def last_mail_to(address: str) -> str:
    return delivered_text(OutgoingEmail.objects.filter(to=address).order_by("pk").last())


def test_a_business_asks_the_buyer_answers_and_the_business_is_mailed_the_answer(
    live_server, page, browser, watch_csp, log_in_with_app, check_accessibility, buyer
):
    consultation = buyer["consultation"]
    public = f"{live_server.url}/consultations/{consultation.pk}/"

    # --- The business identifies with its SIRET: a confirmation e-mail, nothing else.
    page.goto(public)
    check_accessibility(page)
    form = page.locator("#identification form").last
    form.get_by_label(t("Your name")).fill("Lucie Charpentier")
    form.get_by_label(t("Your e-mail address")).fill(BUSINESS_EMAIL)
    form.get_by_label(t("SIRET of your company")).fill("123")
    submit(page, form)
    expect(
        page.locator("#identification [role=alert], #identification .errorlist").first
    ).to_be_visible()
    check_accessibility(page)
    form = page.locator("#identification form").last
    form.get_by_label(t("SIRET of your company")).fill(valid_siret(company_siren(9)))
    submit(page, form)
    expect(page.locator("#identification")).to_contain_text("Lucie Charpentier")
    check_accessibility(page)
    assert OutgoingEmail.objects.filter(to=BUSINESS_EMAIL).count() == 1

    # --- It follows the link and confirms its address.
    link = re.search(
        r"https?://\S+/consultations/confirm/\?token=\S+", last_mail_to(BUSINESS_EMAIL)
    )
    assert link
    page.goto(link.group(0))
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("button", name=t("Confirm my address")).click()
    check_accessibility(page)

    # --- It asks a question.
    question = page.locator("form[action$='/questions/']")
    question.get_by_label(t("Your question")).fill("La charpente existante est-elle en chêne ?")
    submit(page, question)
    expect(
        page.get_by_text(
            t("Your question was sent to the buyer. Its answer will be published here.")
        )
    ).to_be_visible()
    check_accessibility(page)
    assert "#questions" in last_mail_to("acheteur@semur.example")

    # --- The buyer, in its own browser, reads it on its page and answers.
    buyer_context = watch_csp(browser.new_context(locale="fr-FR"))
    buyer_page = buyer_context.new_page()
    log_in_with_app(buyer_page, buyer["user"].email, buyer["secret"])
    buyer_page.goto(f"{live_server.url}/o/semur/procurement/{consultation.pk}/")
    expect(buyer_page.locator("#questions")).to_contain_text("La charpente existante")
    expect(buyer_page.locator("#register")).to_contain_text("Lucie Charpentier")
    check_accessibility(buyer_page)
    answer = buyer_page.locator("#questions form").first
    answer.get_by_label(t("Answer"), exact=True).fill("Oui, en chêne massif (1923).")
    submit(buyer_page, answer)
    check_accessibility(buyer_page)
    answered_mail = last_mail_to(BUSINESS_EMAIL)

    # --- Then it rectifies the consultation: the business is mailed that too.
    with buyer_page.expect_navigation():
        buyer_page.get_by_role("button", name=t("Rectify the consultation")).click()
    check_accessibility(buyer_page)
    buyer_page.get_by_label(t("What the rectification changes (published)")).fill(
        "Visite du site ajoutée le 12 ; plan de la halle joint."
    )
    buyer_page.get_by_label(t("Files to add")).set_input_files(
        [{"name": "Plan de la halle.pdf", "mimeType": "application/pdf", "buffer": PLAN}]
    )
    submit(buyer_page, buyer_page.locator("main form").first)
    published = t("The rectification is published: version %(version)d.") % {"version": 2}
    expect(buyer_page.get_by_text(published)).to_be_visible()
    buyer_context.close()
    rectified_mail = last_mail_to(BUSINESS_EMAIL)
    assert re.search(rf"/consultations/{consultation.pk}/#rectification-\d+", rectified_mail)

    # --- The business received the answer by e-mail, and reads it on the public page.
    answer_link = re.search(r"https?://\S+#answer-\d+", answered_mail)
    assert answer_link, answered_mail
    page.goto(answer_link.group(0))
    page.reload()  # the link differs from the open page by its fragment only
    expect(page.locator("#questions")).to_contain_text("Oui, en chêne massif (1923).")
    check_accessibility(page)

    # --- A visitor reads the answer without learning who asked.
    page.context.clear_cookies()
    page.goto(public)
    expect(page.locator("#questions")).to_contain_text("La charpente existante est-elle en chêne ?")
    expect(page.locator("body")).not_to_contain_text("Lucie Charpentier")
    expect(page.locator("body")).not_to_contain_text(BUSINESS_EMAIL)
