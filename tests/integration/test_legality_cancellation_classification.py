"""The cancellation of a transmitted act (``Annulation`` → ``ARAnnulation``) and the
prefecture's classification by version (``DemandeClassification`` →
``RetourClassification`` / ``ReponseClassificationSansChangement``), sending blocked
while the member's classification is older than the one the prefecture announced."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django_scopes import scope

from mutualis.legality import cancellation, classification, errors, services, tasks
from mutualis.legality.actes import qualified as q
from mutualis.legality.models import (
    ActStatus,
    ClassificationVersion,
    InboundStatus,
    OutboundStatus,
)
from mutualis.legality.standin import messages
from tests.factories.core import org_url
from tests.factories.legality import legality_agent, ministry_answer, prepare, subscribe
from tests.factories.prefecture_mail import (
    actions,
    deliver,
    outbound,
    package_messages,
    read,
    return_mail,
    root_of,
)
from tests.factories.standin import SIREN, fresh, waiting_act

pytestmark = pytest.mark.django_db


@pytest.fixture
def acknowledged(standin, member, clerk, maildir):
    act = waiting_act(clerk)
    tasks.send_acts.call()
    read(maildir)
    act = fresh(act)
    assert act.status == ActStatus.ACKNOWLEDGED
    return act


# --- Cancellation ---------------------------------------------------------------------


def test_an_acknowledged_act_is_cancelled_once_the_prefecture_acknowledges_it(
    standin, member, clerk, acknowledged, maildir
):
    request = cancellation.request_cancellation(actor=clerk, act_id=acknowledged.pk)

    root = root_of(package_messages(request), "Annulation")
    assert root.get(q("IDActe")) == acknowledged.identifier
    # Asked for, not done: the act stays acknowledged until the prefecture answers.
    assert fresh(acknowledged).status == ActStatus.ACKNOWLEDGED
    with scope(organisation=member.pk):
        assert not cancellation.can_request(fresh(acknowledged))
    with pytest.raises(errors.CancellationPending):
        cancellation.request_cancellation(actor=clerk, act_id=acknowledged.pk)

    assert tasks.send_acts.call()["messages_sent"] == 1
    assert read(maildir)["processed"] == 1  # the stand-in's ARAnnulation

    act = fresh(acknowledged)
    assert act.status == ActStatus.CANCELLED
    [row] = outbound(member, "Annulation")
    assert row.status == OutboundStatus.SENT
    assert row.acknowledged_on is not None
    trail = actions(member)
    assert trail.index("legality.cancellation_requested") < trail.index(
        "legality.act_transmission_cancelled"
    )
    # Read again: nothing more.
    deliver(
        maildir,
        return_mail(messages.ar_annulation(act.identifier, row.acknowledged_on), "ar.xml"),
    )
    assert read(maildir)["processed"] == 1
    assert actions(member).count("legality.act_transmission_cancelled") == 1


def test_cancellation_is_refused_where_it_makes_no_sense(standin, member, clerk, maildir):
    prepared = prepare(clerk, number="DEL_2026_060")
    with pytest.raises(errors.CancellationNotAllowed):
        cancellation.request_cancellation(actor=clerk, act_id=prepared.pk)
    waiting = waiting_act(clerk, "DEL_2026_061")
    with pytest.raises(errors.CancellationNotAllowed):
        cancellation.request_cancellation(actor=clerk, act_id=waiting.pk)
    tasks.send_acts.call()
    assert fresh(waiting).status == ActStatus.SENT
    with pytest.raises(errors.CancellationNotAllowed):
        cancellation.request_cancellation(actor=clerk, act_id=waiting.pk)
    services.cancel_act(actor=clerk, act_id=prepared.pk)
    with pytest.raises(errors.CancellationNotAllowed):
        cancellation.request_cancellation(actor=clerk, act_id=prepared.pk)
    assert outbound(member) == []


def test_an_unasked_cancellation_acknowledgement_is_quarantined(member, acknowledged, maildir):
    message = messages.ar_annulation(acknowledged.identifier, date(2026, 3, 1))
    deliver(maildir, return_mail(message, "ar.xml"))
    assert read(maildir)["quarantined"] == 1
    assert fresh(acknowledged).status == ActStatus.ACKNOWLEDGED


def test_only_the_members_legality_agent_asks_for_a_cancellation(member, acknowledged, agent_b):
    sender_only = legality_agent(member, "sender.a@example.org", roles=("legality_sender",))
    subscribe(agent_b.organisation)
    other = legality_agent(agent_b.organisation, "clerk.b@example.org")
    for person in (sender_only, other):
        with pytest.raises(PermissionDenied):
            cancellation.request_cancellation(actor=person, act_id=acknowledged.pk)
    assert outbound(member) == []


def test_the_agent_asks_for_the_cancellation_from_the_act_page(
    client, member, clerk, acknowledged, agent_b
):
    url = org_url("legality:act_cancel_transmission", pk=acknowledged.pk)
    client.force_login(agent_b.user)
    assert client.post(url).status_code == 404
    client.force_login(clerk.user)
    page = client.get(org_url("legality:act_detail", pk=acknowledged.pk)).content.decode()
    assert url in page
    assert client.post(url).status_code == 302
    assert [row.kind for row in outbound(member)] == ["Annulation"]
    # Twice: a clear message, nothing more.
    assert client.post(url).status_code == 302
    assert len(outbound(member)) == 1


# --- Classification -------------------------------------------------------------------


def announce(maildir, version: date, number: str = "DEL_2026_070") -> None:
    """An anomaly naming ``version`` as the prefecture's current classification."""
    mail = ministry_answer(number, siren=SIREN, anomaly="Classification périmée")
    # The helper's anomaly names the act's own version; write the announced one.
    deliver(maildir, _with_version(mail, version))


