"""The opening of sealed responses: after the deadline a buyer starts the session, k of
the holders post their shares (each from their own session), the server rebuilds the key,
checks the published log, decrypts every acknowledged deposit's files with real age
(pyrage), reports what was altered or unreadable while the rest opens, verifies the
signatures, and writes the register and the minutes; every read is audited. Refusals
(before the deadline, fewer than k, a wrong share, a second opening, bad input, another
organisation) change nothing."""

from __future__ import annotations

import datetime
import hashlib
import io
import json

import pypdf
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent, StoredFile
from mutualis.core.pdf import text_pdf
from mutualis.deposits import opening, storage
from mutualis.deposits.models import (
    DepositFile,
    DepositLogRoot,
    OpenedFile,
    OpeningSession,
)
from tests.factories.clamd import EICAR, clamd
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.core import audit_events
from tests.factories.deposits_opening import (
    close_on_time_section,
    enrol_holder,
    make_deposit,
    make_opening_key,
    pass_deadline,
)
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app
from tests.factories.procurement import make_consultation, subscribe_to_procurement
from tests.factories.signing import pem, pki, sign_cades, sign_pdf

pytestmark = pytest.mark.django_db

__all__ = ["pki"]  # the signing authorities fixture, shared with the signatures' tests

PASSPHRASE = "correct horse battery staple of the commission"


@pytest.fixture(autouse=True)
def _time_stamping_authority(settings):
    # The opening closes the log's sections, each root time-stamped by the platform's TSA.
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def client_class():
    return Client


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def holders(buyer):
    members = []
    for n in range(3):
        membership = make_member(
            buyer.organisation, f"holder{n}@commune-a.example", roles=["commission_member"]
        )
        with scopes_disabled():
            membership.user.first_name, membership.user.last_name = f"Membre{n}", "Commission"
            membership.user.save()
        give_authenticator_app(membership.user)
        holder, _identity = enrol_holder(membership, PASSPHRASE)
        members.append((membership, holder))
    return members


@pytest.fixture
def consultation(buyer, holders):
    consultation = make_consultation(buyer, publish=True)
    _key, _identity, shares = make_opening_key(
        consultation, buyer, [holder for _m, holder in holders], threshold=2
    )
    consultation.test_shares = shares
    return consultation


@pytest.fixture
def bidder(db):
    return register_company(verified_person("offres@menuiserie.example"), siren=company_siren(1))


@pytest.fixture
def other_bidder(db):
    return register_company(
        verified_person("offres@charpente.example"), siren=company_siren(2), name="Charpente"
    )


@pytest.fixture
def anchors(settings, tmp_path, pki):
    path = tmp_path / "anchors.pem"
    path.write_bytes(pem(pki.root))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(path)


def client_of(client_class, membership):
    client = client_class()
    client.force_login(membership.user)
    return client


def url(name: str, consultation, org: str = "commune-a", **kwargs) -> str:
    return reverse(f"deposits_opening:{name}", kwargs={"org": org, "pk": consultation.pk, **kwargs})


def post_share(client, consultation, share: bytes | str):
    body = share.hex() if isinstance(share, bytes) else share
    return client.post(
        url("share", consultation), json.dumps({"share": body}), content_type="application/json"
    )


def session_of(consultation) -> OpeningSession | None:
    with scopes_disabled():
        return OpeningSession.objects.filter(consultation=consultation).first()


def opened_files(consultation) -> dict[str, OpenedFile]:
    with scopes_disabled():
        return {
            o.deposit_file.name: o
            for o in OpenedFile.objects.filter(session__consultation=consultation).select_related(
                "deposit_file", "stored_file"
            )
        }


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def start(client, consultation):
    return client.post(url("start", consultation))


@pytest.fixture
def deposits(consultation, bidder, other_bidder, tmp_path, pki, anchors):
    offer = text_pdf(["Offre de la Menuiserie Dupont", "Prix : 98 000 EUR HT"])
    signed = sign_pdf(pki.signer, tmp_path)
    memo = b"Memoire technique, en texte brut.\n"
    first = make_deposit(
        consultation,
        bidder,
        [("offre.pdf", offer), ("offre.pdf.p7s", sign_cades(pki.signer, offer)),
         ("memoire.txt", memo)],
    )  # fmt: skip
    second = make_deposit(consultation, other_bidder, [("acte-engagement.pdf", signed)])
    late = make_deposit(
        consultation, other_bidder, [("tardive.pdf", text_pdf(["Offre tardive"]))], late=True
    )
    close_on_time_section(consultation)
    return {"offer": offer, "signed": signed, "memo": memo, "first": first, "second": second,
            "late": late}  # fmt: skip


