"""What a message may hold, checked before anything is written (``services.clean``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mutualis.messaging import errors
from mutualis.messaging.models import MessageKind, Side
from mutualis.messaging.services import MAX_ATTACHMENTS, Draft, Upload, clean

NOW = datetime(2027, 3, 28, 12, 0, tzinfo=UTC)


def draft(**overrides):
    values = {"subject": "Objet", "body": "Corps"}
    values.update(overrides)
    return Draft(**values)


def test_a_draft_is_trimmed():
    cleaned = clean(
        draft(subject="  Pièces   manquantes ", body="\n Texte \n"), side=Side.BUYER, now=NOW
    )
    assert (cleaned.subject, cleaned.body) == ("Pièces manquantes", "Texte")


@pytest.mark.parametrize("subject", ["", "   ", "x" * 201, "tab\x00nul", "bell\x07"])
def test_a_subject_is_short_plain_text(subject):
    with pytest.raises(errors.SubjectInvalid):
        clean(draft(subject=subject), side=Side.BUYER, now=NOW)


def test_a_subject_of_200_characters_is_accepted():
    assert clean(draft(subject="é" * 200), side=Side.BUYER, now=NOW).subject == "é" * 200


@pytest.mark.parametrize("body", ["", " \n ", "x" * 10_001, "avant\x00après"])
def test_a_body_is_bounded_and_without_nul(body):
    with pytest.raises(errors.BodyInvalid):
        clean(draft(body=body), side=Side.BUYER, now=NOW)


def test_a_body_keeps_its_lines_and_tabs():
    body = "Ligne 1\n\tLigne 2\r\nLigne 3"
    assert clean(draft(body=body), side=Side.COMPANY, now=NOW).body == body


@pytest.mark.parametrize(
    "kind",
    [MessageKind.CLARIFICATION, MessageKind.NEGOTIATION, MessageKind.MISSING_DOCUMENTS, "other"],
)
def test_a_company_sends_general_messages_only(kind):
    with pytest.raises(errors.KindInvalid):
        clean(draft(kind=kind, reply_by=NOW + timedelta(days=1)), side=Side.COMPANY, now=NOW)


def test_a_company_sets_no_date_for_an_answer():
    with pytest.raises(errors.ReplyByInvalid):
        clean(draft(reply_by=NOW + timedelta(days=1)), side=Side.COMPANY, now=NOW)


def test_a_request_for_missing_documents_needs_a_date_in_the_future():
    with pytest.raises(errors.ReplyByRequired):
        clean(draft(kind=MessageKind.MISSING_DOCUMENTS), side=Side.BUYER, now=NOW)
    with pytest.raises(errors.ReplyByInvalid):
        clean(draft(kind=MessageKind.MISSING_DOCUMENTS, reply_by=NOW), side=Side.BUYER, now=NOW)
    later = NOW + timedelta(days=8)
    cleaned = clean(
        draft(kind=MessageKind.MISSING_DOCUMENTS, reply_by=later), side=Side.BUYER, now=NOW
    )
    assert cleaned.reply_by == later


def test_at_most_ten_files_go_with_a_message():
    uploads = [Upload(file=None, name=f"{n}.pdf") for n in range(MAX_ATTACHMENTS + 1)]  # type: ignore[arg-type]
    with pytest.raises(errors.TooManyAttachments):
        clean(draft(uploads=uploads), side=Side.BUYER, now=NOW)
