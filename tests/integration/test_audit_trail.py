"""The tamper-evident audit trail: chains, checkpoints, verification, erasure.

Tamper tests act as an intruder with write access to the database: they switch the
append-only trigger off for their own transaction (``tampering()``), change rows, and
expect ``verify_all_chains`` to name the chain and the first broken event.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.forms.models import model_to_dict
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.instance import instance_identifier
from mutualis.core.models import (
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditEventContext,
    AuditSubject,
)
from tests.factories.core import OrganisationFactory
from tests.factories.identity import make_member

pytestmark = pytest.mark.django_db

PG_TRIGGER = "core_auditevent_append_only"
SQLITE_TRIGGER = "core_auditevent_no_update"


@contextmanager
def tampering() -> Iterator[None]:
    """Write to the events as an intruder would: the append-only trigger off, no scope.

    PostgreSQL disables the trigger, SQLite drops its triggers and creates them again
    from their stored SQL; both are DDL inside the test's transaction, undone by its
    rollback anyway, and restored on leaving so that the rest of the test is guarded.
    """
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            # ALTER TABLE waits for no deferred foreign-key check: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER " + PG_TRIGGER)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            restore = [
                "SET CONSTRAINTS ALL IMMEDIATE",
                "ALTER TABLE core_auditevent ENABLE TRIGGER " + PG_TRIGGER,
                "SET CONSTRAINTS ALL DEFERRED",
            ]
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'core_auditevent'"
            )
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute('DROP TRIGGER "' + name + '"')
            restore = [sql for _name, sql in triggers]
    try:
        with scopes_disabled():
            yield
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)


def events(chain: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=chain).order_by("sequence"))


def event(chain: str, sequence: int) -> AuditEvent:
    with scopes_disabled():
        return AuditEvent.objects.get(chain=chain, sequence=sequence)


def fill(organisation, actor, count: int, **extra) -> str:
    """``count`` events on the organisation's chain; returns the chain's name."""
    for step in range(count):
        audit.record(
            actor=actor,
            organisation=organisation,
            action="test.step",
            target=organisation,
            payload={"step": step, "amount": "12.50"},
            **extra,
        )
    return audit.organisation_chain(organisation.pk)


def only_problem(report: audit.VerifyReport) -> audit.Problem:
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    return report.problems[0]


def checkpoint_file() -> Path:
    from django.conf import settings

    return Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE)


def file_lines() -> list[str]:
    path = checkpoint_file()
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def trail(org_a, org_b, agent_a):
    """Five events on org A's chain, three on org B's, two on the platform's."""
    chain_a = fill(org_a, agent_a, 5)
    chain_b = fill(org_b, audit.SystemActor("test"), 3)
    audit.record(actor=None, action="platform.started")
    audit.record(actor=audit.SystemActor("import"), action="territory.imported")
    return chain_a, chain_b


# --- Recording ---------------------------------------------------------------------------


def test_each_chain_is_numbered_from_one_without_gaps(trail, org_a, org_b):
    chain_a, chain_b = trail
    assert [e.sequence for e in events(chain_a)] == [1, 2, 3, 4, 5]
    assert [e.sequence for e in events(chain_b)] == [1, 2, 3]
    assert [e.sequence for e in events(audit.PLATFORM_CHAIN)] == [1, 2]
    assert {e.organisation_id for e in events(chain_a)} == {org_a.pk}
    assert {e.organisation_id for e in events(audit.PLATFORM_CHAIN)} == {None}


def test_each_event_hashes_the_previous_one(trail):
    chain_a, _ = trail
    chain = events(chain_a)
    assert chain[0].prev_hash == audit.GENESIS_HASH
    for previous, current in itertools.pairwise(chain):
        assert current.prev_hash == previous.hash
    assert AuditChainHead.objects.get(chain=chain_a).hash == chain[-1].hash


def test_a_membership_records_on_its_organisation_chain(agent_a, org_a):
    recorded = audit.record(actor=agent_a, action="test.done")
    assert recorded.chain == audit.organisation_chain(org_a.pk)
    assert recorded.actor == audit.subject_reference(agent_a.user.audit_pseudonym)


def test_the_stored_payload_is_the_hashed_one(org_a):
    """Tuples and decimals are stored as their JSON form, so the digest still matches."""
    from decimal import Decimal

    recorded = audit.record(
        actor=None,
        organisation=org_a,
        action="test.step",
        payload={"roles": ("a", "b"), "fee": Decimal("1.5")},
    )
    stored = event(recorded.chain, recorded.sequence)
    assert stored.payload == {"fee": "1.5", "roles": ["a", "b"]}
    assert audit.payload_digest(stored.payload) == stored.payload_digest


