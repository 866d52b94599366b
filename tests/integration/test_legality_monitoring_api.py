"""The operator's monitoring of the transmissions in the API: the back office's figures
(acts and PES flows sent but not acknowledged after four hours, in error, queues), read
by an API client of the operator's own organisation, refused to every other client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.identity.models import ApiClient
from mutualis.legality import crossings
from mutualis.legality.pes import samples, sending, services
from mutualis.legality.pes.models import FlowStatus, PesFlow
from tests.factories.legality_api import token_for
from tests.factories.pes import SIRET, upload

pytestmark = pytest.mark.django_db

MONITORING = "/api/v1/legality/monitoring"


@pytest.fixture
def operator_software(client, operator_org):
    return token_for(client, organisation=operator_org, scopes=("api:read",))


def _flows(accountant) -> None:
    """One flow waiting (retried once), one sent five hours ago and not acknowledged,
    one in error; a return awaiting its acknowledgement and a file in quarantine."""
    made = [
        services.import_flow(
            actor=accountant,
            upload=upload(samples.pes_aller(SIRET, serial=n, dematerialised=False)),
        )
        for n in (1, 2, 3)
    ]
    now = timezone.now()
    with scopes_disabled():
        PesFlow.objects.filter(pk=made[0].pk).update(send_attempts=1)
        PesFlow.objects.filter(pk=made[1].pk).update(
            status=FlowStatus.SENT, sent_at=now - timedelta(hours=5)
        )
        PesFlow.objects.filter(pk=made[2].pk).update(status=FlowStatus.ERROR)
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    sending.receive(b"<truncated", "bad.xml")


def test_the_operators_client_reads_the_figures(client, operator_software, pes_member, accountant):
    _flows(accountant)
    _, headers = operator_software

    response = client.get(MONITORING, **headers)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unacknowledged_after_hours"] == 4
    assert body["sending"] in ("open", "switched_off", "not_configured", "window_closed")
    pes = body["pes"]
    assert (pes["waiting"], pes["retrying"]) == (1, 1)
    assert pes["sent_unacknowledged"] == 1
    assert pes["errors"] == 1
    assert pes["quarantined"] == 1
    assert (pes["returns_unacknowledged"], pes["returns_ack_errors"]) == (1, 0)
    # The same figures as the back office's page.
    figures = crossings.monitoring(timezone.now(), timedelta(hours=4))
    assert body["errors"] == figures.errors
    assert body["waiting"] == figures.waiting
    assert body["sent_unacknowledged"] == figures.sent_unacknowledged
    assert body["quarantined"] == figures.quarantined


def test_the_sending_state_is_said(client, operator_software, settings):
    _, headers = operator_software
    settings.MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE = False
    assert client.get(MONITORING, **headers).json()["sending"] == "switched_off"


def test_a_members_client_is_refused(client, pes_member, accountant):
    _flows(accountant)
    _, headers = token_for(client, organisation=pes_member)

    response = client.get(MONITORING, **headers)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "pes" not in response.json()


def test_a_company_client_is_refused(client, db):
    from tests.factories.companies import company_siren, register_company, verified_person

    company = register_company(
        verified_person("gerant@example.org"), siren=company_siren(5)
    ).company
    _, headers = token_for(client, company=company)

    assert client.get(MONITORING, **headers).status_code == 403


def test_without_a_valid_token_nothing_is_answered(client, operator_software):
    client_id, headers = operator_software
    assert client.get(MONITORING).status_code == 401
    ApiClient.objects.filter(client_id=client_id).update(is_active=False)
    assert client.get(MONITORING, **headers).status_code == 401


def test_the_operation_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    operation = paths["/api/v1/legality/monitoring"]["get"]
    assert operation["operationId"] == "get_legality_monitoring"
    assert {"200", "401", "403"} <= set(operation["responses"])
