"""OCDS releases stored as immutable snapshots: the journey publication → award →
contract → amendment with its tags, idempotency, isolation of what is not public, and
the schemas' validation of releases and records."""

from __future__ import annotations

import pytest
from django_scopes import scope, scopes_disabled

from mutualis.contracts import awards, records
from mutualis.contracts.models import Award
from mutualis.ocds import records as ocds_records
from mutualis.ocds import schemas, services
from mutualis.ocds.models import Release, ReleaseImmutable, Stage
from mutualis.procurement import services as procurement_services
from mutualis.procurement.models import Consultation
from tests.factories.ocds import (
    assert_valid,
    award_first,
    bidders,
    opened_with_offers,
    published,
    releases_of,
    sign,
)
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def test_the_journey_produces_the_right_tags(buyer, django_capture_on_commit_callbacks, settings):
    settings.OCDS_OCID_PREFIX = "ocds-test01"
    capture = django_capture_on_commit_callbacks
    companies = bidders()
    consultation = published(buyer, capture)
    [tender] = releases_of(consultation)
    assert tender.ocid == f"ocds-test01-{consultation.pk}"
    assert (tender.tags, tender.stage) == (["tender"], Stage.TENDER)
    assert tender.data["tender"]["procurementMethod"] == "open"
    assert tender.data["tender"]["procurementMethodDetails"] == "Appel d'offres ouvert"
    assert tender.data["tender"]["items"][0]["classification"]["scheme"] == "CPV"
    assert tender.data["buyer"]["id"] == tender.data["parties"][0]["id"]
    assert "awards" not in tender.data
    assert "tenderers" not in tender.data["tender"]

    opened_with_offers(consultation, buyer, companies)
    # The factory moved the deadline to the past: a tender update.
    assert services.snapshot_procedure(consultation_id=consultation.pk).tags == ["tenderUpdate"]
    # A decision in draft is not public: nothing new.
    with capture(execute=True):
        draft = awards.decide(
            actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
            company_id=companies[0].company_id, amount="98500", reasons="Meilleure offre",
        )  # fmt: skip
    assert len(releases_of(consultation)) == 2
    with capture(execute=True):
        award = awards.notify(actor=buyer, award_id=draft.pk)
    award_release = releases_of(consultation)[-1]
    assert (award_release.tags, award_release.stage) == (["award"], Stage.AWARD)
    [published_award] = award_release.data["awards"]
    assert published_award["value"] == {"amount": 98500, "currency": "EUR"}
    assert published_award["status"] == "pending"  # the standstill period runs
    assert award_release.data["tender"]["numberOfTenderers"] == 2
    roles = {p["name"]: p["roles"] for p in award_release.data["parties"]}
    assert roles["Menuiserie Dupont"] == ["supplier", "tenderer"]
    assert roles["Charpente Martin"] == ["tenderer"]

    contract = sign(buyer, award, capture)
    signed = releases_of(consultation)[-1]
    assert signed.stage == Stage.CONTRACT
    assert "contract" in signed.tags
    assert signed.data["contracts"][0]["status"] == "pending"

    with capture(execute=True):
        records.send_notification(actor=buyer, contract_id=contract.pk)
    with capture(execute=True):
        records.confirm_receipt(representative=companies[0], contract_id=contract.pk)
    notified = releases_of(consultation)[-1]
    assert (notified.tags, notified.data["contracts"][0]["status"]) == (
        ["contractUpdate"],
        "active",
    )
    today = awards.paris_today()
    with capture(execute=True):
        records.amend(actor=buyer, contract_id=contract.pk, object="Travaux supplémentaires",
                      notified_on=today, new_amount="105000")  # fmt: skip
    amended = releases_of(consultation)[-1]
    assert amended.tags == ["contractAmendment"]
    assert amended.data["contracts"][0]["value"]["amount"] == 105000
    with capture(execute=True):
        records.start_execution(actor=buyer, contract_id=contract.pk, started_on=today)
    assert releases_of(consultation)[-1].tags == ["implementation"]
    with capture(execute=True):
        records.terminate(actor=buyer, contract_id=contract.pk, ended_on=today, reason="Faute")
    assert releases_of(consultation)[-1].tags == ["contractTermination"]

    stored = releases_of(consultation)
    dates = [r.data["date"] for r in stored]
    assert dates == sorted(dates)
    for release in stored:
        assert_valid(release.data, schemas.RELEASE)
    package = ocds_records.record_package(tender.ocid)
    assert package is not None
    assert_valid(package, schemas.RECORD_PACKAGE)
    compiled = package["records"][0]["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["contracts"][0]["status"] == "terminated"
    assert compiled["awards"][0]["suppliers"][0]["name"] == "Menuiserie Dupont"


def test_a_losing_offer_amount_and_a_sealed_deposit_are_never_published(
    buyer, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    companies = bidders()
    consultation = published(buyer, capture)
    opened_with_offers(consultation, buyer, companies)
    award_first(buyer, consultation, companies, capture)
    for release in releases_of(consultation):
        # No bids section: what an offer says stays the buyer's.
        assert "bids" not in release.data
    last = releases_of(consultation)[-1]
    # Only the winner's value; the other bidder is named, without any amount.
    assert [a["value"] for a in last.data["awards"]] == [{"amount": 98500, "currency": "EUR"}]
    loser = next(p for p in last.data["parties"] if p["name"] == "Charpente Martin")
    assert loser["roles"] == ["tenderer"]
    assert set(loser) == {"id", "name", "roles", "identifier"}


def test_snapshots_are_idempotent(buyer, django_capture_on_commit_callbacks):
    consultation = published(buyer, django_capture_on_commit_callbacks)
    assert services.snapshot_procedure(consultation_id=consultation.pk) is None
    assert services.reconcile() == 0
    assert len(releases_of(consultation)) == 1


def test_a_rectification_and_a_cancellation_are_noticed(buyer, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    consultation = published(buyer, capture)
    services.reconcile()
    with scope(organisation=buyer.organisation_id):
        procurement_services.cancel_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            kind="discontinued",
            reason="Besoin disparu",
        )
    # No signal for a cancellation: the reconciliation finds it.
    assert services.reconcile() == 1
    last = releases_of(consultation)[-1]
    assert last.tags == ["tenderCancellation"]
    assert last.data["tender"]["status"] == "cancelled"
    assert_valid(last.data, schemas.RELEASE)


def test_drafts_and_offer_phases_never_produce_a_release(buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft = make_consultation(buyer)
    assert services.snapshot_procedure(consultation_id=draft.pk) is None
    root = published(buyer, django_capture_on_commit_callbacks, reference="R-2")
    with scopes_disabled():
        phase = Consultation.objects.get(pk=draft.pk)
        Consultation.objects.filter(pk=phase.pk).update(parent=root, state="published")
    # An offer phase stands for its procedure: its releases carry the root's ocid.
    services.snapshot_procedure(consultation_id=phase.pk)
    assert not Release.objects.filter(consultation_id=phase.pk).exists()
    assert services.reconcile() == 0
    assert set(Release.objects.values_list("consultation_id", flat=True)) == {root.pk}


def test_releases_are_never_updated_nor_deleted(buyer, django_capture_on_commit_callbacks):
    consultation = published(buyer, django_capture_on_commit_callbacks)
    [release] = releases_of(consultation)
    release.tags = ["tenderUpdate"]
    with pytest.raises(ReleaseImmutable):
        release.save()
    with pytest.raises(ReleaseImmutable):
        release.delete()
    with pytest.raises(ReleaseImmutable):
        Release.objects.filter(pk=release.pk).update(tags=[])
    with pytest.raises(ReleaseImmutable):
        Release.objects.filter(pk=release.pk).delete()
    assert Release.objects.get(pk=release.pk).tags == ["tender"]


def test_an_abandoned_award_is_a_cancellation(buyer, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    companies = bidders()
    consultation = published(buyer, capture)
    opened_with_offers(consultation, buyer, companies)
    award = award_first(buyer, consultation, companies, capture)
    with capture(execute=True):
        awards.abandon(actor=buyer, award_id=award.pk, reason="Erreur matérielle")
    last = releases_of(consultation)[-1]
    assert last.tags == ["awardCancellation"]
    with scopes_disabled():
        assert Award.objects.get(pk=award.pk).state == "abandoned"
    assert_valid(last.data, schemas.RELEASE)
