"""The deposit API (docs/adr/0008-sealed-deposits.md, "Deposit API"): a company's
representative, or its API client, starts a deposit on a consultation that accepts
sealed responses, declares its files, sends their age ciphertext in raw chunks and
completes it; the server checks what it can without a key, makes the files durable, and
answers a time-stamped acknowledgement that goes into the public log. Every bad input
gets a clear error and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from datetime import timedelta

import pyrage
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core.audit.chain import company_chain
from mutualis.core.models import AuditEvent
from mutualis.deposits import log, receipts, services, signals, storage
from mutualis.deposits.models import (
    Deposit,
    DepositFile,
    DepositLogEntry,
    DepositState,
    OpeningSession,
)
from mutualis.evidence import authority, timestamps
from tests.factories.deposits_api import (
    API,
    PLAINTEXT,
    api_token,
    declare,
    full_deposit,
    post,
    put,
    representative,
    seal,
    sealed_consultation,
    send,
    start,
)
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _authority():
    authority.ensure_authority()


@pytest.fixture
def sealed(agent_a):
    return sealed_consultation(agent_a)


@pytest.fixture
def rep():
    return representative(1)


@pytest.fixture
def company_client(client, rep):
    client.force_login(rep.user)
    return client


def deposits_of(company_id):
    with scope(company=company_id):
        return list(Deposit.for_company.filter(company_id=company_id).order_by("pk"))


def file_row(reference):
    with scopes_disabled():
        return DepositFile.for_company.get(deposit__reference=reference)


def actions_of(company_id):
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=company_chain(company_id))
            .order_by("sequence")
            .values_list("action", flat=True)
        )


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


# --- The whole path ----------------------------------------------------------------------


def test_consultation_info_gives_the_key_the_deadline_and_the_limits(company_client, sealed):
    response = company_client.get(f"{API}/consultations/{sealed.consultation.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["recipient"] == sealed.recipient
    assert body["recipient"].startswith("age1")
    assert body["consultation"] == sealed.consultation.pk
    assert body["lots"] == []
    assert ".pdf" in body["accepted_types"]
    assert body["max_chunk_bytes"] == 16 * 1024 * 1024
    assert body["max_file_bytes"] > 0
    assert body["max_deposit_bytes"] > 0
    assert body["is_late"] is False
    assert body["deadline"]
    assert body["server_time"]


def test_a_consultation_without_an_opening_key_takes_no_deposit(company_client, sealed, agent_a):
    consultation = make_consultation(agent_a, publish=True, reference="NOKEY")
    assert company_client.get(f"{API}/consultations/{consultation.pk}").status_code == 404
    response = post(company_client, API, {"consultation": consultation.pk})
    assert_error(response, 400, "consultation_not_accepting_deposits")
    assert company_client.get(f"{API}/consultations/999999").status_code == 404


def test_a_representative_deposits_and_gets_a_time_stamped_receipt(
    company_client, sealed, rep, django_capture_on_commit_callbacks
):
    sent = []
    signals.deposit_acknowledged.connect(
        lambda sender, deposit_id, **kw: sent.append(deposit_id), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            reference, sealed_file, ack = full_deposit(company_client, sealed)
    finally:
        signals.deposit_acknowledged.disconnect(dispatch_uid="t")

    assert ack["reference"] == reference
    assert ack["state"] == "acknowledged"
    assert ack["late"] is False
    receipt = ack["receipt"]
    assert receipt["company"]["siren"] == rep.company.siren
    assert receipt["consultation"]["id"] == sealed.consultation.pk
    [entry] = receipt["files"]
    assert entry["name"] == "offre.pdf"
    assert entry["plaintext_size"] == len(PLAINTEXT)
    assert entry["plaintext_sha256"] == hashlib.sha256(PLAINTEXT).hexdigest()
    assert entry["ciphertext_size"] == len(sealed_file.ciphertext)
    assert entry["ciphertext_sha256"] == hashlib.sha256(sealed_file.ciphertext).hexdigest()
    # The digest is the canonical JSON's, and the token is the TSA's over it.
    assert ack["receipt_digest"] == receipts.digest_of(receipt)
    info = timestamps.verify(
        base64.b64decode(ack["timestamp_token"]), bytes.fromhex(ack["receipt_digest"])
    )
    assert info.hash_algorithm == "sha256"

    [deposit] = deposits_of(rep.company_id)
    assert deposit.state == DepositState.ACKNOWLEDGED
    assert deposit.received_at is not None
    assert deposit.user == rep.user
    row = file_row(reference)
    final = storage.path_of(row.storage_name)
    assert final.read_bytes() == sealed_file.ciphertext
    assert not storage.part_path_of(row.storage_name).exists()
    # What the server holds opens with the opening key, and only with it.
    assert pyrage.decrypt(final.read_bytes(), [sealed.identity]) == PLAINTEXT
    entry = DepositLogEntry.objects.get(deposit_reference=reference)
    assert entry.section == "on_time"
    assert entry.receipt_digest == ack["receipt_digest"]
    assert entry.entry_hash == log.entry_hash(entry)
    actions = actions_of(rep.company_id)
    assert actions[-3:] == [
        "deposits.deposit_started",
        "deposits.file_declared",
        "deposits.deposit_acknowledged",
    ]
    assert sent == [deposit.pk]
    # Completing again (a lost answer) gives the same acknowledgement.
    again = post(company_client, f"{API}/{reference}/complete", key="start-1-complete")
    assert again.status_code == 200
    assert again.json() == ack


def test_the_deposit_and_its_files_can_be_read_back_to_resume(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    url = f"{API}/{reference}/files/{file_id}"
    put(company_client, f"{url}/content?offset=0", sealed_file.ciphertext[:1000])

    body = company_client.get(url).json()
    assert body["received_size"] == 1000
    assert body["complete"] is False
    head = company_client.head(url)
    assert head.status_code == 200
    assert head["Upload-Offset"] == "1000"
    assert head["Upload-Length"] == str(len(sealed_file.ciphertext))
    deposit = company_client.get(f"{API}/{reference}").json()
    assert deposit["state"] == "receiving"
    assert [f["received_size"] for f in deposit["files"]] == [1000]
    # Resumed at the offset the server gave.
    send_rest = sealed_file.ciphertext[1000:]
    response = put(company_client, f"{url}/content?offset=1000", send_rest)
    assert response.json() == {
        "received_size": len(sealed_file.ciphertext),
        "ciphertext_size": len(sealed_file.ciphertext),
        "complete": True,
    }


def test_a_deposit_on_a_lot_names_it(company_client, agent_a):
    sealed = sealed_consultation(agent_a, lots=2, reference="LOTS")
    info = company_client.get(f"{API}/consultations/{sealed.consultation.pk}").json()
    assert [lot["number"] for lot in info["lots"]] == [1, 2]
    lot_id = info["lots"][1]["id"]
    assert_error(
        post(company_client, API, {"consultation": sealed.consultation.pk}), 400, "lot_required"
    )
    assert_error(
        post(company_client, API, {"consultation": sealed.consultation.pk, "lot": 999_999}),
        400,
        "unknown_lot",
    )
    reference = start(company_client, sealed.consultation, key="lot", lot=lot_id)
    assert company_client.get(f"{API}/{reference}").json()["lot"] == lot_id


# --- Idempotency -------------------------------------------------------------------------


def test_a_lost_answer_retried_creates_no_second_deposit(company_client, sealed, rep):
    first = post(company_client, API, {"consultation": sealed.consultation.pk}, key="same")
    again = post(company_client, API, {"consultation": sealed.consultation.pk}, key="same")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert len(deposits_of(rep.company_id)) == 1

    reference = first.json()["reference"]
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    one = post(company_client, f"{API}/{reference}/files", sealed_file.declaration(), key="f")
    two = post(company_client, f"{API}/{reference}/files", sealed_file.declaration(), key="f")
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["id"] == two.json()["id"]

    # The same key for another request is refused, not silently answered.
    other = seal("autre.pdf", b"other", sealed.recipient)
    assert_error(
        post(company_client, f"{API}/{reference}/files", other.declaration(), key="f"),
        409,
        "idempotency_key_reused",
    )
    assert_error(
        post(
            company_client,
            API,
            {"consultation": sealed.consultation.pk, "phase": "application"},
            key="same",
        ),
        409,
        "idempotency_key_reused",
    )


@pytest.mark.parametrize("key", [None, "", "x" * 101, "clé"])
def test_every_post_and_put_needs_a_valid_idempotency_key(company_client, sealed, rep, key):
    code = "idempotency_key_required" if not key else "idempotency_key_invalid"
    if key is not None and not key.isascii():
        # Django's test client sends headers as they are; a server gets Latin-1 here.
        key = key.encode().decode("latin-1")
    response = post(company_client, API, {"consultation": sealed.consultation.pk}, key=key)
    assert_error(response, 400, code)
    assert deposits_of(rep.company_id) == []

    reference = start(company_client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    assert_error(
        post(company_client, f"{API}/{reference}/files", sealed_file.declaration(), key=key),
        400,
        code,
    )
    file_id = declare(company_client, reference, sealed_file)
    url = f"{API}/{reference}/files/{file_id}/content?offset=0"
    assert_error(put(company_client, url, b"age", key=key), 400, code)
    assert_error(post(company_client, f"{API}/{reference}/complete", key=key), 400, code)
    assert_error(post(company_client, f"{API}/{reference}/withdraw", key=key), 400, code)
    assert file_row(reference).received_size == 0


# --- Chunks ------------------------------------------------------------------------------


def test_duplicate_and_out_of_order_chunks(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    url = f"{API}/{reference}/files/{file_id}/content"
    data = sealed_file.ciphertext
    assert put(company_client, f"{url}?offset=0", data[:5000]).json()["received_size"] == 5000

    # The same chunk again (its answer was lost): 200, nothing changes.
    again = put(company_client, f"{url}?offset=0", data[:5000])
    assert again.status_code == 200
    assert again.json()["received_size"] == 5000
    # A chunk ahead of what arrived: 409 with the offset to send.
    body = assert_error(
        put(company_client, f"{url}?offset=9000", data[9000:12000]), 409, "unexpected_offset"
    )
    assert body["received_size"] == 5000
    # Different bytes at an earlier offset: 409 too, the file unchanged.
    body = assert_error(
        put(company_client, f"{url}?offset=0", b"X" * 5000), 409, "unexpected_offset"
    )
    assert body["received_size"] == 5000
    # Past the declared ciphertext size: refused before anything is written.
    assert_error(
        put(company_client, f"{url}?offset=5000", data[5000:] + b"extra"), 400, "chunk_past_end"
    )
    row = file_row(reference)
    assert row.received_size == 5000
    assert storage.part_path_of(row.storage_name).read_bytes() == data[:5000]
    # Not a raw body: refused.
    assert_error(
        put(company_client, f"{url}?offset=5000", data[5000:6000], content_type="text/plain"),
        415,
        "unsupported_media_type",
    )
    send_from = put(company_client, f"{url}?offset=5000", data[5000:])
    assert send_from.json()["complete"] is True
    assert storage.part_path_of(row.storage_name).read_bytes() == data


def test_completion_waits_for_every_file(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    assert_error(post(company_client, f"{API}/{reference}/complete", key="c0"), 409, "no_files")
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    put(
        company_client,
        f"{API}/{reference}/files/{file_id}/content?offset=0",
        sealed_file.ciphertext[:100],
    )
    assert_error(
        post(company_client, f"{API}/{reference}/complete", key="c1"), 409, "files_incomplete"
    )
    assert company_client.get(f"{API}/{reference}").json()["state"] == "receiving"
    assert not DepositLogEntry.objects.exists()


def test_a_ciphertext_that_is_not_age_is_refused_at_completion(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    genuine = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    # Same size as an age file of that plaintext, but not age: a plain upload.
    fake = PLAINTEXT[: len(genuine.ciphertext)] + b"\0" * (len(genuine.ciphertext) - len(PLAINTEXT))
    file_id = declare(company_client, reference, genuine)
    send(company_client, reference, file_id, fake)

    body = assert_error(
        post(company_client, f"{API}/{reference}/complete", key="c"), 400, "not_age_ciphertext"
    )
    assert "offre.pdf" in body["message"]
    assert company_client.get(f"{API}/{reference}").json()["state"] == "receiving"
    assert not DepositLogEntry.objects.exists()
    # A scrypt (passphrase) age file is age, but not to an X25519 key: refused too.
    assert services.is_age_header(pyrage.passphrase.encrypt(b"x", "secret")) is False
    assert services.is_age_header(genuine.ciphertext) is True


def test_a_form_body_is_refused_before_it_is_read(company_client, sealed, rep):
    response = company_client.post(
        API, {"consultation": sealed.consultation.pk}, HTTP_IDEMPOTENCY_KEY="form"
    )
    assert_error(response, 415, "unsupported_media_type")
    response = company_client.post(
        API,
        f"consultation={sealed.consultation.pk}",
        content_type="application/x-www-form-urlencoded",
        HTTP_IDEMPOTENCY_KEY="form",
    )
    assert_error(response, 415, "unsupported_media_type")
    assert deposits_of(rep.company_id) == []


# --- Declared files: limits, names, types ------------------------------------------------


def test_sizes_out_of_bounds_are_refused(company_client, sealed, settings):
    settings.MUTUALIS_DEPOSIT_MAX_FILE_BYTES = 200_000
    settings.MUTUALIS_DEPOSIT_MAX_BYTES = 250_000
    reference = start(company_client, sealed.consultation)
    files = f"{API}/{reference}/files"
    ok = seal("offre.pdf", PLAINTEXT, sealed.recipient).declaration()
    big = {
        **ok,
        "plaintext_size": 200_001,
        "ciphertext_size": services.age_payload_size(200_001) + 200,
    }
    assert_error(post(company_client, files, big, key="big"), 400, "invalid_size")
    assert_error(
        post(company_client, files, {**ok, "plaintext_size": 0}, key="zero"),
        422,
        "invalid_parameters",
    )
    assert_error(
        post(
            company_client, files, {**ok, "ciphertext_size": ok["ciphertext_size"] + 9000}, key="cs"
        ),
        400,
        "ciphertext_size_mismatch",
    )
    assert_error(
        post(company_client, files, {**ok, "ciphertext_size": ok["plaintext_size"]}, key="cs2"),
        400,
        "ciphertext_size_mismatch",
    )
    assert_error(
        post(company_client, files, {**ok, "plaintext_sha256": "zz" * 32}, key="sha"),
        400,
        "invalid_sha256",
    )
    assert post(company_client, files, ok, key="one").status_code == 201
    assert post(company_client, files, {**ok, "name": "b.pdf"}, key="two").status_code == 201
    # Three files of 102,409 bytes would pass the deposit's 250,000.
    assert_error(
        post(company_client, files, {**ok, "name": "c.pdf"}, key="three"), 400, "deposit_too_large"
    )
    assert len(company_client.get(f"{API}/{reference}").json()["files"]) == 2


def test_bad_names_are_refused(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    files = f"{API}/{reference}/files"
    ok = seal("offre.pdf", PLAINTEXT, sealed.recipient).declaration()
    # A NUL byte never reaches the view (the edge refuses it, PostgreSQL could not store it).
    response = post(company_client, files, {**ok, "name": "of\x00fre.pdf"}, key="nul")
    assert response.status_code == 400
    assert_error(
        post(company_client, files, {**ok, "name": "a" * 300 + ".pdf"}, key="long"),
        400,
        "invalid_file_name",
    )
    assert_error(
        post(company_client, files, {**ok, "name": "..."}, key="dots"), 400, "invalid_file_name"
    )
    assert_error(
        post(company_client, files, {**ok, "name": "virus.exe"}, key="exe"),
        400,
        "file_type_refused",
    )
    # A path and bidi controls are cut off the name kept.
    response = post(company_client, files, {**ok, "name": "../../etc/off\u202ere.pdf"}, key="path")
    assert response.status_code == 201
    assert response.json()["name"] == "offre.pdf"
    assert len(company_client.get(f"{API}/{reference}").json()["files"]) == 1


# --- Who may --------------------------------------------------------------------------------


def test_another_companys_user_gets_404_on_everything(client, sealed, rep):
    client.force_login(rep.user)
    reference = start(client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(client, reference, sealed_file)

    other = representative(2)
    intruder = Client()
    intruder.force_login(other.user)
    base = f"{API}/{reference}"
    for response in [
        intruder.get(base),
        intruder.get(f"{base}/files/{file_id}"),
        intruder.head(f"{base}/files/{file_id}"),
        post(intruder, f"{base}/files", sealed_file.declaration(), key="x"),
        put(intruder, f"{base}/files/{file_id}/content?offset=0", sealed_file.ciphertext),
        post(intruder, f"{base}/complete", key="y"),
        post(intruder, f"{base}/withdraw", key="z"),
    ]:
        assert response.status_code == 404, response.content
    assert file_row(reference).received_size == 0
    # Naming a company one does not represent is refused too.
    response = post(
        intruder, API, {"consultation": sealed.consultation.pk, "company": rep.company.siren}
    )
    assert_error(response, 403, "not_a_representative")
    # Nobody signed in: 401.
    assert Client().get(base).status_code == 401
    # A buyer's agent (no company) cannot use it either.
    buyer = Client()
    buyer.force_login(make_member(sealed.consultation.organisation, "x@example.org").user)
    assert buyer.get(base).status_code == 404


def test_a_person_of_several_companies_says_which(client, sealed, rep):
    from mutualis.companies.models import Representative

    second = representative(3)
    with scope(company=second.company_id):
        Representative.objects.create(company_id=second.company_id, user=rep.user)
    rep.user._mutualis_representations = None
    client.force_login(rep.user)
    assert_error(
        post(client, API, {"consultation": sealed.consultation.pk}), 400, "company_required"
    )
    response = post(
        client, API, {"consultation": sealed.consultation.pk, "company": second.company.siren}
    )
    assert response.status_code == 201
    assert response.json()["company"] == second.company.siren


def test_the_session_path_needs_the_csrf_token(sealed, rep):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep.user)
    browser.get("/")  # the page sets the CSRF cookie
    response = post(browser, API, {"consultation": sealed.consultation.pk})
    assert response.status_code == 403
    token = browser.cookies.get("csrftoken")
    if token is None:
        from django.middleware.csrf import _get_new_csrf_string

        token_value = _get_new_csrf_string()
        browser.cookies["csrftoken"] = token_value
    else:
        token_value = token.value
    response = post(
        browser, API, {"consultation": sealed.consultation.pk}, HTTP_X_CSRFTOKEN=token_value
    )
    assert response.status_code == 201, response.content


def test_no_deposit_once_the_opening_started(company_client, sealed, agent_a, rep):
    reference = start(company_client, sealed.consultation, key="before")
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    send(company_client, reference, file_id, sealed_file.ciphertext)
    with scope(organisation=agent_a.organisation_id):
        OpeningSession.objects.create(
            organisation_id=agent_a.organisation_id,
            consultation=sealed.consultation,
            started_by=agent_a.user,
        )
    assert_error(
        post(company_client, API, {"consultation": sealed.consultation.pk}, key="after"),
        409,
        "opening_started",
    )
    assert_error(
        post(company_client, f"{API}/{reference}/complete", key="c"), 409, "opening_started"
    )
    assert [d.reference for d in deposits_of(rep.company_id)] == [reference]
    assert not DepositLogEntry.objects.exists()


# --- Time: late, supersede, withdraw -----------------------------------------------------


def _clock(monkeypatch, moment):
    monkeypatch.setattr(services, "now", lambda: moment)


def test_late_from_the_deadline_second(company_client, sealed, rep, monkeypatch):
    deadline = sealed.consultation.response_deadline
    assert deadline.microsecond == 0
    on_time = start(company_client, sealed.consultation, key="a")
    late = start(company_client, sealed.consultation, key="b")
    for reference, key in ((on_time, "a"), (late, "b")):
        sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
        file_id = declare(company_client, reference, sealed_file, key=f"{key}-f")
        send(company_client, reference, file_id, sealed_file.ciphertext)

    _clock(monkeypatch, deadline - timedelta(microseconds=1))
    first = post(company_client, f"{API}/{on_time}/complete", key="ca").json()
    _clock(monkeypatch, deadline)
    second = post(company_client, f"{API}/{late}/complete", key="cb").json()

    assert first["late"] is False
    assert first["receipt"]["late"] is False
    assert second["late"] is True
    assert second["receipt"]["late"] is True
    sections = dict(DepositLogEntry.objects.values_list("deposit_reference", "section"))
    assert sections == {on_time: "on_time", late: "late"}
    # A late deposit does not replace the on-time one.
    states = {d.reference: d.state for d in deposits_of(rep.company_id)}
    assert states == {on_time: "acknowledged", late: "acknowledged"}


def test_starting_after_the_deadline_is_allowed_and_late(company_client, sealed, monkeypatch):
    _clock(monkeypatch, sealed.consultation.response_deadline + timedelta(hours=1))
    _reference, _sealed, ack = full_deposit(company_client, sealed)
    assert ack["late"] is True


def test_a_later_deposit_supersedes_the_earlier_one(company_client, sealed, rep):
    first, _f, _ack = full_deposit(company_client, sealed, key="one")
    second, _g, _ack2 = full_deposit(company_client, sealed, key="two", name="offre-v2.pdf")
    deposits = {d.reference: d for d in deposits_of(rep.company_id)}
    assert deposits[first].state == DepositState.SUPERSEDED
    assert deposits[first].superseded_by_id == deposits[second].pk
    assert deposits[second].state == DepositState.ACKNOWLEDGED
    # Both stay in the log and on disk.
    assert DepositLogEntry.objects.count() == 2
    assert storage.path_of(file_row(first).storage_name).exists()
    # Completing the superseded one again returns its acknowledgement, changes nothing.
    assert post(company_client, f"{API}/{first}/complete", key="one-complete").status_code == 200
    assert {d.reference: d.state for d in deposits_of(rep.company_id)}[first] == "superseded"


def test_withdraw_before_the_deadline_only(company_client, sealed, rep, monkeypatch):
    reference, _f, _ack = full_deposit(company_client, sealed)
    response = post(company_client, f"{API}/{reference}/withdraw", key="w")
    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    assert post(company_client, f"{API}/{reference}/withdraw", key="w").status_code == 200
    assert_error(
        post(company_client, f"{API}/{reference}/complete", key="again"),
        409,
        "deposit_not_receiving",
    )
    assert "deposits.deposit_withdrawn" in actions_of(rep.company_id)

    later, _g, _ack2 = full_deposit(company_client, sealed, key="two")
    _clock(monkeypatch, sealed.consultation.response_deadline)
    assert_error(post(company_client, f"{API}/{later}/withdraw", key="w2"), 409, "deadline_passed")
    assert {d.reference: d.state for d in deposits_of(rep.company_id)}[later] == "acknowledged"


def test_a_deposit_being_received_can_be_withdrawn_and_its_parts_go(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    put(
        company_client,
        f"{API}/{reference}/files/{file_id}/content?offset=0",
        sealed_file.ciphertext[:10],
    )
    part = storage.part_path_of(file_row(reference).storage_name)
    assert part.exists()
    assert (
        post(company_client, f"{API}/{reference}/withdraw", key="w").json()["state"] == "withdrawn"
    )
    assert not part.exists()
    assert_error(
        put(
            company_client,
            f"{API}/{reference}/files/{file_id}/content?offset=10",
            sealed_file.ciphertext[10:20],
        ),
        409,
        "deposit_not_receiving",
    )


def test_deposits_left_receiving_for_a_day_are_abandoned(company_client, sealed, rep):
    reference = start(company_client, sealed.consultation)
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    file_id = declare(company_client, reference, sealed_file)
    put(
        company_client,
        f"{API}/{reference}/files/{file_id}/content?offset=0",
        sealed_file.ciphertext[:10],
    )
    fresh = start(company_client, sealed.consultation, key="fresh")
    part = storage.part_path_of(file_row(reference).storage_name)
    with scope(company=rep.company_id):
        Deposit.for_company.filter(reference=reference).update(
            started_at=timezone.now() - timedelta(hours=25)
        )

    assert services.abandon_stale_deposits() == 1
    assert services.abandon_stale_deposits() == 0
    states = {d.reference: d.state for d in deposits_of(rep.company_id)}
    assert states == {reference: "abandoned", fresh: "receiving"}
    assert not part.exists()
    assert actions_of(rep.company_id).count("deposits.deposit_abandoned") == 1


# --- The public log is append-only -------------------------------------------------------


def test_the_log_refuses_updates(company_client, sealed, on_postgres):
    reference, _f, _ack = full_deposit(company_client, sealed)
    with pytest.raises((DatabaseError, IntegrityError)), transaction.atomic():
        DepositLogEntry.objects.filter(deposit_reference=reference).update(section="late")
    if on_postgres:
        with pytest.raises(DatabaseError), transaction.atomic():
            DepositLogEntry.objects.filter(deposit_reference=reference).delete()
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                ["deposits_depositlogentry"],
            )
            assert [row[0] for row in cursor.fetchall()] == ["deposits_depositlogentry_no_update"]
    assert DepositLogEntry.objects.get(deposit_reference=reference).section == "on_time"


# --- An API client of the company, with the age command line ------------------------------


@pytest.mark.skipif(shutil.which("age") is None, reason="needs the age command line")
def test_an_api_client_deposits_a_file_encrypted_by_the_age_command(client, sealed, rep, tmp_path):
    token = api_token(client, company=rep.company)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api = Client()
    info = api.get(f"{API}/consultations/{sealed.consultation.pk}", **auth).json()

    source = tmp_path / "memoire-technique.pdf"
    source.write_bytes(PLAINTEXT * 3)
    sealed_path = tmp_path / "memoire-technique.pdf.age"
    age = shutil.which("age")
    assert age is not None
    subprocess.run(  # noqa: S603 - the age command, a key and files of this test
        [age, "-r", info["recipient"], "-o", str(sealed_path), str(source)], check=True
    )
    ciphertext = sealed_path.read_bytes()

    response = post(api, API, {"consultation": sealed.consultation.pk}, key="cli-1", **auth)
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    declaration = {
        "name": source.name,
        "content_type": "application/pdf",
        "kind": "offer",
        "plaintext_size": source.stat().st_size,
        "plaintext_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "ciphertext_size": len(ciphertext),
    }
    response = post(api, f"{API}/{reference}/files", declaration, key="cli-2", **auth)
    assert response.status_code == 201, response.content
    file_id = response.json()["id"]
    response = put(
        api, f"{API}/{reference}/files/{file_id}/content?offset=0", ciphertext, key="cli-3", **auth
    )
    assert response.json()["complete"] is True
    ack = post(api, f"{API}/{reference}/complete", key="cli-4", **auth)
    assert ack.status_code == 200, ack.content
    assert (
        ack.json()["receipt"]["files"][0]["ciphertext_sha256"]
        == hashlib.sha256(ciphertext).hexdigest()
    )

    [deposit] = deposits_of(rep.company_id)
    assert deposit.user is None
    assert deposit.api_client_id
    stored = storage.path_of(file_row(reference).storage_name).read_bytes()
    assert pyrage.decrypt(stored, [sealed.identity]) == PLAINTEXT * 3
    # The company's own people see it; another company's client does not.
    other = representative(4)
    other_token = api_token(client, company=other.company)
    assert (
        api.get(f"{API}/{reference}", HTTP_AUTHORIZATION=f"Bearer {other_token}").status_code == 404
    )


def test_an_organisations_client_and_a_read_only_token_cannot_deposit(client, sealed, rep, org_a):
    org_token = api_token(client, organisation=org_a)
    response = post(
        Client(),
        API,
        {"consultation": sealed.consultation.pk},
        HTTP_AUTHORIZATION=f"Bearer {org_token}",
    )
    assert_error(response, 403, "not_a_company_client")
    read_only = api_token(client, company=rep.company, scopes=("api:read",))
    response = post(
        Client(),
        API,
        {"consultation": sealed.consultation.pk},
        HTTP_AUTHORIZATION=f"Bearer {read_only}",
    )
    assert_error(response, 403, "insufficient_scope")
    assert deposits_of(rep.company_id) == []


def test_a_chunk_over_16_mib_is_refused_unread(company_client, sealed):
    reference = start(company_client, sealed.consultation)
    big = 20 * 1024 * 1024
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    declaration = {
        **sealed_file.declaration(),
        "plaintext_size": big,
        "ciphertext_size": services.age_payload_size(big) + 200,
    }
    file_id = post(company_client, f"{API}/{reference}/files", declaration, key="big").json()["id"]
    url = f"{API}/{reference}/files/{file_id}/content?offset=0"
    response = put(company_client, url, b"\0" * (services.MAX_CHUNK_BYTES + 1))
    assert_error(response, 400, "invalid_chunk")
    assert file_row(reference).received_size == 0


# --- Concurrency (PostgreSQL: row locks) ---------------------------------------------------


def _in_threads(*calls):
    """Run the calls at once, each in its own thread (and database connection)."""
    import threading

    from django.db import connections

    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_one_key_make_one_deposit_and_chunks_do_not_mix(agent_a):
    import io

    authority.ensure_authority()
    sealed = sealed_consultation(agent_a)
    rep = representative(1)
    depositor = services.Depositor(company_id=rep.company_id, representative=rep)

    def start_once():
        return services.start_deposit(
            depositor,
            consultation_id=sealed.consultation.pk,
            lot_id=None,
            phase="offer",
            idempotency_key="same",
        )[0].reference

    references = _in_threads(start_once, start_once, start_once)
    assert len(set(references)) == 1, references
    assert len(deposits_of(rep.company_id)) == 1

    deposit = services.deposit_of([rep.company_id], references[0])
    sealed_file = seal("offre.pdf", PLAINTEXT, sealed.recipient)
    declaration = services.FileDeclaration(**sealed_file.declaration())
    found, _created = services.add_file(depositor, deposit, declaration, idempotency_key="f")
    data = sealed_file.ciphertext

    def chunk(offset, body):
        return lambda: (
            services.receive_chunk(
                depositor,
                deposit,
                found.pk,
                offset=offset,
                length=len(body),
                stream=io.BytesIO(body),
            ).received_size
        )

    # The same first chunk twice at once, and a rival chunk at the same offset.
    results = _in_threads(chunk(0, data[:50_000]), chunk(0, data[:50_000]), chunk(0, b"Z" * 50_000))
    stored = storage.part_path_of(file_row(deposit.reference).storage_name).read_bytes()
    assert file_row(deposit.reference).received_size == 50_000
    assert stored in (data[:50_000], b"Z" * 50_000)
    winners = [r for r in results if r == 50_000]
    conflicts = [r for r in results if isinstance(r, services.errors.UnexpectedOffset)]
    assert len(winners) + len(conflicts) == 3
    assert len(winners) >= 1


def test_the_signed_receipt_is_downloaded_once_made(company_client, sealed, rep):
    import io

    from mutualis.core.files import store
    from mutualis.core.files.owners import register_owner, unregister_owner
    from mutualis.core.pdf import text_pdf

    reference, _f, _ack = full_deposit(company_client, sealed)
    url = f"{API}/{reference}/receipt.pdf"
    assert_error(company_client.get(url), 404, "receipt_not_ready")

    # The receipt job (another module) stores the PDF and links it; a stand-in here.
    register_owner("test_deposit_receipt", can_read=lambda request, stored_file: False)
    try:
        pdf = text_pdf(("Accusé de réception", reference), title="Accusé")
        stored = store.store_file(
            file=io.BytesIO(pdf), name=f"{reference}.pdf", owner_kind="test_deposit_receipt"
        )
        with scope(company=rep.company_id):
            Deposit.for_company.filter(reference=reference).update(receipt_pdf=stored)
        response = company_client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == pdf
        intruder = Client()
        intruder.force_login(representative(5).user)
        assert intruder.get(url).status_code == 404
    finally:
        unregister_owner("test_deposit_receipt")