# --- Verification of intact chains ----------------------------------------------------------


def test_verify_passes_on_intact_chains_with_checkpoints(trail, org_a, agent_a):
    audit.checkpoint_all_chains()
    fill(org_a, agent_a, 2)  # events after the last checkpoint are fine

    report = audit.verify_all_chains()

    assert report.ok, [str(p) for p in report.problems]
    assert (report.chains, report.events) == (3, 12)
    assert report.checkpoints_checked == 6  # three chains, in the database and the file


def test_verify_passes_on_an_empty_trail(db):
    report = audit.verify_all_chains()
    assert report.ok
    assert (report.chains, report.events, report.checkpoints_checked) == (0, 0, 0)


# --- Tampering with events ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"action": "test.forged"}, "event_altered"),
        ({"actor": "system:nobody"}, "event_altered"),
        ({"occurred_at": datetime(2020, 1, 1, tzinfo=UTC)}, "event_altered"),
        ({"object_id": "999"}, "event_altered"),
        ({"payload": {"step": 2, "amount": "0.01"}}, "payload_altered"),
    ],
)
def test_altering_an_event_names_its_chain_and_sequence(trail, change, code):
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=3).update(**change)

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 3, code)
    assert str(problem).startswith(f"{chain_a}#3: ")


def test_altering_a_payload_and_its_digest_is_detected(trail):
    chain_a, _ = trail
    forged = {"step": 2, "amount": "0.01"}
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=3).update(
            payload=forged, payload_digest=audit.payload_digest(forged)
        )

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 3, "event_altered")


def test_moving_an_event_to_another_organisation_is_detected(trail, org_b):
    """The organisation decides who may read the event, so it is hashed too."""
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=2).update(organisation=org_b)

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 2, "event_altered")


def test_deleting_a_middle_event_is_detected(trail):
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=3).delete()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 3, "event_missing")


def test_swapping_two_events_is_detected(trail):
    chain_a, _ = trail
    with tampering():
        rows = AuditEvent.objects.filter(chain=chain_a)
        rows.filter(sequence=2).update(sequence=1000)
        rows.filter(sequence=3).update(sequence=2)
        rows.filter(sequence=1000).update(sequence=3)

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 2, "out_of_order")


def test_a_chain_rewritten_with_recomputed_hashes_is_caught_by_its_checkpoint(trail):
    """An intruder who recomputes every hash leaves a consistent chain: only the signed
    checkpoint tells."""
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    with tampering():
        prev_hash = event(chain_a, 2).hash
        for forged in events(chain_a)[2:]:
            forged.action = "test.forged" if forged.sequence == 3 else forged.action
            forged.prev_hash = prev_hash
            forged.hash = audit.hash_of(forged)
            forged.save()
            prev_hash = forged.hash
        AuditChainHead.objects.filter(chain=chain_a).update(hash=prev_hash)

    report = audit.verify_all_chains()

    assert [(p.chain, p.sequence, p.code) for p in report.problems] == [(chain_a, 5, "rewritten")]


# --- Cutting the tail -----------------------------------------------------------------------


def cut_tail(chain: str, keep: int) -> None:
    """Delete the events after ``keep`` and rewind the head, as an intruder would."""
    with tampering():
        AuditEvent.objects.filter(chain=chain, sequence__gt=keep).delete()
        AuditChainHead.objects.filter(chain=chain).update(
            sequence=keep, hash=event(chain, keep).hash
        )


def test_a_cut_tail_goes_unnoticed_without_a_checkpoint(trail):
    """Why checkpoints exist: a chain cut and rewound is consistent in itself."""
    chain_a, _ = trail
    cut_tail(chain_a, keep=3)
    assert audit.verify_all_chains().ok


def test_a_cut_tail_is_detected_by_the_checkpoints(trail):
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    cut_tail(chain_a, keep=3)

    report = audit.verify_all_chains()

    problem = only_problem(report)
    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 4, "cut_off")
    assert "#5" in problem.message


def test_a_cut_tail_is_still_detected_when_the_database_checkpoints_are_deleted(trail):
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    cut_tail(chain_a, keep=3)
    AuditCheckpoint.objects.all().delete()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 4, "cut_off")
    assert str(audit.PLACES["file"]) in problem.message


def test_a_cut_tail_is_still_detected_when_the_file_is_lost(trail):
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    cut_tail(chain_a, keep=3)
    checkpoint_file().unlink()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 4, "cut_off")
    assert str(audit.PLACES["database"]) in problem.message


