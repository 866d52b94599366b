"""The DECP entry on the buyer's page of its contract (``/o/<slug>/contracts/<id>/``),
through the contract-page sections of the registry (``decp`` sits above ``contracts``):
its state (complete, what to fix, published), the clock and its due date, a link to the
entry; nothing for a contract without an entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import registry
from mutualis.decp.models import DecpEntry, Status
from tests.factories.decp import notified_contract

pytestmark = pytest.mark.django_db


def page_of(user, contract) -> str:
    client = Client()
    client.force_login(user)
    answer = client.get(
        reverse("contracts:contract", kwargs={"org": "commune-a", "contract_id": contract.pk})
    )
    assert answer.status_code == 200
    return answer.content.decode()


def entry_url(contract) -> str:
    return reverse("decp:entry", kwargs={"org": "commune-a", "contract_id": contract.pk})


def test_decp_declares_its_section_of_the_contract_page():
    assert "decp_entry" in [s.key for s in registry.contract_sections()]


def test_a_complete_entry_shows_its_clock_and_links_to_the_entry(agent_a):
    contract = notified_contract(agent_a)
    with scopes_disabled():
        entry = DecpEntry.objects.get(contract_id=contract.pk)
    assert entry.status == Status.READY
    html = page_of(agent_a.user, contract)
    assert "Essential data (DECP)" in html
    assert "complete" in html
    assert f'href="{entry_url(contract)}"' in html
    days = (entry.due_on - timezone.localdate()).days
    assert f"{days} days left" in html
    assert "late" not in html.split('id="decp-contract-title"')[1]


def test_an_incomplete_entry_says_what_to_fix(agent_a):
    contract = notified_contract(agent_a, ccag="")
    html = page_of(agent_a.user, contract)
    assert "incomplete: to be fixed" in html
    assert "Choose the CCAG of reference on the consultation" in html
    assert f'href="{entry_url(contract)}"' in html


def test_a_published_or_late_entry_says_so(agent_a):
    contract = notified_contract(agent_a)
    with scopes_disabled():
        DecpEntry.objects.filter(contract_id=contract.pk).update(
            due_on=timezone.localdate() - timedelta(days=1)
        )
    section = page_of(agent_a.user, contract).split('id="decp-contract-title"')[1]
    assert "<strong>late</strong>" in section
    with scopes_disabled():
        DecpEntry.objects.filter(contract_id=contract.pk).update(
            status=Status.PUBLISHED, published_at=timezone.now(), published_version=1
        )
    section = page_of(agent_a.user, contract).split('id="decp-contract-title"')[1]
    assert "published on the national portal" in section
    assert "late" not in section


def test_a_contract_without_an_entry_has_no_section(agent_a):
    contract = notified_contract(agent_a, amount="39999.99")
    assert 'id="decp-contract-title"' not in page_of(agent_a.user, contract)
