"""The one download view: the owner decides, ranges, validators, names, bounded memory."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from urllib.parse import unquote

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils.http import http_date

from mutualis.core.files import register_owner, store_file, unregister_owner
from mutualis.core.files.download import BLOCK_SIZE
from mutualis.core.models import StoredFile
from tests.factories.core import ORG_A

pytestmark = pytest.mark.django_db

OWNER = "tests.private"
PDF_HEAD = b"%PDF-1.7\n"


def agent_of_owner(request, stored_file: StoredFile) -> bool:
    """A test-only service's rule: agents of the owning organisation read its files."""
    membership = getattr(request, "membership", None)
    return membership is not None and str(membership.organisation_id) == stored_file.owner_ref


@pytest.fixture(autouse=True)
def _owner():
    register_owner(OWNER, can_read=agent_of_owner)
    yield
    unregister_owner(OWNER)


@pytest.fixture
def content() -> bytes:
    return PDF_HEAD + os.urandom(200_000)


@pytest.fixture
def private_file(org_a, content) -> StoredFile:
    return store_file(
        file=io.BytesIO(content),
        name="Pièce écrite n°1.pdf",
        owner_kind=OWNER,
        owner_ref=str(org_a.pk),
    )


@pytest.fixture
def client_a(client, agent_a) -> Client:
    client.force_login(agent_a.user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_owner_reads_its_file_whole(client_a, private_file, content):
    response = client_a.get(private_file.url_for_organisation(ORG_A))
    assert response.status_code == 200
    assert body(response) == content
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"] == "application/pdf"
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    # The download's own "private, no-cache"; a signed-in request adds "no-store", so
    # that a shared computer's browser keeps no copy (identity.sessions).
    assert response["Cache-Control"] == "private, no-cache, no-store"


def test_the_original_non_ascii_name_is_offered(client_a, private_file):
    disposition = client_a.get(private_file.url_for_organisation(ORG_A))["Content-Disposition"]
    assert disposition.startswith('inline; filename="Piece ecrite n_1.pdf"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Pièce écrite n°1.pdf"


def test_another_members_agent_gets_404(client, agent_b, private_file):
    client.force_login(agent_b.user)
    assert client.get(private_file.url_for_organisation(ORG_A)).status_code == 404


def test_an_anonymous_person_gets_404_or_the_login_page(client, private_file):
    """At the public address the owner kind refuses (404); under the organisation's path
    an anonymous visitor is sent to log in, like on every tenant page."""
    assert client.get(private_file.get_absolute_url()).status_code == 404
    response = client.get(private_file.url_for_organisation(ORG_A))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_owner_at_the_public_address_gets_404(client_a, private_file):
    """A private file is read under the organisation's path only: the public address
    names no party, so the owner kind sees no membership."""
    assert client_a.get(private_file.get_absolute_url()).status_code == 404


def test_an_outsider_gets_404(client, outsider, private_file):
    client.force_login(outsider)
    assert client.get(private_file.url_for_organisation(ORG_A)).status_code == 404


def test_a_file_whose_owner_kind_is_gone_gets_404(client_a, private_file):
    unregister_owner(OWNER)
    assert client_a.get(private_file.url_for_organisation(ORG_A)).status_code == 404


def test_an_unknown_file_gets_404(client_a):
    url = reverse("core:file_download", args=["6f1c7a52-7d5e-4c43-9a36-0c8d2b1f4e10", "a.pdf"])
    assert client_a.get(url).status_code == 404


def test_only_get_and_head_are_answered(client_a, private_file):
    assert client_a.post(private_file.url_for_organisation(ORG_A)).status_code == 405
    head = client_a.head(private_file.url_for_organisation(ORG_A))
    assert head.status_code == 200
    assert head["Content-Length"] == str(private_file.size)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=1000-1999", 1000, 1999),  # the middle
        ("bytes=-500", 200_009 - 500, 200_008),  # a suffix
        ("bytes=150000-", 150_000, 200_008),  # an open end (a resumed download)
        ("bytes=200000-999999", 200_000, 200_008),  # clipped to the end
    ],
)
def test_a_range_answers_206_with_those_bytes(client_a, private_file, content, header, first, last):
    response = client_a.get(private_file.url_for_organisation(ORG_A), headers={"Range": header})
    assert response.status_code == 206
    assert body(response) == content[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(content)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=200009-", "bytes=999999-1000000", "bytes=-0"])
def test_an_unsatisfiable_range_answers_416(client_a, private_file, header):
    response = client_a.get(private_file.url_for_organisation(ORG_A), headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{private_file.size}"


def test_several_ranges_answer_the_whole_file(client_a, private_file, content):
    response = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"Range": "bytes=0-1,5-9"}
    )
    assert response.status_code == 200
    assert body(response) == content


def test_if_range_with_the_current_etag_keeps_the_range(client_a, private_file, content):
    response = client_a.get(
        private_file.url_for_organisation(ORG_A),
        headers={"Range": "bytes=10-19", "If-Range": f'"{private_file.sha256}"'},
    )
    assert response.status_code == 206
    assert body(response) == content[10:20]


