"""Rectifications: a published consultation is never edited in place. A buyer
publishes a new version before the deadline for responses (fields, deadlines, files
added and withdrawn); the history of every version stays public; the job follows the
moved deadline; late, empty or foreign rectifications are refused."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement import deadlines, documents, errors, services, signals
from mutualis.procurement.documents import Upload
from mutualis.procurement.models import Consultation, ConsultationDocument, Rectification
from mutualis.procurement.rectifications import RectificationInput, rectify_consultation
from tests.factories.core import ORG_B, org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PE = b"MZ\x90\x00\x03" + b"\x00" * 200


def pdf(text: str) -> bytes:
    return PDF + text.encode() + b"\n"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer.user)
    return client


@pytest.fixture
def published(buyer):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        documents.add_documents(
            actor=buyer,
            consultation_id=consultation.pk,
            uploads=[
                Upload(file=io.BytesIO(pdf("RC v1")), name="RC.pdf"),
                Upload(file=io.BytesIO(pdf("CCAP")), name="CCAP.pdf"),
            ],
        )
        return services.publish_consultation(actor=buyer, consultation_id=consultation.pk)


@pytest.fixture
def rectified():
    received: list[dict] = []

    def receiver(sender, signal, **kwargs):
        received.append(kwargs)

    signals.rectification_published.connect(receiver)
    yield received
    signals.rectification_published.disconnect(receiver)


def rectify(actor, consultation, **kwargs) -> Rectification:
    kwargs.setdefault("summary", "Correction du lieu d'exécution.")
    now = kwargs.pop("now", None)
    with scope(organisation=actor.organisation_id):
        return rectify_consultation(
            actor=actor,
            consultation_id=consultation.pk,
            data=RectificationInput(**kwargs),
            now=now,
        )


def reread(consultation) -> Consultation:
    with scopes_disabled():
        return Consultation.objects.get(pk=consultation.pk)


def docs(consultation) -> dict[str, ConsultationDocument]:
    with scopes_disabled():
        return {
            d.file.original_name: d
            for d in ConsultationDocument.objects.filter(consultation=consultation).select_related(
                "file"
            )
        }


def test_a_rectification_publishes_a_new_version_with_before_and_after(
    buyer, published, rectified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rectification = rectify(
            buyer,
            published,
            fields={"title": "Toiture et clocher", "place_of_execution": "Bourg"},
        )
    consultation = reread(published)
    assert consultation.version == 2
    assert consultation.title == "Toiture et clocher"
    assert rectification.number == 1
    assert rectification.version == 2
    assert rectification.changes["title"] == {
        "before": "Réfection de la toiture de l'église",
        "after": "Toiture et clocher",
    }
    assert rectification.changes["place_of_execution"]["before"] == ""
    assert not rectification.deadlines_moved
    assert rectified == [
        {
            "consultation_id": published.pk,
            "organisation_id": published.organisation_id,
            "rectification_id": rectification.pk,
        }
    ]
    with scopes_disabled():
        event = AuditEvent.objects.get(
            chain=audit.organisation_chain(buyer.organisation_id), action="consultation.rectified"
        )
    assert event.payload["version"] == 2
    assert event.payload["fields"] == ["place_of_execution", "title"]
    second = rectify(buyer, published, fields={"title": "Toiture"}, summary="Titre raccourci.")
    assert (second.number, reread(published).version) == (2, 3)


def test_moving_the_response_deadline_moves_the_next_check(buyer, published):
    later = published.response_deadline + timedelta(days=7)
    rectification = rectify(buyer, published, response_deadline=later)
    consultation = reread(published)
    assert consultation.response_deadline == later
    assert consultation.next_check == later
    assert rectification.deadlines_moved
    assert rectification.changes["response_deadline"]["after"] == later.isoformat()


@pytest.mark.parametrize(
    ("questions", "responses", "error"),
    [
        (timedelta(days=-20), None, errors.DeadlineInPast),
        (None, timedelta(days=-30), errors.DeadlineInPast),
        (timedelta(days=40), None, errors.QuestionsAfterResponses),
    ],
)
def test_moved_deadlines_must_be_in_the_future_and_in_order(
    buyer, published, questions, responses, error
):
    kwargs = {}
    if questions is not None:
        kwargs["questions_deadline"] = published.questions_deadline + questions
    if responses is not None:
        kwargs["response_deadline"] = published.response_deadline + responses
    with pytest.raises(error):
        rectify(buyer, published, **kwargs)
    assert reread(published).version == 1


def test_a_rectification_after_the_deadline_is_refused(buyer, published):
    with pytest.raises(errors.RectificationTooLate):
        rectify(
            buyer,
            published,
            fields={"title": "Trop tard"},
            now=published.response_deadline + timedelta(minutes=1),
        )
    assert reread(published).title != "Trop tard"
    with scopes_disabled():
        assert not Rectification.objects.exists()


def test_a_draft_is_not_rectified_and_an_empty_rectification_is_refused(buyer, published):
    draft = make_consultation(buyer, reference="2027-009")
    with pytest.raises(errors.RectificationNotAllowed):
        rectify(buyer, draft, fields={"title": "x"})
    with pytest.raises(errors.RectificationEmpty):
        rectify(buyer, published, fields={"title": published.title})
    with pytest.raises(errors.RectificationSummaryRequired):
        rectify(buyer, published, summary="  ", fields={"title": "x"})


def test_files_added_and_withdrawn_keep_their_history(client, buyer, published):
    old = docs(published)["RC.pdf"]
    rectify(
        buyer,
        published,
        summary="Nouveau règlement de consultation.",
        add=[Upload(file=io.BytesIO(pdf("RC v2")), name="RC v2.pdf")],
        withdraw=[old.pk],
    )
    found = docs(published)
    assert found["RC.pdf"].withdrawn_in_version == 2
    assert found["RC v2.pdf"].added_in_version == 2
    # The ZIP holds the current files only.
    response = client.get(reverse("consultations:documents_zip", args=[published.pk]))
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert sorted(archive.namelist()) == ["CCAP.pdf", "RC v2.pdf"]
        assert hashlib.sha256(archive.read("RC v2.pdf")).hexdigest() == (
            found["RC v2.pdf"].file.sha256
        )
    # The withdrawn file stays listed with its hash, and downloadable, in the history.
    page = client.get(reverse("consultations:detail", args=[published.pk])).content.decode()
    assert "Nouveau règlement de consultation." in page
    assert old.file.sha256 in page
    url = reverse(
        "consultations:document",
        kwargs={"pk": published.pk, "document_pk": old.pk, "filename": "RC.pdf"},
    )
    assert b"".join(client.get(url).streaming_content) == pdf("RC v1")


def test_a_refused_file_leaves_the_published_version_as_it_was(buyer, published):
    with pytest.raises(Exception) as excinfo:  # noqa: PT011
        rectify(
            buyer,
            published,
            fields={"title": "Nouveau titre"},
            add=[Upload(file=io.BytesIO(PE), name="notice.pdf")],
        )
    assert getattr(excinfo.value, "code", "") == "file_executable"
    consultation = reread(published)
    assert (consultation.version, consultation.title) == (1, published.title)
    assert set(docs(published)) == {"RC.pdf", "CCAP.pdf"}


def test_a_file_already_withdrawn_cannot_be_withdrawn_again(buyer, published):
    old = docs(published)["RC.pdf"]
    rectify(buyer, published, withdraw=[old.pk])
    with pytest.raises(errors.DocumentNotCurrent):
        rectify(buyer, published, withdraw=[old.pk])


def test_the_public_page_shows_every_version(client, buyer, published):
    later = published.response_deadline + timedelta(days=3)
    rectify(buyer, published, fields={"title": "Toiture et clocher"}, response_deadline=later)
    page = client.get(reverse("consultations:detail", args=[published.pk])).content.decode()
    assert "Réfection de la toiture de l&#x27;église" in page
    assert "Toiture et clocher" in page
    assert deadlines.display(later) in page
    assert deadlines.display(published.response_deadline) in page


# --- The buyer's page ------------------------------------------------------------------


def test_a_buyer_rectifies_through_the_form(buyer_client, published):
    url = org_url("procurement:rectify", pk=published.pk)
    assert buyer_client.get(url).status_code == 200
    old = docs(published)["CCAP.pdf"]
    paris = deadlines.to_paris(published.response_deadline + timedelta(days=5))
    response = buyer_client.post(
        url,
        {
            "summary": "Report de la date limite.",
            "title": published.title,
            "object": published.object,
            "description": published.description,
            "place_of_execution": "",
            "contact": published.contact,
            "questions_deadline": deadlines.to_paris(published.questions_deadline).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "response_deadline": paris.strftime("%Y-%m-%dT%H:%M"),
            "uploads": [SimpleUploadedFile("Additif.pdf", pdf("Additif"))],
            "withdraw": [str(old.pk)],
        },
    )
    assert response.status_code == 302
    consultation = reread(published)
    assert consultation.version == 2
    assert consultation.response_deadline == published.response_deadline + timedelta(days=5)
    assert docs(published)["CCAP.pdf"].withdrawn_in_version == 2
    assert docs(published)["Additif.pdf"].added_in_version == 2


def test_the_form_shows_a_refusal_with_its_message(buyer_client, published):
    response = buyer_client.post(
        org_url("procurement:rectify", pk=published.pk),
        {
            "summary": "x" * 3000,
            "title": "\x00",
            "object": published.object,
            "contact": published.contact,
        },
    )
    assert response.status_code == 400
    assert reread(published).version == 1
    response = buyer_client.post(
        org_url("procurement:rectify", pk=published.pk),
        {
            "summary": "Rien.",
            "title": published.title,
            "object": published.object,
            "contact": published.contact,
        },
    )
    assert response.status_code == 400
    assert "changes nothing" in response.content.decode() or "ne change rien" in (
        response.content.decode()
    )


def test_another_member_cannot_rectify(client, buyer, published, agent_b):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    url = org_url("procurement:rectify", ORG_B, pk=published.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, {"summary": "x", "title": "Piraté"}).status_code == 404
    with pytest.raises(Exception):  # noqa: B017, PT011
        rectify(agent_b, published, fields={"title": "Piraté"})
    assert reread(published).version == 1


def test_a_buyer_without_subscription_cannot_rectify(buyer, published):
    subscribe_to_procurement(buyer.organisation, active=False)
    with pytest.raises(Exception):  # noqa: B017, PT011
        rectify(buyer, published, fields={"title": "x"})
    assert reread(published).version == 1


def test_the_rectification_form_is_protected_against_cross_site_requests(client, buyer, published):
    client.handler.enforce_csrf_checks = True
    client.force_login(buyer.user)
    response = client.post(
        org_url("procurement:rectify", pk=published.pk), {"summary": "x", "title": "y"}
    )
    assert response.status_code == 403
    assert reread(published).version == 1


def test_closed_consultations_send_the_buyer_back(buyer_client, buyer, published):
    with scopes_disabled():
        Consultation.objects.filter(pk=published.pk).update(
            response_deadline=timezone.now() - timedelta(minutes=1)
        )
    response = buyer_client.get(org_url("procurement:rectify", pk=published.pk))
    assert response.status_code == 302


def test_the_demo_gives_every_consultation_its_files_and_rectifies_one(client):
    from io import StringIO

    from django.core.management import call_command

    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    with scopes_disabled():
        # The operator's test consultation has no consultation files: it buys nothing.
        consultations = list(Consultation.objects.filter(is_test=False))
        rectification = Rectification.objects.select_related("consultation").get()
        without_files = [c.reference for c in consultations if not c.documents.exists()]
    assert without_files == []
    assert rectification.consultation.version == 2
    assert rectification.deadlines_moved
    page = client.get(
        reverse("consultations:detail", args=[rectification.consultation_id])
    ).content.decode()
    assert "Additif n° 1.pdf" in page
    zipped = client.get(
        reverse("consultations:documents_zip", args=[rectification.consultation_id])
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))) as archive:
        assert "Règlement de la consultation.pdf" in archive.namelist()
        assert "Additif n° 1.pdf" in archive.namelist()


def test_the_public_page_reads_a_fixed_number_of_queries(
    client, buyer, published, django_assert_max_num_queries
):
    url = reverse("consultations:detail", args=[published.pk])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for n in range(3):
        rectify(
            buyer,
            published,
            summary=f"Additif {n}.",
            fields={"title": f"Titre {n}"},
            add=[Upload(file=io.BytesIO(pdf(f"Additif {n}")), name=f"Additif {n}.pdf")],
        )
    with django_assert_max_num_queries(len(before.captured_queries)):
        page = client.get(url).content.decode()
    assert "Additif 2.pdf" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_rectifications_at_once_get_the_next_versions_in_turn(buyer):
    """Two buyers rectify at the same moment: the row lock orders them, so that each
    gets its own version number and neither change is lost (PostgreSQL: row locks)."""
    import threading

    from django.db import connection as thread_connection

    consultation = make_consultation(buyer, publish=True)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            rectify(buyer, consultation, summary=f"Rectification {n}.", fields={"contact": f"c{n}"})
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with scopes_disabled():
        numbers = sorted(
            Rectification.objects.filter(consultation=consultation).values_list("number", flat=True)
        )
    assert numbers == [1, 2]
    assert reread(consultation).version == 3
