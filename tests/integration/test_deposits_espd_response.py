"""The company's ESPD response (DUME) to a consultation: the form built from the buyer's
ESPD request (``/c/<siren>/deposits/consultations/<id>/espd/<lot>/``), its export as
ESPD-EDM XML, the import of a response made elsewhere (each bad input refused with its
reason), its offer on the deposit page like a vault document, and another company's
representatives kept out (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.deposits import espd_response as er
from mutualis.deposits import espd_response_services
from mutualis.deposits.models import EspdResponse
from mutualis.procurement import espd
from mutualis.procurement.models import Consultation
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.deposits_page import give_opening_key
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

SIREN_X = company_siren(1)
SIREN_Y = company_siren(2)


def url(name: str, consultation, lot: int = 1, siren: str = SIREN_X) -> str:
    kwargs = {"company": siren, "pk": consultation.pk}
    if name != "consultation":
        kwargs["lot"] = lot
    return reverse(f"company_deposits:{name}", kwargs=kwargs)


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    published = make_consultation(buyer, publish=True, lots=2)
    with scopes_disabled():
        Consultation.objects.filter(pk=published.pk).update(
            espd_selection=[
                {
                    "code": "gen-year-to",
                    "values": {"MINIMUM_AMOUNT": "200000", "QUANTITY_YEAR": "3"},
                }
            ]
        )
        published.refresh_from_db()
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


def questions_of(consultation, lot: int = 1) -> er.Questionnaire:
    with scopes_disabled():
        chosen = consultation.lots.get(number=lot) if lot else None
        return espd_response_services.questions_for(consultation, chosen)


def field_of(form, question_id: str) -> str:
    return form.rows[question_id].names[0]


def ground(questions: er.Questionnaire, code: str = "crime-org") -> er.CriterionQuestions:
    return next(c for c in questions.criteria if c.code == code)


def turnover_amount(questions: er.Questionnaire) -> er.Question:
    criterion = next(c for c in questions.criteria if c.code == "gen-year-to")
    return next(q for q in criterion.questions if q.kind == "AMOUNT")


def form_data(client, consultation, lot: int = 1, **answers) -> dict:
    """The form as the page shows it (the identity prefilled), with ``answers`` by
    property ID (raw field values)."""
    form = client.get(url("espd", consultation, lot)).context["form"]
    data = {name: form[name].value() or "" for name in form.OPERATOR_FIELDS}
    for question_id, value in answers.items():
        names = form.rows[question_id].names
        if isinstance(value, dict):
            for name, part in zip(names, value.values(), strict=True):
                data[name] = part
        else:
            data[names[0]] = value
    return data


def saved(company_id: int, consultation) -> list[EspdResponse]:
    with scopes_disabled():
        return list(
            EspdResponse.objects.filter(company_id=company_id, consultation=consultation).order_by(
                "pk"
            )
        )


def answer_and_save(client, consultation, lot: int = 1) -> tuple[er.Questionnaire, dict]:
    questions = questions_of(consultation, lot)
    crime = ground(questions)
    fraud = ground(questions, "fraud")
    amount = turnover_amount(questions)
    answers = {
        crime.questions[0].id: "false",
        fraud.questions[0].id: "true",
        next(q for q in fraud.questions if q.kind == "DESCRIPTION").id: "Condamnation en 2021.",
        amount.id: {"amount": "350000.50", "currency": "EUR"},
    }
    response = client.post(
        url("espd", consultation, lot), form_data(client, consultation, lot, **answers)
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    return questions, answers


# --- The form ---------------------------------------------------------------------------


def test_the_form_asks_the_requests_questions_with_the_identity_prefilled(
    client, consultation, alice
):
    client.force_login(alice.user)

    response = client.get(url("espd", consultation))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    form = response.context["form"]
    assert form["name"].value() == "Menuiserie Dupont"
    assert form["email"].value() == "alice@menuiserie.example"
    questions = response.context["questions"]
    assert questions.lot == "LOT-0001"
    assert len(questions.of_family("exclusion")) == len(espd.of_family("exclusion"))
    assert [c.code for c in questions.of_family("selection")] == ["gen-year-to"]
    body = response.content.decode()
    assert escape(ground(questions).title) in body
    assert "200000 EUR" in body  # the buyer's minimum turnover, shown with the criterion
    assert SIREN_X in body


def test_the_representative_saves_answers_that_are_audited(client, consultation, alice):
    client.force_login(alice.user)

    questions, _answers = answer_and_save(client, consultation)

    [row] = saved(alice.company_id, consultation)
    assert row.lot.number == 1
    amount = turnover_amount(questions)
    assert row.answers[amount.id] == {"amount": "350000.5", "currency": "EUR"}
    assert row.answers[ground(questions).questions[0].id] is False
    assert row.operator["name"] == "Menuiserie Dupont"
    assert row.operator["siren"] == SIREN_X
    with scopes_disabled():
        event = AuditEvent.objects.get(
            chain=audit.company_chain(alice.company_id), action="deposits.espd_response_saved"
        )
    assert event.payload["answers"] == len(row.answers)
    # Saving again replaces the answers and draws a new document UUID.
    first_uuid = row.document_uuid
    answer_and_save(client, consultation)
    [again] = saved(alice.company_id, consultation)
    assert again.pk == row.pk
    assert again.document_uuid != first_uuid


def test_a_description_under_a_ground_answered_no_is_not_kept(client, consultation, alice):
    client.force_login(alice.user)
    questions = questions_of(consultation)
    crime = ground(questions)
    describe = next(q for q in crime.questions if q.kind == "DESCRIPTION")

    client.post(
        url("espd", consultation),
        form_data(client, consultation, **{crime.questions[0].id: "false", describe.id: "texte"}),
    )

    [row] = saved(alice.company_id, consultation)
    assert row.answers == {crime.questions[0].id: False}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"amount": "-5", "currency": "EUR"}, "greater than or equal to 0"),
        ({"amount": "beaucoup", "currency": "EUR"}, "Enter a number"),
        ({"amount": "1000", "currency": "EU1"}, "three-letter code"),
    ],
)
def test_a_bad_amount_is_refused_and_nothing_is_saved(client, consultation, alice, value, message):
    client.force_login(alice.user)
    amount = turnover_amount(questions_of(consultation))

    response = client.post(
        url("espd", consultation), form_data(client, consultation, **{amount.id: value})
    )

    assert response.status_code == 200
    assert message in str(response.context["form"].errors)
    assert saved(alice.company_id, consultation) == []


def test_an_over_long_text_or_a_nul_byte_is_refused(client, consultation, alice):
    client.force_login(alice.user)
    questions = questions_of(consultation)
    fraud = ground(questions, "fraud")
    describe = next(q for q in fraud.questions if q.kind == "DESCRIPTION")
    data = form_data(
        client,
        consultation,
        **{fraud.questions[0].id: "true", describe.id: "x" * (er.DESCRIPTION_LENGTH + 1)},
    )

    too_long = client.post(url("espd", consultation), data)
    data[field_of(too_long.context["form"], describe.id)] = "nul\x00"
    nul = client.post(url("espd", consultation), data)

    assert too_long.status_code == 200
    assert "at most 4000 characters" in str(too_long.context["form"].errors)
    assert nul.status_code == 400  # the edge's refusal, with its page
    assert saved(alice.company_id, consultation) == []


def test_a_response_without_any_answer_is_refused(client, consultation, alice):
    client.force_login(alice.user)

    response = client.post(url("espd", consultation), form_data(client, consultation))

    assert "Answer at least one question" in str(response.context["form"].errors)
    assert saved(alice.company_id, consultation) == []


def test_a_lot_that_does_not_exist_is_404(client, consultation, alice):
    client.force_login(alice.user)

    assert client.get(url("espd", consultation, lot=3)).status_code == 404
    assert client.get(url("espd", consultation, lot=0)).status_code == 404


def test_a_consultation_without_lots_is_answered_as_lot_0(client, buyer, alice):
    single = make_consultation(buyer, publish=True, reference="2027-002")
    client.force_login(alice.user)
    questions = questions_of(single, lot=0)

    response = client.post(
        url("espd", single, lot=0),
        form_data(client, single, lot=0, **{ground(questions).questions[0].id: "false"}),
    )

    assert response.status_code == 302
    [row] = saved(alice.company_id, single)
    assert row.lot is None
    assert client.get(url("espd", single, lot=1)).status_code == 404


# --- Export ------------------------------------------------------------------------------


def test_the_export_is_a_valid_espd_response_with_the_answers(client, consultation, alice):
    client.force_login(alice.user)
    questions, _answers = answer_and_save(client, consultation)

    response = client.get(url("espd_export", consultation))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert 'filename="dume-response.xml"' in response["Content-Disposition"]
    assert er.validate(response.content) == []
    parsed = er.read(response.content)
    assert parsed.operator.name == "Menuiserie Dupont"
    assert parsed.operator.siren == SIREN_X
    assert parsed.reference == consultation.reference
    assert parsed.lot == "LOT-0001"
    assert parsed.answers[turnover_amount(questions).id] == {
        "amount": "350000.5",
        "currency": "EUR",
    }
    assert [c.title for c in parsed.exclusions_answered_yes] == [ground(questions, "fraud").title]
    # The same document each time until it changes: the deposit page's size holds.
    assert client.get(url("espd_export", consultation)).content == response.content


def test_nothing_saved_nothing_to_export(client, consultation, alice):
    client.force_login(alice.user)

    assert client.get(url("espd_export", consultation)).status_code == 404


# --- Import ------------------------------------------------------------------------------


def upload(client, consultation, data: bytes, lot: int = 1, name: str = "dume.xml"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        url("espd_import", consultation, lot),
        {"file": SimpleUploadedFile(name, data, content_type="application/xml")},
    )


def test_an_exported_response_imports_to_the_same_answers(client, consultation, alice):
    client.force_login(alice.user)
    answer_and_save(client, consultation, lot=1)
    exported = client.get(url("espd_export", consultation, 1)).content
    [first] = saved(alice.company_id, consultation)

    response = upload(client, consultation, exported, lot=2)

    assert response.status_code == 302
    rows = saved(alice.company_id, consultation)
    assert len(rows) == 2
    assert rows[1].lot.number == 2
    assert rows[1].answers == first.answers
    with scopes_disabled():
        assert AuditEvent.objects.filter(
            chain=audit.company_chain(alice.company_id), action="deposits.espd_response_imported"
        ).exists()


def test_answers_to_criteria_not_asked_are_ignored_and_said(client, buyer, consultation, alice):
    client.force_login(alice.user)
    answer_and_save(client, consultation)
    exported = client.get(url("espd_export", consultation)).content
    other = make_consultation(buyer, publish=True, reference="2027-009")  # no selection criteria

    response = upload(client, other, exported, lot=0)

    assert response.status_code == 302
    page = client.get(response["Location"])
    messages = [str(m) for m in page.context["messages"]]
    assert any("were ignored" in m for m in messages), messages
    assert any("another ESPD request" in m for m in messages)
    [row] = saved(alice.company_id, other)
    assert not any(key.startswith("C29_SC_gen-year-to") for key in row.answers)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7\n", "not an XML document"),
        (b"<r>&x;</r>", "not an XML document"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            "document type",
        ),
        (b"<QualificationApplicationRequest/>", "not an ESPD response"),
        (
            b'<QualificationApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:'
            b'xsd:QualificationApplicationResponse-2"><Unexpected/></QualificationApplicationResponse>',
            "does not follow the ESPD-EDM 4.1.0 schema",
        ),
        (b"<r>" + b" " * er.MAX_BYTES + b"</r>", "larger than 5 MB"),
    ],
)
def test_a_bad_file_is_refused_with_its_reason(client, consultation, alice, data, message):
    client.force_login(alice.user)

    response = upload(client, consultation, data)

    assert response.status_code == 400
    assert message in str(response.context["import_form"].errors)
    assert saved(alice.company_id, consultation) == []


def test_an_import_without_a_file_is_refused(client, consultation, alice):
    client.force_login(alice.user)

    response = client.post(url("espd_import", consultation), {})

    assert response.status_code == 400
    assert response.context["import_form"].errors["file"]


# --- The deposit page --------------------------------------------------------------------


def test_the_deposit_page_offers_the_saved_response_like_a_vault_document(
    client, consultation, alice
):
    client.force_login(alice.user)
    page = client.get(url("consultation", consultation)).content.decode()
    assert url("espd", consultation, 1) in page  # the invitation to fill it in
    assert 'class="deposit-vault deposit-espd"' not in page

    answer_and_save(client, consultation, lot=2)

    response = client.get(url("consultation", consultation))
    [offer] = [o for o in response.context["espd_offers"] if o.get("url")]
    with scopes_disabled():
        lot_2 = consultation.lots.get(number=2)
    assert offer["url"] == url("espd_export", consultation, 2)
    assert offer["name"] == "dume-response.xml"
    assert offer["size"] == len(client.get(offer["url"]).content)
    body = response.content.decode()
    assert 'class="deposit-vault deposit-espd"' in body
    assert 'data-kind="application"' in body
    assert f'data-url="{offer["url"]}"' in body
    assert f'data-lot="{lot_2.pk}"' in body


# --- Another company ----------------------------------------------------------------------


def test_another_companys_representative_gets_404(client, consultation, alice, yann):
    client.force_login(alice.user)
    answer_and_save(client, consultation)
    exported = client.get(url("espd_export", consultation)).content
    client.force_login(yann.user)

    assert client.get(url("espd", consultation)).status_code == 404
    assert client.get(url("espd_export", consultation)).status_code == 404
    assert upload(client, consultation, exported).status_code == 404
    assert client.post(url("espd", consultation), {"name": "Pirate"}).status_code == 404
    # In its own space, Y has no response of X.
    assert client.get(url("espd_export", consultation, siren=SIREN_Y)).status_code == 404
    assert len(saved(alice.company_id, consultation)) == 1
    assert saved(yann.company_id, consultation) == []


def test_a_draft_consultation_has_no_form(client, buyer, alice):
    draft = make_consultation(buyer, reference="2027-003")
    client.force_login(alice.user)

    assert client.get(url("espd", draft, lot=0)).status_code == 404


# --- At the opening ------------------------------------------------------------------------


def test_the_opening_shows_a_deposited_espd_response_as_structured_data(
    client, buyer, alice, settings
):
    from django.test import Client

    from mutualis.deposits.models import OpenedFile
    from mutualis.evidence import authority
    from tests.factories.deposits_opening import (
        close_on_time_section,
        enrol_holder,
        make_deposit,
        make_opening_key,
        pass_deadline,
    )
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    # Given a response deposited with an ESPD answering one exclusion ground "yes"
    authority.ensure_authority()
    single = make_consultation(buyer, publish=True, reference="2027-010")
    holder = make_member(
        buyer.organisation, "holder@commune-a.example", roles=["commission_member"]
    )
    give_authenticator_app(holder.user)
    holder_key, _identity = enrol_holder(holder, "passphrase of the espd test holder")
    _key, _identity, shares = make_opening_key(single, buyer, [holder_key], threshold=1)
    client.force_login(alice.user)
    questions = questions_of(single, lot=0)
    fraud = ground(questions, "fraud")
    crime = ground(questions)
    client.post(
        url("espd", single, lot=0),
        form_data(
            client, single, lot=0, **{fraud.questions[0].id: "true", crime.questions[0].id: "false"}
        ),
    )
    xml = client.get(url("espd_export", single, lot=0)).content
    make_deposit(single, alice, [("dume-response.xml", xml), ("notes.xml", b"<notes/>")])
    close_on_time_section(single)
    pass_deadline(single)

    # When the commission opens the deposits
    opening_url = reverse(
        "deposits_opening:session", kwargs={"org": buyer.organisation.slug, "pk": single.pk}
    )
    buyer_client = Client()
    buyer_client.force_login(buyer.user)
    assert buyer_client.post(opening_url + "start/").status_code == 302
    holder_client = Client()
    holder_client.force_login(holder.user)
    shared = holder_client.post(
        opening_url + "share/",
        f'{{"share": "{shares[0].hex()}"}}',
        content_type="application/json",
    )
    assert shared.json()["opened"] is True

    # Then the page shows the ESPD as structured data, the "yes" ground highlighted
    page = buyer_client.get(opening_url)
    body = page.content.decode()
    assert "ESPD response (DUME) in dume-response.xml" in body
    assert "Valid against the ESPD-EDM 4.1.0 schema." in body
    assert "Menuiserie Dupont" in body
    assert SIREN_X in body
    assert f"<mark><strong>{escape(fraud.title)}: Yes</strong></mark>" in body
    assert f"<strong>{escape(crime.title)}</strong>: No" in body
    assert "An exclusion ground is answered “yes”" in body
    # Another XML file is listed, not read as an ESPD.
    assert "ESPD response (DUME) in notes.xml" not in body
    with scopes_disabled():
        opened = OpenedFile.objects.get(deposit_file__name="dume-response.xml")
        reads = AuditEvent.objects.filter(
            chain=audit.organisation_chain(buyer.organisation_id),
            action="deposits.opened_file_read",
        )
        assert [e.payload["what"] for e in reads] == ["espd"]
        assert reads[0].object_id == str(opened.pk)