# --- The whole opening -----------------------------------------------------------------


def test_two_of_three_holders_open_every_deposit(client_class, buyer, holders, consultation,
                                                 deposits):  # fmt: skip
    pass_deadline(consultation)
    buyer_client = client_of(client_class, buyer)
    assert start(buyer_client, consultation).status_code == 302
    assert len(audit_events(buyer.organisation, "deposits.opening_started")) == 1

    shares = consultation.test_shares
    first = post_share(client_of(client_class, holders[0][0]), consultation, shares[0])
    assert first.status_code == 200
    assert first.json() == {"unlocked": 1, "threshold": 2, "opened": False}
    assert opened_files(consultation) == {}
    status = buyer_client.get(url("status", consultation)).json()
    assert status["unlocked"] == ["Membre0 Commission"]
    assert not status["opened"]
    # The waiting share is sealed, never kept as given.
    session = session_of(consultation)
    assert shares[0].hex() not in json.dumps(session.pending_shares)

    second = post_share(client_of(client_class, holders[2][0]), consultation, shares[2])
    assert second.json() == {"unlocked": 2, "threshold": 2, "opened": True}

    session = session_of(consultation)
    assert session.completed_at is not None
    assert session.pending_shares == {}
    assert sorted(session.unlocked_by) == sorted([holders[0][1].pk, holders[2][1].pk])
    files = opened_files(consultation)
    assert set(files) == {"offre.pdf", "offre.pdf.p7s", "memoire.txt", "acte-engagement.pdf",
                          "tardive.pdf"}  # fmt: skip
    assert {o.state for o in files.values()} == {"intact"}
    with scopes_disabled():
        stored = StoredFile.objects.get(pk=files["memoire.txt"].stored_file_id)
    assert stored.sha256 == hashlib.sha256(deposits["memo"]).hexdigest()
    assert stored.owner_kind == opening.OWNER_KIND

    # Signatures: the signed PDF's own, and the detached CAdES over the offer.
    (pades,) = files["acte-engagement.pdf"].signatures
    assert pades["valid"]
    assert pades["signer"] == "Jeanne Signataire"
    (cades,) = files["offre.pdf.p7s"].signatures
    assert cades["document"] == "offre.pdf", cades
    assert cades["valid"], cades["problems"]
    assert files["memoire.txt"].signatures == []

    completed = audit_events(buyer.organisation, "deposits.opening_completed")
    assert len(completed) == 1
    assert completed[0].payload["files"]["intact"] == 5
    assert len(audit_events(buyer.organisation, "deposits.opening_unlocked")) == 2

    # The page lists the deposits, the late one apart, each file with a download link.
    page = buyer_client.get(url("session", consultation)).content.decode()
    on_time, late = page.split("Deposits received late")
    assert deposits["first"].reference in on_time
    assert deposits["late"].reference in late
    assert deposits["late"].reference not in on_time

    # A download is the plaintext, and each read is audited.
    download = buyer_client.get(
        url("file", consultation, opened_pk=files["offre.pdf"].pk, filename="offre.pdf")
    )
    assert download.status_code == 200
    assert body_of(download) == deposits["offer"]
    member = client_of(client_class, holders[1][0])
    assert (
        member.get(
            url("file", consultation, opened_pk=files["memoire.txt"].pk, filename="memoire.txt")
        ).status_code
        == 200
    )
    reads = audit_events(buyer.organisation, "deposits.opened_file_read")
    assert len(reads) == 2
    assert reads[0].object_id == str(files["offre.pdf"].pk)

    # The register and the minutes.
    register = pdf_text(body_of(buyer_client.get(url("document", consultation, kind="register"))))
    assert deposits["first"].reference in register
    assert deposits["late"].reference in register
    assert hashlib.sha256(deposits["offer"]).hexdigest() in register
    minutes = pdf_text(body_of(buyer_client.get(url("document", consultation, kind="minutes"))))
    assert "Membre0 Commission" in minutes
    assert "Membre2 Commission" in minutes
    assert "Membre1 Commission" not in minutes
    assert "5 intact, 0 altered, 0 unreadable" in minutes
    assert "Jeanne Signataire" in minutes
    assert "valid" in minutes
    assert deposits["late"].reference in minutes.split("received late")[-1]
    assert len(audit_events(buyer.organisation, "deposits.opened_file_read")) == 4

    # The generic download view serves none of it (reads go through the audited views).
    assert buyer_client.get(stored.get_absolute_url()).status_code == 404


