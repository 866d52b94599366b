"""The prefecture's correspondence about a transmitted act: letters received through the
return channel (the stand-in, or mails built here as the ministry writes them), their due
dates, the automatic acknowledgements, the member's answers sent through the
transmission and their acknowledgements; every message checked against the schema."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django_scopes import scope, scopes_disabled

from mutualis.core.pdf import text_pdf
from mutualis.legality import actes, correspondence, errors, outbox, services, tasks
from mutualis.legality.actes import qualified as q
from mutualis.legality.models import (
    ActStatus,
    InboundMessage,
    InboundStatus,
    Letter,
    LetterKind,
    LetterStatus,
    OutboundStatus,
)
from mutualis.legality.standin import messages
from tests.factories.core import org_url
from tests.factories.legality import legality_agent, subscribe
from tests.factories.prefecture_mail import (
    actions,
    deliver,
    outbound,
    package_messages,
    read,
    return_mail,
    root_of,
)
from tests.factories.standin import SIREN, fresh, waiting_act

pytestmark = pytest.mark.django_db


def letter_mail(
    kind: str,
    identifier: str,
    on: date = date(2026, 2, 20),
    *,
    text: str = "Merci de transmettre le rapport de présentation.",
    with_document: bool = True,
    siren: str = SIREN,
) -> bytes:
    """A letter of the prefecture as the ministry sends it: the message, the PDF it
    names, the envelope, in a tar.gz attached to an e-mail."""
    code = outbox.CODES[kind]
    document = f"{identifier}-{code}_1.pdf"
    if kind == "DefereTA":
        message = messages.defere_ta(identifier, on, text, [document])
    else:
        message = messages.letter(kind, identifier, on, text, document)
    assert actes.schema_errors(message) == []
    files = [(document, text_pdf(["Préfecture", text]))] if with_document else []
    name = f"{identifier}-{code}_0.xml"
    return messages.return_mail(
        to="actes@mutualis.example.org",
        subject=name,
        attachment_name=f"{identifier}.tar.gz",
        attachment=messages.return_package(siren, "021", name, message, files),
        sender="prefecture@example.org",
    )


def letters(org) -> list[Letter]:
    with scope(organisation=org.pk):
        return list(Letter.objects.order_by("pk"))


@pytest.fixture
def acknowledged(standin, member, clerk, maildir):
    """An act sent to the stand-in and acknowledged (its ARActe read)."""
    act = waiting_act(clerk)
    tasks.send_acts.call()
    read(maildir)
    act = fresh(act)
    assert act.status == ActStatus.ACKNOWLEDGED
    return act


def pdf(name: str = "piece.pdf", text: str = "Rapport de présentation") -> services.Upload:
    return services.Upload(io.BytesIO(text_pdf([text])), name)


# --- A request for documents, from the stand-in to the acknowledgement of the answer ---


def test_a_request_for_documents_is_acknowledged_answered_and_its_answer_acknowledged(
    standin, member, clerk, maildir
):
    act = waiting_act(clerk)
    standin.letters = {act.number: "DemandePieceComplementaire"}
    tasks.send_acts.call()

    assert read(maildir)["processed"] == 2  # the ARActe, then the letter

    act = fresh(act)
    assert act.status == ActStatus.ACKNOWLEDGED
    [letter] = letters(member)
    assert letter.kind == LetterKind.DOCUMENTS
    assert letter.status == LetterStatus.OPEN
    assert "rapport de présentation" in letter.text
    assert letter.letter_date == act.received_on
    assert letter.due_on == correspondence.add_months(letter.letter_date, 1)
    assert letter.document is not None
    assert letter.document.content_type == "application/pdf"
    # The control period is suspended until the documents reach the prefecture.
    with scope(organisation=member.pk):
        deadline = correspondence.deadline(act, correspondence.letters_of(act))
    assert deadline.ends_on is None
    assert deadline.suspended_by == letter

    # The automatic acknowledgement is queued, valid, and sent with the acts.
    [ack] = outbound(member, "ARDemandePieceComplementaire")
    files = package_messages(ack)
    root = root_of(files, "ARDemandePieceComplementaire")
    assert root.get(q("IDActe")) == act.identifier
    assert root.get(q("DateCourrierPref")) == letter.letter_date.isoformat()
    assert root_of(files, "EnveloppeCLMISILL") is not None
    counts = tasks.send_acts.call()
    assert counts["messages_sent"] == 1
    assert outbound(member, "ARDemandePieceComplementaire")[0].status == OutboundStatus.SENT

    # The agent sends two documents.
    answer = correspondence.answer_letter(
        actor=clerk, letter_id=letter.pk, answer="PieceComplementaire", files=[pdf(), pdf("b.pdf")]
    )
    files = package_messages(answer)
    root = root_of(files, "PieceComplementaire")
    names = [e.text for e in root.iter(q("NomFichier"))]
    assert names == [f"{act.identifier}-3-4_1.pdf", f"{act.identifier}-3-4_2.pdf"]
    assert all(name in files for name in names)
    assert files[names[0]].startswith(b"%PDF")
    letter = letters(member)[0]
    assert (letter.status, letter.answer_kind) == (LetterStatus.ANSWERED, "PieceComplementaire")

    assert tasks.send_acts.call()["messages_sent"] == 1
    assert read(maildir)["processed"] == 1  # the stand-in's ARPieceComplementaire

    letter = letters(member)[0]
    assert letter.answer_received_on is not None
    assert outbound(member, "PieceComplementaire")[0].acknowledged_on == letter.answer_received_on
    with scope(organisation=member.pk):
        deadline = correspondence.deadline(fresh(act), correspondence.letters_of(act))
    assert deadline.ends_on == correspondence.add_months(letter.answer_received_on, 2)
    assert fresh(act).status == ActStatus.ACKNOWLEDGED
    trail = actions(member)
    for action in (
        "legality.letter_received",
        "legality.message_sent",
        "legality.letter_answered",
        "legality.answer_acknowledged",
    ):
        assert action in trail
    with scopes_disabled():
        kinds = set(InboundMessage.objects.values_list("kind", flat=True))
    assert {"ARActe", "DemandePieceComplementaire", "ARPieceComplementaire"} <= kinds


def test_the_member_refuses_to_send_documents_with_a_written_answer(
    member, clerk, acknowledged, maildir
):
    deliver(maildir, letter_mail("DemandePieceComplementaire", acknowledged.identifier))
    read(maildir)
    [letter] = letters(member)

    answer = correspondence.answer_letter(
        actor=clerk,
        letter_id=letter.pk,
        answer="RefusPieceComplementaire",
        text="Ces pièces ont déjà été transmises\navec l'acte 😀 中文.",
    )

    files = package_messages(answer)
    root = root_of(files, "RefusPieceComplementaire")
    [name] = [e.text for e in root.iter(q("NomFichier"))]
    assert files[name].startswith(b"%PDF")
    assert letters(member)[0].status == LetterStatus.REFUSED
    assert tasks.send_acts.call()["messages_sent"] == 2  # the acknowledgement and the refusal
    assert read(maildir)["processed"] == 1
    assert letters(member)[0].answer_received_on is not None


# --- Letters of observations, simple letters, referrals -------------------------------


def test_a_letter_of_observations_is_acknowledged_and_answered(
    member, clerk, acknowledged, maildir
):
    deliver(maildir, letter_mail("LettreObservations", acknowledged.identifier))
    assert read(maildir)["processed"] == 1
    [letter] = letters(member)
    assert letter.kind == LetterKind.OBSERVATIONS
    assert letter.due_on == date(2026, 4, 20)  # two months: then implicitly rejected
    [ack] = outbound(member, "ARLettreObservations")
    assert root_of(package_messages(ack), "ARLettreObservations").get(q("IDActe")) == (
        acknowledged.identifier
    )
    # Without an answer, the period runs from the implicit rejection.
    with scope(organisation=member.pk):
        deadline = correspondence.deadline(acknowledged, correspondence.letters_of(acknowledged))
    assert deadline.ends_on == date(2026, 6, 20)

    answer = correspondence.answer_letter(
        actor=clerk, letter_id=letter.pk, answer="ReponseLettreObservations", files=[pdf()]
    )
    assert root_of(package_messages(answer), "ReponseLettreObservations") is not None
    tasks.send_acts.call()
    assert read(maildir)["processed"] == 1  # ARReponseRejetLettreObservations
    letter = letters(member)[0]
    assert letter.status == LetterStatus.ANSWERED
    assert letter.answer_received_on is not None


def test_a_simple_letter_may_be_answered_and_needs_no_acknowledgement(
    member, clerk, acknowledged, maildir
):
    deliver(maildir, letter_mail("CourrierSimple", acknowledged.identifier))
    read(maildir)
    [letter] = letters(member)
    assert (letter.kind, letter.due_on, letter.status) == (
        LetterKind.SIMPLE,
        None,
        LetterStatus.OPEN,
    )
    assert outbound(member) == []
    answer = correspondence.answer_letter(
        actor=clerk, letter_id=letter.pk, answer="ReponseCourrierSimple", text="Bien reçu."
    )
    assert root_of(package_messages(answer), "ReponseCourrierSimple") is not None


def test_a_referral_is_recorded_for_information(member, clerk, acknowledged, maildir):
    deliver(
        maildir,
        letter_mail("DefereTA", acknowledged.identifier, text="Incompétence de l'auteur."),
    )
    assert read(maildir)["processed"] == 1
    [letter] = letters(member)
    assert (letter.kind, letter.status, letter.due_on) == (
        LetterKind.REFERRAL,
        LetterStatus.NOTICE,
        None,
    )
    assert letter.text == "Incompétence de l'auteur."
    with pytest.raises(errors.LetterNotOpen):
        correspondence.answer_letter(
            actor=clerk, letter_id=letter.pk, answer="ReponseCourrierSimple", text="x"
        )
    with scope(organisation=member.pk):
        assert correspondence.deadline(acknowledged, [letter]).referred


def test_the_same_letter_read_twice_is_recorded_once(member, acknowledged, maildir):
    mail = letter_mail("DemandePieceComplementaire", acknowledged.identifier)
    deliver(maildir, mail)
    deliver(maildir, mail.replace(b"Message-ID: <", b"Message-ID: <again-"))
    counts = read(maildir)
    assert counts["processed"] == 2
    assert len(letters(member)) == 1
    assert len(outbound(member)) == 1


# --- Bad letters are quarantined -------------------------------------------------------


def quarantined_reasons() -> list[str]:
    with scopes_disabled():
        return list(
            InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).values_list(
                "reason", flat=True
            )
        )


def test_bad_letters_are_quarantined_and_change_nothing(member, clerk, acknowledged, maildir):
    unknown = "021-212100108-20260203-DEL_2026_999-DE"
    sent_only = waiting_act(clerk, "DEL_2026_050")
    deliver(maildir, letter_mail("LettreObservations", unknown))
    deliver(maildir, letter_mail("LettreObservations", sent_only.identifier))
    deliver(
        maildir,
        letter_mail("DemandePieceComplementaire", acknowledged.identifier, with_document=False),
    )
    deliver(maildir, letter_mail("CourrierSimple", acknowledged.identifier, siren="999999999"))
    # A message the member sends, not the prefecture.
    ack = correspondence.acknowledgement_message(
        "ARLettreObservations", acknowledged.identifier, date(2026, 2, 20)
    )
    deliver(maildir, return_mail(ack, "ar.xml"))
    # Not valid against the schema: a letter without its date.
    broken = messages.letter(
        "LettreObservations", acknowledged.identifier, date(2026, 2, 20), "x", "d.pdf"
    ).replace(b"actes:DateCourrierPref=", b"actes:Autre=")
    deliver(
        maildir,
        messages.return_mail(
            to="a@b.fr",
            subject="x",
            attachment_name="x.tar.gz",
            attachment=messages.return_package(SIREN, "021", "x.xml", broken),
            sender="p@b.fr",
        ),
    )

    counts = read(maildir)

    assert counts["quarantined"] == 6
    assert letters(member) == []
    assert outbound(member) == []
    reasons = quarantined_reasons()
    assert any("no act" in r for r in reasons)
    assert any("status does not allow" in r for r in reasons)
    assert any("document is missing" in r for r in reasons)
    assert any("SIREN" in r for r in reasons)
    assert any("not handled" in r for r in reasons)
    assert any("not a valid @ctes message" in r for r in reasons)
    assert fresh(acknowledged).status == ActStatus.ACKNOWLEDGED


def test_an_answer_acknowledgement_for_a_letter_not_answered_is_quarantined(
    member, acknowledged, maildir
):
    deliver(maildir, letter_mail("DemandePieceComplementaire", acknowledged.identifier))
    read(maildir)
    message = messages.ar_reponse(
        "ARPieceComplementaire", acknowledged.identifier, date(2026, 2, 20), date(2026, 3, 1)
    )
    deliver(maildir, return_mail(message, "ar.xml"))
    assert read(maildir)["quarantined"] == 1
    assert letters(member)[0].answer_received_on is None


# --- The member's answers: what is refused --------------------------------------------


@pytest.fixture
def request_for_documents(member, acknowledged, maildir) -> Letter:
    deliver(maildir, letter_mail("DemandePieceComplementaire", acknowledged.identifier))
    read(maildir)
    return letters(member)[0]


def test_answers_that_do_not_fit_are_refused_and_change_nothing(
    member, clerk, request_for_documents, settings
):
    letter = request_for_documents
    not_pdf = services.Upload(io.BytesIO(b"plain text, not a PDF"), "a.pdf")
    cases = [
        (errors.AnswerNotAllowed, {"answer": "RejetLettreObservations", "text": "x"}),
        (errors.AnswerNotAllowed, {"answer": "Acte", "text": "x"}),
        (errors.AnswerFilesRequired, {"answer": "PieceComplementaire", "text": "x"}),
        (errors.AnswerFileType, {"answer": "PieceComplementaire", "files": [not_pdf]}),
        (errors.AnswerTextRequired, {"answer": "RefusPieceComplementaire", "text": ""}),
        (errors.AnswerTextRequired, {"answer": "RefusPieceComplementaire", "text": "a\x00b"}),
        (errors.AnswerTextRequired, {"answer": "RefusPieceComplementaire", "text": "é" * 5001}),
        (
            errors.AnswerTextRequired,
            {"answer": "RefusPieceComplementaire", "files": [pdf(), pdf()]},
        ),
    ]
    for error, values in cases:
        with pytest.raises(error):
            correspondence.answer_letter(actor=clerk, letter_id=letter.pk, **values)
    limit = settings.MUTUALIS_LEGALITY_MAX_BYTES
    settings.MUTUALIS_LEGALITY_MAX_BYTES = 2 * 1024**2
    big = services.Upload(io.BytesIO(b"%PDF-1.4\n" + b"0" * (3 * 1024**2)), "big.pdf")
    with pytest.raises(errors.AnswerTooLarge, match="2 MB"):
        correspondence.answer_letter(
            actor=clerk, letter_id=letter.pk, answer="PieceComplementaire", files=[big]
        )
    settings.MUTUALIS_LEGALITY_MAX_BYTES = limit
    assert letters(member)[0].status == LetterStatus.OPEN
    assert [row.kind for row in outbound(member)] == ["ARDemandePieceComplementaire"]

    correspondence.answer_letter(
        actor=clerk, letter_id=letter.pk, answer="PieceComplementaire", files=[pdf()]
    )
    with pytest.raises(errors.LetterNotOpen):
        correspondence.answer_letter(
            actor=clerk, letter_id=letter.pk, answer="PieceComplementaire", files=[pdf()]
        )


def test_the_agent_sets_the_due_date_the_letter_gives(member, clerk, request_for_documents):
    letter = request_for_documents
    correspondence.set_due_date(actor=clerk, letter_id=letter.pk, due_on=date(2026, 3, 6))
    assert letters(member)[0].due_on == date(2026, 3, 6)
    assert "legality.letter_due_date_set" in actions(member)
    with pytest.raises(errors.DueDateInvalid):
        correspondence.set_due_date(actor=clerk, letter_id=letter.pk, due_on=date(2026, 2, 1))
    assert correspondence.is_overdue(letters(member)[0], today=date(2026, 3, 7))
    assert not correspondence.is_overdue(letters(member)[0], today=date(2026, 3, 6))


def test_only_the_members_legality_agent_answers(member, request_for_documents, agent_b):
    letter = request_for_documents
    sender_only = legality_agent(member, "sender.a@example.org", roles=("legality_sender",))
    subscribe(agent_b.organisation)
    other = legality_agent(agent_b.organisation, "clerk.b@example.org")
    for person in (sender_only, other):
        with pytest.raises(PermissionDenied):
            correspondence.answer_letter(
                actor=person, letter_id=letter.pk, answer="RefusPieceComplementaire", text="x"
            )
        with pytest.raises(PermissionDenied):
            correspondence.set_due_date(actor=person, letter_id=letter.pk, due_on=date(2026, 4, 1))
    assert letters(member)[0].status == LetterStatus.OPEN


def test_a_message_the_endpoint_refuses_goes_to_error_and_is_sent_again(
    standin, member, clerk, request_for_documents, settings, agent_b
):
    settings.MUTUALIS_LEGALITY_MAX_ATTEMPTS = 1
    standin.fail_next = [503]
    counts = tasks.send_acts.call()
    assert counts["messages_failed"] == 1
    [ack] = outbound(member)
    assert ack.status == OutboundStatus.ERROR
    assert "503" in ack.error_reason or "attempts" in ack.error_reason
    assert "legality.message_failed" in actions(member)

    # The agent sends it again, from the letter's page; the next run takes it.
    client = Client()
    url = org_url("legality:message_resend", pk=ack.pk)
    client.force_login(agent_b.user)
    assert client.post(url).status_code == 404
    client.force_login(clerk.user)
    letter_page = client.get(org_url("legality:letter", pk=request_for_documents.pk))
    assert url in letter_page.content.decode()
    assert client.post(url).status_code == 302
    assert outbound(member)[0].status == OutboundStatus.WAITING
    with pytest.raises(errors.MessageNotInError):
        outbox.resend(actor=clerk, message_id=ack.pk)
    assert tasks.send_acts.call()["messages_sent"] == 1
    assert outbound(member)[0].status == OutboundStatus.SENT
    assert "legality.message_resent" in actions(member)


# --- Control period rules --------------------------------------------------------------


def test_the_control_period_follows_the_letters(member, acknowledged):
    act = acknowledged
    act.received_on = date(2026, 1, 31)

    def letter(kind, on, answered=None):
        return Letter(kind=kind, letter_date=on, answer_received_on=answered)

    assert correspondence.deadline(act, []).ends_on == date(2026, 3, 31)
    # A simple letter changes nothing; a request after the period neither.
    assert correspondence.deadline(
        act, [letter(LetterKind.SIMPLE, date(2026, 2, 10))]
    ).ends_on == date(2026, 3, 31)
    assert correspondence.deadline(
        act, [letter(LetterKind.DOCUMENTS, date(2026, 4, 10))]
    ).ends_on == date(2026, 3, 31)
    # A request within it suspends it; the documents received start a new one.
    assert (
        correspondence.deadline(act, [letter(LetterKind.DOCUMENTS, date(2026, 2, 10))]).ends_on
        is None
    )
    assert correspondence.deadline(
        act, [letter(LetterKind.DOCUMENTS, date(2026, 2, 10), date(2026, 3, 15))]
    ).ends_on == date(2026, 5, 15)
    # Observations: the answer's reception, or the implicit rejection after two months.
    assert correspondence.deadline(
        act, [letter(LetterKind.OBSERVATIONS, date(2026, 2, 10), date(2026, 2, 25))]
    ).ends_on == date(2026, 4, 25)
    assert correspondence.deadline(
        act, [letter(LetterKind.OBSERVATIONS, date(2026, 2, 10))]
    ).ends_on == date(2026, 6, 10)
    assert correspondence.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)


# --- Pages -----------------------------------------------------------------------------


def test_the_agent_sets_the_due_date_from_the_letter_page(
    client, member, clerk, request_for_documents
):
    letter = request_for_documents
    client.force_login(clerk.user)
    url = org_url("legality:letter_due_date", pk=letter.pk)
    assert client.post(url, {"due_on": "2026-01-01"}).status_code == 400
    assert client.post(url, {"due_on": "not a date"}).status_code == 400
    assert client.post(url, {"due_on": "2026-03-06"}).status_code == 302
    assert letters(member)[0].due_on == date(2026, 3, 6)


def test_the_agent_sees_the_letter_and_answers_it_from_the_act_page(
    client, member, clerk, request_for_documents
):
    letter = request_for_documents
    client.force_login(clerk.user)
    page = client.get(org_url("legality:act_detail", pk=letter.act_id)).content.decode()
    assert "Request for additional documents" in page or "Demande de pièces" in page
    assert org_url("legality:letter", pk=letter.pk) in page
    assert "The control period is suspended" in page or "suspendu" in page
    letter_page = client.get(org_url("legality:letter", pk=letter.pk)).content.decode()
    url = org_url("legality:letter_answer", pk=letter.pk)
    assert url in letter_page
    assert "rapport de présentation" in letter_page
    assert client.get(letter.document.url_for_organisation(member.slug)).status_code == 200

    refused = client.post(url, {"answer": "PieceComplementaire"})
    assert refused.status_code == 400
    assert letters(member)[0].status == LetterStatus.OPEN
    bad = client.post(url, {"answer": "RefusPieceComplementaire", "text": "a\x00b"})
    assert bad.status_code == 400

    upload = io.BytesIO(text_pdf(["Pièce"]))
    upload.name = "piece.pdf"
    response = client.post(url, {"answer": "PieceComplementaire", "documents": [upload]})
    assert response.status_code == 302
    assert letters(member)[0].status == LetterStatus.ANSWERED

    # Answered: the due date no longer changes.
    due = client.post(org_url("legality:letter_due_date", pk=letter.pk), {"due_on": "2026-05-01"})
    assert due.status_code == 400


def test_another_member_and_a_member_without_the_role_get_404_on_letters(
    client, member, request_for_documents, agent_a, agent_b
):
    letter = request_for_documents
    for person in (agent_a, agent_b):
        client.force_login(person.user)
        answer = org_url("legality:letter_answer", pk=letter.pk)
        posted = client.post(answer, {"answer": "RefusPieceComplementaire", "text": "x"})
        assert posted.status_code == 404
        assert client.get(org_url("legality:letter", pk=letter.pk)).status_code == 404
        due = org_url("legality:letter_due_date", pk=letter.pk)
        assert client.post(due, {"due_on": "2026-05-01"}).status_code == 404
        assert client.get(letter.document.url_for_organisation(member.slug)).status_code == 404
    assert letters(member)[0].status == LetterStatus.OPEN


# --- Reminders -------------------------------------------------------------------------


def test_the_agents_are_reminded_before_and_on_the_due_date(
    member, clerk, request_for_documents, mailoutbox_emails
):
    letter = request_for_documents  # dated 2026-02-20, due 2026-03-20
    # A sender without the agent's role is not reminded.
    legality_agent(member, "sender.a@example.org", roles=("legality_sender",))

    assert correspondence.remind(today=date(2026, 3, 12)) == 0
    assert correspondence.remind(today=date(2026, 3, 13)) == 1
    assert correspondence.remind(today=date(2026, 3, 14)) == 0  # once per stage
    assert correspondence.remind(today=date(2026, 3, 20)) == 1
    assert correspondence.remind(today=date(2026, 3, 25)) == 0
    sent = mailoutbox_emails()
    assert [m.to for m in sent] == [clerk.user.email, clerk.user.email]
    assert "DEL_2026_007" in sent[0].subject
    assert org_url("legality:letter", pk=letter.pk) in sent[0].body_text
    assert actions(member).count("legality.letter_reminder_sent") == 2


def test_an_answered_letter_is_not_reminded(
    member, clerk, request_for_documents, mailoutbox_emails
):
    correspondence.answer_letter(
        actor=clerk, letter_id=request_for_documents.pk, answer="RefusPieceComplementaire", text="x"
    )
    assert correspondence.remind(today=date(2026, 3, 20)) == 0
    assert tasks.remind_letters.call() == 0
    assert mailoutbox_emails() == []


@pytest.fixture
def mailoutbox_emails():
    from mutualis.core.models import OutgoingEmail

    def emails():
        with scopes_disabled():
            return list(OutgoingEmail.objects.filter(subject__icontains="DEL_").order_by("pk"))

    return emails
