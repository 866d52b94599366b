"""After the deadline, a buyer starts the opening; two of the three key holders, each in
their own browser session, type their passphrase in the page (one mistypes it first:
nothing is sent), their browser opens their sealed key and sends only their share; the
responses open and the minutes are generated. In Chromium, in French, axe-core on every
page. Served on http://localhost: WebCrypto needs a secure context."""

from __future__ import annotations

from urllib.parse import urlsplit

import pypdf
import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.pdf import text_pdf
from mutualis.deposits.models import OpenedFile, OpeningSession
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.core import OrganisationFactory
from tests.factories.deposits_opening import (
    close_on_time_section,
    enrol_holder,
    make_deposit,
    make_opening_key,
    pass_deadline,
)
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import totp_code
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSPHRASES = ["lune bleue sur la mairie", "quatre chats dans la grange", "le pont de pierre"]


@pytest.fixture(autouse=True)
def _time_stamping_authority(settings):
    # The opening closes the log's sections, each root time-stamped by the platform's TSA.
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def base(live_server) -> str:
    return live_server.url.replace("127.0.0.1", "localhost")


def log_in(page, live_server, email: str, secret: str) -> None:
    page.goto(f"{base(live_server)}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()
    assert urlsplit(page.url).path == reverse("mfa_authenticate")
    page.fill("input[name=code]", totp_code(secret))
    with page.expect_navigation():
        page.locator("form[action$='/accounts/2fa/authenticate/'] [type=submit]").first.click()


def session_row() -> OpeningSession | None:
    with scopes_disabled():
        return OpeningSession.objects.first()


def test_two_of_three_holders_unlock_and_the_minutes_are_generated(
    browser, live_server, watch_csp, check_accessibility, settings
):
    settings.MFA_TOTP_TOLERANCE = 1
    org = OrganisationFactory(name="Commune O", slug="commune-o", adhesion_status="member")
    subscribe_to_procurement(org)
    verified_person("achats.o@example.org")  # an account whose address is confirmed
    buyer = make_member(org, "achats.o@example.org", roles=["buyer"])
    buyer_secret = give_authenticator_app(buyer.user)
    holders = []
    for n, passphrase in enumerate(PASSPHRASES):
        verified_person(f"elu{n}.o@example.org")
        member = make_member(org, f"elu{n}.o@example.org", roles=["commission_member"])
        with scopes_disabled():
            member.user.first_name, member.user.last_name = f"Élu{n}", "Commission"
            member.user.save()
        secret = give_authenticator_app(member.user)
        holder, _identity = enrol_holder(member, passphrase)
        holders.append((member, holder, secret))
    consultation = make_consultation(buyer, publish=True)
    make_opening_key(consultation, buyer, [h for _m, h, _s in holders], threshold=2)
    bidder = register_company(verified_person("offres@menuiserie.example"), siren=company_siren(1))
    offer = text_pdf(["Offre de la Menuiserie Dupont", "Prix : 98 000 EUR HT"])
    deposit = make_deposit(consultation, bidder, [("offre.pdf", offer)])
    close_on_time_section(consultation)
    pass_deadline(consultation)
    opening_url = (
        f"{base(live_server)}/o/commune-o/deposits/consultations/{consultation.pk}/opening/"
    )

    # The buyer starts the session from the opening page.
    chair_context = watch_csp(browser.new_context(locale="fr-FR"))
    chair = chair_context.new_page()
    log_in(chair, live_server, buyer.user.email, buyer_secret)
    chair.goto(f"{base(live_server)}/o/commune-o/procurement/{consultation.pk}/")
    with chair.expect_navigation():
        chair.get_by_role("link", name=t("Go to the opening session")).click()
    check_accessibility(chair)
    with chair.expect_navigation():
        chair.get_by_role("button", name=t("Start the opening session")).click()
    expect(chair.locator("[data-opening-count]")).to_have_text("0")
    check_accessibility(chair)

    # The first holder mistypes their passphrase: told so, nothing sent; then unlocks.
    first_context = watch_csp(browser.new_context(locale="fr-FR"))
    first = first_context.new_page()
    log_in(first, live_server, holders[0][0].user.email, holders[0][2])
    first.goto(opening_url)
    check_accessibility(first)
    first.fill("#opening-passphrase", "pas la bonne phrase")
    first.get_by_role("button", name=t("Unlock")).click()
    message = first.locator("#opening-unlock-message")
    expect(message).to_have_text(
        t("Wrong passphrase: your key could not be opened. Nothing was sent."), timeout=30_000
    )
    assert session_row().pending_shares == {}
    first.fill("#opening-passphrase", PASSPHRASES[0])
    first.get_by_role("button", name=t("Unlock")).click()
    expect(message).to_have_text(t("Your share has been sent."), timeout=30_000)
    check_accessibility(first)
    assert list(session_row().pending_shares) == [str(holders[0][1].pk)]

    # The chair's screen shows who has unlocked, refreshing itself.
    expect(chair.locator("[data-opening-names]")).to_contain_text("Élu0 Commission", timeout=15_000)

    # The third holder, in their own session: the responses open.
    third_context = watch_csp(browser.new_context(locale="fr-FR"))
    third = third_context.new_page()
    log_in(third, live_server, holders[2][0].user.email, holders[2][2])
    third.goto(opening_url)
    third.fill("#opening-passphrase", PASSPHRASES[2])
    with third.expect_navigation(timeout=60_000):
        third.get_by_role("button", name=t("Unlock")).click()
    expect(third.get_by_role("link", name="offre.pdf")).to_be_visible()
    check_accessibility(third)

    # The chair's page reloads itself once opened; the minutes name who unlocked.
    minutes_link = chair.get_by_role("link", name=t("Minutes of the opening (PDF)"))
    expect(minutes_link).to_be_visible(timeout=15_000)
    check_accessibility(chair)
    answer = chair_context.request.get(f"{base(live_server)}{minutes_link.get_attribute('href')}")
    assert answer.ok
    assert answer.headers["content-type"] == "application/pdf"
    import io

    minutes = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(answer.body())).pages)
    assert deposit.reference in minutes
    assert "Elu0 Commission" in minutes or "Élu0 Commission" in minutes
    assert "Élu1" not in minutes
    assert "Elu1" not in minutes
    download = chair_context.request.get(
        f"{base(live_server)}{chair.get_by_role('link', name='offre.pdf').get_attribute('href')}"
    )
    assert download.ok
    assert download.body() == offer
    with scopes_disabled():
        assert list(OpenedFile.objects.values_list("state", flat=True)) == ["intact"]
    session = session_row()
    assert session.completed_at is not None
    assert session.pending_shares == {}
    for context in (chair_context, first_context, third_context):
        context.close()
