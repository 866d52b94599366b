"""Feeds of the published consultations: Atom for any search, a member's JSON feed that
any website reads (CORS), and the embeddable page, the one route a foreign page may
frame."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from lxml import etree

from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/consultations/feed.atom"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_b(agent_b):
    subscribe_to_procurement(agent_b.organisation)
    return agent_b


def parse(content: bytes) -> etree._Element:
    # A real XML parser, strict, that resolves no entity and reads no network.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(content, parser)


def entries(response) -> list[etree._Element]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = parse(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def test_the_atom_feed_of_a_search_is_valid_atom_with_the_searched_entries(client, buyer, buyer_b):
    make_consultation(buyer, title="Réfection de la toiture & du clocher", publish=True)
    make_consultation(buyer_b, title="Cantine scolaire", publish=True)
    make_consultation(buyer, reference="draft", title="Toiture en brouillon")

    response = client.get(FEED, {"q": "toiture"})

    root = parse(response.content)
    # RFC 4287: a feed has an id, a title and updated; each entry an id, a title, a link,
    # updated, and an author (here, its buyer).
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None
    (entry,) = entries(response)
    assert entry.findtext(f"{ATOM}title") == "Réfection de la toiture & du clocher"
    assert entry.findtext(f"{ATOM}id").startswith("http")
    assert entry.find(f"{ATOM}link").get("href") == entry.findtext(f"{ATOM}id")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Commune A"
    assert entry.findtext(f"{ATOM}updated")
    assert "CPV 45261000" in [c.get("term") for c in entry.findall(f"{ATOM}category")]
    (self_link,) = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert "q=toiture" in self_link.get("href")


def test_the_feed_takes_every_filter_of_the_portal(client, buyer, buyer_b):
    make_consultation(buyer, title="A", publish=True)
    make_consultation(buyer_b, title="B", publish=True)
    titles = [e.findtext(f"{ATOM}title") for e in entries(client.get(FEED, {"buyer": "commune-b"}))]
    assert titles == ["B"]
    assert len(entries(client.get(FEED))) == 2


def test_the_feed_refuses_bad_parameters_with_a_reason(client, db):
    response = client.get(FEED, {"cpv": "abc"})
    assert response.status_code == 400
    assert "cpv" in response.content.decode()
    assert client.get(f"{FEED}?q=%00").status_code == 400


def test_the_portal_links_the_feed_of_its_search(client, buyer):
    html = client.get("/consultations/", {"q": "toiture", "state": "open"}).content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'href="/consultations/feed.atom?q=toiture&amp;state=open"'
    ) in html


# --- A member's JSON feed --------------------------------------------------------------


def test_a_members_json_feed_lists_its_published_consultations_for_any_origin(
    client, buyer, buyer_b, org_a
):
    make_consultation(buyer, title="Toiture", publish=True)
    make_consultation(buyer, reference="draft", title="Brouillon")
    make_consultation(buyer_b, title="Autre membre", publish=True)

    url = reverse("consultations:member_json", kwargs={"slug": org_a.slug})
    response = client.get(url, HTTP_ORIGIN="https://www.commune-a.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert not response.cookies
    feed = json.loads(response.content)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [item["title"] for item in feed["items"]] == ["Toiture"]
    assert feed["items"][0]["_mutualis"]["is_open"] is True


def test_the_json_feed_is_read_only(client, org_a):
    url = reverse("consultations:member_json", kwargs={"slug": org_a.slug})
    assert client.post(url).status_code == 405
    assert (
        client.get(reverse("consultations:member_json", kwargs={"slug": "nowhere"})).status_code
        == 404
    )


# --- The embeddable page ------------------------------------------------------------------


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict([*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip())


def test_the_embeddable_page_may_be_framed_by_any_site_and_no_other_page_may(client, buyer, org_a):
    make_consultation(buyer, title="Toiture", publish=True)
    embed = client.get(reverse("consultations:member_embed", kwargs={"slug": org_a.slug}))
    assert embed.status_code == 200
    assert "Toiture" in embed.content.decode()
    assert "X-Frame-Options" not in embed
    assert directives(embed)["frame-ancestors"] == "*"
    # Everything else of the policy stays the platform's.
    assert directives(embed)["script-src"] == "'self'"

    for other in (
        "/consultations/",
        FEED,
        reverse("consultations:member_json", kwargs={"slug": org_a.slug}),
        reverse("directory:detail", kwargs={"slug": org_a.slug}),
        reverse("core:home"),
    ):
        response = client.get(other)
        assert response["X-Frame-Options"] == "DENY", other
        assert directives(response)["frame-ancestors"] == "'none'", other


def test_who_may_frame_the_embeddable_page_is_a_setting(client, org_a, settings):
    settings.MUTUALIS_EMBED_FRAME_ANCESTORS = "https://www.commune-a.example https://*.example.org"
    embed = client.get(reverse("consultations:member_embed", kwargs={"slug": org_a.slug}))
    assert directives(embed)["frame-ancestors"] == (
        "https://www.commune-a.example https://*.example.org"
    )


def test_the_embeddable_page_of_an_unknown_member_is_not_found(client, db):
    url = reverse("consultations:member_embed", kwargs={"slug": "nowhere"})
    assert client.get(url).status_code == 404
