"""Consultation files (DCE): a buyer adds and withdraws files on a draft, through the
platform's file store and its policy; hostile or oversize files are refused with the
message that says why, and nothing is lost; anyone downloads a published consultation's
files, one by one with HTTP ranges or all at once as a streamed ZIP."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.files import errors as file_errors
from mutualis.core.models import AuditEvent, StoredFile
from mutualis.procurement import documents, errors, services, signals
from mutualis.procurement.documents import Upload
from mutualis.procurement.models import ConsultationDocument
from tests.factories.core import ORG_B, org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PE = b"MZ\x90\x00\x03" + b"\x00" * 200
MB = 1024 * 1024


def pdf(text: str) -> bytes:
    return PDF + text.encode() + b"\n" * 64


def make_zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer.user)
    return client


def add(actor, consultation, *files: tuple[str, bytes]) -> list[ConsultationDocument]:
    with scope(organisation=actor.organisation_id):
        return documents.add_documents(
            actor=actor,
            consultation_id=consultation.pk,
            uploads=[Upload(file=io.BytesIO(data), name=name) for name, data in files],
        )


def publish(actor, consultation):
    with scope(organisation=actor.organisation_id):
        return services.publish_consultation(actor=actor, consultation_id=consultation.pk)


def rows(consultation) -> list[ConsultationDocument]:
    with scopes_disabled():
        return list(
            ConsultationDocument.objects.filter(consultation=consultation).select_related("file")
        )


def upload(client, consultation, *files: tuple[str, bytes]):
    return client.post(
        org_url("procurement:document_add", pk=consultation.pk),
        {"uploads": [SimpleUploadedFile(name, data) for name, data in files]},
        follow=True,
    )


# --- Buyers add and withdraw files ------------------------------------------------------


def test_a_buyer_adds_files_with_their_name_size_hash_and_type(buyer_client, buyer):
    consultation = make_consultation(buyer)
    response = upload(
        buyer_client,
        consultation,
        ("Règlement de consultation.pdf", pdf("RC")),
        ("BPU.csv", b"a;b\n1;2\n"),
    )
    assert response.status_code == 200
    found = {d.file.original_name: d for d in rows(consultation)}
    assert set(found) == {"Règlement de consultation.pdf", "BPU.csv"}
    rc = found["Règlement de consultation.pdf"]
    assert rc.file.size == len(pdf("RC"))
    assert rc.file.sha256 == hashlib.sha256(pdf("RC")).hexdigest()
    assert rc.file.content_type == "application/pdf"
    assert rc.added_in_version == 1
    assert rc.withdrawn_in_version is None
    assert rc.file.sha256 in response.content.decode()
    with scopes_disabled():
        event = AuditEvent.objects.filter(
            chain=audit.organisation_chain(buyer.organisation_id),
            action="consultation.documents_added",
        ).get()
    assert {d["sha256"] for d in event.payload["documents"]} == {
        d.file.sha256 for d in found.values()
    }


def test_a_buyer_withdraws_a_file_of_a_draft_entirely(buyer_client, buyer):
    consultation = make_consultation(buyer)
    (document,) = add(buyer, consultation, ("CCAP.pdf", pdf("CCAP")))
    response = buyer_client.post(
        org_url("procurement:document_remove", pk=consultation.pk, document_pk=document.pk),
        follow=True,
    )
    assert response.status_code == 200
    assert rows(consultation) == []
    assert not StoredFile.objects.filter(pk=document.file_id).exists()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("setup.exe", PE, "file_executable"),
        ("notice.pdf", PE, "file_executable"),
        ("CCTP.docx", PDF, "file_name_contradicts_type"),
        ("DCE.zip", make_zip([("../../etc/passwd", b"x")]), "archive_unsafe_name"),
        ("DCE.zip", make_zip([("plan.txt", b"\x00" * (50 * MB))]), "archive_ratio_too_high"),
        ("DCE.zip", make_zip([("outil.exe", PE)]), "file_executable"),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_lost(buyer, name, data, code):
    consultation = make_consultation(buyer)
    (kept,) = add(buyer, consultation, ("RC.pdf", pdf("RC")))
    stored_before = StoredFile.objects.count()
    with pytest.raises(file_errors.FileRefused) as excinfo:
        add(buyer, consultation, ("BPU.pdf", pdf("BPU")), (name, data))
    assert excinfo.value.code == code
    assert [d.pk for d in rows(consultation)] == [kept.pk]
    assert StoredFile.objects.count() == stored_before


def test_an_archive_deeper_than_two_levels_is_refused(buyer):
    consultation = make_consultation(buyer)
    inner = make_zip([("plan.pdf", PDF)])
    middle = make_zip([("lot1.zip", inner)])
    with pytest.raises(file_errors.ArchiveTooDeep):
        add(buyer, consultation, ("DCE.zip", make_zip([("lots.zip", middle)])))
    (accepted,) = add(buyer, consultation, ("DCE.zip", make_zip([("lots.zip", inner)])))
    assert accepted.file.content_type == "application/zip"


def test_a_refused_upload_shows_why_on_the_page(buyer_client, buyer):
    consultation = make_consultation(buyer)
    response = upload(buyer_client, consultation, ("notice.pdf", PE))
    assert response.status_code == 200
    assert "notice.pdf" in response.content.decode()
    assert rows(consultation) == []


def test_oversize_files_and_sets_are_refused(buyer, settings):
    consultation = make_consultation(buyer)
    settings.MUTUALIS_FILES_POLICY_MAX_FILE_BYTES = 200
    with pytest.raises(file_errors.FileTooLarge):
        add(buyer, consultation, ("RC.pdf", pdf("x" * 300)))
    settings.MUTUALIS_FILES_POLICY_MAX_FILE_BYTES = 10_000
    settings.MUTUALIS_FILES_POLICY_MAX_SET_BYTES = 400
    add(buyer, consultation, ("RC.pdf", pdf("RC")))
    with pytest.raises(file_errors.FileSetTooLarge):
        add(buyer, consultation, ("CCAP.pdf", pdf("y" * 200)), ("CCTP.pdf", pdf("z" * 200)))
    assert [d.file.original_name for d in rows(consultation)] == ["RC.pdf"]


def test_files_of_a_published_consultation_change_only_by_rectification(buyer):
    consultation = make_consultation(buyer)
    (document,) = add(buyer, consultation, ("RC.pdf", pdf("RC")))
    publish(buyer, consultation)
    with pytest.raises(errors.DocumentsNotEditable):
        add(buyer, consultation, ("CCAP.pdf", pdf("CCAP")))
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.DocumentsNotEditable):
        documents.remove_document(
            actor=buyer, consultation_id=consultation.pk, document_id=document.pk
        )


def test_an_empty_upload_is_refused(buyer):
    consultation = make_consultation(buyer)
    with pytest.raises(errors.NoFileSent):
        add(buyer, consultation)


# --- Tenant isolation, roles, CSRF -----------------------------------------------------


def test_another_member_cannot_reach_or_change_the_files(client, buyer, agent_b):
    subscribe_to_procurement(agent_b.organisation)
    consultation = make_consultation(buyer)
    (document,) = add(buyer, consultation, ("RC.pdf", pdf("RC")))
    client.force_login(agent_b.user)
    for url in (
        org_url("procurement:document_add", ORG_B, pk=consultation.pk),
        org_url("procurement:document_remove", ORG_B, pk=consultation.pk, document_pk=document.pk),
    ):
        assert client.post(url, {"uploads": SimpleUploadedFile("x.pdf", PDF)}).status_code == 404
    download = org_url(
        "procurement:document_download",
        ORG_B,
        pk=consultation.pk,
        document_pk=document.pk,
        filename="RC.pdf",
    )
    assert client.get(download).status_code == 404
    with scope(organisation=agent_b.organisation_id), pytest.raises(Exception):  # noqa: B017, PT011
        documents.add_documents(
            actor=agent_b,
            consultation_id=consultation.pk,
            uploads=[Upload(file=io.BytesIO(PDF), name="x.pdf")],
        )
    assert len(rows(consultation)) == 1


def test_draft_files_are_not_public(client, buyer):
    consultation = make_consultation(buyer)
    (document,) = add(buyer, consultation, ("RC.pdf", pdf("RC")))
    public = reverse(
        "consultations:document",
        kwargs={"pk": consultation.pk, "document_pk": document.pk, "filename": "RC.pdf"},
    )
    assert client.get(public).status_code == 404
    assert (
        client.get(reverse("consultations:documents_zip", args=[consultation.pk])).status_code
        == 404
    )
    assert client.get(document.file.get_absolute_url()).status_code == 404


def test_the_buyer_downloads_a_draft_file(buyer_client, buyer):
    consultation = make_consultation(buyer)
    (document,) = add(buyer, consultation, ("RC.pdf", pdf("RC")))
    url = org_url(
        "procurement:document_download",
        pk=consultation.pk,
        document_pk=document.pk,
        filename="RC.pdf",
    )
    response = buyer_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf("RC")


def test_uploads_are_protected_against_cross_site_requests(client, buyer):
    client.handler.enforce_csrf_checks = True
    client.force_login(buyer.user)
    consultation = make_consultation(buyer)
    response = client.post(
        org_url("procurement:document_add", pk=consultation.pk),
        {"uploads": SimpleUploadedFile("RC.pdf", PDF)},
    )
    assert response.status_code == 403
    assert rows(consultation) == []


# --- Public downloads ------------------------------------------------------------------


@pytest.fixture
def published(buyer):
    consultation = make_consultation(buyer, lots=2, criteria=(("Prix", 100),))
    add(
        buyer,
        consultation,
        ("Règlement de consultation.pdf", pdf("RC " * 500)),
        ("CCAP.pdf", pdf("CCAP")),
        ("BPU.csv", b"lot;prix\n1;1000\n"),
    )
    return publish(buyer, consultation)


@pytest.fixture
def downloads():
    received: list[dict] = []

    def receiver(sender, signal, **kwargs):
        received.append(kwargs)

    signals.documents_downloaded.connect(receiver)
    yield received
    signals.documents_downloaded.disconnect(receiver)


def test_the_public_page_lists_the_files_with_size_and_hash(client, published):
    response = client.get(reverse("consultations:detail", args=[published.pk]))
    body = response.content.decode()
    for document in rows(published):
        assert document.file.sha256 in body
        assert document.file.original_name in body
    assert reverse("consultations:documents_zip", args=[published.pk]) in body


def test_anyone_downloads_a_file_with_ranges(client, published, downloads):
    document = next(d for d in rows(published) if d.file.original_name == "CCAP.pdf")
    url = reverse(
        "consultations:document",
        kwargs={"pk": published.pk, "document_pk": document.pk, "filename": "CCAP.pdf"},
    )
    whole = client.get(url)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == pdf("CCAP")
    assert whole["Cache-Control"] == "private, no-cache"
    part = client.get(url, HTTP_RANGE="bytes=5-9")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 5-9/{len(pdf('CCAP'))}"
    assert b"".join(part.streaming_content) == pdf("CCAP")[5:10]
    beyond = client.get(url, HTTP_RANGE="bytes=99999-")
    assert beyond.status_code == 416
    assert [d["document_ids"] for d in downloads] == [[document.pk], [document.pk]]
    assert downloads[0]["consultation_id"] == published.pk
    assert downloads[0]["organisation_id"] == published.organisation_id


def test_all_current_files_come_as_one_streamed_zip(client, published, downloads):
    response = client.get(reverse("consultations:documents_zip", args=[published.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data)
    expected = {d.file.original_name: d.file.sha256 for d in rows(published)}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        got = {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}
    assert got == expected
    assert sorted(downloads[0]["document_ids"]) == sorted(d.pk for d in rows(published))


def test_a_head_request_of_the_zip_is_not_a_download(client, published, downloads):
    response = client.head(reverse("consultations:documents_zip", args=[published.pk]))
    assert response.status_code == 200
    assert int(response["Content-Length"]) > 0
    assert downloads == []


def test_a_document_of_another_consultation_is_not_found(client, buyer, published):
    other = make_consultation(buyer, reference="2027-002", publish=True)
    document = rows(published)[0]
    url = reverse(
        "consultations:document",
        kwargs={"pk": other.pk, "document_pk": document.pk, "filename": "x.pdf"},
    )
    assert client.get(url).status_code == 404


def test_the_file_store_link_of_a_public_file_is_anyones(client, published):
    document = rows(published)[0]
    response = client.get(document.file.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:8] == b"%PDF-1.7"


def test_a_revalidated_download_is_not_counted(client, published, downloads):
    document = next(d for d in rows(published) if d.file.original_name == "CCAP.pdf")
    url = reverse(
        "consultations:document",
        kwargs={"pk": published.pk, "document_pk": document.pk, "filename": "CCAP.pdf"},
    )
    response = client.get(url, HTTP_IF_NONE_MATCH=f'"{document.file.sha256}"')
    assert response.status_code == 304
    assert downloads == []


def test_the_demo_files_are_pdfs_with_real_text(buyer):
    from pypdf import PdfReader

    from mutualis.procurement import demo_files

    consultation = make_consultation(buyer, lots=2)
    with scopes_disabled():
        consultation = (
            type(consultation).objects.select_related("organisation").get(pk=consultation.pk)
        )
        files = dict(demo_files.dce(consultation))
    assert set(files) == {"Règlement de la consultation.pdf", "CCAP.pdf", "CCTP.pdf", "BPU.pdf"}
    reader = PdfReader(io.BytesIO(files["Règlement de la consultation.pdf"]))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Jugement des offres" in text
    assert "Lot 2" in PdfReader(io.BytesIO(files["CCTP.pdf"])).pages[0].extract_text()
    # Accepted by the consultation files' own policy.
    added = add(buyer, consultation, *files.items())
    assert {d.file.content_type for d in added} == {"application/pdf"}


def test_a_scheduled_consultation_is_unscheduled_before_its_files_change(buyer):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        services.schedule_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            publish_at=consultation.questions_deadline - timedelta(days=1),
        )
    with pytest.raises(errors.NotEditable):
        add(buyer, consultation, ("RC.pdf", pdf("RC")))
    assert rows(consultation) == []
