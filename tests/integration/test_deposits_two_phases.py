"""A procedure in two phases (restricted call for tenders): applications deposited sealed
on the published consultation, opened by the commission after the deadline for
applications (late ones apart); the buyer decides on each candidate with reasons, then
notifies every decision at once, which opens the offer phase — a consultation of its own,
never public, with its own deadline and opening key — for the admitted candidates only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core.models import OutgoingEmail
from mutualis.deposits import admissions, errors, services
from mutualis.deposits.models import Admission, AdmissionState, Deposit, Phase
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement.models import Consultation
from mutualis.procurement.search import parse
from tests.factories.core import audit_events
from tests.factories.deposits_opening import (
    close_on_time_section,
    commission_holder,
    make_deposit,
    make_opening_key,
    one_holder_key,
    opened,
)
from tests.factories.evaluation import bidder
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _time_stamping_authority():
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def holder(buyer):
    return commission_holder(buyer.organisation)


@pytest.fixture
def restricted(buyer, holder):
    consultation = make_consultation(buyer, publish=True, procedure="restricted")
    consultation.test_share = one_holder_key(consultation, buyer, holder[1])
    return consultation


@pytest.fixture
def candidates(restricted):
    first = bidder(1, "Menuiserie Dupont")
    second = bidder(2, "Charpente Martin")
    late = bidder(3, "Toiture Tardive")
    for representative in (first, second):
        make_deposit(restricted, representative, [("kbis.pdf", b"%PDF-1.4 candidature")],
                     phase=Phase.APPLICATION)  # fmt: skip
    make_deposit(restricted, late, [("kbis.pdf", b"%PDF-1.4 tardive")], late=True,
                 phase=Phase.APPLICATION)  # fmt: skip
    close_on_time_section(restricted)
    return first, second, late


def admissions_url(consultation, name="admissions", **kwargs) -> str:
    return reverse(
        f"deposit_register:{name}", kwargs={"org": "commune-a", "pk": consultation.pk, **kwargs}
    )


def offers_deadline_field(days: int = 20) -> str:
    from mutualis.procurement import deadlines

    local = deadlines.to_paris(timezone.now() + timedelta(days=days))
    return local.strftime("%Y-%m-%dT%H:%M")


# --- Applications ----------------------------------------------------------------------------


def test_the_first_phase_takes_applications_only(restricted):
    company = bidder(4, "Serrurerie")
    depositor = services.Depositor(company_id=company.company_id, representative=company)
    with pytest.raises(errors.ApplicationsOnly):
        services.start_deposit(
            depositor, consultation_id=restricted.pk, lot_id=None, phase="offer",
            idempotency_key="offer-too-early",
        )  # fmt: skip
    # Without a phase, the consultation's own.
    deposit, created = services.start_deposit(
        depositor, consultation_id=restricted.pk, lot_id=None, phase="", idempotency_key="k1"
    )
    assert created
    assert deposit.phase == Phase.APPLICATION
    # Retried without a phase: the same deposit, not a conflict.
    again, created = services.start_deposit(
        depositor, consultation_id=restricted.pk, lot_id=None, phase="", idempotency_key="k1"
    )
    assert (again.pk, created) == (deposit.pk, False)


def test_a_single_phase_consultation_takes_offers_only(buyer, holder):
    consultation = make_consultation(buyer, publish=True, procedure="open")
    make_opening_key(consultation, buyer, [holder[1]], threshold=1)
    company = bidder(5, "Plomberie")
    depositor = services.Depositor(company_id=company.company_id, representative=company)
    with pytest.raises(errors.OffersOnly):
        services.start_deposit(
            depositor, consultation_id=consultation.pk, lot_id=None, phase="application",
            idempotency_key="k2",
        )  # fmt: skip


# --- Admission ---------------------------------------------------------------------------------


def test_decisions_wait_for_the_opening_and_need_reasons(buyer, holder, restricted, candidates):
    first, second, late = candidates
    with pytest.raises(errors.AdmissionBeforeOpening):
        admissions.decide(
            actor=buyer, consultation_id=restricted.pk, company_id=first.company_id,
            decision="admitted",
        )  # fmt: skip
    opened(buyer, holder, restricted)
    for reasons in ("", "   ", "x" * 2001, "nul\x00byte"):
        with pytest.raises(errors.AdmissionReasonsRequired):
            admissions.decide(
                actor=buyer, consultation_id=restricted.pk, company_id=second.company_id,
                decision="rejected", reasons=reasons,
            )  # fmt: skip
    with pytest.raises(errors.AdmissionDecisionInvalid):
        admissions.decide(
            actor=buyer, consultation_id=restricted.pk, company_id=second.company_id,
            decision="maybe",
        )  # fmt: skip
    # A late application is eliminated: never a candidate.
    with pytest.raises(errors.NotACandidate):
        admissions.decide(
            actor=buyer, consultation_id=restricted.pk, company_id=late.company_id,
            decision="admitted",
        )  # fmt: skip
    with scopes_disabled():
        assert not Admission.for_organisation.exists()


def test_the_whole_second_phase(buyer, holder, restricted, candidates):
    first, second, _late = candidates
    buyer_client = opened(buyer, holder, restricted)

    page = buyer_client.get(admissions_url(restricted))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Menuiserie Dupont" in text
    assert "Charpente Martin" in text
    assert "Toiture Tardive" in text  # listed apart, as late

    decide = admissions_url(restricted, "admission_decide", company_id=first.company_id)
    assert buyer_client.post(decide, {"decision": "admitted"}).status_code == 302
    # Notifying with a candidate undecided is refused, and changes nothing.
    notify = admissions_url(restricted, "admissions_notify")
    refused = buyer_client.post(notify, {"offers_deadline": offers_deadline_field()}, follow=True)
    assert "Decide on every candidate" in refused.content.decode() or "Décidez" in (
        refused.content.decode()
    )
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=restricted).exists()

    reasons = "Capacités techniques insuffisantes : aucune référence de moins de trois ans."
    buyer_client.post(
        admissions_url(restricted, "admission_decide", company_id=second.company_id),
        {"decision": "rejected", "reasons": reasons},
    )
    # A deadline that is not a date, or in the past, is refused with a message.
    for bad in ("", "demain", "2020-01-01T10:00", "2027-03-28T02:30"):
        answer = buyer_client.post(notify, {"offers_deadline": bad}, follow=True)
        assert answer.status_code == 200
        with scopes_disabled():
            assert not Consultation.objects.filter(parent=restricted).exists()

    with scopes_disabled():
        before = set(OutgoingEmail.objects.values_list("pk", flat=True))
    done = buyer_client.post(notify, {"offers_deadline": offers_deadline_field()})
    assert done.status_code == 302
    with scopes_disabled():
        phase = Consultation.objects.get(parent=restricted)
        assert list(phase.invited_companies.values_list("pk", flat=True)) == [first.company_id]
        assert phase.state == "published"
        assert phase.response_deadline > timezone.now() + timedelta(days=19)
        assert phase.reference.endswith("-OFFRES")
        assert done["Location"] == f"/o/commune-a/procurement/{phase.pk}/"
        decisions = {a.company_id: a for a in Admission.for_organisation.all()}
    # The buyer lands on the offer phase's page: its own opening key is the next step.
    landing = buyer_client.get(done["Location"]).content.decode()
    assert reverse("deposits_keys:opening_key", kwargs={"org": "commune-a", "pk": phase.pk}) in (
        landing
    )
    assert {a.state for a in decisions.values()} == {AdmissionState.NOTIFIED}
    assert [e.payload["decision"] for e in audit_events(buyer.organisation,
                                                       "deposits.admission_notified")] == [
        "rejected", "admitted"]  # fmt: skip
    assert len(audit_events(buyer.organisation, "consultation.offer_phase_opened")) == 1

    # Each candidate is told, the rejected one with the reasons.
    with scopes_disabled():
        sent = {m.to: m for m in OutgoingEmail.objects.exclude(pk__in=before)}
    assert set(sent) == {first.user.email, second.user.email}
    assert restricted.reference in sent[first.user.email].subject
    assert f"/c/{first.company.siren}/deposits/consultations/{phase.pk}/" in (
        sent[first.user.email].body_text
    )
    assert reasons in sent[second.user.email].body_text

    # Nothing changes after the notification.
    with pytest.raises(errors.AdmissionsNotified):
        admissions.decide(
            actor=buyer, consultation_id=restricted.pk, company_id=second.company_id,
            decision="admitted",
        )  # fmt: skip
    with pytest.raises(errors.AdmissionsNotified):
        admissions.notify(
            actor=buyer, consultation_id=restricted.pk,
            offers_deadline=timezone.now() + timedelta(days=30),
        )  # fmt: skip

    # The offer phase is never public: not listed, no public page.
    assert procurement_crossings.public_consultation(phase.pk) is None
    listed = procurement_crossings.public_search_page(parse({}), now=timezone.now())
    assert phase.pk not in [row.pk for row in listed.page.object_list]
    assert Client().get(reverse("consultations:detail", kwargs={"pk": phase.pk})).status_code == 404

    # The admitted candidate sees the decision and its way to the offer phase.
    admitted_client = Client()
    admitted_client.force_login(first.user)
    own = admitted_client.get(
        reverse("company_deposits:consultation",
                kwargs={"company": first.company.siren, "pk": restricted.pk})
    )  # fmt: skip
    assert f"/deposits/consultations/{phase.pk}/" in own.content.decode()
    rejected_client = Client()
    rejected_client.force_login(second.user)
    own = rejected_client.get(
        reverse("company_deposits:consultation",
                kwargs={"company": second.company.siren, "pk": restricted.pk})
    )  # fmt: skip
    assert "Capacités techniques insuffisantes" in own.content.decode()
    # Its page of the offer phase does not exist for the rejected candidate.
    assert rejected_client.get(
        reverse("company_deposits:consultation",
                kwargs={"company": second.company.siren, "pk": phase.pk})
    ).status_code == 404  # fmt: skip

    # Offers: once the buyer made the offer phase's own opening key, from the admitted only.
    make_opening_key(phase, buyer, [holder[1]], threshold=1)
    offer, created = services.start_deposit(
        services.Depositor(company_id=first.company_id, representative=first),
        consultation_id=phase.pk, lot_id=None, phase="", idempotency_key="offre-1",
    )  # fmt: skip
    assert created
    assert offer.phase == Phase.OFFER
    with pytest.raises(errors.ConsultationNotOpen):
        services.start_deposit(
            services.Depositor(company_id=second.company_id, representative=second),
            consultation_id=phase.pk, lot_id=None, phase="", idempotency_key="offre-2",
        )  # fmt: skip
    with pytest.raises(errors.ApplicationsOnly):
        services.start_deposit(
            services.Depositor(company_id=first.company_id, representative=first),
            consultation_id=restricted.pk, lot_id=None, phase="offer", idempotency_key="o3",
        )  # fmt: skip
    with scopes_disabled():
        assert Deposit.for_organisation.filter(consultation=phase).count() == 1


def test_another_member_never_sees_the_admissions(client, agent_b, restricted, candidates):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    assert client.get(
        reverse("deposit_register:admissions", kwargs={"org": "commune-b", "pk": restricted.pk})
    ).status_code == 404  # fmt: skip
    assert client.post(
        reverse("deposit_register:admissions_notify",
                kwargs={"org": "commune-b", "pk": restricted.pk}),
        {"offers_deadline": offers_deadline_field()},
    ).status_code in (302, 404)  # fmt: skip
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=restricted).exists()


def test_a_single_phase_consultation_has_no_admissions_page(client, buyer, holder):
    consultation = make_consultation(buyer, publish=True, procedure="open")
    client.force_login(buyer.user)
    assert client.get(admissions_url(consultation)).status_code == 404
