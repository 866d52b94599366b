"""Webhooks: registered through the API, told of every status change of the member's
acts, posted signed to a real local HTTP server, retried with back-off, logged; no
private or loopback address outside the tests."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.legality import services, webhooks
from mutualis.legality.models import (
    Act,
    ActStatus,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories.legality_api import create, member, member_b, receiver, software, token_for

__all__ = ["member", "member_b", "receiver", "software"]

pytestmark = pytest.mark.django_db


def register(client, headers, url, **extra):
    return client.post(
        "/api/v1/legality/webhooks",
        {"url": url, **extra},
        content_type="application/json",
        **headers,
    )


def deliveries(org) -> list[WebhookDelivery]:
    with scopes_disabled():
        return list(WebhookDelivery.objects.filter(organisation=org).order_by("pk"))


def test_a_status_change_is_posted_signed_to_the_member_s_software(
    client, member, software, receiver
):
    _, headers = software
    registered = register(client, headers, receiver.url, description="Logiciel")
    assert registered.status_code == 201, registered.content
    secret = registered.json()["secret"]
    assert secret.startswith("whsec_")
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.get(pk=registered.json()["id"])
    assert secret not in endpoint.secret_sealed
    assert "secret" not in client.get("/api/v1/legality/webhooks", **headers).json()[0]

    act_id = create(client, headers).json()["id"]
    assert client.post(f"/api/v1/legality/acts/{act_id}/send", **headers).status_code == 200

    assert webhooks.deliver_due() == {"delivered": 1}
    [received] = receiver.received
    assert received["path"] == "/hooks/actes?source=mutualis"
    hdrs = received["headers"]
    assert webhooks.verify(
        secret, hdrs["Mutualis-Signature"], hdrs["Mutualis-Timestamp"], received["body"]
    )
    assert not webhooks.verify(
        "whsec_wrong", hdrs["Mutualis-Signature"], hdrs["Mutualis-Timestamp"], received["body"]
    )
    event = json.loads(received["body"])
    assert event["type"] == "act.waiting"
    assert event["id"] == hdrs["Mutualis-Event-Id"]
    assert event["data"]["act"]["id"] == act_id
    assert event["data"]["act"]["previous_status"] == "prepared"
    # Delivered once: the job run again sends nothing.
    assert webhooks.deliver_due() == {}
    log = client.get(f"/api/v1/legality/webhooks/{endpoint.pk}/deliveries", **headers).json()[
        "results"
    ]
    assert log[0]["status"] == "delivered"
    assert log[0]["last_status_code"] == 204


def test_the_acknowledgement_is_told_with_its_date(
    client, member, software, receiver, django_capture_on_commit_callbacks
):
    _, headers = software
    register(client, headers, receiver.url, events=["act.acknowledged"])
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)
    with scopes_disabled():
        Act.objects.filter(pk=act_id).update(status=ActStatus.SENT)
        identifier = Act.objects.get(pk=act_id).identifier
    with django_capture_on_commit_callbacks(execute=True):
        services.acknowledge_act(
            organisation_id=member.pk, identifier=identifier, received_on=date(2026, 2, 4)
        )

    webhooks.deliver_due()

    [received] = receiver.received
    event = json.loads(received["body"])
    assert event["type"] == "act.acknowledged"
    assert event["data"]["act"]["received_on"] == "2026-02-04"
    assert event["data"]["act"]["identifier"] == identifier


def test_a_failed_delivery_is_retried_with_back_off_then_given_up(
    client, member, software, receiver
):
    _, headers = software
    register(client, headers, receiver.url)
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)
    receiver.answers = [500, 503, 500]
    now = timezone.now()

    assert webhooks.deliver_due(now) == {"pending": 1}
    [delivery] = deliveries(member)
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    # Not due before its back-off.
    assert webhooks.deliver_due(now + timedelta(seconds=29)) == {}
    assert delivery.next_attempt_at >= now + timedelta(seconds=30)

    assert webhooks.deliver_due(now + timedelta(seconds=31)) == {"pending": 1}
    [delivery] = deliveries(member)
    assert delivery.next_attempt_at >= now + timedelta(seconds=60)
    assert webhooks.deliver_due(now + timedelta(hours=1)) == {"failed": 1}

    [delivery] = deliveries(member)
    assert delivery.status == DeliveryStatus.FAILED
    assert [entry["status"] for entry in delivery.log] == [500, 503, 500]
    assert len(receiver.received) == 3
    # The same event each time: the receiver de-duplicates on its id.
    assert len({r["headers"]["Mutualis-Event-Id"] for r in receiver.received}) == 1


def test_a_server_that_is_down_is_retried(client, member, software, receiver, settings):
    _, headers = software
    register(client, headers, receiver.url)
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)
    receiver.shutdown()
    receiver.server_close()

    assert webhooks.deliver_due() == {"pending": 1}

    [delivery] = deliveries(member)
    assert delivery.last_status_code is None
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()


def test_a_change_rolled_back_tells_nothing(client, member, software, receiver):
    _, headers = software
    register(client, headers, receiver.url)
    act_id = create(client, headers).json()["id"]
    with scopes_disabled():
        Act.objects.filter(pk=act_id).update(nature=4)
        from mutualis.legality.models import Enrolment

        Enrolment.objects.filter(organisation=member).update(natures=[1])

    assert client.post(f"/api/v1/legality/acts/{act_id}/send", **headers).status_code == 400

    assert deliveries(member) == []


def test_a_chunk_of_changes_reads_the_members_endpoints_once(
    client, member, member_b, software, receiver, django_assert_num_queries
):
    """The sending job records a chunk of answers for several members in one
    transaction: each act's change gets its delivery, the members' endpoints are read
    together, once."""
    _, headers = software
    register(client, headers, receiver.url)
    ids = [create(client, headers, number=f"DEL_{n}").json()["id"] for n in range(3)]
    _, headers_b = token_for(client, organisation=member_b)
    id_b = create(client, headers_b).json()["id"]
    with scopes_disabled():
        acts = list(Act.objects.filter(pk__in=[*ids, id_b]).order_by("pk"))

    with (
        transaction.atomic(),
        scope(organisation=[member.pk, member_b.pk]),
        webhooks.endpoints_read_once([member.pk, member_b.pk]),
        # Both members' endpoints in one statement, then one insert per act of the
        # member that has one.
        django_assert_num_queries(1 + len(ids)),
    ):
        told = [webhooks.status_changed(act, "waiting", "sent") for act in acts]

    assert told == [1, 1, 1, 0]
    sent = [d for d in deliveries(member) if d.event == "act.sent"]
    assert sorted(d.act_id for d in sent) == ids
    assert [d for d in deliveries(member_b) if d.event == "act.sent"] == []


def test_a_disabled_endpoint_receives_nothing_more(client, member, software, receiver):
    _, headers = software
    endpoint_id = register(client, headers, receiver.url).json()["id"]
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)

    assert client.delete(f"/api/v1/legality/webhooks/{endpoint_id}", **headers).status_code == 204

    assert webhooks.deliver_due() == {}
    assert receiver.received == []
    [delivery] = deliveries(member)
    assert delivery.status == DeliveryStatus.FAILED
    assert client.delete(f"/api/v1/legality/webhooks/{endpoint_id}", **headers).status_code == 404


def test_another_member_s_changes_never_reach_this_endpoint(
    client, member, member_b, software, receiver
):
    _, headers = software
    endpoint_id = register(client, headers, receiver.url).json()["id"]
    _, headers_b = token_for(client, organisation=member_b)
    act_b = create(client, headers_b).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_b}/send", **headers_b)

    webhooks.deliver_due()

    assert receiver.received == []
    listed = client.get(f"/api/v1/legality/webhooks/{endpoint_id}/deliveries", **headers_b)
    assert listed.status_code == 404
    assert client.get("/api/v1/legality/webhooks", **headers_b).json() == []
    assert client.delete(f"/api/v1/legality/webhooks/{endpoint_id}", **headers_b).status_code == 404


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.org/hook", "legality_webhook_url_invalid"),
        ("ftp://example.org/hook", "legality_webhook_url_invalid"),
        ("https://user:pass@example.org/hook", "legality_webhook_url_invalid"),
        ("https://", "legality_webhook_url_invalid"),
        ("https://exa mple.org/", "legality_webhook_url_invalid"),
        ("https://example.org:99999/", "legality_webhook_url_invalid"),
        ("https://127.0.0.1/hook", "legality_webhook_address_refused"),
        ("https://localhost/hook", "legality_webhook_address_refused"),
        ("https://10.1.2.3/hook", "legality_webhook_address_refused"),
        ("https://192.168.0.1/hook", "legality_webhook_address_refused"),
        ("https://169.254.169.254/latest/meta-data", "legality_webhook_address_refused"),
        ("https://[::1]/hook", "legality_webhook_address_refused"),
        ("https://[::ffff:10.0.0.1]/hook", "legality_webhook_address_refused"),
        ("https://0.0.0.0/hook", "legality_webhook_address_refused"),
        ("http://127.0.0.1:8000/hook", "legality_webhook_url_invalid"),
    ],
)
def test_private_loopback_and_malformed_addresses_are_refused_in_production(
    client, member, software, url, code
):
    _, headers = software

    response = register(client, headers, url)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()


def test_an_address_that_turned_private_is_not_called(client, member, software, receiver, settings):
    _, headers = software
    register(client, headers, receiver.url)
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)
    settings.MUTUALIS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    assert webhooks.deliver_due() == {"pending": 1}

    assert receiver.received == []
    [delivery] = deliveries(member)
    assert delivery.last_error == str(webhooks.WebhookUrlInvalid.message)
    port = receiver.server_address[1]
    status, error = webhooks.post(f"https://127.0.0.1:{port}/hook", b"{}", {})
    assert status is None
    assert error == str(webhooks.WebhookAddressRefused.message)


def test_bad_webhook_input_is_refused(client, member, software, receiver):
    _, headers = software
    assert register(client, headers, receiver.url, events=["act.nope"]).json()["code"] == (
        "legality_webhook_event_unknown"
    )
    assert register(client, headers, receiver.url, description="a\x01b").status_code == 400
    assert register(client, headers, "https://" + "a" * 600).status_code == 422
    for _ in range(webhooks.MAX_ENDPOINTS):
        assert register(client, headers, receiver.url).status_code == 201
    assert register(client, headers, receiver.url).json()["code"] == "legality_webhook_too_many"


def test_a_read_only_token_cannot_register(client, member, receiver):
    _, headers = token_for(client, organisation=member, scopes=("api:read",))
    assert register(client, headers, receiver.url).status_code == 403
    assert client.get("/api/v1/legality/webhooks", **headers).status_code == 200


def test_the_signature_is_over_the_timestamp_and_the_body():
    body = b'{"a":1}'
    import time

    now = int(time.time())
    header = webhooks.signature("whsec_x", now, body)
    assert webhooks.verify("whsec_x", header, str(now), body)
    assert not webhooks.verify("whsec_x", header, str(now), b'{"a":2}')
    assert not webhooks.verify("whsec_x", header, str(now + 1), body)
    assert not webhooks.verify("whsec_x", header, "nan", body)
    old = now - 3600
    assert not webhooks.verify("whsec_x", webhooks.signature("whsec_x", old, body), str(old), body)