def test_a_cut_tail_hidden_under_new_events_is_detected(trail, org_a, agent_a):
    """Cut, rewound, then written again: the new #4 and #5 differ from the signed #5."""
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    cut_tail(chain_a, keep=3)
    AuditCheckpoint.objects.all().delete()  # and the database copy with it
    fill(org_a, agent_a, 3)

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 5, "rewritten")


def test_deleting_a_whole_chain_is_detected(trail):
    _, chain_b = trail
    audit.checkpoint_all_chains()
    with tampering():
        AuditEvent.objects.filter(chain=chain_b).delete()
        AuditChainHead.objects.filter(chain=chain_b).delete()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_b, 1, "cut_off")


def test_a_head_left_ahead_of_the_events_is_detected(trail):
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=5).delete()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 5, "cut_off")


# --- Checkpoints ----------------------------------------------------------------------------


def test_a_checkpoint_is_kept_in_the_database_and_the_file(trail):
    chain_a, _ = trail
    made = audit.checkpoint_all_chains()

    assert sorted(c.chain for c in made) == sorted([chain_a, trail[1], audit.PLATFORM_CHAIN])
    stored = AuditCheckpoint.objects.get(chain=chain_a)
    assert (stored.sequence, stored.hash) == (5, event(chain_a, 5).hash)
    in_file = [json.loads(line) for line in file_lines()]
    assert {"chain": chain_a, "sequence": 5, "hash": stored.hash}.items() <= next(
        r for r in in_file if r["chain"] == chain_a
    ).items()


def test_checkpointing_twice_writes_nothing_the_second_time(trail):
    first = audit.checkpoint_all_chains()
    lines = file_lines()

    second = audit.checkpoint_all_chains()

    assert len(first) == 3
    assert second == []
    assert file_lines() == lines
    assert AuditCheckpoint.objects.count() == 3


def test_only_chains_that_moved_are_checkpointed_again(trail, org_a, agent_a):
    audit.checkpoint_all_chains()
    chain_a = fill(org_a, agent_a, 1)

    made = audit.checkpoint_all_chains()

    assert [(c.chain, c.sequence) for c in made] == [(chain_a, 6)]


def test_a_chain_cut_behind_its_checkpoint_is_not_signed_again(trail, org_a, agent_a):
    """The job refuses to vouch for a chain that no longer extends its last checkpoint,
    and still signs the others."""
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    cut_tail(chain_a, keep=3)
    fill(org_a, agent_a, 3)
    audit.record(actor=None, action="platform.moved")

    with pytest.raises(audit.AuditChainBroken) as caught:
        audit.checkpoint_all_chains()

    assert [(p.chain, p.sequence, p.code) for p in caught.value.problems] == [
        (chain_a, 5, "rewritten")
    ]
    assert [c.chain for c in caught.value.made] == [audit.PLATFORM_CHAIN]
    assert AuditCheckpoint.objects.filter(chain=chain_a).count() == 1


def test_a_forged_checkpoint_signature_in_the_database_is_detected(trail):
    chain_a, _ = trail
    audit.checkpoint_all_chains()
    forged = AuditCheckpoint.objects.get(chain=chain_a)
    forged.signature = (
        forged.signature[:10]
        + ("A" if forged.signature[10] != "A" else "B")
        + (forged.signature[11:])
    )
    forged.save()

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.code) == (chain_a, "bad_signature")
    assert str(audit.PLACES["database"]) in problem.message


