"""In Chromium (French): after the opening of a restricted call for tenders' applications,
the buyer admits one candidate, refuses the other with reasons, and notifies the decisions,
which opens the offer phase; the refused candidate reads the decision and its reasons on its
deposit page. Each page passes axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.deposits.models import Phase
from mutualis.evidence import authority
from mutualis.identity import services as identity
from mutualis.procurement import deadlines
from mutualis.procurement.models import Consultation
from tests.e2e.conftest import give_authenticator_app
from tests.factories.deposits_opening import (
    PASSPHRASE,
    close_on_time_section,
    enrol_holder,
    make_deposit,
    one_holder_key,
    opened,
)
from tests.factories.evaluation import bidder
from tests.factories.identity import PASSWORD, make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def test_a_buyer_admits_candidates_and_a_refused_one_reads_why(
    page, live_server, agent_a, log_in_with_app, check_accessibility
):
    authority.ensure_authority()
    subscribe_to_procurement(agent_a.organisation)
    member = make_member(
        agent_a.organisation, "commission@commune-a.example", roles=["commission_member"]
    )
    give_authenticator_app(member.user)
    holder = (member, enrol_holder(member, PASSPHRASE)[0])
    restricted = make_consultation(agent_a, publish=True, procedure="restricted")
    restricted.test_share = one_holder_key(restricted, agent_a, holder[1])
    admitted, refused = bidder(1, "Menuiserie Dupont"), bidder(2, "Charpente Martin")
    for candidate in (admitted, refused):
        make_deposit(restricted, candidate, [("kbis.pdf", b"%PDF-1.4 candidature")],
                     phase=Phase.APPLICATION)  # fmt: skip
    close_on_time_section(restricted)
    opened(agent_a, holder, restricted)

    colleague = identity.ensure_user(email="acheteuse@commune-a.example", password=PASSWORD)
    identity.grant_membership(
        actor=None, user=colleague, organisation=agent_a.organisation, roles=["buyer"]
    )
    log_in_with_app(page, colleague.email, give_authenticator_app(colleague))
    page.goto(
        live_server.url
        + reverse("deposit_register:admissions", kwargs={"org": "commune-a", "pk": restricted.pk})
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Admission des candidats")
    check_accessibility(page)

    dupont = page.get_by_role("group", name="Décision sur Menuiserie Dupont")
    dupont.get_by_label("Admis à présenter une offre").check()
    with page.expect_navigation():
        dupont.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_text("La décision est enregistrée")).to_be_visible()
    martin = page.get_by_role("group", name="Décision sur Charpente Martin")
    martin.get_by_label("Non admis").check()
    martin.get_by_label("Motifs").fill("Aucune référence de travaux comparables.")
    with page.expect_navigation():
        martin.get_by_role("button", name="Enregistrer la décision").click()
    check_accessibility(page)

    deadline = deadlines.to_paris(timezone.now() + timedelta(days=15))
    page.get_by_label("Date limite de remise des offres").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        page.get_by_role("button", name="Notifier toutes les décisions").click()
    expect(page.get_by_text("La phase des offres est ouverte", exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="Phase des offres")).to_be_visible()
    check_accessibility(page)
    with scopes_disabled():
        phase = Consultation.objects.get(parent=restricted)
    assert list(phase.invited_companies.values_list("pk", flat=True)) == [admitted.company_id]

    page.context.clear_cookies()
    log_in_with_app(page, refused.user.email, give_authenticator_app(refused.user))
    page.goto(
        live_server.url
        + reverse(
            "company_deposits:consultation",
            kwargs={"company": refused.company.siren, "pk": restricted.pk},
        )
    )
    section = page.get_by_role("region", name="Décision sur votre candidature")
    expect(section).to_contain_text("Non admise à présenter une offre")
    expect(section).to_contain_text("Aucune référence de travaux comparables.")
    check_accessibility(page)
