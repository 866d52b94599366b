"""Secure messaging between a buyer and the companies of a consultation: one thread per
company, messages time-stamped and audited on both chains, read receipts, e-mails that
say a message is waiting (never what it says), and who may write about what."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.files import errors as file_errors
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.evidence import timestamps
from mutualis.messaging import errors, selectors, services
from mutualis.messaging.models import Message, MessageKind, Side, Thread
from mutualis.procurement.models import Consultation
from tests.factories.identity import make_member
from tests.factories.messaging import PDF, downloaded, draft, representative, upload
from tests.factories.mfa import give_authenticator_app
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _time_stamping_authority():
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    return make_consultation(buyer, publish=True)


@pytest.fixture
def company_x(consultation):
    rep = representative(1, "Menuiserie Dupont")
    downloaded(consultation, rep)
    return rep


@pytest.fixture
def company_y(db):
    return representative(2, "Charpente Martin")


def events(chain: str, action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=chain, action=action).order_by("sequence"))


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def buyer_url(name: str, **kwargs) -> str:
    return reverse(f"messaging:{name}", kwargs={"org": "commune-a", **kwargs})


def company_url(rep, name: str, **kwargs) -> str:
    return reverse(f"company_messages:{name}", kwargs={"company": rep.company.siren, **kwargs})


def test_a_buyer_writes_to_a_company_that_reads_it(buyer, consultation, company_x):
    """Given a company that downloaded the files, when the buyer writes to it, then the
    message is stamped and audited on both chains, the company is mailed a link only, and
    its first reading is recorded and shown to the buyer."""
    mails_before = OutgoingEmail.objects.count()
    message = services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(subject="Précision", body="Le contenu confidentiel du message"),
    )
    assert (message.side, message.kind, message.author) == (Side.BUYER, "general", buyer.user)
    info = timestamps.verify(bytes(message.timestamp_token), bytes.fromhex(message.digest))
    assert info.digest == bytes.fromhex(message.digest)
    for chain in (
        audit.organisation_chain(buyer.organisation_id),
        audit.company_chain(company_x.company_id),
    ):
        sent = events(chain, "messaging.message_sent")
        assert [e.object_id for e in sent] == [str(message.pk)]
        assert sent[0].payload["digest"] == message.digest
    mails = list(OutgoingEmail.objects.order_by("pk")[mails_before:])
    assert [m.to for m in mails] == [company_x.user.email]
    assert "confidentiel" not in mails[0].body_text + mails[0].subject
    link = company_url(company_x, "thread", pk=message.thread_id)
    assert link in mails[0].body_text

    company = client_of(company_x.user)
    inbox = company.get(company_url(company_x, "inbox"))
    assert inbox.status_code == 200
    assert "Précision" not in inbox.content.decode()  # subjects only in the thread
    assert "<strong>1</strong>" in inbox.content.decode()
    page = company.get(link)
    assert page.status_code == 200
    assert "Le contenu confidentiel du message" in page.content.decode()
    with scopes_disabled():
        message.refresh_from_db()
    assert message.read_by == company_x.user
    first = message.read_at
    company.get(link)  # read again: the first reading stays
    with scopes_disabled():
        message.refresh_from_db()
    assert message.read_at == first
    assert len(events(audit.company_chain(company_x.company_id), "messaging.messages_read")) == 1
    assert (
        len(events(audit.organisation_chain(buyer.organisation_id), "messaging.messages_read")) == 1
    )

    answer = client_of(buyer.user).get(buyer_url("thread", pk=message.thread_id))
    assert "Read on" in answer.content.decode()
    # The buyer reading its own message records nothing.
    with scopes_disabled():
        message.refresh_from_db()
    assert message.read_by == company_x.user


def test_a_company_answers_and_the_buyers_are_told(buyer, consultation, company_x):
    message = services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(kind=MessageKind.CLARIFICATION),
    )
    colleague = make_member(buyer.organisation, "acheteur2@commune-a.example", roles=["buyer"])
    make_member(buyer.organisation, "elu@commune-a.example", roles=["commission_member"])
    before = OutgoingEmail.objects.count()
    answer = services.send_from_company(
        representative=company_x,
        consultation_id=consultation.pk,
        draft=draft(subject="Réponse", body="Voici les précisions", uploads=[upload()]),
    )
    assert answer.thread_id == message.thread_id
    assert answer.side == Side.COMPANY
    mails = OutgoingEmail.objects.order_by("pk")[before:]
    assert sorted(m.to for m in mails) == sorted([buyer.user.email, colleague.user.email])
    assert all("précisions" not in m.body_text for m in mails)
    with scope(organisation=buyer.organisation_id):
        threads = list(
            selectors.threads_of_consultation(
                organisation_id=buyer.organisation_id, consultation_id=consultation.pk
            )
        )
        assert [(t.total, t.unread) for t in threads] == [(2, 1)]
    with scope(company=company_x.company_id):
        assert [(t.total, t.unread) for t in selectors.inbox(company_id=company_x.company_id)] == [
            (2, 1)
        ]


def test_a_company_writes_only_about_consultations_it_is_linked_to(
    buyer, consultation, company_x, company_y
):
    """A company that neither responded nor downloaded the files cannot open a thread;
    once it downloaded them, it can; the buyer cannot write to a stranger either."""
    with pytest.raises(Consultation.DoesNotExist):
        services.send_from_company(
            representative=company_y, consultation_id=consultation.pk, draft=draft()
        )
    with pytest.raises(errors.NotACorrespondent):
        services.send_to_company(
            actor=buyer,
            consultation_id=consultation.pk,
            company_id=company_y.company_id,
            draft=draft(),
        )
    draft_consultation = make_consultation(buyer, reference="2027-002")
    with pytest.raises(Consultation.DoesNotExist):
        services.send_to_company(
            actor=buyer,
            consultation_id=draft_consultation.pk,
            company_id=company_x.company_id,
            draft=draft(),
        )
    downloaded(consultation, company_y)
    message = services.send_from_company(
        representative=company_y, consultation_id=consultation.pk, draft=draft()
    )
    with scopes_disabled():
        assert Thread.for_organisation.get(pk=message.thread_id).opened_by == Side.COMPANY


def test_writing_to_every_respondent_needs_respondents(buyer, consultation, company_x):
    """Having downloaded the files is not a response: nobody to write to."""
    with pytest.raises(errors.NobodyToWrite):
        services.send_to_respondents(actor=buyer, consultation_id=consultation.pk, draft=draft())


def test_attachments_are_checked_from_their_bytes(settings, buyer, consultation, company_x):
    def send(*uploads):
        return services.send_to_company(
            actor=buyer,
            consultation_id=consultation.pk,
            company_id=company_x.company_id,
            draft=draft(uploads=list(uploads)),
        )

    with pytest.raises(file_errors.FileExecutable):
        send(upload("outil.exe", b"MZ\x90\x00" + b"\x00" * 64))
    with pytest.raises(file_errors.FileNameContradictsType):
        send(upload("offre.docx", PDF))
    with pytest.raises(file_errors.FileEmpty):
        send(upload("vide.pdf", b""))
    settings.MUTUALIS_MESSAGE_MAX_FILE_BYTES = 20
    with pytest.raises(file_errors.FileTooLarge):
        send(upload())
    settings.MUTUALIS_MESSAGE_MAX_FILE_BYTES = 1000
    settings.MUTUALIS_MESSAGE_MAX_BYTES = len(PDF) + 10
    with pytest.raises(file_errors.FileSetTooLarge):
        send(upload("a.pdf"), upload("b.pdf"))
    with scopes_disabled():
        assert not Message.for_organisation.exists()
    message = send(upload("a.pdf"))
    with scopes_disabled():
        attachment = message.attachments.get()
    assert (attachment.file.content_type, attachment.file.size) == ("application/pdf", len(PDF))
    # Each side downloads it through its own thread; nobody else, not the generic view.
    path = buyer_url("attachment", pk=message.thread_id, attachment_id=attachment.pk)
    assert client_of(buyer.user).get(path).status_code == 200
    company_path = company_url(
        company_x, "attachment", pk=message.thread_id, attachment_id=attachment.pk
    )
    answer = client_of(company_x.user).get(company_path)
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PDF
    assert client_of(company_x.user).get(attachment.file.get_absolute_url()).status_code == 404


def test_messages_of_a_consultation_for_its_file(buyer, consultation, company_x, company_y):
    downloaded(consultation, company_y)
    first = services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(uploads=[upload()]),
    )
    second = services.send_from_company(
        representative=company_y, consultation_id=consultation.pk, draft=draft()
    )
    other = make_consultation(buyer, publish=True, reference="2027-002")
    downloaded(other, company_x)
    services.send_to_company(
        actor=buyer, consultation_id=other.pk, company_id=company_x.company_id, draft=draft()
    )
    with scope(organisation=buyer.organisation_id):
        found = selectors.messages_of_consultation(consultation.pk)
        assert [m.pk for m in found] == [second.pk, first.pk]  # by company name
        assert [a.file.sha256 for a in found[1].attachments.all()] != []


def test_the_rate_limit_stops_a_flood(settings, buyer, consultation, company_x):
    settings.MUTUALIS_MESSAGE_RATE_PER_USER = "2/h"
    for _n in range(2):
        services.send_from_company(
            representative=company_x, consultation_id=consultation.pk, draft=draft()
        )
    with pytest.raises(errors.MessageLimitReached):
        services.send_from_company(
            representative=company_x, consultation_id=consultation.pk, draft=draft()
        )
    # Through the page: 429 and the reason, nothing written.
    with scope(company=company_x.company_id):
        thread_id = Thread.for_company.get(company_id=company_x.company_id).pk
    answer = client_of(company_x.user).post(
        company_url(company_x, "reply", pk=thread_id), {"subject": "Encore", "body": "Encore"}
    )
    assert answer.status_code == 429
    assert "many messages" in answer.content.decode()
    with scopes_disabled():
        assert Message.for_organisation.count() == 2
    # The limit is per person: the buyer still writes.
    services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(),
    )


# --- Pages: who sees what --------------------------------------------------------------------


def test_pages_of_the_buyer_and_the_company(buyer, consultation, company_x):
    buyer_client = client_of(buyer.user)
    page = buyer_client.get(buyer_url("consultation", pk=consultation.pk))
    assert page.status_code == 200
    assert "Menuiserie Dupont" in page.content.decode()  # a recipient to choose
    answer = buyer_client.post(
        buyer_url("write", pk=consultation.pk),
        {
            "recipient": str(company_x.company_id),
            "kind": "negotiation",
            "subject": "Négociation",
            "body": "Nous vous invitons à négocier.",
            "attachments": [upload()],
        },
    )
    assert answer.status_code == 302
    with scopes_disabled():
        message = Message.for_organisation.get()
        assert (message.kind, message.attachments.count()) == ("negotiation", 1)
    assert answer["Location"] == buyer_url("thread", pk=message.thread_id)
    detail = buyer_client.get(
        reverse("procurement:detail", kwargs={"org": "commune-a", "pk": consultation.pk})
    )
    assert buyer_url("consultation", pk=consultation.pk) in detail.content.decode()

    company = client_of(company_x.user)
    inbox = company.get(company_url(company_x, "inbox"))
    assert consultation.reference in inbox.content.decode()
    answer = company.post(
        company_url(company_x, "write"),
        {"consultation": consultation.pk, "subject": "Question", "body": "Une question"},
    )
    assert answer.status_code == 302
    answer = company.post(
        company_url(company_x, "reply", pk=message.thread_id),
        {"subject": "Réponse", "body": "Nous acceptons", "attachments": [upload()]},
    )
    assert answer.status_code == 302
    with scopes_disabled():
        assert Message.for_organisation.filter(side=Side.COMPANY).count() == 2


def test_commission_members_read_and_do_not_write(buyer, consultation, company_x):
    message = services.send_from_company(
        representative=company_x, consultation_id=consultation.pk, draft=draft()
    )
    member = make_member(buyer.organisation, "elu@commune-a.example", roles=["commission_member"])
    give_authenticator_app(member.user)
    client = client_of(member.user)
    assert client.get(buyer_url("consultation", pk=consultation.pk)).status_code == 200
    page = client.get(buyer_url("thread", pk=message.thread_id))
    assert page.status_code == 200
    assert "Reply" not in page.content.decode()
    with scopes_disabled():
        message.refresh_from_db()
    assert message.read_by == member.user
    posted = client.post(
        buyer_url("reply", pk=message.thread_id), {"subject": "x", "body": "y", "kind": "general"}
    )
    assert posted.status_code == 404
    assert client.post(buyer_url("write", pk=consultation.pk), {}).status_code == 404


def test_other_members_and_companies_get_404(agent_b, buyer, consultation, company_x, company_y):
    message = services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(uploads=[upload()]),
    )
    with scopes_disabled():
        attachment = message.attachments.get()
    thread = message.thread_id
    subscribe_to_procurement(agent_b.organisation)
    # Another member's agent, in its own organisation's path.
    stranger = client_of(agent_b.user)
    for name, kwargs in (
        ("consultation", {"pk": consultation.pk}),
        ("thread", {"pk": thread}),
        ("attachment", {"pk": thread, "attachment_id": attachment.pk}),
    ):
        url = reverse(f"messaging:{name}", kwargs={"org": agent_b.organisation.slug, **kwargs})
        assert stranger.get(url).status_code == 404
        assert stranger.get(buyer_url(name, **kwargs)).status_code == 404
    assert (
        stranger.post(buyer_url("reply", pk=thread), {"subject": "a", "body": "b"}).status_code
        == 404
    )
    # Another company's representative, in its own company's path.
    other = client_of(company_y.user)
    for name, kwargs in (
        ("thread", {"pk": thread}),
        ("attachment", {"pk": thread, "attachment_id": attachment.pk}),
    ):
        assert other.get(company_url(company_y, name, **kwargs)).status_code == 404
        assert other.get(company_url(company_x, name, **kwargs)).status_code == 404
    answer = other.post(company_url(company_y, "reply", pk=thread), {"subject": "a", "body": "b"})
    assert answer.status_code == 404
    answer = other.post(
        company_url(company_y, "write"),
        {"consultation": consultation.pk, "subject": "a", "body": "b"},
    )
    assert answer.status_code == 400  # not a consultation it may choose
    with scopes_disabled():
        assert Message.for_organisation.count() == 1
        message.refresh_from_db()
    assert message.read_at is None


def test_a_post_needs_the_csrf_token(buyer, consultation, company_x):
    client = Client(enforce_csrf_checks=True)
    client.force_login(company_x.user)
    url = company_url(company_x, "write")
    data = {"consultation": consultation.pk, "subject": "Question", "body": "Une question"}
    assert client.post(url, data).status_code == 403
    client.get(company_url(company_x, "inbox"))
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post(url, data).status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        # NUL bytes are refused by the platform's edge before any view reads them.
        ("subject", "a\x00b", "Check what you typed or pasted"),
        ("subject", "x" * 201, "at most 200 characters"),
        ("body", "x" * 10_001, "at most 10000 characters"),
        ("body", "nul\x00", "Check what you typed or pasted"),
        ("kind", "missing_documents", "the date by which they are awaited"),
        ("reply_by", "2020-01-01T10:00", "in the future"),
        ("reply_by", "demain", "Enter a valid date/time"),
        ("recipient", "99999999", "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_with_a_reason(buyer, consultation, company_x, field, value, shown):
    data = {
        "recipient": str(company_x.company_id),
        "kind": "general",
        "subject": "Objet",
        "body": "Corps",
        field: value,
    }
    answer = client_of(buyer.user).post(buyer_url("write", pk=consultation.pk), data)
    assert answer.status_code == 400
    assert shown in answer.content.decode()
    with scopes_disabled():
        assert not Message.for_organisation.exists()


def test_invalid_utf8_and_hostile_files_never_reach_a_500(buyer, consultation, company_x):
    client = client_of(company_x.user)
    answer = client.post(
        company_url(company_x, "write"),
        b"consultation=" + str(consultation.pk).encode() + b"&subject=\xff\xfe&body=\xc3(",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code in (302, 400)
    answer = client.post(
        company_url(company_x, "write"),
        {
            "consultation": consultation.pk,
            "subject": "Fichier",
            "body": "Voici",
            "attachments": [upload("facture.pdf.exe", b"MZ" + b"\x00" * 100)],
        },
    )
    assert answer.status_code == 400
    assert "program" in answer.content.decode().lower() or "refused" in answer.content.decode()
    assert client.get(company_url(company_x, "thread", pk=999999)).status_code == 404


def test_messages_are_kept_as_sent_by_the_database(buyer, consultation, company_x, on_postgres):
    """No edit, no delete: only the first reading is ever written on a message."""
    from django.db import DatabaseError, transaction

    message = services.send_to_company(
        actor=buyer,
        consultation_id=consultation.pk,
        company_id=company_x.company_id,
        draft=draft(uploads=[upload()]),
    )
    with scopes_disabled():
        rows = Message.for_organisation.filter(pk=message.pk)
        for change in (
            {"body": "Réécrit"},
            {"subject": "Autre"},
            {"sent_at": message.sent_at.replace(year=2020)},
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                rows.update(**change)
        with pytest.raises(DatabaseError), transaction.atomic():
            message.attachments.update(message=message)
        services.read_as_company(representative=company_x, thread_id=message.thread_id)
        message.refresh_from_db()
        assert message.read_by == company_x.user
        # The receipt, once written, stays.
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.update(read_by=buyer.user)
        if on_postgres:
            with pytest.raises(DatabaseError), transaction.atomic():
                message.attachments.all().delete()
            with pytest.raises(DatabaseError), transaction.atomic():
                rows.delete()
        assert rows.get().body == "Bonjour,\nmerci."


def test_list_pages_read_a_fixed_number_of_rows(buyer, consultation, company_x):
    """The buyer's threads and the company's inbox cost the same queries whatever the
    number of threads and messages."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counted(client, url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def write(rep) -> None:
        services.send_from_company(
            representative=rep, consultation_id=consultation.pk, draft=draft(uploads=[upload()])
        )

    write(company_x)
    buyer_client, company = client_of(buyer.user), client_of(company_x.user)
    threads_url = buyer_url("consultation", pk=consultation.pk)
    inbox_url = company_url(company_x, "inbox")
    before = (counted(buyer_client, threads_url), counted(company, inbox_url))
    for number in (3, 4):
        rep = representative(number, f"Entreprise {number}")
        downloaded(consultation, rep)
        write(rep)
    other = make_consultation(buyer, publish=True, reference="2027-002")
    downloaded(other, company_x)
    services.send_from_company(representative=company_x, consultation_id=other.pk, draft=draft())
    write(company_x)
    assert (counted(buyer_client, threads_url), counted(company, inbox_url)) == before
