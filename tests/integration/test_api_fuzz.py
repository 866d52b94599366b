"""A property-based fuzz run of the whole API from its OpenAPI document (schemathesis),
in process through the WSGI application: a fixed number of derandomized examples per
operation, valid and invalid, checked for server errors, for answers that match the
document (status codes, content types, bodies) and for invalid input refused.

Later issues extend it by adding operations to the document: nothing to change here but
the token fixture, should an operation need a scope the client lacks.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from mutualis.core import audit
from mutualis.identity import oidc_clients
from mutualis.wsgi import application

pytestmark = pytest.mark.fuzz

# Per operation: seconds for the two operations of today; the whole run must stay within
# about three minutes as operations are added (lower it then, per operation if need be).
# With the legality operations (11, authenticated, multipart) 100 examples took 3.5 min
# on a loaded machine: 60 keep the whole run near 2 minutes.
EXAMPLES = 60


@pytest.fixture(autouse=True)
def _no_limits(settings):
    # Hundreds of requests from one address: the limits would answer 429 to most of them.
    settings.MUTUALIS_RATE_LIMITS_ENABLED = False


@pytest.fixture
def token(client, org_a):
    """An access token of an API client of organisation A, for the operations that need
    one (read and write scopes). Organisation A is enrolled for the legality control, so
    that the legality operations run their use cases, not only their refusals."""
    from tests.factories.identity import make_member
    from tests.factories.legality import enrol, subscribe

    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(make_member(org_a, "admin.fuzz@example.org", roles=["org_admin"]))
    api_client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Fuzz",
        scopes=["api:read", "api:write", "procurement:write"],
        grant_types=["client_credentials"],
        organisation_id=org_a.pk,
    )
    response = client.post(
        "/identity/o/api/token",
        {
            "grant_type": "client_credentials",
            "client_id": api_client.pk,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


# Read at collection: the document is built from the routers, without the database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


# Transactional: called as a server calls it, the application closes the database
# connection after each request, which a test's transaction would not survive.
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_document_says(case, token):
    case.call_and_validate(
        # A case made invalid in its headers (the bearer token removed or mangled) is sent
        # as generated: adding the token would make it valid behind the checks' back.
        headers={} if _headers_made_invalid(case) else {"Authorization": f"Bearer {token}"},
        # A schema-valid string with a control character (NUL) is refused at the edge for
        # every operation, as the document's description says, not per parameter.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def _headers_made_invalid(case) -> bool:
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None:
        return False
    component = meta.components.get(ParameterLocation.HEADER)
    return component is not None and component.mode.is_negative


def _parameter(name: str) -> dict:
    document = schema.raw_schema
    operation = document["paths"]["/api/v1/organisations"]["get"]
    return next(p for p in operation["parameters"] if p["name"] == name)["schema"]


@pytest.mark.parametrize("name", ["kind", "adhesion"])
def test_the_document_says_an_empty_filter_is_accepted(db, client, name):
    """The fuzz run found ``adhesion=`` accepted (as no filter) where the document's enum
    forbade it: the document now declares the empty value."""
    assert {"const": "", "type": "string"} in _parameter(name)["anyOf"]
    assert client.get("/api/v1/organisations", {name: ""}).status_code == 200
    assert client.get("/api/v1/organisations", {name: "nothing"}).status_code == 422
