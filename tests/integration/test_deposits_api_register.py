"""The buyer's deposit register: who deposited, when, which files (names, sizes, hashes),
late ones apart, superseded and withdrawn ones marked — never contents; buyers and
commission members of the organisation only, once the deadline has passed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client

from mutualis.deposits import services
from tests.factories.core import org_url
from tests.factories.deposits_api import (
    PLAINTEXT,
    full_deposit,
    post,
    representative,
    sealed_consultation,
)
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app
from tests.factories.procurement import subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _authority():
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def world(agent_a, monkeypatch):
    sealed = sealed_consultation(agent_a)
    deadline = sealed.consultation.response_deadline
    first, second = (
        representative(1, name="Menuiserie Un"),
        representative(2, name="Charpente Deux"),
    )
    one, two = Client(), Client()
    one.force_login(first.user)
    two.force_login(second.user)
    monkeypatch.setattr(services, "now", lambda: deadline - timedelta(hours=2))
    replaced, _f, _a = full_deposit(one, sealed, key="one-a", name="offre-v1.pdf")
    kept, _g, _b = full_deposit(one, sealed, key="one-b", name="offre-v2.pdf")
    withdrawn, _h, _c = full_deposit(two, sealed, key="two-a", name="retiree.pdf")
    post(two, f"/api/v1/deposits/{withdrawn}/withdraw", key="w")
    monkeypatch.setattr(services, "now", lambda: deadline + timedelta(seconds=5))
    late, _i, _d = full_deposit(two, sealed, key="two-b", name="en-retard.pdf")
    monkeypatch.setattr(services, "now", lambda: deadline + timedelta(hours=1))
    return {
        "sealed": sealed,
        "references": {"replaced": replaced, "kept": kept, "withdrawn": withdrawn, "late": late},
    }


def register_url(world, org="commune-a"):
    return org_url("deposit_register:register", org, pk=world["sealed"].consultation.pk)


def test_the_buyer_sees_the_register_after_the_deadline(client, agent_a, world):
    client.force_login(agent_a.user)
    response = client.get(register_url(world))
    assert response.status_code == 200
    page = response.content.decode()
    for reference in world["references"].values():
        assert reference in page
    assert "Menuiserie Un" in page
    assert "Charpente Deux" in page
    assert "offre-v2.pdf" in page
    assert "en-retard.pdf" in page
    assert "Replaced by a later deposit" in page
    assert "Withdrawn" in page
    on_time, late = page.split("Received late", 1)
    assert world["references"]["late"] in late
    assert world["references"]["late"] not in on_time
    assert world["references"]["kept"] in on_time
    # Never the contents.
    assert PLAINTEXT[:20].decode("latin-1") not in page
    # The consultation page links to it.
    detail = client.get(org_url("procurement:detail", pk=world["sealed"].consultation.pk))
    assert register_url(world) in detail.content.decode()


def test_the_register_exports_as_csv(client, agent_a, world):
    client.force_login(agent_a.user)
    url = org_url("deposit_register:register_csv", pk=world["sealed"].consultation.pk)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Deposit"
    by_reference = {row[0]: row for row in rows[1:]}
    assert set(by_reference) == set(world["references"].values())
    late = by_reference[world["references"]["late"]]
    assert late[6] == "yes"
    assert len(late[10]) == 64
    assert len(late[12]) == 64


def test_before_the_deadline_the_register_shows_nobody(client, agent_a, world, monkeypatch):
    deadline = world["sealed"].consultation.response_deadline
    monkeypatch.setattr(services, "now", lambda: deadline - timedelta(seconds=1))
    client.force_login(agent_a.user)
    page = client.get(register_url(world)).content.decode()
    assert "opens at the deadline" in page
    assert "Menuiserie Un" not in page
    csv_url = org_url("deposit_register:register_csv", pk=world["sealed"].consultation.pk)
    assert client.get(csv_url).status_code == 404


def test_commission_members_only_and_no_other_organisation(client, world, agent_a, agent_b):
    member = make_member(
        agent_a.organisation, "commission@example.org", roles=["commission_member"]
    )
    give_authenticator_app(member.user)
    client.force_login(member.user)
    assert client.get(register_url(world)).status_code == 200

    clerk = make_member(agent_a.organisation, "clerk@example.org", roles=[])
    client.force_login(clerk.user)
    assert client.get(register_url(world)).status_code == 404

    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    assert client.get(register_url(world)).status_code == 404
    assert client.get(register_url(world, "commune-b")).status_code == 404

    company = Client()
    company.force_login(representative(9).user)
    assert company.get(register_url(world)).status_code in (302, 404)
