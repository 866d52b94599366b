"""The proof of deposit: the public log's sections closed and time-stamped at the deadline
(never before), the roots on the consultation's page, inclusion proofs a company
downloads (another company's deposit is 404), and the offline check with the script and
OpenSSL."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.deposits import log_sections
from mutualis.deposits.models import DepositLogRoot, LogSection
from mutualis.evidence import authority, merkle, timestamps
from mutualis.evidence.errors import AuthorityNotConfigured
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.deposits_proof import (
    accept_deposits,
    log_entry,
    make_deposit,
    move_deadline,
    past,
)
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"
OPENSSL = shutil.which("openssl")


@pytest.fixture(autouse=True)
def _authority(settings) -> None:
    authority.ensure_authority()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    return accept_deposits(make_consultation(buyer, publish=True), buyer)


@pytest.fixture
def rep_x(db):
    return register_company(verified_person("alice.x@example.org"), siren=company_siren(1))


@pytest.fixture
def rep_y(db):
    return register_company(
        verified_person("dave.y@example.org"), siren=company_siren(2), name="Plomberie Y"
    )


def closed_root(consultation, section=LogSection.ON_TIME):
    return DepositLogRoot.objects.get(consultation_id=consultation.pk, section=section)


def deposits_after_deadline(consultation, rep_x, rep_y):
    """Three on-time deposits (received in an order other than their creation) and one
    late one; the deadline then passes."""
    deadline = timezone.now() + timedelta(hours=1)
    move_deadline(consultation, deadline)
    second = make_deposit(consultation, rep_x, received_at=deadline - timedelta(minutes=5))
    first = make_deposit(consultation, rep_y, received_at=deadline - timedelta(minutes=30))
    third = make_deposit(consultation, rep_y, received_at=deadline - timedelta(seconds=1))
    late = make_deposit(consultation, rep_x, received_at=deadline + timedelta(seconds=2))
    move_deadline(consultation, past(120))
    return [first, second, third], late


# --- Closing sections --------------------------------------------------------------------


def test_nothing_closes_before_the_deadline(consultation, rep_x):
    make_deposit(consultation, rep_x)
    with pytest.raises(log_sections.SectionNotClosable):
        log_sections.close_section(consultation, LogSection.ON_TIME)
    with pytest.raises(log_sections.SectionNotClosable):
        log_sections.close_section(consultation, LogSection.LATE)
    assert not DepositLogRoot.objects.exists()
    assert log_sections.close_due_sections() == 0
    assert not DepositLogRoot.objects.exists()


def test_the_root_covers_the_receipts_in_reception_order_time_stamped(consultation, rep_x, rep_y):
    on_time, late = deposits_after_deadline(consultation, rep_x, rep_y)
    closed = log_sections.close_section(consultation, LogSection.ON_TIME)
    expected = merkle.root([bytes.fromhex(d.receipt_digest) for d in on_time])
    assert closed.size == 3
    assert closed.root == expected.hex()
    info = timestamps.verify(bytes(closed.timestamp_token), expected)
    assert abs((info.gen_time - closed.closed_at).total_seconds()) < 2
    # The late deposit is in its own section, closed at the opening.
    late_root = log_sections.close_section(consultation, LogSection.LATE)
    assert late_root.size == 1
    assert late_root.root == merkle.root([bytes.fromhex(late.receipt_digest)]).hex()


def test_closing_twice_returns_the_first_root_and_records_one_event(consultation, rep_x):
    make_deposit(consultation, rep_x)
    move_deadline(consultation, past())
    first = log_sections.close_section(consultation, LogSection.ON_TIME)
    again = log_sections.close_section(consultation, LogSection.ON_TIME)
    assert again.pk == first.pk
    assert DepositLogRoot.objects.count() == 1
    with scopes_disabled():
        events = AuditEvent.objects.filter(
            chain=audit.organisation_chain(consultation.organisation_id),
            action="deposits.log_section_closed",
        )
        assert events.count() == 1
        assert events.get().payload["root"] == first.root


def test_the_job_closes_every_due_consultation_once_including_empty_ones(
    buyer, consultation, rep_x, settings
):
    settings.MUTUALIS_DEPOSIT_LOG_CLOSE_DELAY_SECONDS = 30
    make_deposit(consultation, rep_x)
    move_deadline(consultation, past())
    empty = accept_deposits(make_consultation(buyer, reference="2027-002", publish=True), buyer)
    move_deadline(empty, past())
    # A consultation that takes no sealed deposit (responses on paper): no log at all.
    paper = make_consultation(buyer, reference="2027-006", publish=True)
    move_deadline(paper, past())
    # Deadline passed ten seconds ago: within the delay, acknowledgements may still commit.
    recent = accept_deposits(make_consultation(buyer, reference="2027-003", publish=True), buyer)
    move_deadline(recent, past(10))
    still_open = make_consultation(buyer, reference="2027-004", publish=True)
    draft = make_consultation(buyer, reference="2027-005")
    move_deadline(draft, past())

    assert log_sections.close_due_sections() == 2
    assert closed_root(consultation).size == 1
    nobody = closed_root(empty)
    assert nobody.size == 0
    assert nobody.root == hashlib.sha256(b"").hexdigest()
    timestamps.verify(bytes(nobody.timestamp_token), bytes.fromhex(nobody.root))
    for other in (recent, still_open, draft, paper):
        assert not DepositLogRoot.objects.filter(consultation_id=other.pk).exists()
    assert log_sections.close_due_sections() == 0
    assert DepositLogRoot.objects.count() == 2


def test_one_consultation_that_cannot_close_does_not_stop_the_others(buyer, consultation, settings):
    move_deadline(consultation, past())
    other = accept_deposits(make_consultation(buyer, reference="2027-008", publish=True), buyer)
    move_deadline(other, past(7200))  # older: tried first
    with patch.object(timestamps, "stamp", side_effect=_fail_first(timestamps.stamp)):
        assert log_sections.close_due_sections() == 1
    assert not DepositLogRoot.objects.filter(consultation_id=other.pk).exists()
    assert DepositLogRoot.objects.filter(consultation_id=consultation.pk).exists()
    # Next minute, the authority back: the other closes too.
    assert log_sections.close_due_sections() == 1


def _fail_first(real):
    """``real``, except that its first call fails as without an authority."""
    calls = {"n": 0}

    def side_effect(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise AuthorityNotConfigured
        return real(*args, **kwargs)

    return side_effect


def test_the_job_is_declared_every_minute():
    from mutualis.core import registry

    job = {j.name: j for j in registry.periodic_jobs()}["deposits_close_log_sections"]
    assert job.trigger.interval == timedelta(minutes=1)
    assert job.task.call() == 0


# --- Inclusion proofs --------------------------------------------------------------------


def test_a_proof_exists_only_once_the_section_is_closed_and_verifies(consultation, rep_x, rep_y):
    on_time, late = deposits_after_deadline(consultation, rep_x, rep_y)
    with pytest.raises(log_sections.ProofNotAvailable):
        log_sections.inclusion_proof(on_time[1])
    closed = log_sections.close_section(consultation, LogSection.ON_TIME)
    for index, deposit in enumerate(on_time):
        proof = log_sections.inclusion_proof(deposit)
        assert proof["leaf_index"] == index
        assert proof["tree_size"] == 3
        assert proof["root"] == closed.root
        assert proof["section"] == "on_time"
        assert base64.b64decode(proof["root_timestamp_token"]) == bytes(closed.timestamp_token)
        assert merkle.verify_inclusion(
            entry=bytes.fromhex(deposit.receipt_digest),
            index=proof["leaf_index"],
            size=proof["tree_size"],
            path=[bytes.fromhex(p) for p in proof["path"]],
            expected_root=bytes.fromhex(closed.root),
        )
    # The late deposit's proof waits for the opening.
    with pytest.raises(log_sections.ProofNotAvailable):
        log_sections.inclusion_proof(late)


def test_an_entry_added_after_closing_is_detected(consultation, rep_x, rep_y):
    on_time, _late = deposits_after_deadline(consultation, rep_x, rep_y)
    log_sections.close_section(consultation, LogSection.ON_TIME)
    log_sections.verify_section(consultation.pk, LogSection.ON_TIME)
    intruder = make_deposit(consultation, rep_x, log=False, late=False, received_at=past(7200))
    log_entry(intruder)
    with pytest.raises(log_sections.LogMismatch):
        log_sections.verify_section(consultation.pk, LogSection.ON_TIME)
    with pytest.raises(log_sections.LogMismatch):
        log_sections.inclusion_proof(on_time[0])


# --- The consultation's page ---------------------------------------------------------------


def public_page(client, consultation):
    return client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))


def test_the_public_page_shows_nothing_before_the_deadline(client, consultation, rep_x):
    make_deposit(consultation, rep_x)
    response = public_page(client, consultation)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Public deposit log" not in text
    assert "responses were received" not in text
    assert "response was received" not in text
    for section in ("on_time", "late"):
        for name in ("deposits_proof:root_token", "deposits_proof:root_json"):
            url = reverse(name, kwargs={"pk": consultation.pk, "section": section})
            assert client.get(url).status_code == 404


def test_the_public_page_shows_the_root_count_time_and_token_after_the_deadline(
    client, consultation, rep_x, rep_y
):
    deposits_after_deadline(consultation, rep_x, rep_y)
    text = public_page(client, consultation).content.decode()
    assert "the deposit log is being closed" in text
    log_sections.close_due_sections()
    closed = closed_root(consultation)
    text = public_page(client, consultation).content.decode()
    assert closed.root in text
    assert "3 responses were received before the deadline." in text
    token_url = reverse(
        "deposits_proof:root_token", kwargs={"pk": consultation.pk, "section": "on_time"}
    )
    assert token_url in text
    assert reverse("deposits_proof:how_it_works") in text
    token = client.get(token_url)
    assert token.status_code == 200
    assert b"".join(token.streaming_content if token.streaming else [token.content]) == bytes(
        closed.timestamp_token
    )
    document = client.get(
        reverse("deposits_proof:root_json", kwargs={"pk": consultation.pk, "section": "on_time"})
    ).json()
    assert document["root"] == closed.root
    assert document["tree_size"] == 3
    # The late section appears once the opening closed it.
    assert "after the deadline (kept sealed" not in text
    log_sections.close_section(consultation, LogSection.LATE)
    text = public_page(client, consultation).content.decode()
    assert "1 response was received after the deadline" in text


def test_a_consultation_without_sealed_deposits_shows_no_log(client, buyer):
    paper = make_consultation(buyer, reference="2027-007", publish=True)
    move_deadline(paper, past())
    assert "Public deposit log" not in public_page(client, paper).content.decode()


def test_root_downloads_refuse_unknown_sections_and_unpublished_consultations(
    client, buyer, consultation
):
    move_deadline(consultation, past())
    log_sections.close_section(consultation, LogSection.ON_TIME)
    ok = reverse("deposits_proof:root_json", kwargs={"pk": consultation.pk, "section": "on_time"})
    assert client.get(ok).status_code == 200
    bad = reverse("deposits_proof:root_json", kwargs={"pk": consultation.pk, "section": "late"})
    assert client.get(bad).status_code == 404  # not closed yet
    for section in ("x", "x" * 5000):
        bad = reverse(
            "deposits_proof:root_json", kwargs={"pk": consultation.pk, "section": section}
        )
        assert client.get(bad).status_code == 404
    # A NUL byte is refused before any view (the platform's middleware): 400, never 500.
    nul = reverse("deposits_proof:root_json", kwargs={"pk": consultation.pk, "section": "x\x00"})
    assert client.get(nul).status_code == 400
    huge = reverse("deposits_proof:root_json", kwargs={"pk": 10**30, "section": "on_time"})
    assert client.get(huge).status_code == 404
    draft = make_consultation(buyer, reference="2027-009")
    move_deadline(draft, past())
    log_sections.close_section(draft, LogSection.ON_TIME)
    hidden = reverse("deposits_proof:root_json", kwargs={"pk": draft.pk, "section": "on_time"})
    assert client.get(hidden).status_code == 404


def test_the_buyer_page_shows_the_log_after_the_deadline(client, buyer, consultation, rep_x):
    make_deposit(consultation, rep_x)
    client.force_login(buyer.user)
    url = reverse(
        "procurement:detail", kwargs={"org": buyer.organisation.slug, "pk": consultation.pk}
    )
    assert "Public deposit log" not in client.get(url).content.decode()
    move_deadline(consultation, past())
    log_sections.close_section(consultation, LogSection.ON_TIME)
    assert closed_root(consultation).root in client.get(url).content.decode()


def test_the_how_it_works_page_is_public(client):
    response = client.get(reverse("deposits_proof:how_it_works"))
    assert response.status_code == 200
    text = response.content.decode()
    assert reverse("evidence:timestamping") in text
    assert "openssl ts -verify -digest" in text
    assert "verify_inclusion.py" in text
    assert reverse("deposits_proof:receipt_certificate") in text


# --- A company's proof ---------------------------------------------------------------------


def company_url(name, rep, deposit):
    return reverse(name, kwargs={"company": rep.company.siren, "reference": deposit.reference})


def test_a_company_downloads_its_receipt_and_proof_only_after_closing(
    client, consultation, rep_x, rep_y
):
    on_time, _late = deposits_after_deadline(consultation, rep_x, rep_y)
    mine = on_time[1]  # rep_x's
    client.force_login(rep_x.user)
    early = client.get(company_url("company_deposits_proof:proof_json", rep_x, mine))
    assert early.status_code == 409
    assert "once the deposit log" in early.json()["error"]
    page = client.get(company_url("company_deposits_proof:proof", rep_x, mine))
    assert page.status_code == 200
    assert "once the deposit log" in page.content.decode()
    log_sections.close_section(consultation, LogSection.ON_TIME)
    proof = client.get(company_url("company_deposits_proof:proof_json", rep_x, mine)).json()
    assert proof["leaf_index"] == 1
    assert proof["deposit"] == mine.reference
    receipt = client.get(company_url("company_deposits_proof:receipt_json", rep_x, mine))
    assert hashlib.sha256(receipt.content).hexdigest() == mine.receipt_digest
    page = client.get(company_url("company_deposits_proof:proof", rep_x, mine)).content.decode()
    assert proof["root"] in page


def test_another_companys_deposit_is_404(client, consultation, rep_x, rep_y):
    on_time, _late = deposits_after_deadline(consultation, rep_x, rep_y)
    log_sections.close_section(consultation, LogSection.ON_TIME)
    theirs = on_time[0]  # rep_y's
    client.force_login(rep_x.user)
    for name in (
        "company_deposits_proof:proof_json",
        "company_deposits_proof:receipt_json",
        "company_deposits_proof:proof",
    ):
        # Under X's path, Y's reference: not found.
        assert client.get(company_url(name, rep_x, theirs)).status_code == 404
        # Under Y's path: X does not represent Y.
        assert client.get(company_url(name, rep_y, theirs)).status_code == 404
    client.logout()
    anonymous = client.get(company_url("company_deposits_proof:proof_json", rep_y, theirs))
    assert anonymous.status_code == 302


@pytest.mark.parametrize("reference", ["x" * 200, "D\x00", "D%00", "é"])
def test_bad_references_are_404(client, rep_x, reference):
    client.force_login(rep_x.user)
    url = reverse(
        "company_deposits_proof:proof_json",
        kwargs={"company": rep_x.company.siren, "reference": "PLACEHOLDER"},
    ).replace("PLACEHOLDER", reference)
    # 404, or 400 where the platform's middleware refuses a NUL byte first; never 500.
    assert client.get(url).status_code in (400, 404)


def test_a_changed_receipt_is_not_served(client, consultation, rep_x):
    from mutualis.deposits.models import Deposit

    deposit = make_deposit(consultation, rep_x)
    with scopes_disabled():
        Deposit.for_organisation.filter(pk=deposit.pk).update(receipt={"changed": True})
    client.force_login(rep_x.user)
    response = client.get(company_url("company_deposits_proof:receipt_json", rep_x, deposit))
    assert response.status_code == 409


# --- The offline check ---------------------------------------------------------------------


def run_script(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_a_bidder_checks_its_deposit_offline_with_the_script_and_openssl(
    client, consultation, rep_x, rep_y, tmp_path
):
    on_time, _late = deposits_after_deadline(consultation, rep_x, rep_y)
    log_sections.close_due_sections()
    closed = closed_root(consultation)
    mine = on_time[1]
    client.force_login(rep_x.user)
    (tmp_path / "receipt.json").write_bytes(
        client.get(company_url("company_deposits_proof:receipt_json", rep_x, mine)).content
    )
    (tmp_path / "proof.json").write_bytes(
        client.get(company_url("company_deposits_proof:proof_json", rep_x, mine)).content
    )
    client.logout()
    token = client.get(
        reverse("deposits_proof:root_token", kwargs={"pk": consultation.pk, "section": "on_time"})
    )
    (tmp_path / "root.tst").write_bytes(token.content)
    published = ["--root", closed.root, "--size", str(closed.size)]

    done = run_script(
        "--receipt",
        "receipt.json",
        "--proof",
        "proof.json",
        *published,
        "--token",
        "root.tst",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: receipt" in done.stdout
    assert "The token covers this root" in done.stdout

    # Another receipt, another root, another size, another token: each is refused.
    (tmp_path / "other.json").write_text(json.dumps({"reference": mine.reference}))
    refused = run_script(
        "--receipt", "other.json", "--proof", "proof.json", *published, cwd=tmp_path
    )
    assert refused.returncode == 1
    wrong_root = run_script(
        "--receipt",
        "receipt.json",
        "--proof",
        "proof.json",
        "--root",
        hashlib.sha256(b"x").hexdigest(),
        "--size",
        "3",
        cwd=tmp_path,
    )
    assert wrong_root.returncode == 1
    (tmp_path / "other.tst").write_bytes(timestamps.stamp(hashlib.sha256(b"x").digest()))
    wrong_token = run_script(
        "--receipt",
        "receipt.json",
        "--proof",
        "proof.json",
        *published,
        "--token",
        "other.tst",
        cwd=tmp_path,
    )
    assert wrong_token.returncode == 1
    assert "covers another root" in wrong_token.stdout
    (tmp_path / "junk.tst").write_bytes(b"\x30\x03junk")
    junk = run_script(
        "--receipt",
        "receipt.json",
        "--proof",
        "proof.json",
        *published,
        "--token",
        "junk.tst",
        cwd=tmp_path,
    )
    assert junk.returncode == 2

    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    verified = subprocess.run(  # noqa: S603
        [
            OPENSSL,
            "ts",
            "-verify",
            "-digest",
            closed.root,
            "-in",
            "root.tst",
            "-token_in",
            "-CAfile",
            str(settings.MUTUALIS_TSA_CERTIFICATE_PATH),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert "Verification: OK" in verified.stdout, verified.stdout + verified.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_closers_at_once_make_one_root(buyer, rep_x):
    """The job on two schedulers (a failover), or the job and the opening: one root."""
    import threading

    from django.db import connection

    consultation = accept_deposits(make_consultation(buyer, publish=True), buyer)
    make_deposit(consultation, rep_x)
    move_deadline(consultation, past())
    barrier = threading.Barrier(2)
    roots: list[int] = []
    errors: list[BaseException] = []

    def close() -> None:
        try:
            barrier.wait(timeout=10)
            roots.append(log_sections.close_section(consultation, LogSection.ON_TIME).pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(roots) == 2
    assert len(set(roots)) == 1
    assert DepositLogRoot.objects.filter(consultation_id=consultation.pk).count() == 1