def test_past_retention_the_files_go_and_the_rows_and_hashes_stay(
    client_class, buyer, holders, consultation, deposits, django_capture_on_commit_callbacks
):
    """The purge contracts.retention calls: each file's ciphertext and opened plaintext
    deleted, every row, hash and receipt kept, one event on the company's chain; again,
    nothing more."""
    from mutualis.deposits import purge

    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    shares = consultation.test_shares
    post_share(client_of(client_class, holders[0][0]), consultation, shares[0])
    post_share(client_of(client_class, holders[1][0]), consultation, shares[1])
    first = deposits["first"]
    with scopes_disabled():
        files = list(first.files.order_by("pk"))
        opened = {o.deposit_file_id: o for o in OpenedFile.objects.filter(deposit_file__in=files)}
        stored_ids = [o.stored_file_id for o in opened.values()]
    assert len(stored_ids) == 3
    paths = [storage.path_of(f.storage_name) for f in files]
    assert all(path.exists() for path in paths)

    with (
        django_capture_on_commit_callbacks(execute=True),
        scope(organisation=buyer.organisation_id),
    ):
        counts = purge.purge_deposit_files(deposit_ids=[first.pk], reason="retention")
    assert counts == {"deposits": 1, "ciphertexts": 3, "plaintexts": 3}
    assert not any(path.exists() for path in paths)
    with scopes_disabled():
        assert not StoredFile.objects.filter(pk__in=stored_ids).exists()
        kept = list(first.files.order_by("pk"))
        assert [f.plaintext_sha256 for f in kept] == [f.plaintext_sha256 for f in files]
        assert all(f.purged_at is not None for f in kept)
        assert all(
            o.purged_at is not None and o.stored_file_id is None
            for o in OpenedFile.objects.filter(deposit_file__in=kept)
        )
        first.refresh_from_db()
        assert first.receipt_digest
        event = AuditEvent.objects.get(action="deposits.files_purged")
    assert event.chain == audit.company_chain(first.company_id)
    assert event.payload["files"] == 3
    # The other deposit is untouched; a second run purges nothing.
    with scopes_disabled():
        untouched = deposits["second"].files.get()
    assert storage.path_of(untouched.storage_name).exists()
    with scope(organisation=buyer.organisation_id):
        again = purge.purge_deposit_files(deposit_ids=[first.pk], reason="retention")
    assert again == {"deposits": 0, "ciphertexts": 0, "plaintexts": 0}


def test_an_altered_ciphertext_is_reported_and_the_rest_opens(client_class, buyer, holders,
                                                              consultation, deposits):  # fmt: skip
    with scopes_disabled():
        memo = DepositFile.for_organisation.get(name="memoire.txt")
        signed = DepositFile.for_organisation.get(name="acte-engagement.pdf")
    # One file modified in the store after its deposit.
    path = storage.path_of(memo.storage_name)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    # Another truncated, with its recorded hash rewritten to match: age's own
    # authentication still finds it.
    path = storage.path_of(signed.storage_name)
    truncated = path.read_bytes()[:-20]
    path.write_bytes(truncated)
    with scopes_disabled():
        DepositFile.for_organisation.filter(pk=signed.pk).update(
            ciphertext_sha256=hashlib.sha256(truncated).hexdigest()
        )
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    post_share(client_of(client_class, holders[0][0]), consultation, consultation.test_shares[0])
    post_share(client_of(client_class, holders[1][0]), consultation, consultation.test_shares[1])

    files = opened_files(consultation)
    assert files["memoire.txt"].state == "altered"
    assert files["memoire.txt"].stored_file is None
    assert "SHA-256 differs" in files["memoire.txt"].detail
    assert files["acte-engagement.pdf"].state == "unreadable"
    assert files["acte-engagement.pdf"].stored_file is None
    assert {files[n].state for n in ("offre.pdf", "offre.pdf.p7s", "tardive.pdf")} == {"intact"}
    # Nothing of the unreadable file's partial plaintext is left behind.
    assert not list((storage.path_of("") / ".opening").iterdir())
    session = session_of(consultation)
    assert session.report["counts"] == {"intact": 3, "altered": 1, "unreadable": 1}
    with scopes_disabled():
        minutes = pdf_text(session.minutes_pdf.key and _stored_bytes(session.minutes_pdf))
    assert "3 intact, 1 altered, 1 unreadable" in minutes


