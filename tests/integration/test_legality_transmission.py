"""Sending waiting acts to the ministry: the stand-in runs as a real HTTPS server with
client-certificate checking on a loopback port."""

from __future__ import annotations

import mailbox
import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core.models import AuditEvent
from mutualis.legality import actes, transmission
from mutualis.legality.models import Act, ActStatus, TransmissionAttempt
from tests.factories.core import org_url
from tests.factories.standin import fresh, waiting_act

pytestmark = pytest.mark.django_db


def mails(path) -> list[bytes]:
    if not path.exists():
        return []
    return [m.as_bytes() for m in mailbox.Maildir(str(path), create=False)]


def events(org, action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=f"org:{org.pk}", action=action))


def attempts(act) -> list[TransmissionAttempt]:
    with scopes_disabled():
        return list(TransmissionAttempt.objects.filter(act_id=act.pk).order_by("attempt"))


def test_a_waiting_act_is_sent_and_the_stand_in_acknowledges_it(standin, member, clerk, maildir):
    act = waiting_act(clerk)

    counts = transmission.send_due_acts()

    assert counts["sent"] == 1
    act = fresh(act)
    assert act.status == ActStatus.SENT
    assert act.sent_at is not None
    assert act.send_attempts == 1
    assert list(standin.received) == [act.package_name]
    [event] = events(member, "legality.act_sent")
    assert event.actor == "system:legality.transmission"
    assert event.payload["http_status"] == 201
    [attempt] = attempts(act)
    assert (attempt.outcome, attempt.http_status) == ("sent", 201)
    # The stand-in wrote the acknowledgement into the return Maildir.
    [mail] = mails(maildir)
    assert act.identifier.encode() in mail
    # Nothing left to send: a second run sends nothing.
    assert transmission.send_due_acts()["sent"] == 0
    assert standin.posts == 1


def test_the_legacy_protocol_answers_200(standin, member, clerk, settings):
    standin.status = 200
    act = waiting_act(clerk)
    # With the 201 protocol, a 200 is not an acceptance: refused.
    settings.MUTUALIS_LEGALITY_PROTOCOL = "200"

    assert transmission.send_due_acts()["sent"] == 1
    assert fresh(act).status == ActStatus.SENT
    assert attempts(act)[0].http_status == 200


def test_a_200_is_not_an_acceptance_in_the_201_protocol(standin, member, clerk):
    standin.status = 200
    act = waiting_act(clerk)

    transmission.send_due_acts()

    act = fresh(act)
    assert act.status == ActStatus.ERROR
    assert "HTTP 200" in act.error_reason


def test_a_500_is_retried_after_the_back_off_then_succeeds(standin, member, clerk):
    standin.fail_next = [500]
    act = waiting_act(clerk)
    now = timezone.now()

    counts = transmission.send_due_acts(now=now)

    assert counts["retry"] == 1
    act = fresh(act)
    assert act.status == ActStatus.WAITING
    assert act.send_attempts == 1
    assert act.next_attempt_at == now + timedelta(seconds=60)
    # Not due yet: nothing is posted before the back-off ends.
    assert transmission.send_due_acts(now=now + timedelta(seconds=30))["sent"] == 0
    assert standin.posts == 1

    assert transmission.send_due_acts(now=now + timedelta(seconds=61))["sent"] == 1
    act = fresh(act)
    assert act.status == ActStatus.SENT
    assert act.send_attempts == 2
    assert [a.outcome for a in attempts(act)] == ["retry", "sent"]


def test_the_back_off_doubles_and_is_bounded():
    assert transmission.backoff(1) == timedelta(seconds=120)
    assert transmission.backoff(3) == timedelta(seconds=480)
    assert transmission.backoff(30) == timedelta(hours=6)


def test_an_endpoint_down_puts_the_act_in_error_once_attempts_are_exhausted(
    standin, member, clerk, settings
):
    act = waiting_act(clerk)
    # Nothing listens there.
    settings.MUTUALIS_LEGALITY_ENDPOINT_URL = "https://127.0.0.1:9/actes"
    now = timezone.now()
    for step in range(3):
        transmission.send_due_acts(now=now + timedelta(hours=step * 7))

    act = fresh(act)
    assert act.status == ActStatus.ERROR
    assert act.send_attempts == 3
    assert "3" in act.error_reason
    [event] = events(member, "legality.act_failed")
    assert event.actor == "system:legality.transmission"
    assert [a.outcome for a in attempts(act)] == ["retry", "retry", "failed"]


def test_the_rescue_url_takes_over_when_the_endpoint_is_down(standin, member, clerk, settings):
    act = waiting_act(clerk)
    settings.MUTUALIS_LEGALITY_RESCUE_URL = standin.url
    settings.MUTUALIS_LEGALITY_ENDPOINT_URL = "https://127.0.0.1:9/actes"

    assert transmission.send_due_acts()["sent"] == 1
    assert fresh(act).status == ActStatus.SENT
    assert attempts(act)[0].url == standin.url


def test_a_refusal_puts_the_act_in_error_with_the_endpoint_s_text(standin, member, clerk):
    standin.fail_next = [422]
    act = waiting_act(clerk)

    transmission.send_due_acts()

    act = fresh(act)
    assert act.status == ActStatus.ERROR
    assert "HTTP 422" in act.error_reason
    assert "failure on request" in act.error_reason


def test_the_switch_off_sends_nothing(standin, member, clerk, settings):
    settings.MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE = False
    act = waiting_act(clerk)

    assert transmission.send_due_acts()["closed"] == "switched_off"
    assert fresh(act).status == ActStatus.WAITING
    assert fresh(act).send_attempts == 0
    assert standin.posts == 0


