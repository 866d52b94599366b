"""The ZIP of a published consultation's current files, written once per published version
by a job and served like any stored file (sendfile, ranges, validators); streamed as
before until the job has run."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core.models import StoredFile
from mutualis.procurement import archives, documents, services, signals, tasks
from mutualis.procurement.documents import Upload
from mutualis.procurement.models import ConsultationArchive, ConsultationDocument
from mutualis.procurement.rectifications import RectificationInput, rectify_consultation
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf(text: str) -> bytes:
    return PDF + text.encode() + b"\n" * 64


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def draft(buyer):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        documents.add_documents(
            actor=buyer,
            consultation_id=consultation.pk,
            uploads=[
                Upload(file=io.BytesIO(pdf("RC " * 300)), name="Règlement de consultation.pdf"),
                Upload(file=io.BytesIO(pdf("CCAP")), name="CCAP.pdf"),
                Upload(file=io.BytesIO(b"lot;prix\n1;1000\n"), name="BPU.csv"),
            ],
        )
    return consultation


@pytest.fixture
def published(buyer, draft, django_capture_on_commit_callbacks):
    """Published through the service: the signal, once committed, runs the job (the
    tests' task backend runs jobs at once)."""
    with (
        django_capture_on_commit_callbacks(execute=True),
        scope(organisation=buyer.organisation_id),
    ):
        return services.publish_consultation(actor=buyer, consultation_id=draft.pk)


@pytest.fixture
def downloads():
    received: list[dict] = []

    def receiver(sender, signal, **kwargs):
        received.append(kwargs)

    signals.documents_downloaded.connect(receiver)
    yield received
    signals.documents_downloaded.disconnect(receiver)


def archive_of(consultation) -> ConsultationArchive | None:
    with scopes_disabled():
        return (
            ConsultationArchive.objects.filter(consultation=consultation)
            .select_related("file")
            .first()
        )


def current_files(consultation) -> dict[str, str]:
    with scopes_disabled():
        return {
            d.file.original_name: d.file.sha256
            for d in ConsultationDocument.objects.filter(
                consultation=consultation, withdrawn_in_version__isnull=True
            ).select_related("file")
        }


def entries(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}


def stored_bytes(stored_file: StoredFile) -> bytes:
    from mutualis.core.files import open_stored_file

    with open_stored_file(stored_file) as file:
        return file.read()


def zip_url(consultation) -> str:
    return reverse("consultations:documents_zip", args=[consultation.pk])


def test_publication_archives_the_current_files_once(published):
    archive = archive_of(published)
    assert archive is not None
    assert archive.version == 1
    assert archive.organisation_id == published.organisation_id
    data = stored_bytes(archive.file)
    assert archive.file.sha256 == hashlib.sha256(data).hexdigest()
    assert archive.file.size == len(data)
    assert archive.file.content_type == "application/zip"
    assert entries(data) == current_files(published)


def test_a_rectification_archives_the_new_version_without_the_withdrawn_file(
    buyer, published, django_capture_on_commit_callbacks
):
    first = archive_of(published)
    old_file_id = first.file_id
    with scopes_disabled():
        ccap = ConsultationDocument.objects.get(
            consultation=published, file__original_name="CCAP.pdf"
        )
    with (
        django_capture_on_commit_callbacks(execute=True),
        scope(organisation=buyer.organisation_id),
    ):
        rectify_consultation(
            actor=buyer,
            consultation_id=published.pk,
            data=RectificationInput(
                summary="Le CCAP est remplacé.",
                add=[Upload(file=io.BytesIO(pdf("CCAP v2")), name="CCAP modifié.pdf")],
                withdraw=[ccap.pk],
            ),
        )
    archive = archive_of(published)
    assert archive.version == 2
    got = entries(stored_bytes(archive.file))
    assert "CCAP.pdf" not in got
    assert got["CCAP modifié.pdf"] == hashlib.sha256(pdf("CCAP v2")).hexdigest()
    assert got == current_files(published)
    # Only the latest version's archive is kept.
    assert not StoredFile.objects.filter(pk=old_file_id).exists()
    with scopes_disabled():
        assert ConsultationArchive.objects.filter(consultation=published).count() == 1


def test_the_job_run_again_does_nothing_more(published):
    before = archive_of(published)
    files_before = StoredFile.objects.count()
    again = tasks.archive_consultation_files.enqueue(
        consultation_id=published.pk, organisation_id=published.organisation_id
    )
    assert again.return_value == 1
    after = archive_of(published)
    assert after.file_id == before.file_id
    assert StoredFile.objects.count() == files_before


def test_the_route_serves_the_stored_archive_with_ranges(client, published, downloads):
    archive = archive_of(published)
    response = client.get(zip_url(published))
    assert response.status_code == 200
    assert response["Content-Length"] == str(archive.file.size)
    assert response["ETag"] == f'"{archive.file.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="DCE ')
    assert published.reference in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == archive.file.sha256
    part = client.get(zip_url(published), HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 0-3/{archive.file.size}"
    assert b"".join(part.streaming_content) == b"PK\x03\x04"
    revalidated = client.get(zip_url(published), HTTP_IF_NONE_MATCH=f'"{archive.file.sha256}"')
    assert revalidated.status_code == 304
    with scopes_disabled():
        ids = sorted(
            ConsultationDocument.objects.filter(consultation=published).values_list("pk", flat=True)
        )
    assert [sorted(d["document_ids"]) for d in downloads] == [ids, ids]
    assert downloads[0]["consultation_id"] == published.pk


def test_the_route_streams_the_archive_until_the_job_has_run(client, buyer, draft, downloads):
    # Published without running the commit callbacks: the job has not run.
    with scope(organisation=buyer.organisation_id):
        consultation = services.publish_consultation(actor=buyer, consultation_id=draft.pk)
    assert archive_of(consultation) is None
    response = client.get(zip_url(consultation))
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "none"
    assert "ETag" not in response
    assert entries(b"".join(response.streaming_content)) == current_files(consultation)
    assert len(downloads) == 1


def test_an_archive_of_an_older_version_is_not_served(client, buyer, published):
    # A rectification committed, its job not run yet: the archive holds version 1.
    with scope(organisation=buyer.organisation_id):
        rectify_consultation(
            actor=buyer,
            consultation_id=published.pk,
            data=RectificationInput(summary="Objet précisé.", fields={"title": "Autre titre"}),
        )
    assert archive_of(published).version == 1
    response = client.get(zip_url(published))
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "none"


def test_a_draft_has_no_archive_and_no_public_zip(client, buyer, draft):
    result = archives.archive_current_files(
        consultation_id=draft.pk, organisation_id=buyer.organisation_id
    )
    assert result is None
    assert archive_of(draft) is None
    assert client.get(zip_url(draft)).status_code == 404


def test_another_member_cannot_trigger_or_change_anything(client, agent_b, buyer, draft):
    with scope(organisation=buyer.organisation_id):
        consultation = services.publish_consultation(actor=buyer, consultation_id=draft.pk)
    # The job looks the consultation up inside the member it is given.
    assert (
        archives.archive_current_files(
            consultation_id=consultation.pk, organisation_id=agent_b.organisation_id
        )
        is None
    )
    assert archive_of(consultation) is None
    client.force_login(agent_b.user)
    assert client.post(zip_url(consultation)).status_code == 405
    assert archive_of(consultation) is None


def test_the_stored_archive_link_follows_its_consultation(client, published):
    archive = archive_of(published)
    response = client.get(archive.file.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"PK\x03\x04"


def test_the_public_page_shows_the_archive_size_and_hash(client, published):
    archive = archive_of(published)
    body = client.get(reverse("consultations:detail", args=[published.pk])).content.decode()
    assert archive.file.sha256 in body


def test_the_catch_up_archives_what_the_jobs_missed(client, buyer, draft):
    with scope(organisation=buyer.organisation_id):
        consultation = services.publish_consultation(actor=buyer, consultation_id=draft.pk)
    other_draft = make_consultation(buyer, reference="2027-099")
    assert archives.archive_missing() == 1
    assert archive_of(consultation).version == 1
    assert archive_of(other_draft) is None
    assert archives.archive_missing() == 0


def test_the_demo_ends_with_an_archive_of_each_published_consultation():
    from io import StringIO

    from django.core.management import call_command

    from mutualis.procurement.models import PUBLIC_STATES, Consultation

    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    with scopes_disabled():
        public = list(Consultation.objects.filter(state__in=PUBLIC_STATES))
        archived = {a.consultation_id: a.version for a in ConsultationArchive.objects.all()}
    assert public
    assert {c.pk: c.version for c in public if current_files(c)} == archived


def test_the_catch_up_is_a_periodic_job_of_procurement(buyer, draft):
    from mutualis.core import registry

    [job] = [j for j in registry.periodic_jobs() if j.name == "archive_missing_consultations"]
    assert job.task is tasks.archive_missing_consultations
    with scope(organisation=buyer.organisation_id):
        consultation = services.publish_consultation(actor=buyer, consultation_id=draft.pk)
    assert job.task.enqueue().return_value == 1
    assert archive_of(consultation).version == consultation.version