def _stored_bytes(stored) -> bytes:
    from mutualis.core.files import open_stored_file

    with open_stored_file(stored) as file:
        return file.read()


def test_a_plaintext_unlike_the_declared_hash_is_altered_but_kept(client_class, buyer, holders,
                                                                 consultation, bidder):  # fmt: skip
    make_deposit(consultation, bidder, [("offre.txt", b"Le prix est 10 EUR.\n")],
                 declared={"offre.txt": "0" * 64})  # fmt: skip
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    for n in (1, 2):
        post_share(
            client_of(client_class, holders[n][0]), consultation, consultation.test_shares[n]
        )
    (opened,) = opened_files(consultation).values()
    assert opened.state == "altered"
    assert opened.stored_file is not None
    assert "declared" in opened.detail


def test_a_type_the_consultation_does_not_accept_is_reported_not_served(
    client_class, buyer, holders, consultation, bidder
):
    make_deposit(consultation, bidder, [("page.html", b"<html><script>alert(1)</script></html>")])
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    for n in (0, 1):
        post_share(
            client_of(client_class, holders[n][0]), consultation, consultation.test_shares[n]
        )
    (opened,) = opened_files(consultation).values()
    assert opened.stored_file is None
    assert "text/html" in opened.detail


def test_a_malicious_program_found_by_the_scanner_is_reported_not_served(
    client_class, buyer, holders, consultation, bidder, settings, tmp_path
):
    offer = text_pdf(["Offre saine"])
    make_deposit(consultation, bidder, [("offre.pdf", offer), ("annexe.txt", b"x " + EICAR)])
    pass_deadline(consultation)
    with clamd(tmp_path) as (address, seen):
        settings.MUTUALIS_CLAMD_ADDRESS = address
        start(client_of(client_class, buyer), consultation)
        for n in (0, 1):
            post_share(
                client_of(client_class, holders[n][0]), consultation, consultation.test_shares[n]
            )
    files = opened_files(consultation)
    assert sorted(seen, key=len) == sorted([offer, b"x " + EICAR], key=len)
    assert files["annexe.txt"].stored_file is None
    assert "Eicar-Test-Signature" in files["annexe.txt"].detail
    assert "backup copy" in files["annexe.txt"].detail
    assert files["offre.pdf"].stored_file is not None
    assert files["offre.pdf"].detail == ""


# --- Refusals that change nothing ------------------------------------------------------


def test_fewer_than_k_holders_open_nothing(client_class, buyer, holders, consultation, deposits):
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    holder = client_of(client_class, holders[1][0])
    assert post_share(holder, consultation, consultation.test_shares[1]).json()["opened"] is False
    # The same holder again does not count twice.
    again = post_share(holder, consultation, consultation.test_shares[1])
    assert again.json() == {"unlocked": 1, "threshold": 2, "opened": False}
    assert opened_files(consultation) == {}
    assert session_of(consultation).completed_at is None
    page = client_of(client_class, buyer).get(url("session", consultation))
    assert b"Membre1 Commission" in page.content
    assert b"Register of deposits" not in page.content


def test_a_share_waits_at_most_an_hour(client_class, buyer, holders, consultation, deposits):
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    post_share(client_of(client_class, holders[0][0]), consultation, consultation.test_shares[0])
    session = session_of(consultation)
    hour_ago = (timezone.now() - datetime.timedelta(minutes=61)).isoformat()
    with scopes_disabled():
        pending = {h: {**entry, "at": hour_ago} for h, entry in session.pending_shares.items()}
        OpeningSession.objects.filter(pk=session.pk).update(pending_shares=pending)
    assert client_of(client_class, buyer).get(url("status", consultation)).json()["unlocked"] == []
    answer = post_share(client_of(client_class, holders[1][0]), consultation,
                        consultation.test_shares[1])  # fmt: skip
    assert answer.json() == {"unlocked": 1, "threshold": 2, "opened": False}
    assert list(session_of(consultation).pending_shares) == [str(holders[1][1].pk)]


