"""The company's deposit page (``/c/<siren>/deposits/consultations/<id>/``) and the
"Respond electronically" section of a consultation's public page: who sees them, what
they show, and that they change nothing. The deposit itself (the browser against the
API) is the browser test's (tests/e2e/test_deposits_page_browser.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_scopes import scopes_disabled

from mutualis.deposits.api import DepositIn
from mutualis.deposits.models import Deposit, DepositState
from mutualis.procurement.models import Consultation
from tests.factories.companies import (
    add_vault_document,
    company_siren,
    register_company,
    verified_person,
)
from tests.factories.deposits_page import give_opening_key, make_deposit
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

SIREN_X = company_siren(1)
SIREN_Y = company_siren(2)


def page_url(consultation_id: int, siren: str = SIREN_X) -> str:
    return reverse(
        "company_deposits:consultation", kwargs={"company": siren, "pk": consultation_id}
    )


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    published = make_consultation(buyer, publish=True, lots=2)
    give_opening_key(published, buyer)
    return published


@pytest.fixture
def alice(db):
    user = verified_person("alice@menuiserie.example", first_name="Alice")
    return register_company(user, siren=SIREN_X, name="Menuiserie Dupont")


@pytest.fixture
def yann(db):
    user = verified_person("yann@charpente.example", first_name="Yann")
    return register_company(user, siren=SIREN_Y, name="Charpente Martin")


def move_deadline(consultation: Consultation, when) -> None:
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(response_deadline=when)


def test_a_representative_sees_the_deposit_page(client, consultation, alice):
    add_vault_document(alice, file_name="urssaf.pdf")
    client.force_login(alice.user)
    response = client.get(page_url(consultation.pk))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    context = response.context
    assert context["consultation"].pk == consultation.pk
    assert [lot.number for lot in context["lots"]] == [1, 2]
    assert context["company"].siren == SIREN_X
    assert context["before_deadline"] is True
    assert context["late"] is False
    assert context["accepts_deposits"] is True
    assert context["api_base"] == "/api/v1/deposits"
    assert context["deadline_ms"] == int(consultation.response_deadline.timestamp() * 1000)
    assert abs(context["now_ms"] - timezone.now().timestamp() * 1000) < 60_000
    [document] = context["vault_documents"]
    assert document["name"] == "urssaf.pdf"
    assert document["url"].startswith(f"/c/{SIREN_X}/files/")
    body = response.content.decode()
    assert consultation.reference in body
    assert escape(consultation.title) in body
    # One radio button per lot, file inputs of both kinds, the vault document to pick.
    assert body.count('name="lot"') == 2
    assert 'data-kind="application"' in body
    assert 'data-kind="offer"' in body
    assert f'data-url="{document["url"]}"' in body
    # The backup copy is offered when the API records its announcement.
    assert context["backup_copy"] == ("backup_copy_announced" in DepositIn.model_fields)
    assert ('id="deposit-backup-copy"' in body) == context["backup_copy"]
    assert "start again from the beginning" in body
    # The script is a module from the static files, the worker's address a data attribute.
    assert 'type="module" src="/static/mutualis/deposits/deposit.js"' in body
    assert 'data-worker="/static/mutualis/deposits/encrypt-worker.js"' in body
    assert 'data-bundle="/static/vendor/sealing/sealing.min.js"' in body
    assert '<script id="deposit-text" type="application/json">' in body


def test_the_page_carries_a_policy_that_lets_its_worker_start(client, consultation, alice):
    client.force_login(alice.user)
    header = client.get(page_url(consultation.pk))["Content-Security-Policy"]
    directives = dict(part.strip().partition(" ")[::2] for part in header.split(";"))
    assert directives["worker-src"] == "'self'"
    assert directives["script-src"] == "'self'"


def test_a_consultation_without_lots_asks_for_none(client, buyer, alice):
    single = make_consultation(buyer, publish=True, reference="2027-002")
    give_opening_key(single, buyer)
    client.force_login(alice.user)
    response = client.get(page_url(single.pk))
    assert response.context["lots"] == []
    assert 'name="lot"' not in response.content.decode()


def test_a_consultation_without_an_opening_key_takes_no_deposit(client, buyer, alice):
    unkeyed = make_consultation(buyer, publish=True, reference="2027-004")
    client.force_login(alice.user)
    response = client.get(page_url(unkeyed.pk))
    assert response.status_code == 200
    assert response.context["accepts_deposits"] is False
    body = response.content.decode()
    assert "does not accept electronic deposits" in body
    assert 'id="deposit-form"' not in body


def test_another_companys_representative_gets_404(client, consultation, alice, yann):
    client.force_login(yann.user)
    assert client.get(page_url(consultation.pk, SIREN_X)).status_code == 404
    # On their own company's path, they see their own page.
    assert client.get(page_url(consultation.pk, SIREN_Y)).status_code == 200


def test_a_person_of_no_company_gets_404_and_an_anonymous_visitor_the_login(
    client, consultation, alice, outsider
):
    response = client.get(page_url(consultation.pk))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(outsider)
    assert client.get(page_url(consultation.pk)).status_code == 404


def test_a_draft_or_unknown_consultation_is_not_found(client, buyer, alice):
    draft = make_consultation(buyer, reference="2027-003")
    client.force_login(alice.user)
    assert client.get(page_url(draft.pk)).status_code == 404
    assert client.get(page_url(draft.pk + 1000)).status_code == 404
    assert client.get(page_url(2**63)).status_code == 404
    assert client.get(f"/c/{SIREN_X}/deposits/consultations/-1/").status_code == 404
    # A NUL byte in the path is refused before any view (a clear 400, never a 500).
    assert client.get(f"/c/{SIREN_X}/deposits/consultations/1%00/").status_code == 400


def test_the_page_changes_nothing(client, consultation, alice):
    client.force_login(alice.user)
    assert client.post(page_url(consultation.pk)).status_code == 405
    with scopes_disabled():
        assert not Deposit.for_organisation.exists()


def test_the_list_shows_the_companys_own_deposits_only(client, consultation, alice, yann):
    own = make_deposit(consultation=consultation, representative=alice)
    earlier = make_deposit(
        consultation=consultation, representative=alice, state=DepositState.SUPERSEDED
    )
    withdrawn = make_deposit(
        consultation=consultation,
        representative=alice,
        state=DepositState.WITHDRAWN,
        withdrawn_at=timezone.now(),
    )
    theirs = make_deposit(consultation=consultation, representative=yann)
    client.force_login(alice.user)
    response = client.get(page_url(consultation.pk))
    listed = {d.reference: d for d in response.context["deposits"]}
    assert set(listed) == {own.reference, earlier.reference, withdrawn.reference}
    assert listed[own.reference].file_count == 1
    body = response.content.decode()
    assert theirs.reference not in body
    assert "replaced by a later deposit" in body
    assert "withdrawn" in body
    # Only the standing deposit can be withdrawn, before the deadline.
    assert body.count('class="deposit-withdraw') == 1
    assert f'data-reference="{own.reference}"' in body


def test_after_the_deadline_a_deposit_is_flagged_late_and_none_withdrawn(
    client, consultation, alice
):
    make_deposit(consultation=consultation, representative=alice)
    move_deadline(consultation, timezone.now() - timedelta(minutes=5))
    client.force_login(alice.user)
    response = client.get(page_url(consultation.pk))
    assert response.context["late"] is True
    body = response.content.decode()
    assert "flagged late" in body
    assert 'id="deposit-late" class="deposit-warning" hidden' not in body
    assert "deposit-withdraw" not in body
    # Late deposits are still received: the form stays.
    assert 'id="deposit-form"' in body


def test_a_cancelled_consultation_takes_no_response(client, buyer, consultation, alice):
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(
            state="cancelled", cancellation_reason="Besoin disparu."
        )
    client.force_login(alice.user)
    response = client.get(page_url(consultation.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "accepts no response" in body
    assert 'id="deposit-form"' not in body


# --- The section of the public page ------------------------------------------------------


def public_page(client, consultation) -> str:
    response = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_the_public_page_invites_to_sign_in(client, consultation):
    body = public_page(client, consultation)
    assert "Respond electronically" in body
    assert "Server time when this page was made" in body
    assert "/accounts/login/?next=" in body
    # No company's deposit page (/c/<siren>/deposits/…) for a visitor.
    assert "/c/" not in body


def test_the_public_page_links_a_representative_to_the_deposit_page(client, consultation, alice):
    client.force_login(alice.user)
    body = public_page(client, consultation)
    assert f'href="{page_url(consultation.pk)}"' in body
    assert "Deposit a response for Menuiserie Dupont" in body


def test_the_public_page_tells_a_person_of_no_company_how_to_respond(
    client, consultation, outsider
):
    client.force_login(outsider)
    body = public_page(client, consultation)
    assert "your account must represent a company" in body


def test_the_public_page_of_a_past_deadline_says_late(client, consultation):
    move_deadline(consultation, timezone.now() - timedelta(minutes=1))
    assert "flagged late" in public_page(client, consultation)


def test_a_cancelled_consultation_has_no_section(client, consultation):
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(
            state="cancelled", cancellation_reason="Besoin disparu."
        )
    assert "Respond electronically" not in public_page(client, consultation)


def test_the_page_and_its_script_speak_french(client, settings, consultation, alice):
    settings.LANGUAGE_CODE = "fr"
    client.force_login(alice.user)
    response = client.get(page_url(consultation.pk), headers={"accept-language": "fr"})
    assert response["Content-Language"] == "fr"
    body = response.content.decode()
    assert "Chiffrer et déposer" in body
    # The script's sentences, translated on the server (json_script escapes them).
    text = response.context["js_text"]
    assert text["hashing"] == "Calcul de l\u2019empreinte SHA-256 : {percent} %"
    assert "Calcul de l\\u2019empreinte SHA-256" in body