def test_a_checkpoint_signed_with_another_key_is_detected(trail):
    """A line forged in the file, claiming a longer chain, is refused, not believed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    chain_a, _ = trail
    audit.checkpoint_all_chains()
    signed_at = "2026-01-01T00:00:00+00:00"
    other_key = Ed25519PrivateKey.generate()
    instance = str(instance_identifier())
    signature = other_key.sign(audit.checkpoint_message(chain_a, 9, "f" * 64, signed_at, instance))
    import base64

    line = {
        "instance": instance,
        "chain": chain_a,
        "sequence": 9,
        "hash": "f" * 64,
        "signed_at": signed_at,
        "key_id": audit.key_id(other_key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }
    with checkpoint_file().open("a") as handle:
        handle.write(json.dumps(line) + "\n")

    problem = only_problem(audit.verify_all_chains())

    assert (problem.chain, problem.sequence, problem.code) == (chain_a, 9, "bad_signature")
    assert str(audit.PLACES["file"]) in problem.message


def test_an_unreadable_line_of_the_checkpoint_file_is_reported(trail):
    audit.checkpoint_all_chains()
    with checkpoint_file().open("a") as handle:
        handle.write('{"chain": "org:1", "sequ\n')

    problem = only_problem(audit.verify_all_chains())

    assert problem.code == "checkpoint_unreadable"


# --- The database refuses changes ------------------------------------------------------------


def test_the_database_refuses_to_update_an_event(trail):
    chain_a, _ = trail
    refused = pytest.raises(DatabaseError, match="append-only")
    with scopes_disabled(), refused, transaction.atomic():
        AuditEvent.objects.filter(chain=chain_a, sequence=1).update(action="test.forged")
    assert event(chain_a, 1).action == "test.step"


def test_tampering_leaves_the_trigger_armed_afterwards(trail):
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=1).update(action="test.forged")
    refused = pytest.raises(DatabaseError, match="append-only")
    with scopes_disabled(), refused, transaction.atomic():
        AuditEvent.objects.filter(chain=chain_a, sequence=2).update(action="test.forged")


@pytest.mark.postgres
def test_postgresql_refuses_to_delete_an_event_but_not_to_truncate(trail):
    """TRUNCATE fires no row trigger: the test runner's flush keeps working."""
    chain_a, _ = trail
    refused = pytest.raises(DatabaseError, match="append-only")
    with scopes_disabled(), refused, transaction.atomic():
        AuditEvent.objects.filter(chain=chain_a, sequence=5).delete()
    assert len(events(chain_a)) == 5

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE, like ALTER, needs it
            cursor.execute("TRUNCATE core_auditevent, core_auditeventcontext")
        assert len(events(chain_a)) == 0
        transaction.set_rollback(True)
    assert len(events(chain_a)) == 5