def _with_version(mail: bytes, version: date) -> bytes:
    import email
    import email.policy
    import io
    import tarfile

    parsed = email.message_from_bytes(mail, policy=email.policy.default)
    for part in parsed.walk():
        if part.get_filename():
            payload = part.get_payload(decode=True)
            with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
                files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    name = next(n for n in files if n.endswith("-1-3_0.xml"))
    message = files[name]
    start = message.index(b"<actes:ClassificationDateVersionEnCours>")
    end = message.index(b"</actes:ClassificationDateVersionEnCours>")
    message = (
        message[:start]
        + b"<actes:ClassificationDateVersionEnCours>"
        + version.isoformat().encode()
        + message[end:]
    )
    return return_mail(message, name)


def test_sending_is_blocked_until_the_announced_classification_is_fetched(
    standin, member, clerk, maildir
):
    # An act sent, refused with an anomaly naming a newer classification.
    act = waiting_act(clerk, "DEL_2026_070")
    tasks.send_acts.call()
    for path in (maildir / "new").iterdir():
        path.unlink()  # the stand-in's acknowledgement is replaced by the anomaly below
    announce(maildir, date(2026, 3, 1))
    assert read(maildir)["processed"] == 1
    with scope(organisation=member.pk):
        assert classification.state_of(member.pk).announced_on == date(2026, 3, 1)
    assert "legality.classification_announced" in actions(member)

    # Another act cannot be validated: the reason says what to do.
    other = prepare(clerk, number="DEL_2026_071")
    with pytest.raises(services.ActRefused) as refused:
        services.validate_act(actor=clerk, act_id=other.pk)
    assert any(isinstance(p, errors.ClassificationOutdated) for p in refused.value.problems)
    assert "01/03/2026" in str(refused.value)
    assert fresh(other).status == ActStatus.PREPARED

    # The member requests the classification; the stand-in sends version 2026-03-01.
    standin.classification_date = date(2026, 3, 1)
    request = classification.request_classification(actor=clerk)
    root = root_of(package_messages(request), "DemandeClassification")
    assert root.findtext(q("DateClassification")) == "2026-01-01"
    with pytest.raises(errors.ClassificationRequestPending):
        classification.request_classification(actor=clerk)
    assert tasks.send_acts.call()["messages_sent"] == 1
    assert read(maildir)["processed"] == 1

    with scope(organisation=member.pk):
        [version] = ClassificationVersion.objects.all()
        current = classification.current(member.pk)
    assert version.version_date == date(2026, 3, 1)
    assert version.matieres["7.10"] == "Divers"
    assert version.piece_types["1"][0] == ["99_DE", "Délibération"]
    assert current.received
    assert current.version_date == date(2026, 3, 1)
    assert "legality.classification_received" in actions(member)

    # Now the act validates, with the new version.
    services.validate_act(actor=clerk, act_id=other.pk)
    other = fresh(other)
    assert other.status == ActStatus.WAITING
    assert other.classification_date == date(2026, 3, 1)
    assert act.pk != other.pk


