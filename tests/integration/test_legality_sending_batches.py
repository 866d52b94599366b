"""The sending job works by chunks of acts of several members: claimed together, POSTed
one by one, recorded together, each act with its own transition, attempt and event on
its member's chain (``transmission.send_due_acts``, ``audit.chain.record_many``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditChainHead, AuditEvent
from mutualis.legality import transmission
from mutualis.legality.models import Act, ActStatus, TransmissionAttempt
from tests.factories.legality import enrol, legality_agent, subscribe
from tests.factories.standin import fresh, waiting_act

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_clerk(org_b, agent_b):
    org_b.siren = "213100200"
    org_b.save(update_fields=["siren"])
    subscribe(org_b)
    enrol(agent_b)
    return legality_agent(org_b, "clerk.b@example.org", roles=("legality_agent",))


def chain_events(org) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=f"org:{org.pk}").order_by("sequence"))


def assert_chain_intact(org) -> None:
    events = chain_events(org)
    previous = audit.GENESIS_HASH
    for sequence, event in enumerate(events, start=1):
        assert event.sequence == sequence
        assert event.prev_hash == previous
        assert event.hash == audit.hash_of(event)
        assert event.payload_digest == audit.payload_digest(event.payload)
        previous = event.hash
    with scopes_disabled():
        head = AuditChainHead.objects.get(chain=f"org:{org.pk}")
    assert (head.sequence, head.hash) == (len(events), previous)


def test_acts_of_two_members_sent_in_chunks_each_with_its_event(
    standin, member, clerk, org_b, other_clerk, monkeypatch
):
    monkeypatch.setattr(transmission, "CHUNK", 2)
    acts = [
        waiting_act(clerk, number="DEL_A_1"),
        waiting_act(other_clerk, number="DEL_B_1"),
        waiting_act(clerk, number="DEL_A_2"),
        waiting_act(other_clerk, number="DEL_B_2"),
        waiting_act(clerk, number="DEL_A_3"),
    ]

    counts = transmission.send_due_acts()

    assert counts == {"sent": 5, "retry": 0, "failed": 0, "capped": 0}
    assert standin.posts == 5
    for act in acts:
        act = fresh(act)
        assert (act.status, act.send_attempts, act.next_attempt_at) == (ActStatus.SENT, 1, None)
        with scopes_disabled():
            [attempt] = TransmissionAttempt.objects.filter(act_id=act.pk)
        assert (attempt.outcome, attempt.http_status) == ("sent", 201)
    for org, numbers in (
        (member, ["DEL_A_1", "DEL_A_2", "DEL_A_3"]),
        (org_b, ["DEL_B_1", "DEL_B_2"]),
    ):
        sent = [e for e in chain_events(org) if e.action == "legality.act_sent"]
        assert [e.actor for e in sent] == ["system:legality.transmission"] * len(numbers)
        with scopes_disabled():
            sent_numbers = [Act.objects.get(pk=int(e.object_id)).number for e in sent]
        assert sent_numbers == numbers
        assert_chain_intact(org)
    assert transmission.send_due_acts()["sent"] == 0


def test_one_chunk_with_a_refusal_and_an_acceptance(standin, member, clerk):
    standin.fail_next = [422]
    first = waiting_act(clerk, number="DEL_2026_001")
    second = waiting_act(clerk, number="DEL_2026_002")

    counts = transmission.send_due_acts()

    assert (counts["sent"], counts["failed"]) == (1, 1)
    assert fresh(first).status == ActStatus.ERROR
    assert "HTTP 422" in fresh(first).error_reason
    assert fresh(second).status == ActStatus.SENT
    actions = [e.action for e in chain_events(member)][-2:]
    assert actions == ["legality.act_failed", "legality.act_sent"]
    assert_chain_intact(member)


def test_an_act_whose_lease_ran_out_is_given_back_unsent(standin, member, clerk, monkeypatch):
    """A slow endpoint: by the time the chunk reaches an act, its lease (the next
    attempt's time set by the claim) has run out; it is not posted, the attempt is given
    back, and the next run sends it."""
    act = waiting_act(clerk)
    clock = iter([0.0, 10_000.0])
    monkeypatch.setattr(transmission, "monotonic", lambda: next(clock))

    counts = transmission.send_due_acts()

    assert counts["sent"] == 0
    assert standin.posts == 0
    act = fresh(act)
    assert (act.status, act.send_attempts, act.next_attempt_at) == (ActStatus.WAITING, 0, None)
    monkeypatch.undo()
    assert transmission.send_due_acts()["sent"] == 1


def test_the_sending_job_s_statements_do_not_grow_per_act_beyond_a_few(standin, member, clerk):
    """Claims, attempts, statuses and events are written by chunk: a handful of
    statements per act (the webhooks' look-up of each change stays per act)."""
    for n in range(6):
        waiting_act(clerk, number=f"DEL_2026_{n:03d}")

    with CaptureQueriesContext(connection) as queries:
        assert transmission.send_due_acts()["sent"] == 6

    assert len(queries) <= 16 + 6 * 2


def test_the_day_s_serial_counts_acts_and_other_messages_together(member, clerk):
    """``outbox.next_serial`` counts the day's packages of both tables in one statement."""
    from django.utils import timezone

    from mutualis.legality import classification

    today = f"{timezone.localdate():%Y%m%d}"
    first = waiting_act(clerk, number="DEL_2026_001")
    request = classification.request_classification(actor=clerk)
    second = waiting_act(clerk, number="DEL_2026_002")

    assert first.package_name.endswith(f"--{today}-1.tar.gz")
    assert request.package_name.endswith(f"--{today}-2.tar.gz")
    assert second.package_name.endswith(f"--{today}-3.tar.gz")


def test_the_hourly_cap_reached_within_a_chunk_holds_back_the_rest_of_the_run(
    standin, member, clerk, settings, monkeypatch
):
    monkeypatch.setattr(transmission, "CHUNK", 2)
    acts = [waiting_act(clerk, number=f"DEL_2026_{n:03d}") for n in range(3)]
    settings.MUTUALIS_LEGALITY_HOURLY_CAP_BYTES = acts[0].package.size

    counts = transmission.send_due_acts()

    assert (counts["sent"], counts["capped"]) == (1, 2)
    assert standin.posts == 1
    assert fresh(acts[0]).status == ActStatus.SENT
    for act in acts[1:]:
        act = fresh(act)
        # Held back, not attempted: the claim was given back.
        assert (act.status, act.send_attempts, act.next_attempt_at) == (ActStatus.WAITING, 0, None)