def test_nothing_leaves_outside_the_transmission_windows(standin, member, clerk, settings):
    act = waiting_act(clerk)
    settings.MUTUALIS_LEGALITY_WINDOWS = "07:00-12:00, 14:00-19:00"
    night = timezone.localtime().replace(hour=22, minute=30)
    morning = night.replace(hour=9)

    assert transmission.send_due_acts(now=night)["closed"] == "window_closed"
    assert standin.posts == 0
    assert transmission.send_due_acts(now=morning)["sent"] == 1
    assert fresh(act).status == ActStatus.SENT


def test_a_window_across_midnight_and_a_malformed_one():
    night = timezone.localtime().replace(hour=23, minute=0)
    assert transmission.window_open(night, "22:00-06:00")
    assert not transmission.window_open(night.replace(hour=12), "22:00-06:00")
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        transmission.windows("7h-12h")


def test_the_hourly_cap_holds_back_what_exceeds_it(standin, member, clerk, settings):
    first = waiting_act(clerk, number="DEL_2026_001")
    second = waiting_act(clerk, number="DEL_2026_002")
    settings.MUTUALIS_LEGALITY_HOURLY_CAP_BYTES = first.package.size + second.package.size - 1

    counts = transmission.send_due_acts()

    assert counts["sent"] == 1
    assert counts["capped"] == 1
    statuses = sorted([fresh(first).status, fresh(second).status])
    assert statuses == [ActStatus.SENT, ActStatus.WAITING]
    held = fresh(first) if fresh(first).status == ActStatus.WAITING else fresh(second)
    # Held back, not attempted: no attempt spent.
    assert held.send_attempts == 0
    assert standin.posts == 1


def test_no_double_transmission_after_a_timeout(standin, member, clerk, settings, maildir):
    """The endpoint takes the package but answers after the platform gave up: the retry
    POSTs the same package under the same name, the endpoint recognises it, and the act
    is sent once."""
    settings.MUTUALIS_LEGALITY_TIMEOUT_SECONDS = 1
    standin.delay_next = 3
    act = waiting_act(clerk)
    now = timezone.now()

    assert transmission.send_due_acts(now=now)["retry"] == 1
    assert fresh(act).status == ActStatus.WAITING
    assert attempts(act)[0].detail == "timeout"

    assert transmission.send_due_acts(now=now + timedelta(minutes=5))["sent"] == 1
    act = fresh(act)
    assert act.status == ActStatus.SENT
    assert standin.posts == 2
    assert standin.received == {act.package_name: 1}
    assert len(mails(maildir)) == 1
    assert len(events(member, "legality.act_sent")) == 1


def test_the_endpoint_refuses_a_client_without_certificate(standin, standin_pki):
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(standin.url, data=b"x", verify=str(standin_pki.ca), timeout=5)
    assert standin.posts == 0


def test_the_stand_in_refuses_a_package_that_is_not_valid(standin, standin_pki):
    name = actes.package_name("EACT", "MUTUALIS", "212100108", timezone.localdate(), 1)
    answer = requests.post(
        standin.url,
        data=b"\x1f\x8b not really gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        cert=(str(standin_pki.client_certificate), str(standin_pki.client_key)),
        verify=str(standin_pki.ca),
        timeout=5,
    )
    assert answer.status_code == 400
    assert "tar.gz" in answer.text
    assert standin.received == {}


def test_a_new_validation_starts_the_attempts_afresh(standin, member, clerk):
    standin.fail_next = [422]
    act = waiting_act(clerk)
    transmission.send_due_acts()
    assert fresh(act).status == ActStatus.ERROR

    from mutualis.legality import services
    from tests.factories.legality import pdf_upload

    services.edit_act(
        actor=clerk,
        act_id=act.pk,
        nature=1,
        number=act.number,
        decided_on=act.decided_on,
        classification_code="1.1",
        subject=act.subject,
        paper_follows=False,
        document=pdf_upload(),
    )
    services.validate_act(actor=clerk, act_id=act.pk)
    act = fresh(act)
    assert (act.status, act.send_attempts, act.error_reason) == (ActStatus.WAITING, 0, "")
    assert transmission.send_due_acts()["sent"] == 1


def test_the_agent_sees_why_the_act_is_in_error(client, standin, member, clerk):
    standin.fail_next = [422]
    act = waiting_act(clerk)
    transmission.send_due_acts()
    client.force_login(clerk.user)

    page = client.get(org_url("legality:act_detail", pk=act.pk)).content.decode()

    assert "HTTP 422" in page
    assert "failure on request" in page


def test_the_agent_sees_an_attempt_being_retried_and_the_sending_date(
    client, standin, member, clerk
):
    standin.fail_next = [503]
    act = waiting_act(clerk)
    now = timezone.now()
    transmission.send_due_acts(now=now)
    client.force_login(clerk.user)
    page = client.get(org_url("legality:act_detail", pk=act.pk)).content.decode()
    assert "tried again automatically" in page

    transmission.send_due_acts(now=now + timedelta(hours=1))
    page = client.get(org_url("legality:act_detail", pk=act.pk)).content.decode()
    assert "Sent to the prefecture on" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_act_another_worker_holds_is_left_to_it(standin, member, clerk):
    """Two workers at once: an act whose row another transaction holds (its claim under
    way) is skipped, not posted a second time; the next run sends it."""
    act = waiting_act(clerk)
    locked, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic(), scopes_disabled():
                Act.objects.select_for_update().get(pk=act.pk)
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)
    try:
        first = transmission.send_due_acts()
    finally:
        release.set()
        holder.join()

    assert failures == []
    assert first["sent"] == 0
    assert standin.posts == 0
    assert transmission.send_due_acts()["sent"] == 1
    assert standin.posts == 1