def test_nothing_opens_before_the_deadline(client_class, buyer, holders, consultation, deposits):
    buyer_client = client_of(client_class, buyer)
    response = start(buyer_client, consultation)
    assert response.status_code == 302
    page = buyer_client.get(url("session", consultation)).content.decode()
    assert "cannot be opened before the deadline" in page
    assert session_of(consultation) is None
    refused = post_share(client_of(client_class, holders[0][0]), consultation,
                         consultation.test_shares[0])  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"] == "deposits_opening_not_started"
    assert audit_events(buyer.organisation, "deposits.opening_started") == []


def test_wrong_shares_are_refused_and_forgotten(client_class, buyer, holders, consultation,
                                               deposits):  # fmt: skip
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    good = consultation.test_shares[0]
    forged = bytes(b ^ 0x5A for b in good[:-1]) + bytes([good[-1] ^ 1 or 7])
    post_share(client_of(client_class, holders[0][0]), consultation, good)
    refused = post_share(client_of(client_class, holders[1][0]), consultation, forged)
    assert refused.status_code == 409
    assert refused.json()["error"] == "deposits_opening_wrong_shares"
    session = session_of(consultation)
    assert session.completed_at is None
    assert session.pending_shares == {}
    assert opened_files(consultation) == {}
    assert len(audit_events(buyer.organisation, "deposits.opening_refused")) == 1
    # The holders unlock again, with their true shares: it opens.
    post_share(client_of(client_class, holders[0][0]), consultation, good)
    opened = post_share(client_of(client_class, holders[1][0]), consultation,
                        consultation.test_shares[1])  # fmt: skip
    assert opened.json()["opened"] is True


def test_a_second_opening_is_refused(client_class, buyer, holders, consultation, deposits):
    pass_deadline(consultation)
    buyer_client = client_of(client_class, buyer)
    start(buyer_client, consultation)
    again = start(buyer_client, consultation)
    assert again.status_code == 302
    assert len(audit_events(buyer.organisation, "deposits.opening_started")) == 1
    for n in (0, 1):
        post_share(
            client_of(client_class, holders[n][0]), consultation, consultation.test_shares[n]
        )
    late_share = post_share(client_of(client_class, holders[2][0]), consultation,
                            consultation.test_shares[2])  # fmt: skip
    assert late_share.status_code == 409
    assert late_share.json()["error"] == "deposits_opening_already_opened"
    start(buyer_client, consultation)
    assert len(audit_events(buyer.organisation, "deposits.opening_started")) == 1
    assert len(opened_files(consultation)) == 5
    assert len(audit_events(buyer.organisation, "deposits.opening_completed")) == 1


def test_the_opening_refuses_deposits_that_do_not_match_the_published_log(
    client_class, buyer, holders, consultation, deposits
):
    DepositLogRoot.objects.filter(consultation=consultation).update(root="00" * 32)
    pass_deadline(consultation)
    buyer_client = client_of(client_class, buyer)
    start(buyer_client, consultation)
    assert session_of(consultation) is None
    assert audit_events(buyer.organisation, "deposits.opening_started") == []


