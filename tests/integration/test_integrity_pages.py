"""The integrity pages: the buyer reads its own indicators and flags (and on each of its
consultations), the operator's staff every buyer's; another member's agent, a company's
representative, an agent without the role and an outsider get 404, anonymous people the
login page; bad input never gives a server error."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from mutualis.integrity import computation
from tests.factories import integrity as f
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.identity import make_member
from tests.factories.procurement import subscribe_to_procurement

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Marché secret de la commune A"


@pytest.fixture
def flagged(org_a, agent_a):
    """A's procedure with a single bid and a value just under 60,000 €, computed."""
    consultation = f.procedure(
        org_a,
        procedure="adapted",
        category="supplies",
        estimated_value=Decimal("59500"),
        title=SECRET_TITLE,
    )
    f.offer(consultation, f.company(1, "Fournitures Dupont"))
    computation.compute()
    return consultation


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def home(org: str = "commune-a") -> str:
    return reverse("integrity:home", kwargs={"org": org})


def test_the_buyer_sees_its_figures_flags_and_sources(agent_a, flagged):
    page = client_of(agent_a.user).get(home())
    text = page.content.decode()
    assert page.status_code == 200
    assert SECRET_TITLE in text
    assert "Only one offer was received on time" in text
    assert "59\u202f500" in text
    assert "not a verdict" in text
    assert "https://doi.org/10.1007/s10610-016-9308-z" in text  # Fazekas, Tóth, King
    assert "https://www.oecd.org/competition/cartels/42851044.pdf" in text
    assert "single-market-scoreboard.ec.europa.eu" in text
    # A company's name and an offer's price are not on the integrity page.
    assert "Fournitures Dupont" not in text


def test_the_buyer_filters_by_indicator(agent_a, flagged):
    page = client_of(agent_a.user).get(home(), {"indicator": "short_deadline"})
    assert SECRET_TITLE not in page.content.decode()
    page = client_of(agent_a.user).get(home(), {"indicator": "single_bid"})
    assert SECRET_TITLE in page.content.decode()


def test_the_consultation_page_shows_its_flags(agent_a, flagged):
    subscribe_to_procurement(agent_a.organisation)
    url = reverse("procurement:detail", kwargs={"org": "commune-a", "pk": flagged.pk})
    text = client_of(agent_a.user).get(url).content.decode()
    assert "Only one offer was received on time" in text
    assert home() in text


def test_another_members_agent_gets_404(agent_b, flagged):
    client = client_of(agent_b.user)
    assert client.get(home()).status_code == 404
    # On its own path it sees its own (empty) figures, never A's.
    own = client.get(home("commune-b"))
    assert own.status_code == 200
    assert SECRET_TITLE not in own.content.decode()


def test_an_agent_without_the_role_gets_404(org_a, flagged):
    secretary = make_member(org_a, "secretaire@commune-a.example", ["secretary"])
    assert client_of(secretary.user).get(home()).status_code == 404


def test_a_company_and_an_outsider_get_404(outsider, flagged):
    representative = register_company(
        verified_person("gerant@entreprise.example"), siren=company_siren(7), name="Plomberie"
    )
    for user in (representative.user, outsider):
        client = client_of(user)
        assert client.get(home()).status_code == 404
        assert client.get(reverse("integrity_operator:buyers")).status_code == 404


def test_anonymous_people_are_sent_to_login(client, flagged):
    for url in (home(), reverse("integrity_operator:buyers")):
        answer = client.get(url)
        assert answer.status_code == 302
        assert "/accounts/login/" in answer["Location"]


def test_the_operator_sees_every_buyer(operator_staff, org_a, flagged):
    client = client_of(operator_staff.user)
    listing = client.get(reverse("integrity_operator:buyers"))
    assert listing.status_code == 200
    assert org_a.name in listing.content.decode()
    detail = client.get(reverse("integrity_operator:buyer", kwargs={"pk": org_a.pk}))
    assert detail.status_code == 200
    assert SECRET_TITLE in detail.content.decode()
    assert client.get(reverse("integrity_operator:buyer", kwargs={"pk": 10**6})).status_code == 404


def test_a_buyer_is_not_operator_staff(agent_a, flagged):
    client = client_of(agent_a.user)
    assert client.get(reverse("integrity_operator:buyers")).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"indicator": "single_bid\x00"},
        {"indicator": "x" * 5000},
        {"page": "abc"},
        {"page": "-1"},
        {"page": "9" * 40},
        {"page": "\x00"},
    ],
)
def test_bad_input_never_gives_a_server_error(agent_a, operator_staff, flagged, query):
    # A NUL byte is refused at the door (400, with its message); the rest is ignored.
    expected = 400 if any("\x00" in value for value in query.values()) else 200
    assert client_of(agent_a.user).get(home(), query).status_code == expected
    operator = client_of(operator_staff.user)
    assert operator.get(reverse("integrity_operator:buyers"), query).status_code == expected


def test_invalid_utf8_in_the_query_is_refused_with_a_message(agent_a, flagged):
    answer = client_of(agent_a.user).get(home() + "?indicator=%C3%28&page=%FF")
    assert answer.status_code == 400


def test_posting_is_refused(agent_a, flagged):
    assert client_of(agent_a.user).post(home()).status_code == 405
