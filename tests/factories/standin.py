"""The ministry's stand-in running as a real HTTPS server on a loopback port, with the
platform's settings pointed at it (its test CA, the operator's client certificate, a
Maildir of the test's own)."""

from __future__ import annotations

from datetime import date

import pytest
from django_scopes import scopes_disabled

from mutualis.legality import services
from mutualis.legality.models import Act
from mutualis.legality.standin.pki import make_pki
from mutualis.legality.standin.server import StandinServer, serve
from tests.factories.legality import enrol, legality_agent, prepare, subscribe

SIREN = "212100108"


@pytest.fixture(scope="session")
def standin_pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("standin-pki"))


@pytest.fixture
def maildir(tmp_path):
    return tmp_path / "returns"


@pytest.fixture
def standin(standin_pki, maildir, settings):
    server = StandinServer(("127.0.0.1", 0), standin_pki, maildir)
    thread = serve(server)
    settings.MUTUALIS_LEGALITY_ENDPOINT_URL = server.url
    settings.MUTUALIS_LEGALITY_RESCUE_URL = ""
    # The certificate as a path, the key as inline PEM (a secret read from a _FILE).
    settings.MUTUALIS_LEGALITY_CLIENT_CERTIFICATE = str(standin_pki.client_certificate)
    settings.MUTUALIS_LEGALITY_CLIENT_KEY = standin_pki.client_key.read_text()
    settings.MUTUALIS_LEGALITY_SERVER_CA = str(standin_pki.ca)
    settings.MUTUALIS_LEGALITY_PROTOCOL = "201"
    settings.MUTUALIS_LEGALITY_WINDOWS = ""
    settings.MUTUALIS_LEGALITY_HOURLY_CAP_BYTES = 0
    settings.MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE = True
    settings.MUTUALIS_LEGALITY_TIMEOUT_SECONDS = 10
    settings.MUTUALIS_LEGALITY_MAX_ATTEMPTS = 3
    settings.MUTUALIS_LEGALITY_RETRY_SECONDS = 60
    settings.MUTUALIS_LEGALITY_MAILBOX = "maildir"
    settings.MUTUALIS_LEGALITY_MAILDIR = maildir
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = SIREN
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def clerk(member):
    return legality_agent(
        member, "clerk.a@example.org", roles=("legality_agent", "legality_sender")
    )


def waiting_act(clerk, number: str = "DEL_2026_007", decided_on: date = date(2026, 2, 3)) -> Act:
    act = prepare(clerk, number=number, decided_on=decided_on)
    services.validate_act(actor=clerk, act_id=act.pk)
    return fresh(act)


def fresh(act: Act) -> Act:
    with scopes_disabled():
        return Act.objects.select_related("package").get(pk=act.pk)
