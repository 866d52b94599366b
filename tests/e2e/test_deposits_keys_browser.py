"""The key ceremony in a real browser: three commission members enrol their keys (made
and sealed by age-encryption in Chromium), a buyer makes a consultation's opening key,
2 of 3, and prints the paper share. Then, in Python, with rage (pyrage) and our own
combiner: two holders' passphrases open their private keys, which open their shares,
which rebuild the consultation's private key — whose public key is the one registered.
That is the interoperability proof of the browser's formats and the server's. In a French
Chromium, axe-core on every page, the Content-Security-Policy watched."""

from __future__ import annotations

import pyrage
import pytest
from django.templatetags.static import static
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.services import subscriptions
from mutualis.deposits import key_formats, keys
from mutualis.deposits.models import HolderKey, OpeningKey, SealedShare
from mutualis.identity import services as identity
from mutualis.identity.models import Membership
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.procurement import make_consultation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSPHRASES = {
    "camille@semur.example": "trois petits chats blancs",
    "dominique@semur.example": "le lac gèle en janvier",
    "eden@semur.example": "vingt-deux voitures rouges",
}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def semur(transactional_db):
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(email="operateur@example.org", password=PASSWORD)
    staff_membership = identity.grant_membership(
        actor=None, user=staff, organisation=operator, roles=["org_admin"]
    )
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    subscriptions.subscribe(
        actor=staff_membership, organisation_id=semur.pk, service_code="procurement"
    )
    people = {}
    for email, roles in [
        ("acheteur@semur.example", ["buyer"]),
        *((email, ["commission_member"]) for email in PASSPHRASES),
    ]:
        first = email.split("@")[0].capitalize()
        person = identity.ensure_user(
            email=email, password=PASSWORD, first_name=first, last_name="Martin"
        )
        identity.grant_membership(actor=None, user=person, organisation=semur, roles=roles)
        people[email] = {"user": person, "secret": give_authenticator_app(person)}
    with scopes_disabled():
        buyer = Membership.objects.get(user__email="acheteur@semur.example")
    consultation = make_consultation(buyer, reference="2027-VOIRIE", title="Réfection de la voirie")
    return {"people": people, "consultation": consultation, "organisation": semur}