def test_sqlite_keeps_no_delete_trigger(db):
    """On SQLite the flush of transactional tests deletes rows: only UPDATE is refused."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditevent'"
        )
        assert [row[0] for row in cursor.fetchall()] == [SQLITE_TRIGGER]


# --- Commands -----------------------------------------------------------------------------


def run(command: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_audit_verify_exits_zero_on_intact_chains_with_a_summary(trail):
    run("audit_checkpoint")
    out, err = run("audit_verify")
    assert "Chains: 3, events: 10, checkpoints checked: 6." in out
    assert err == ""


def test_audit_verify_names_the_first_broken_event(trail):
    chain_a, _ = trail
    with tampering():
        AuditEvent.objects.filter(chain=chain_a, sequence=4).update(action="test.forged")

    with pytest.raises(CommandError, match=f"{chain_a}#4: "):
        run("audit_verify")


def test_audit_verify_exits_non_zero_from_the_command_line(trail, capsys):
    chain_a, _ = trail
    run("audit_checkpoint")
    cut_tail(chain_a, keep=2)

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["mutualis", "audit_verify"])

    assert exited.value.code == 1
    assert f"{chain_a}#3: " in capsys.readouterr().err


def test_audit_checkpoint_command_is_idempotent(trail):
    first, _ = run("audit_checkpoint")
    lines = file_lines()

    second, _ = run("audit_checkpoint")

    assert "Signed 3 checkpoints." in first
    assert "already checkpointed" in second
    assert file_lines() == lines
    assert AuditCheckpoint.objects.count() == 3


def test_audit_checkpoint_command_fails_on_a_broken_chain(trail):
    chain_a, _ = trail
    run("audit_checkpoint")
    cut_tail(chain_a, keep=3)
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 chain was not checkpointed"):
        call_command("audit_checkpoint", stdout=out, stderr=err)

    assert f"{chain_a}#4: " in err.getvalue()
    assert "already checkpointed" not in out.getvalue()


def test_init_keys_creates_a_private_key_once(settings, tmp_path):
    settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH = tmp_path / "new" / "audit.pem"

    created, _ = run("init_keys")
    again, _ = run("init_keys")

    path = settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH
    key_id = audit.key_id(audit.load_signing_key().public_key())
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"Created the audit signing key {path} (key id {key_id})." in created
    assert f"{path} is already there (key id {key_id})" in again


def test_init_keys_does_nothing_when_the_key_comes_from_the_environment(settings, tmp_path):
    settings.MUTUALIS_AUDIT_SIGNING_KEY = settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH.read_text()
    settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH = tmp_path / "unused.pem"

    out, _ = run("init_keys")

    assert "MUTUALIS_AUDIT_SIGNING_KEY: nothing to do" in out
    assert not settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH.exists()


# --- Personal data --------------------------------------------------------------------------

NAME, EMAIL, ADDRESS, BROWSER = (
    "Camille Martin",
    "agent.a@example.org",
    "203.0.113.7",
    "Firefox/140",
)


def test_personal_data_stays_out_of_the_hashed_event(agent_a):
    recorded = audit.record(
        actor=agent_a, action="test.signed_in", source_address=ADDRESS, user_agent=BROWSER
    )

    subject = AuditSubject.objects.get(pseudonym=agent_a.user.audit_pseudonym)
    context = AuditEventContext.objects.get(event=recorded)
    assert (subject.display_name, subject.email) == (NAME, EMAIL)
    assert (context.source_address, context.user_agent) == (ADDRESS, BROWSER)
    row = json.dumps(model_to_dict(event(recorded.chain, recorded.sequence)), default=str)
    for personal in (NAME, "Camille", "Martin", EMAIL, ADDRESS, BROWSER):
        assert personal not in row


def test_erasing_a_person_keeps_every_chain_intact(agent_a, agent_b):
    for agent in (agent_a, agent_b):
        audit.record(actor=agent, action="test.step", source_address=ADDRESS, user_agent=BROWSER)
    audit.checkpoint_all_chains()

    deleted = audit.erase_subject(agent_a.user.audit_pseudonym)

    subject = AuditSubject.objects.get(pseudonym=agent_a.user.audit_pseudonym)
    assert deleted == 1
    assert (subject.display_name, subject.email) == ("", "")
    assert subject.erased_at is not None
    assert not AuditEventContext.objects.filter(
        event__actor=audit.subject_reference(agent_a.user.audit_pseudonym)
    ).exists()
    assert AuditEventContext.objects.count() == 1  # the other person's context stays
    assert AuditSubject.objects.get(pseudonym=agent_b.user.audit_pseudonym).email
    assert audit.verify_all_chains().ok


def test_an_erased_person_does_not_come_back_with_a_late_event(agent_a):
    audit.record(actor=agent_a, action="test.step")
    audit.erase_subject(agent_a.user.audit_pseudonym)

    audit.record(actor=agent_a, action="test.late_job_finished")

    subject = AuditSubject.objects.get(pseudonym=agent_a.user.audit_pseudonym)
    assert (subject.display_name, subject.email) == ("", "")


def test_blanking_subjects_and_deleting_contexts_by_hand_keeps_verify_ok(agent_a):
    audit.record(actor=agent_a, action="test.step", source_address=ADDRESS)
    AuditSubject.objects.update(display_name="", email="")
    AuditEventContext.objects.all().delete()
    assert audit.verify_all_chains().ok


# --- Concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_a_chain():
    """8 writers, 25 events each, on one chain, each on its own connection, from the chain's
    very first event (the head row is created under contention too)."""
    organisation = OrganisationFactory()
    member = make_member(organisation, "writer@example.org")
    writers, per_writer = 8, 25
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait()
            for step in range(per_writer):
                actor = member if number % 2 else audit.SystemActor(f"writer-{number}")
                audit.record(
                    actor=actor,
                    organisation=organisation,
                    action="test.concurrent",
                    payload={"writer": number, "step": step},
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    chain = audit.organisation_chain(organisation.pk)
    assert [e.sequence for e in events(chain)] == list(range(1, writers * per_writer + 1))
    assert AuditChainHead.objects.get(chain=chain).sequence == writers * per_writer
    assert len(audit.checkpoint_all_chains()) == 1
    assert audit.verify_all_chains().ok


@pytest.mark.django_db
def test_a_company_representatives_event_must_name_the_companys_chain(org_a):
    """A representative's event never lands on the platform's or an organisation's chain:
    without the company's chain named, it is refused and nothing is written."""
    from tests.factories.companies import company_siren, register_company, verified_person

    representative = register_company(verified_person("rep@example.org"), siren=company_siren(9))
    with scopes_disabled():
        before = AuditEvent.objects.count()
    for chain in (None, audit.PLATFORM_CHAIN, audit.organisation_chain(org_a.pk)):
        with pytest.raises(ValueError, match="company's chain"):
            audit.record(actor=representative, action="test.refused", chain=chain)
    event = audit.record(
        actor=representative,
        action="test.kept",
        chain=audit.company_chain(representative.company_id),
    )
    assert event.chain == audit.company_chain(representative.company_id)
    with scopes_disabled():
        assert AuditEvent.objects.count() == before + 1
