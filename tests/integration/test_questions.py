"""Identified downloaders whose address is confirmed ask questions until the deadline for
questions (not a suspended company); the buyer answers, and the answer is published to
everyone without who asked; the confirmed downloaders are mailed of every answer and
every rectification, once each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.companies.models import Company, CompanyStatus
from mutualis.core import audit
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.procurement import questions, signals, tasks
from mutualis.procurement.models import Answer, Consultation, Question
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.core import org_url
from tests.factories.downloaders import confirm, identify
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    return make_consultation(buyer, publish=True)


@pytest.fixture
def confirmed(client, consultation):
    """A browser identified with a SIRET, its address confirmed."""
    identify(client, consultation)
    confirm(client, "jeanne@example.net")
    return client


def ask(client, consultation, text="Quelle est la surface de la toiture ?"):
    return client.post(reverse("consultations:ask", kwargs={"pk": consultation.pk}), {"text": text})


def questions_of(consultation) -> list[Question]:
    with scopes_disabled():
        return list(Question.objects.filter(consultation_id=consultation.pk))


def answer(client, buyer, consultation, **data):
    client.force_login(buyer.user)
    return client.post(org_url("procurement:answer", pk=consultation.pk), data)


def events(organisation, action):
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                chain=audit.organisation_chain(organisation.pk), action=action
            )
        )


# --- Asking ------------------------------------------------------------------------------


def test_a_confirmed_downloader_asks_and_the_buyers_are_mailed(confirmed, consultation, buyer):
    response = ask(confirmed, consultation)
    assert response.status_code == 302
    [question] = questions_of(consultation)
    assert question.text == "Quelle est la surface de la toiture ?"
    [mail] = OutgoingEmail.objects.filter(to=buyer.user.email)
    text = delivered_text(mail)
    assert f"/o/commune-a/procurement/{consultation.pk}/#questions" in text
    assert "Jeanne" not in text  # the mail links, the page shows
    assert len(events(buyer.organisation, "question.asked")) == 1


def test_an_unidentified_browser_cannot_ask(client, consultation):
    response = ask(client, consultation)
    assert response.status_code == 400
    assert response.context["question_form"].has_error("__all__", "downloader_not_identified")
    assert questions_of(consultation) == []


def test_an_unconfirmed_downloader_cannot_ask_and_receives_nothing_but_the_confirmation(
    client, consultation, buyer, django_capture_on_commit_callbacks
):
    identify(client, consultation)
    response = ask(client, consultation)
    assert response.status_code == 400
    assert response.context["question_form"].has_error("__all__", "downloader_email_unconfirmed")
    other = type(client)()
    with django_capture_on_commit_callbacks(execute=True):
        assert answer(other, buyer, consultation, body="<p>Information</p>").status_code == 302
    signals.rectification_published.send(
        sender="procurement",
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        rectification_id=5,
    )
    assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 1  # confirmation


def test_a_question_after_the_deadline_is_refused_clearly(confirmed, consultation):
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(
            questions_deadline=timezone.now() - timedelta(minutes=1)
        )
    response = ask(confirmed, consultation)
    assert response.status_code == 400
    form = response.context["question_form"]
    assert form.has_error("text", "questions_closed")
    assert "deadline for questions has passed" in response.content.decode()
    assert questions_of(consultation) == []


def test_a_suspended_company_cannot_ask(client, consultation):
    admin = register_company(
        verified_person("alice.x@example.org"), siren=company_siren(1), name="Menuiserie X"
    )
    client.force_login(admin.user)
    client.post(
        reverse("consultations:identify", kwargs={"pk": consultation.pk}),
        {"mode": "account", "company": admin.company.siren},
    )
    assert ask(client, consultation).status_code == 302
    Company.objects.filter(pk=admin.company_id).update(status=CompanyStatus.SUSPENDED)
    response = ask(client, consultation, "Encore une question ?")
    assert response.status_code == 400
    assert response.context["question_form"].has_error("__all__", "company_suspended")
    assert len(questions_of(consultation)) == 1


def test_bad_questions_are_refused_without_error_page(confirmed, consultation):
    for text in ("", "   ", "a\x00b", "x" * 4001):
        assert ask(confirmed, consultation, text).status_code == 400
    assert questions_of(consultation) == []


def test_questions_are_limited_per_downloader(confirmed, consultation, settings):
    settings.MUTUALIS_QUESTION_RATE_PER_DOWNLOADER = "2/h"
    assert ask(confirmed, consultation, "Un ?").status_code == 302
    assert ask(confirmed, consultation, "Deux ?").status_code == 302
    response = ask(confirmed, consultation, "Trois ?")
    assert response.status_code == 400
    assert response.context["question_form"].has_error("text", "question_limit_reached")
    assert len(questions_of(consultation)) == 2


def test_asking_needs_a_post_with_its_csrf_token(confirmed, consultation):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.cookies = confirmed.cookies
    response = strict.post(
        reverse("consultations:ask", kwargs={"pk": consultation.pk}), {"text": "Hein ?"}
    )
    assert response.status_code == 403
    assert (
        confirmed.get(reverse("consultations:ask", kwargs={"pk": consultation.pk})).status_code
        == 405
    )


# --- Answering ---------------------------------------------------------------------------


def test_the_answer_is_published_to_all_without_who_asked(client, confirmed, consultation, buyer):
    ask(confirmed, consultation)
    [question] = questions_of(consultation)
    response = answer(
        client,
        buyer,
        consultation,
        question=question.pk,
        question_text="Quelle est la surface de la toiture ?",
        body="<p>Environ <strong>420 m²</strong>.</p><script>alert(1)</script>",
    )
    assert response.status_code == 302
    with scopes_disabled():
        published = Answer.objects.get(question=question)
    assert "<script>" not in published.body
    assert "<strong>420 m²</strong>" in published.body
    public = type(client)().get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    body = public.content.decode()
    assert "420 m²" in body
    assert "Quelle est la surface de la toiture ?" in body
    assert f'id="answer-{published.pk}"' in body
    for secret in ("Jeanne", "jeanne@example.net", "Martin"):
        assert secret not in body
    assert len(events(buyer.organisation, "answer.published")) == 1


def test_the_buyer_sees_who_asked_on_its_page(client, confirmed, consultation, buyer):
    ask(confirmed, consultation)
    client.force_login(buyer.user)
    body = client.get(org_url("procurement:detail", pk=consultation.pk)).content.decode()
    assert "Quelle est la surface" in body
    assert "Jeanne Martin" in body


def test_a_question_is_answered_once(client, confirmed, consultation, buyer):
    ask(confirmed, consultation)
    [question] = questions_of(consultation)
    answer(client, buyer, consultation, question=question.pk, body="Oui.")
    response = answer(client, buyer, consultation, question=question.pk, body="Non.")
    assert response.status_code == 400
    with scopes_disabled():
        assert Answer.objects.filter(question=question).count() == 1


def test_the_buyer_publishes_information_without_a_question(client, consultation, buyer):
    response = answer(client, buyer, consultation, body="<p>Visite le 12 mars à 10 h.</p>")
    assert response.status_code == 302
    public = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    assert "Visite le 12 mars" in public.content.decode()
    assert "Information from the buyer" in public.content.decode()


def test_an_empty_answer_is_refused(client, consultation, buyer):
    response = answer(client, buyer, consultation, body="<script>alert(1)</script>")
    assert response.status_code == 400
    with scopes_disabled():
        assert not Answer.objects.exists()


def test_answering_is_for_the_members_buyers_only(client, confirmed, consultation, buyer, agent_b):
    ask(confirmed, consultation)
    [question] = questions_of(consultation)
    data = {"question": question.pk, "body": "Réponse"}
    clerk = make_member(buyer.organisation, "clerk.a@example.org", roles=[])
    client.force_login(clerk.user)
    assert client.post(org_url("procurement:answer", pk=consultation.pk), data).status_code == 404
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    assert client.post(org_url("procurement:answer", pk=consultation.pk), data).status_code == 404
    other = org_url("procurement:answer", "commune-b", pk=consultation.pk)
    assert client.post(other, data).status_code == 404
    # Another member's question under one's own consultation is not found either.
    own = make_consultation(agent_b, publish=True, reference="B-1")
    url = org_url("procurement:answer", "commune-b", pk=own.pk)
    assert client.post(url, data).status_code == 404
    with scopes_disabled():
        assert not Answer.objects.exists()


def test_a_suspended_subscription_cannot_answer(client, consultation, buyer):
    subscribe_to_procurement(buyer.organisation, active=False)
    response = answer(client, buyer, consultation, body="Réponse")
    assert response.status_code == 403
    with scopes_disabled():
        assert not Answer.objects.exists()


# --- E-mails to the identified downloaders ------------------------------------------------


def test_confirmed_downloaders_are_mailed_once_of_each_answer(
    client, confirmed, consultation, buyer, django_capture_on_commit_callbacks
):
    unconfirmed = type(client)()
    identify(unconfirmed, consultation, email="paul@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(client, buyer, consultation, body="<p>Information</p>")
    assert response.status_code == 302
    with scopes_disabled():
        published = Answer.objects.get()
    mails = OutgoingEmail.objects.filter(to="jeanne@example.net").order_by("pk")
    assert mails.count() == 2  # the confirmation, then the answer
    text = delivered_text(mails.last())
    assert f"/consultations/{consultation.pk}/#answer-{published.pk}" in text
    assert OutgoingEmail.objects.filter(to="paul@example.net").count() == 1  # confirmation
    # The job may run twice: the e-mail goes once.
    tasks.notify_downloaders.enqueue(
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        kind="answer",
        reference=published.pk,
    )
    assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 2


def test_confirmed_downloaders_are_mailed_of_a_rectification(confirmed, consultation):
    signals.rectification_published.send(
        sender="procurement",
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        rectification_id=77,
    )
    mail = OutgoingEmail.objects.filter(to="jeanne@example.net").order_by("pk").last()
    assert "rectified" in mail.subject
    assert f"/consultations/{consultation.pk}/#rectification-77" in delivered_text(mail)
    signals.rectification_published.send(
        sender="procurement",
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        rectification_id=77,
    )
    assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 2


def test_the_rectification_mail_is_sent_after_the_commit_only(confirmed, consultation):
    """The buyer's service sends the signal on commit: a rolled back rectification
    mails nobody."""
    from django.db import transaction

    def rectify_then_fail() -> None:
        with transaction.atomic():
            signals.send_on_commit(
                signals.rectification_published,
                consultation_id=consultation.pk,
                organisation_id=consultation.organisation_id,
                rectification_id=78,
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rectify_then_fail()
    assert OutgoingEmail.objects.filter(to="jeanne@example.net").count() == 1


def test_notify_ignores_an_unknown_kind():
    with pytest.raises(ValueError, match="spam"):
        questions.notify_downloaders(consultation_id=1, organisation_id=1, kind="spam", reference=1)


def test_the_demo_has_identified_downloaders_questions_and_answers_once(client):
    from io import StringIO

    from django.core.management import call_command

    from mutualis.procurement.models import Downloader

    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    with scopes_disabled():
        lines = list(Downloader.for_organisation.select_related("company"))
        assert Question.objects.count() == 4
        answers = list(Answer.objects.all())
    assert len(answers) == 4  # three answers and one piece of information
    assert any(line.company and line.company.siren == "832741656" for line in lines)
    assert all(line.confirmed_at for line in lines)
    page = client.get(reverse("consultations:detail", kwargs={"pk": answers[0].consultation_id}))
    body = page.content.decode()
    assert answers[0].body in body, (answers[0].body, body[body.find("questions-title") :][:1500])


def test_a_refused_answer_keeps_what_the_buyer_typed(client, confirmed, consultation, buyer):
    ask(confirmed, consultation)
    [question] = questions_of(consultation)
    response = answer(client, buyer, consultation, question=question.pk, body="<script>q</script>")
    assert response.status_code == 400
    assert "&lt;script&gt;q&lt;/script&gt;</textarea>" in response.content.decode()
    response = answer(client, buyer, consultation, body="<script>info</script>")
    assert response.status_code == 400
    assert "&lt;script&gt;info&lt;/script&gt;</textarea>" in response.content.decode()
    with scopes_disabled():
        assert not Answer.objects.exists()


def test_a_plain_text_answer_keeps_its_paragraphs(client, consultation, buyer):
    answer(client, buyer, consultation, body="Première ligne\nseconde ligne\n\nTroisième & fin")
    with scopes_disabled():
        published = Answer.objects.get()
    assert published.body == "<p>Première ligne<br>seconde ligne</p>\n\n<p>Troisième &amp; fin</p>"