def test_a_receipt_changed_after_logging_stops_the_opening_at_the_combine(
    client_class, buyer, holders, consultation, deposits
):
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    with scopes_disabled():
        deposit = deposits["first"]
        deposit.receipt = {**deposit.receipt, "files": []}
        deposit.save(update_fields=["receipt"])
    post_share(client_of(client_class, holders[0][0]), consultation, consultation.test_shares[0])
    refused = post_share(client_of(client_class, holders[1][0]), consultation,
                         consultation.test_shares[1])  # fmt: skip
    assert refused.json()["error"] == "deposits_opening_log_mismatch"
    assert opened_files(consultation) == {}
    assert session_of(consultation).completed_at is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00",
        json.dumps({"share": "zz" * 40}).encode(),
        json.dumps({"share": "ab\x00cd"}).encode(),
        json.dumps({"share": "abc"}).encode(),
        json.dumps({"share": 12}).encode(),
        json.dumps(["share"]).encode(),
        json.dumps({"share": "ab" * 3000}).encode(),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(client_class, buyer, holders,
                                                         consultation, body):  # fmt: skip
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    response = client_of(client_class, holders[0][0]).post(
        url("share", consultation),
        body,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    # Refused by the view, or (NUL, bytes that are not UTF-8) by the edge before it.
    assert response.status_code == 400
    assert response.json()["message"]
    assert session_of(consultation).pending_shares == {}
    assert audit_events(buyer.organisation, "deposits.opening_unlocked") == []


def test_a_share_of_another_length_than_those_waiting_is_refused(client_class, buyer, holders,
                                                                 consultation):  # fmt: skip
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    post_share(client_of(client_class, holders[0][0]), consultation, consultation.test_shares[0])
    response = post_share(client_of(client_class, holders[1][0]), consultation, "ab" * 10)
    assert response.status_code == 400
    assert list(session_of(consultation).pending_shares) == [str(holders[0][1].pk)]


# --- Who may do what -------------------------------------------------------------------


def test_each_holder_fetches_only_their_own_sealed_key(client_class, buyer, holders,
                                                       consultation):  # fmt: skip
    pass_deadline(consultation)
    buyer_client = client_of(client_class, buyer)
    # Before the session starts, there is nothing to unlock.
    holder_client = client_of(client_class, holders[1][0])
    assert holder_client.get(url("own_key", consultation)).status_code == 409
    start(buyer_client, consultation)
    answer = holder_client.get(url("own_key", consultation))
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    with scopes_disabled():
        share = holders[1][1].shares.get()
    assert answer.json() == {
        "holder": holders[1][1].pk,
        "sealed_identity": holders[1][1].sealed_identity,
        "sealed_share": share.sealed_share,
    }
    # A buyer holding no key gets nothing, and cannot post a share.
    assert buyer_client.get(url("own_key", consultation)).status_code == 403
    assert post_share(buyer_client, consultation, consultation.test_shares[0]).status_code == 403


def test_a_holder_without_a_share_of_this_key_cannot_post(client_class, buyer, holders,
                                                          consultation):  # fmt: skip
    stranger = make_member(buyer.organisation, "member4@commune-a.example",
                           roles=["commission_member"])  # fmt: skip
    give_authenticator_app(stranger.user)
    enrol_holder(stranger, PASSPHRASE)
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    refused = post_share(client_of(client_class, stranger), consultation,
                         consultation.test_shares[0])  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"] == "deposits_opening_not_a_holder"
    assert session_of(consultation).pending_shares == {}


def test_a_commission_member_cannot_start_the_session(client_class, holders, consultation):
    pass_deadline(consultation)
    response = start(client_of(client_class, holders[0][0]), consultation)
    assert response.status_code == 404
    assert session_of(consultation) is None


def test_another_organisation_sees_nothing(client_class, buyer, holders, consultation, deposits,
                                           agent_b):  # fmt: skip
    subscribe_to_procurement(agent_b.organisation)
    pass_deadline(consultation)
    start(client_of(client_class, buyer), consultation)
    for n in (0, 1):
        post_share(
            client_of(client_class, holders[n][0]), consultation, consultation.test_shares[n]
        )
    opened = next(iter(opened_files(consultation).values()))
    holder_b = make_member(agent_b.organisation, "holder@commune-b.example",
                           roles=["commission_member"])  # fmt: skip
    give_authenticator_app(holder_b.user)
    enrol_holder(holder_b, PASSPHRASE)
    targets = [
        ("session", {}), ("status", {}), ("own_key", {}), ("document", {"kind": "minutes"}),
        ("file", {"opened_pk": opened.pk, "filename": "x.pdf"}),
    ]  # fmt: skip
    for membership in (agent_b, holder_b):
        other = client_of(client_class, membership)
        for name, kwargs in targets:
            # Their own organisation's path, our consultation's number; and our path.
            assert other.get(url(name, consultation, org="commune-b", **kwargs)).status_code == 404
            assert other.get(url(name, consultation, **kwargs)).status_code == 404
        for org in ("commune-a", "commune-b"):
            assert other.post(url("start", consultation, org=org)).status_code == 404
            response = other.post(
                url("share", consultation, org=org),
                json.dumps({"share": consultation.test_shares[2].hex()}),
                content_type="application/json",
            )
            assert response.status_code == 404
    assert len(audit_events(buyer.organisation, "deposits.opened_file_read")) == 0


def test_an_agent_without_the_roles_gets_404(client_class, buyer, consultation):
    clerk = make_member(buyer.organisation, "clerk@commune-a.example", roles=[])
    assert client_of(client_class, clerk).get(url("session", consultation)).status_code == 404


def test_the_buyers_consultation_page_links_the_opening(client_class, buyer, consultation):
    page = client_of(client_class, buyer).get(
        reverse("procurement:detail", kwargs={"org": "commune-a", "pk": consultation.pk})
    )
    assert url("session", consultation).encode() in page.content
