"""The availability probe through the platform's public address: a real server (the live
server), the probe company's API client registered once and its secret kept in a 0600
file, a token from the token endpoint, the deposit through the API; a server that does not
answer, or answers 502 like a proxy whose workers are down, is recorded as a failure."""

from __future__ import annotations

import http.server
import json
import socket
import stat
import threading

import pytest
import requests
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope

from mutualis.companies.models import Company
from mutualis.core import audit
from mutualis.deposits import availability, probe_http
from mutualis.deposits.models import AvailabilityProbe, Deposit, DepositState
from mutualis.evidence import authority
from mutualis.identity import oidc_clients
from mutualis.identity.models import ApiClient

live = pytest.mark.django_db(transaction=True)


def no_clock_tool(command: list[str]) -> str | None:
    return None


@pytest.fixture
def test_consultation(operator_org):
    authority.ensure_authority()
    consultation_id, _key, _done = availability.ensure_test_consultation()
    assert consultation_id is not None
    return consultation_id


def probe_deposits() -> list[Deposit]:
    company = Company.objects.get(siren=availability.PROBE_SIREN)
    with scope(company=company.pk):
        return list(Deposit.for_company.filter(company=company).order_by("pk"))


@live
def test_a_probe_deposits_through_the_public_address(live_server, settings, test_consultation):
    settings.MUTUALIS_PROBE_URL = live_server.url
    first = availability.probe(run=no_clock_tool)
    assert first.ok, first.detail
    second = availability.probe(run=no_clock_tool)
    assert second.ok, second.detail

    deposits = probe_deposits()
    assert [d.reference for d in deposits] == [first.detail, second.detail]
    assert [d.state for d in deposits] == [DepositState.SUPERSEDED, DepositState.ACKNOWLEDGED]
    assert all(d.consultation_id == test_consultation for d in deposits)
    # Through the API, by the probe company's client: one client, registered once.
    stored = json.loads(settings.MUTUALIS_PROBE_CLIENT_FILE.read_text())
    assert {d.api_client_id for d in deposits} == {stored["client_id"]}
    assert ApiClient.objects.filter(company__siren=availability.PROBE_SIREN).count() == 1
    assert stat.S_IMODE(settings.MUTUALIS_PROBE_CLIENT_FILE.stat().st_mode) == 0o600
    # The public record says which path the probes take.
    page = live_server_get(live_server.url + reverse("deposits_proof:availability"))
    assert "through the platform's public address" in page or "adresse publique" in page


def live_server_get(url: str) -> str:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_does_not_answer_is_a_failed_probe(settings, test_consultation):
    settings.MUTUALIS_PROBE_URL = f"http://127.0.0.1:{free_port()}"
    failed = availability.probe(run=no_clock_tool)
    assert not failed.ok
    assert failed.detail.startswith("ConnectionError")
    assert AvailabilityProbe.objects.filter(ok=False).count() == 1
    assert probe_deposits() == []


class BadGateway(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_proxy_answering_502_is_a_failed_probe(settings, test_consultation):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.MUTUALIS_PROBE_URL = f"http://127.0.0.1:{server.server_address[1]}"
        failed = availability.probe(run=no_clock_tool)
    finally:
        server.shutdown()
        server.server_close()
    assert not failed.ok
    assert failed.detail == "ProbeFailed: token: HTTP 502"


def test_the_client_is_registered_again_when_its_file_names_no_usable_client(
    settings, test_consultation
):
    company_id = availability.probe_company().pk
    first, created = probe_http.ensure_client(company_id)
    assert created
    again, created = probe_http.ensure_client(company_id)
    assert (again, created) == (first, False)
    # The client deleted by the operator: a new one, the old file kept aside.
    oidc_clients.delete_client(actor=audit.SystemActor("test"), client_id=first["client_id"])
    renewed, created = probe_http.ensure_client(company_id)
    assert created
    assert renewed["client_id"] != first["client_id"]
    stale = settings.MUTUALIS_PROBE_CLIENT_FILE.with_name("probe-client.json.stale")
    assert json.loads(stale.read_text()) == first


def test_setup_registers_the_probe_client_once_when_probes_go_over_http(settings, operator_org):
    settings.MUTUALIS_PROBE_URL = "https://marches.example.org"
    call_command("setup", verbosity=0)
    call_command("setup", verbosity=0)
    assert ApiClient.objects.filter(company__siren=availability.PROBE_SIREN).count() == 1
    stored = json.loads(settings.MUTUALIS_PROBE_CLIENT_FILE.read_text())
    access = ApiClient.objects.get(client_id=stored["client_id"])
    assert access.company.siren == availability.PROBE_SIREN
