"""``record_many``: a batch of events appended at once writes exactly the chains that
``record`` would have written one event at a time, which verification accepts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.audit import chain as audit_chain
from mutualis.core.audit.chain import PendingEvent, record_many
from mutualis.core.models import AuditChainHead, AuditEvent, AuditEventContext
from tests.factories.identity import make_member

pytestmark = pytest.mark.django_db

ACTOR = audit.SystemActor("tests.batch")


def specs(org_a, org_b) -> list[PendingEvent]:
    """Events interleaved on three chains (two members' and the platform's)."""
    return [
        PendingEvent(actor=ACTOR, action="test.one", organisation=org_a, payload={"n": 1}),
        PendingEvent(actor=ACTOR, action="test.two", organisation=org_b, target=org_b),
        PendingEvent(actor=ACTOR, action="test.three", organisation=org_a, payload={"n": (3,)}),
        PendingEvent(actor=None, action="test.four"),
        PendingEvent(actor=ACTOR, action="test.five", organisation=org_a, target=org_a),
    ]


def clock():
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return (start + timedelta(microseconds=n) for n in range(1000))


def written() -> list[tuple]:
    with scopes_disabled():
        return [
            (e.chain, e.sequence, e.prev_hash, e.hash, e.occurred_at, e.payload, e.object_id)
            for e in AuditEvent.objects.order_by("chain", "sequence")
        ]


def test_record_many_writes_the_chains_record_would(org_a, org_b):
    # Each chain already has an event, so the batch continues existing heads.
    audit.record(actor=ACTOR, action="test.before", organisation=org_a)
    audit.record(actor=ACTOR, action="test.before")
    events = specs(org_a, org_b)

    with mock.patch.object(audit_chain.timezone, "now", side_effect=clock()):
        savepoint = transaction.savepoint()
        for spec in events:
            audit.record(**vars(spec))
        one_by_one = written()
        transaction.savepoint_rollback(savepoint)
    with mock.patch.object(audit_chain.timezone, "now", side_effect=clock()):
        returned = record_many(events)

    assert written() == one_by_one
    assert [e.action for e in returned] == [spec.action for spec in events]
    assert all(e.pk is not None for e in returned)
    heads = {h.chain: h.sequence for h in AuditChainHead.objects.all()}
    assert heads == {f"org:{org_a.pk}": 4, f"org:{org_b.pk}": 1, "platform": 2}
    assert audit.verify_all_chains().ok


def test_record_and_record_many_follow_one_another_on_a_chain(org_a):
    audit.record(actor=ACTOR, action="test.first", organisation=org_a)
    record_many([PendingEvent(actor=ACTOR, action="test.batch", organisation=org_a)] * 3)
    audit.record(actor=ACTOR, action="test.last", organisation=org_a)
    audit.checkpoint_all_chains()
    record_many([PendingEvent(actor=ACTOR, action="test.after", organisation=org_a)])

    with scopes_disabled():
        chain = list(AuditEvent.objects.filter(chain=f"org:{org_a.pk}").order_by("sequence"))
    assert [e.sequence for e in chain] == [1, 2, 3, 4, 5, 6]
    assert all(e.hash == audit.hash_of(e) for e in chain)
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert audit.verify_all_chains().ok


def test_record_many_keeps_a_person_s_context_out_of_the_chain(org_a):
    member = make_member(org_a, "someone@example.org", roles=["org_admin"])

    [event] = record_many(
        [
            PendingEvent(
                actor=member,
                action="test.by_a_person",
                source_address="192.0.2.1",
                user_agent="Browser",
            )
        ]
    )

    assert event.chain == f"org:{org_a.pk}"
    assert event.actor == audit.subject_reference(member.user.audit_pseudonym)
    context = AuditEventContext.objects.get(event=event)
    assert (context.source_address, context.user_agent) == ("192.0.2.1", "Browser")
    assert audit.verify_all_chains().ok


def test_record_many_of_nothing_writes_nothing(db):
    assert record_many([]) == []
    assert not AuditEvent.objects.exists()


def test_a_company_representative_s_event_must_name_the_company_chain(org_a):
    representative = mock.Mock(company_id=7)

    with pytest.raises(ValueError, match="company"):
        record_many([PendingEvent(actor=representative, action="test.refused")])