def test_three_members_enrol_a_buyer_makes_the_key_and_two_shares_rebuild_it(
    live_server, page, log_in_with_app, check_accessibility, semur
):
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)

    # --- Each commission member enrols a key; the passphrase stays in the browser.
    for email, passphrase in PASSPHRASES.items():
        page.context.clear_cookies()
        log_in_with_app(page, email, semur["people"][email]["secret"])
        page.goto(f"{live_server.url}/o/semur/deposits/keys/")
        check_accessibility(page)
        page.get_by_label(t("Passphrase (at least 12 characters)")).fill("trop court")
        page.get_by_label(t("The same passphrase again")).fill("trop court")
        page.get_by_role("button", name=t("Generate and enrol my key")).click()
        expect(page.locator("#enrol-status")).to_have_text(
            t("The passphrase must have at least 12 characters.")
        )
        page.get_by_label(t("Passphrase (at least 12 characters)")).fill(passphrase)
        page.get_by_label(t("The same passphrase again")).fill(passphrase)
        with page.expect_navigation(timeout=60_000):
            page.get_by_role("button", name=t("Generate and enrol my key")).click()
        expect(page.get_by_text(t("Your opening key is enrolled."))).to_be_visible()
        check_accessibility(page)
    assert not any(p in body for p in PASSPHRASES.values() for body in posted)

    # --- The buyer makes the consultation's opening key, 2 of 3, and prints the sheet.
    consultation = semur["consultation"]
    page.context.clear_cookies()
    buyer = semur["people"]["acheteur@semur.example"]
    log_in_with_app(page, "acheteur@semur.example", buyer["secret"])
    page.goto(f"{live_server.url}/o/semur/procurement/{consultation.pk}/")
    expect(
        page.get_by_text(
            t("No opening key yet: companies cannot deposit a response before one is made.")
        )
    ).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name=t("Make the opening key")).click()
    check_accessibility(page)
    expect(page.locator("input[name=holders]:checked")).to_have_count(3)
    expect(page.get_by_label(t("Members needed to open"))).to_have_value("2")
    page.get_by_role("button", name=t("Generate the key and the paper share")).click()
    sheet = page.locator("#escrow-sheet")
    expect(sheet).to_be_visible(timeout=30_000)
    check_accessibility(page)
    # Printed, the page is the sheet alone.
    page.emulate_media(media="print")
    expect(sheet).to_be_visible()
    expect(page.locator("#opening-form")).to_be_hidden()
    expect(page.locator("header").first).to_be_hidden()
    page.emulate_media(media="screen")
    escrow_text = page.locator("#escrow-share").inner_text()
    shown_recipient = page.locator("#escrow-recipient").inner_text()
    page.get_by_label(
        t("I have printed the paper share and will hand it to the legal representative.")
    ).check()
    with page.expect_navigation():
        page.get_by_role("button", name=t("Register the opening key")).click()
    expect(page.get_by_text(t("The opening key is registered."))).to_be_visible()
    check_accessibility(page)
    escrow = keys.parse_share(escrow_text)
    # The paper share never reached the server.
    assert not any(escrow.hex() in body for body in posted)

    # --- In Python: passphrase → holder's identity → share; two shares → the key.
    with scopes_disabled():
        key = OpeningKey.objects.get(consultation=consultation)
        sealed = {
            s.holder.user.email: (s.holder, s.sealed_share)
            for s in SealedShare.objects.filter(opening_key=key).select_related("holder__user")
        }
        assert HolderKey.objects.filter(retired_at__isnull=True).count() == 3
    assert (key.threshold, key.share_count, key.recipient) == (2, 3, shown_recipient)
    assert key.escrow_index == escrow[-1]
    shares = {}
    for email in list(PASSPHRASES)[:2]:
        holder, sealed_share = sealed[email]
        secret = pyrage.passphrase.decrypt(
            key_formats.dearmor(holder.sealed_identity, max_chars=4096), PASSPHRASES[email]
        ).decode()
        own = pyrage.x25519.Identity.from_str(secret)
        assert str(own.to_public()) == holder.recipient
        plaintext = pyrage.decrypt(key_formats.dearmor(sealed_share, max_chars=4096), [own])
        shares[email] = keys.parse_share(plaintext.decode())
    rebuilt = keys.rebuild_identity(list(shares.values()), key)
    assert str(pyrage.x25519.Identity.from_str(rebuilt).to_public()) == key.recipient
    # The paper share replaces a holder.
    assert keys.rebuild_identity([escrow, next(iter(shares.values()))], key) == rebuilt
    # A sealed share opens only with its own holder's key.
    first, second = list(PASSPHRASES)[:2]
    other_secret = pyrage.passphrase.decrypt(
        key_formats.dearmor(sealed[second][0].sealed_identity, max_chars=4096),
        PASSPHRASES[second],
    ).decode()
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(
            key_formats.dearmor(sealed[first][1], max_chars=4096),
            [pyrage.x25519.Identity.from_str(other_secret)],
        )

    # --- The browser's own unlock (keys-formats.js, for the opening) gives the same share,
    # and refuses a wrong passphrase.
    unlock = """async ([formats, sealing, sealedIdentity, passphrase, sealedShare]) => {
        const f = await import(formats);
        const s = await import(sealing);
        try {
            return f.hex(await f.unlockShare(s, sealedIdentity, passphrase, sealedShare));
        } catch (error) {
            return "refused: " + error.message;
        }
    }"""
    urls = [static("mutualis/deposits/keys-formats.js"), static("vendor/sealing/sealing.min.js")]
    holder, sealed_share = sealed[first]
    opened = page.evaluate(
        unlock, [*urls, holder.sealed_identity, PASSPHRASES[first], sealed_share]
    )
    assert opened == shares[first].hex()
    refused = page.evaluate(
        unlock, [*urls, holder.sealed_identity, "pas la bonne phrase", sealed_share]
    )
    assert refused.startswith("refused: ")
