"""The classification version the prefecture names in each acknowledgement: noted once,
when newer than the one known (a version already known costs the return channel one
read, not a locked transaction per message: bench/imap_acks.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django_scopes import scope, scopes_disabled
from lxml import etree

from mutualis.core.models import AuditEvent
from mutualis.legality import actes, classification, returns, tasks
from mutualis.legality.models import ActStatus
from mutualis.legality.standin import messages
from tests.factories.standin import SIREN, fresh, waiting_act

pytestmark = pytest.mark.django_db

ANNOUNCED = "legality.classification_announced"


def announced_events(member) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{member.pk}", action=ANNOUNCED).order_by(
                "sequence"
            )
        )


def acknowledgement(act, version: date) -> bytes:
    """The stand-in's acknowledgement of ``act``, naming ``version`` as the
    prefecture's current classification."""
    acte = etree.fromstring(
        actes.act_message(
            actes.ActMessage(
                departement="021",
                arrondissement="1",
                siren=SIREN,
                nature=actes.Nature(act.nature),
                number=act.number,
                decided_on=act.decided_on,
                matieres=[1, 1],
                subject="Objet",
                classification_date=version,
                document=actes.Piece(b"%PDF", "pdf", "99_DE"),
            )
        )
    )
    name = act.identifier + messages.ACK_SUFFIX
    message = messages.ar_acte(acte, act.identifier, date(2026, 2, 4))
    return messages.return_mail(
        to="actes@mutualis.example.org",
        subject=name,
        attachment_name=f"{act.identifier}.tar.gz",
        attachment=messages.return_package(SIREN, "021", name, message),
        sender="prefecture@example.org",
    )


def test_a_version_already_known_is_not_noted_again_and_a_newer_one_is(
    standin, member, clerk, maildir
):
    first = waiting_act(clerk, "DEL_2026_080")
    second = waiting_act(clerk, "DEL_2026_081")
    third = waiting_act(clerk, "DEL_2026_082")
    # (Sent before a newer version is announced: validating then would be refused.)
    fourth = waiting_act(clerk, "DEL_2026_083")
    assert tasks.send_acts.call()["sent"] == 4
    first, second, third, fourth = fresh(first), fresh(second), fresh(third), fresh(fourth)

    # Two acknowledgements naming the member's own version: noted by the first only.
    assert returns.receive(acknowledgement(first, classification.VERSION_DATE)) == "processed"
    assert returns.receive(acknowledgement(second, classification.VERSION_DATE)) == "processed"
    assert fresh(first).status == fresh(second).status == ActStatus.ACKNOWLEDGED
    [event] = announced_events(member)
    assert event.payload["announced_on"] == classification.VERSION_DATE.isoformat()

    # A newer version named by a later acknowledgement is noted, with its event.
    newer = date(2026, 3, 1)
    assert returns.receive(acknowledgement(third, newer)) == "processed"
    assert fresh(third).status == ActStatus.ACKNOWLEDGED
    with scope(organisation=member.pk):
        assert classification.state_of(member.pk).announced_on == newer
    assert [e.payload["announced_on"] for e in announced_events(member)] == [
        classification.VERSION_DATE.isoformat(),
        newer.isoformat(),
    ]

    # An older version named afterwards changes nothing.
    assert returns.receive(acknowledgement(fourth, date(2026, 2, 1))) == "processed"
    with scope(organisation=member.pk):
        assert classification.state_of(member.pk).announced_on == newer
    assert len(announced_events(member)) == 2
