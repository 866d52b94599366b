"""The backup copy ("copie de sauvegarde"): announced with a deposit through the API,
received (announced or not), kept sealed; once the electronic responses are opened,
opened for a listed reason only, with what was found, or destroyed unopened. One
transition table, a check constraint, one audit event per change; bad input and the
wrong people change nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core.audit.chain import company_chain, organisation_chain
from mutualis.core.models import AuditEvent
from mutualis.deposits import backup_copies, backup_transitions, errors
from mutualis.deposits.backup_transitions import Event
from mutualis.deposits.models import (
    BackupCopy,
    BackupMedium,
    BackupOpenReason,
    BackupState,
    OpeningSession,
)
from mutualis.evidence import authority
from mutualis.procurement.models import Consultation
from tests.factories.deposits_api import (
    API,
    declare,
    post,
    representative,
    seal,
    sealed_consultation,
    send,
    start,
)
from tests.factories.identity import make_member

pytestmark = pytest.mark.django_db

PLAINTEXT = b"%PDF-1.7 offre" * 100


@pytest.fixture(autouse=True)
def _authority():
    authority.ensure_authority()


@pytest.fixture
def sealed(agent_a):
    return sealed_consultation(agent_a)


@pytest.fixture
def rep():
    return representative(1)


def deposit_announcing(client, sealed, rep, *, key="b-1"):
    client.force_login(rep.user)
    reference = start(client, sealed.consultation, key=key, backup_copy_announced=True)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(client, reference, sealed_file, key=f"{key}-f")
    send(client, reference, file_id, sealed_file.ciphertext)
    done = post(client, f"{API}/{reference}/complete", key=f"{key}-k")
    assert done.status_code == 200, done.content
    return reference


def copy_of(sealed, rep) -> BackupCopy:
    with scopes_disabled():
        return BackupCopy.for_organisation.get(
            consultation=sealed.consultation, company_id=rep.company_id
        )


def open_the_responses(sealed, agent_a):
    with scope(organisation=agent_a.organisation_id):
        OpeningSession.objects.create(
            organisation_id=agent_a.organisation_id,
            consultation=sealed.consultation,
            started_by=agent_a.user,
            completed_at=timezone.now(),
        )


def actions(chain):
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=chain, action__startswith="deposits.backup_copy")
            .order_by("sequence")
            .values_list("action", flat=True)
        )


# --- The table --------------------------------------------------------------------------------


def test_the_table_is_the_only_way_between_states():
    for state, event in itertools.product(BackupState, Event):
        copy = BackupCopy(state=state)
        if (state, event) in backup_transitions.TRANSITIONS:
            assert backup_transitions.allowed(copy, event)
            assert (
                backup_transitions.apply(copy, event)
                == backup_transitions.TRANSITIONS[(state, event)]
            )
        else:
            assert not backup_transitions.allowed(copy, event)
            with pytest.raises(errors.BackupTransitionNotAllowed):
                backup_transitions.apply(copy, event)
    # Nothing leaves "opened" or "destroyed".
    finals = {BackupState.OPENED, BackupState.DESTROYED}
    assert not [pair for pair in backup_transitions.TRANSITIONS if pair[0] in finals]


def test_the_database_refuses_an_unknown_state_or_an_opening_without_reason(sealed, rep):
    base = {
        "organisation_id": sealed.consultation.organisation_id,
        "consultation": sealed.consultation,
        "company_id": rep.company_id,
    }
    with scopes_disabled():
        bad = [
            {"state": "lost"},
            {"state": BackupState.OPENED},
            {"state": BackupState.OPENED, "open_reason": "signature", "open_note": "x"},
        ]
        for fields in bad:
            with pytest.raises(IntegrityError), transaction.atomic():
                BackupCopy.for_organisation.create(**base, **fields)


# --- The company announces it -------------------------------------------------------------------


def test_a_deposit_announces_a_backup_copy_once(client, sealed, rep):
    reference = deposit_announcing(client, sealed, rep)
    assert client.get(f"{API}/{reference}").json()["backup_copy_announced"] is True
    copy = copy_of(sealed, rep)
    assert copy.state == BackupState.ANNOUNCED
    assert copy.deposit.reference == reference
    assert copy.announced_at is not None
    # A later deposit that announces it again keeps the first announcement.
    deposit_announcing(client, sealed, rep, key="b-2")
    assert copy_of(sealed, rep).pk == copy.pk
    assert actions(company_chain(rep.company_id)) == ["deposits.backup_copy_announced"]


def test_a_deposit_without_announcement_makes_no_copy(client, sealed, rep):
    client.force_login(rep.user)
    start(client, sealed.consultation, key="plain")
    with scopes_disabled():
        assert not BackupCopy.for_organisation.exists()


# --- The buyer ----------------------------------------------------------------------------------


def test_the_buyer_records_announced_and_unannounced_copies(client, sealed, rep, agent_a):
    deposit_announcing(client, sealed, rep)
    other = representative(2)
    announced = backup_copies.record_reception(
        actor=agent_a, consultation_id=sealed.consultation.pk, siren=rep.company.siren,
        medium=BackupMedium.PAPER,
    )  # fmt: skip
    unannounced = backup_copies.record_reception(
        actor=agent_a, consultation_id=sealed.consultation.pk, siren=other.company.siren,
        medium=BackupMedium.MEDIUM,
    )  # fmt: skip
    assert (announced.state, announced.medium) == (BackupState.RECEIVED, "paper")
    assert announced.deposit is not None
    assert (unannounced.state, unannounced.deposit) == (BackupState.RECEIVED, None)
    assert announced.received_by == agent_a.user
    # Twice is refused: it is already received.
    with pytest.raises(errors.BackupTransitionNotAllowed):
        backup_copies.record_reception(
            actor=agent_a, consultation_id=sealed.consultation.pk, siren=other.company.siren,
            medium=BackupMedium.PAPER,
        )  # fmt: skip
    assert actions(organisation_chain(agent_a.organisation_id)) == [
        "deposits.backup_copy_received",
        "deposits.backup_copy_received",
    ]


@pytest.mark.parametrize(
    ("siren", "medium", "error"),
    [
        ("123456789", BackupMedium.PAPER, errors.BackupCompanyUnknown),
        ("", BackupMedium.PAPER, errors.BackupCompanyUnknown),
        ("1" * 2000, BackupMedium.PAPER, errors.BackupCompanyUnknown),
        (None, "carrier pigeon", errors.BackupMediumInvalid),
    ],
)
def test_bad_receptions_are_refused(sealed, rep, agent_a, siren, medium, error):
    with pytest.raises(error):
        backup_copies.record_reception(
            actor=agent_a, consultation_id=sealed.consultation.pk,
            siren=rep.company.siren if siren is None else siren, medium=medium,
        )  # fmt: skip
    with scopes_disabled():
        assert not BackupCopy.for_organisation.exists()


def test_opening_waits_for_the_electronic_opening_and_needs_a_listed_reason(
    client, sealed, rep, agent_a
):
    deposit_announcing(client, sealed, rep)
    copy = backup_copies.record_reception(
        actor=agent_a, consultation_id=sealed.consultation.pk, siren=rep.company.siren,
        medium=BackupMedium.ELECTRONIC,
    )  # fmt: skip
    with pytest.raises(errors.BackupBeforeOpening):
        backup_copies.open_copy(actor=agent_a, copy_id=copy.pk, reason="virus", note="Trojan")
    with pytest.raises(errors.BackupBeforeOpening):
        backup_copies.destroy(actor=agent_a, copy_id=copy.pk)
    open_the_responses(sealed, agent_a)
    for reason, note in [("signature", "Signature invalide"), ("virus", ""), ("virus", "  "),
                         ("virus", "a\x00b"), ("virus", "x" * 2001), ("", "Trojan")]:  # fmt: skip
        with pytest.raises(errors.BackupOpenReasonRequired):
            backup_copies.open_copy(actor=agent_a, copy_id=copy.pk, reason=reason, note=note)
    assert copy_of(sealed, rep).state == BackupState.RECEIVED

    opened = backup_copies.open_copy(
        actor=agent_a, copy_id=copy.pk, reason=BackupOpenReason.VIRUS,
        note="offre.pdf : Eicar-Test-Signature",
    )  # fmt: skip
    assert opened.state == BackupState.OPENED
    assert opened.opened_by == agent_a.user
    with scopes_disabled():
        event = AuditEvent.objects.get(action="deposits.backup_copy_opened")
    assert event.payload["reason"] == "virus"
    assert event.payload["note"] == "offre.pdf : Eicar-Test-Signature"
    with pytest.raises(errors.BackupTransitionNotAllowed):
        backup_copies.destroy(actor=agent_a, copy_id=copy.pk)


def test_destroyed_unopened_otherwise(client, sealed, rep, agent_a):
    deposit_announcing(client, sealed, rep)
    other = representative(2)
    received = backup_copies.record_reception(
        actor=agent_a, consultation_id=sealed.consultation.pk, siren=other.company.siren,
        medium=BackupMedium.PAPER,
    )  # fmt: skip
    open_the_responses(sealed, agent_a)
    announced = copy_of(sealed, rep)
    assert backup_copies.destroy(actor=agent_a, copy_id=received.pk).state == "destroyed"
    assert backup_copies.destroy(actor=agent_a, copy_id=announced.pk).state == "destroyed"
    with pytest.raises(errors.BackupTransitionNotAllowed):
        backup_copies.open_copy(actor=agent_a, copy_id=received.pk, reason="virus", note="x")
    with scopes_disabled():
        payloads = [
            e.payload["received"]
            for e in AuditEvent.objects.filter(action="deposits.backup_copy_destroyed")
        ]
    assert sorted(payloads) == [False, True]


def test_only_the_organisations_buyers_act(client, sealed, rep, agent_a, org_b):
    deposit_announcing(client, sealed, rep)
    copy = copy_of(sealed, rep)
    member = make_member(
        agent_a.organisation, "commission@commune-a.example", roles=["commission_member"]
    )
    with pytest.raises(PermissionDenied):
        backup_copies.destroy(actor=member, copy_id=copy.pk)
    stranger = make_member(org_b, "acheteur@commune-b.example", roles=["buyer"])
    from tests.factories.procurement import subscribe_to_procurement

    subscribe_to_procurement(org_b)
    with pytest.raises(errors.DepositNotFound):
        backup_copies.destroy(actor=stranger, copy_id=copy.pk)
    with pytest.raises(errors.DepositNotFound):
        backup_copies.record_reception(
            actor=stranger, consultation_id=sealed.consultation.pk, siren=rep.company.siren,
            medium=BackupMedium.PAPER,
        )  # fmt: skip
    assert copy_of(sealed, rep).state == BackupState.ANNOUNCED


# --- The register page --------------------------------------------------------------------------


def register_url(consultation, name="register", **kwargs):
    return reverse(
        f"deposit_register:{name}", kwargs={"org": "commune-a", "pk": consultation.pk, **kwargs}
    )


def test_the_register_page_hides_announcements_until_the_deadline(client, sealed, rep, agent_a):
    deposit_announcing(client, sealed, rep)
    client.force_login(agent_a.user)
    page = client.get(register_url(sealed.consultation)).content.decode()
    assert "Backup copies" in page
    assert rep.company.siren not in page  # who deposited stays secret
    with scopes_disabled():
        Consultation.objects.filter(pk=sealed.consultation.pk).update(
            response_deadline=timezone.now() - timedelta(minutes=1)
        )
    page = client.get(register_url(sealed.consultation)).content.decode()
    assert rep.company.siren in page


def test_the_register_page_records_opens_and_destroys(client, sealed, rep, agent_a):
    client.force_login(agent_a.user)
    response = client.post(
        register_url(sealed.consultation, "backup_receive"),
        {"siren": rep.company.siren[:3] + " " + rep.company.siren[3:], "medium": "paper"},
    )
    assert response.status_code == 302
    copy = copy_of(sealed, rep)
    assert copy.state == BackupState.RECEIVED
    # Bad input: a message, nothing changed, never a 500.
    for data in ({"siren": "abc\x00", "medium": "paper"}, {"siren": "9" * 5000}, {}):
        response = client.post(register_url(sealed.consultation, "backup_receive"), data)
        assert response.status_code in (302, 400)
    response = client.post(
        register_url(sealed.consultation, "backup_open", copy_id=copy.pk),
        {"reason": "virus", "note": "Trojan"},
        follow=True,
    )
    assert "once the electronic responses are" in response.content.decode()
    open_the_responses(sealed, agent_a)
    client.post(
        register_url(sealed.consultation, "backup_open", copy_id=copy.pk),
        {"reason": "unreadable", "note": "Le fichier offre.pdf est illisible."},
    )
    assert copy_of(sealed, rep).state == BackupState.OPENED
    page = client.get(register_url(sealed.consultation)).content.decode()
    assert "Le fichier offre.pdf est illisible." in page


def test_another_organisation_gets_404(client, sealed, rep, org_b):
    stranger = make_member(org_b, "acheteur@commune-b.example", roles=["buyer"])
    from tests.factories.mfa import give_authenticator_app

    give_authenticator_app(stranger.user)
    client.force_login(stranger.user)
    url = reverse(
        "deposit_register:backup_receive",
        kwargs={"org": "commune-a", "pk": sealed.consultation.pk},
    )
    assert client.post(url, {"siren": rep.company.siren, "medium": "paper"}).status_code == 404