def test_an_unchanged_classification_is_recorded_and_versions_are_kept(
    standin, member, clerk, maildir
):
    request = classification.request_classification(actor=clerk)
    assert request.kind == "DemandeClassification"
    tasks.send_acts.call()
    assert read(maildir)["processed"] == 1  # ReponseClassificationSansChangement
    with scope(organisation=member.pk):
        state = classification.state_of(member.pk)
        assert state.announced_on == classification.VERSION_DATE
        assert state.checked_at is not None
        assert not ClassificationVersion.objects.exists()
    assert "legality.classification_unchanged" in actions(member)

    for version in (date(2026, 2, 1), date(2026, 4, 1), date(2026, 2, 1)):
        message = messages.retour_classification(
            version, {"1": "Commande publique", "1.1": "Marchés publics", "1.1.3": "Travaux"},
            {1: [("99_DE", "Délibération"), ("99_AU", "Autre document")]},
        )  # fmt: skip
        deliver(maildir, return_mail(message, f"classification-{version}.xml"))
    read(maildir)
    with scope(organisation=member.pk):
        versions = list(ClassificationVersion.objects.values_list("version_date", flat=True))
        current = classification.current(member.pk)
    assert versions == [date(2026, 4, 1), date(2026, 2, 1)]
    assert current.version_date == date(2026, 4, 1)
    assert current.is_leaf("1.1.3")
    assert current.is_leaf("1.1")
    assert not current.is_leaf("1")
    assert not current.is_leaf("7.1")
    # Acts are prepared against the member's current classification.
    with pytest.raises(errors.ClassificationInvalid):
        prepare(clerk, number="DEL_2026_080", classification_code="7.1")
    act = prepare(clerk, number="DEL_2026_081", classification_code="1.1.3")
    assert act.classification_date == date(2026, 4, 1)
    services.validate_act(actor=clerk, act_id=act.pk)
    acte = root_of(package_messages(fresh(act)), "Acte")
    assert acte.findtext(q("ClassificationDateVersion")) == "2026-04-01"
    assert [e.get(q("CodeMatiere")) for e in acte.iter(q("CodeMatiere3"))] == ["3"]


def test_classification_requests_follow_the_permissions(member, clerk, agent_b):
    sender_only = legality_agent(member, "sender.a@example.org", roles=("legality_sender",))
    with pytest.raises(PermissionDenied):
        classification.request_classification(actor=sender_only)
    subscribe(agent_b.organisation)
    other = legality_agent(agent_b.organisation, "clerk.b@example.org")
    with pytest.raises(errors.NotEnrolled):
        classification.request_classification(actor=other)
    assert outbound(member) == []


def test_a_classification_for_an_unknown_member_is_quarantined(member, maildir):
    message = messages.sans_changement(date(2026, 1, 1))
    deliver(maildir, return_mail(message, "c.xml", siren="999999999"))
    assert read(maildir)["quarantined"] == 1
    from django_scopes import scopes_disabled

    from mutualis.legality.models import InboundMessage

    with scopes_disabled():
        [row] = InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
    assert "999999999" in row.reason


def test_the_classification_page(client, member, clerk, agent_b):
    url = org_url("legality:classification")
    client.force_login(clerk.user)
    page = client.get(url)
    assert page.status_code == 200
    assert "Marchés publics" in page.content.decode()
    assert client.post(url).status_code == 302
    assert [row.kind for row in outbound(member)] == ["DemandeClassification"]
    assert client.post(url).status_code == 302  # pending: a message, nothing more
    assert len(outbound(member)) == 1
    client.force_login(agent_b.user)
    assert client.get(url).status_code == 404
