"""The prefecture's acknowledgement of an act (ARActe), recorded by the return channel."""

from __future__ import annotations

from datetime import date

import pytest
from django_scopes import scope, scopes_disabled

from mutualis.core.models import AuditEvent
from mutualis.legality import errors, services, signals
from mutualis.legality.models import Act, ActStatus
from tests.factories.legality import enrol, legality_agent, prepare, subscribe

pytestmark = pytest.mark.django_db

IDENTIFIER = "021-212100108-20260203-DEL_2026_007-DE"


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def clerk(member):
    return legality_agent(
        member, "clerk.a@example.org", roles=("legality_agent", "legality_sender")
    )


@pytest.fixture
def sent_act(member, clerk):
    act = prepare(clerk, number="DEL_2026_007", decided_on=date(2026, 2, 3))
    services.validate_act(actor=clerk, act_id=act.pk)
    # Sending is the transport's (a later slice): the act has left.
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(status=ActStatus.SENT)
        return Act.objects.get(pk=act.pk)


def acknowledged_events(org) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action="legality.act_acknowledged")
        )


def test_validation_gives_the_act_its_ctes_identifier(sent_act):
    assert sent_act.identifier == IDENTIFIER


def test_an_acknowledgement_records_the_reception_date_once(member, sent_act):
    act = services.acknowledge_act(
        organisation_id=member.pk, identifier=IDENTIFIER, received_on=date(2026, 2, 4)
    )
    assert act.status == ActStatus.ACKNOWLEDGED
    assert act.received_on == date(2026, 2, 4)
    [event] = acknowledged_events(member)
    assert event.actor == "system:legality.return_channel"
    assert event.payload["received_on"] == "2026-02-04"

    # The same message read again (a mailbox read after a crash): nothing more.
    services.acknowledge_act(
        organisation_id=member.pk, identifier=IDENTIFIER, received_on=date(2026, 2, 4)
    )
    assert len(acknowledged_events(member)) == 1


def test_an_acknowledgement_of_an_act_not_sent_is_refused(member, clerk):
    act = prepare(clerk, number="DEL_2026_008", decided_on=date(2026, 2, 3))
    services.validate_act(actor=clerk, act_id=act.pk)  # waiting: not sent yet
    with pytest.raises(errors.TransitionNotAllowed):
        services.acknowledge_act(
            organisation_id=member.pk,
            identifier="021-212100108-20260203-DEL_2026_008-DE",
            received_on=date(2026, 2, 4),
        )
    with scope(organisation=member.pk):
        assert Act.objects.get(pk=act.pk).status == ActStatus.WAITING


def test_an_unknown_identifier_or_another_members_act_is_refused(member, sent_act, org_b):
    with pytest.raises(errors.UnknownAct):
        services.acknowledge_act(
            organisation_id=member.pk, identifier="021-212100108-X-DE", received_on=date(2026, 2, 4)
        )
    with pytest.raises(errors.UnknownAct):
        services.acknowledge_act(
            organisation_id=org_b.pk, identifier=IDENTIFIER, received_on=date(2026, 2, 4)
        )
    with pytest.raises(errors.UnknownAct):
        services.acknowledge_act(
            organisation_id=member.pk, identifier="", received_on=date(2026, 2, 4)
        )
    assert acknowledged_events(member) == []


def test_the_acknowledgement_is_told_once_committed(
    member, sent_act, django_capture_on_commit_callbacks
):
    told = []

    def receiver(sender, **kwargs):
        told.append((kwargs["act_id"], kwargs["organisation_id"]))

    signals.act_acknowledged.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.acknowledge_act(
                organisation_id=member.pk, identifier=IDENTIFIER, received_on=date(2026, 2, 4)
            )
    finally:
        signals.act_acknowledged.disconnect(receiver)
    assert told == [(sent_act.pk, member.pk)]