@pytest.mark.parametrize("validator", ['"0000"', 'W/"{sha}"', "Sat, 01 Jan 2000 00:00:00 GMT"])
def test_if_range_with_another_validator_gives_the_whole_file(
    client_a, private_file, content, validator
):
    response = client_a.get(
        private_file.url_for_organisation(ORG_A),
        headers={"Range": "bytes=10-19", "If-Range": validator.format(sha=private_file.sha256)},
    )
    assert response.status_code == 200
    assert body(response) == content


def test_if_range_with_the_storing_date_keeps_the_range(client_a, private_file, content):
    date = http_date(private_file.created_at.timestamp())
    response = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"Range": "bytes=10-19", "If-Range": date}
    )
    assert response.status_code == 206


def test_a_cached_copy_is_revalidated_with_304(client_a, private_file):
    etag = f'"{private_file.sha256}"'
    response = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"If-None-Match": etag}
    )
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "private, no-cache, no-store"
    changed = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"If-None-Match": '"other"'}
    )
    assert changed.status_code == 200


def test_a_304_is_never_given_to_someone_who_may_not_read(client, agent_b, private_file):
    client.force_login(agent_b.user)
    etag = f'"{private_file.sha256}"'
    response = client.get(private_file.url_for_organisation(ORG_A), headers={"If-None-Match": etag})
    assert response.status_code == 404


def test_if_match_with_another_etag_fails_the_precondition(client_a, private_file):
    response = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"If-Match": '"other"'}
    )
    assert response.status_code == 412


def test_a_type_that_could_run_scripts_is_an_attachment(client_a, org_a):
    stored = store_file(
        file=io.BytesIO(b"name;amount\nA;1\n"),
        name="lots.csv",
        owner_kind=OWNER,
        owner_ref=str(org_a.pk),
    )
    response = client_a.get(stored.url_for_organisation(ORG_A))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_behind_nginx_the_app_answers_headers_only(client_a, private_file, settings):
    settings.MUTUALIS_FILES_X_ACCEL_PREFIX = "/_files/"
    response = client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"Range": "bytes=0-9"}
    )
    assert response.status_code == 200  # nginx answers the range itself
    assert response["X-Accel-Redirect"] == f"/_files/{private_file.key}"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('inline; filename="Piece ecrite n_1.pdf"')
    assert response.content == b""
    # nginx answers the validators too (with its own ETag): the app does not refuse first.
    assert client_a.get(
        private_file.url_for_organisation(ORG_A), headers={"If-Match": '"x"'}
    ).has_header("X-Accel-Redirect")


def test_object_storage_serves_through_a_short_signed_redirect(client_a, private_file, monkeypatch):
    class ObjectStorage:
        def path(self, name):
            raise NotImplementedError

        def url(self, name, parameters=None, expire=None):
            self.asked = (name, parameters, expire)
            return f"https://objects.example.org/{name}?signature=x"

    storage = ObjectStorage()
    monkeypatch.setattr("mutualis.core.files.store.file_storage", lambda: storage)
    monkeypatch.setattr("mutualis.core.files.download.file_storage", lambda: storage)
    response = client_a.get(private_file.url_for_organisation(ORG_A))
    assert response.status_code == 302
    assert response["Location"].startswith(f"https://objects.example.org/{private_file.key}")
    _name, parameters, expire = storage.asked
    assert parameters["ResponseContentType"] == "application/pdf"
    assert "filename*=UTF-8''" in parameters["ResponseContentDisposition"]
    assert expire == 60


def test_a_large_download_streams_with_bounded_memory(client_a, org_a):
    """60 MiB go out in blocks; the response never holds the file."""
    size = 60 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)
    upload = io.BytesIO()
    upload.write(PDF_HEAD)
    for _ in range(size // len(chunk)):
        upload.write(chunk)
    upload.seek(0)
    stored = store_file(file=upload, name="big.pdf", owner_kind=OWNER, owner_ref=str(org_a.pk))
    del upload
    digest = hashlib.sha256()
    received = largest = 0
    tracemalloc.start()
    try:
        response = client_a.get(stored.url_for_organisation(ORG_A))
        assert response.streaming
        for block in response.streaming_content:
            digest.update(block)
            received += len(block)
            largest = max(largest, len(block))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == stored.size
    assert digest.hexdigest() == stored.sha256
    assert largest <= BLOCK_SIZE
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while streaming {size} bytes"


def test_a_real_server_sends_exactly_the_range(live_server, org_a, settings):
    """Through a WSGI server's file wrapper (as gunicorn's): the bytes of the range only."""
    register_owner("tests.public", can_read=lambda request, stored_file: True, public=True)
    try:
        data = PDF_HEAD + os.urandom(3 * BLOCK_SIZE + 123)
        stored = store_file(file=io.BytesIO(data), name="doc.pdf", owner_kind="tests.public")
        url = live_server.url + stored.get_absolute_url()
        ranged = requests.get(url, headers={"Range": "bytes=1000-300999"}, timeout=10)
        assert ranged.status_code == 206
        assert ranged.content == data[1000:301000]
        whole = requests.get(url, timeout=10)
        assert whole.content == data
        assert whole.headers["Cache-Control"] == "public, max-age=86400"
    finally:
        unregister_owner("tests.public")
