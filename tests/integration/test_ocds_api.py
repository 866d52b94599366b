"""The OCDS API: release packages through a cursor without drift while releases are
added, filters, record packages, and refusals (never a 500); the bulk files and their
public page."""

from __future__ import annotations

import gzip
import json

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core.files import open_stored_file
from mutualis.ocds import bulk, schemas
from mutualis.ocds.models import BulkFile, BulkKind, Release
from tests.factories.ocds import assert_valid, published
from tests.factories.procurement import subscribe_to_procurement

pytestmark = pytest.mark.django_db

RELEASES = "/api/v1/ocds/releases"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def test_the_feed_pages_without_drift_while_releases_are_added(
    client, buyer, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = [published(buyer, capture, reference=f"A-{n}").pk for n in range(3)]
    answer = client.get(RELEASES, {"limit": 2})
    assert answer.status_code == 200
    page = answer.json()
    assert_valid({k: v for k, v in page.items() if k not in ("has_more", "next_cursor", "links")},
                 schemas.RELEASE_PACKAGE)  # fmt: skip
    assert_valid(page, schemas.RELEASE_PACKAGE)
    assert page["has_more"] is True
    assert "next" in page["links"]
    seen = [r["id"] for r in page["releases"]]
    # Two procedures published between two reads: they come after, none is lost or repeated.
    later = [published(buyer, capture, reference=f"B-{n}").pk for n in range(2)]
    cursor = page["next_cursor"]
    while True:
        page = client.get(RELEASES, {"limit": 2, "cursor": cursor}).json()
        seen += [r["id"] for r in page["releases"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    expected = [
        r.release_id
        for r in Release.objects.filter(consultation_id__in=first + later).order_by("pk")
    ]
    assert seen == expected
    assert len(seen) == 5
    # Nothing new: the same cursor, no release.
    again = client.get(RELEASES, {"cursor": cursor}).json()
    assert (again["releases"], again["next_cursor"]) == ([], cursor)


def test_filters_by_buyer_and_date(client, buyer, agent_b, django_capture_on_commit_callbacks):
    published(buyer, django_capture_on_commit_callbacks)
    siren = buyer.organisation.siren
    assert siren
    assert len(client.get(RELEASES, {"buyer": siren}).json()["releases"]) == 1
    assert client.get(RELEASES, {"buyer": "000000000"}).json()["releases"] == []
    assert client.get(RELEASES, {"since": "2999-01-01T00:00:00Z"}).json()["releases"] == []
    assert len(client.get(RELEASES, {"since": "2000-01-01"}).json()["releases"]) == 1


def test_a_record_package(client, buyer, django_capture_on_commit_callbacks):
    consultation = published(buyer, django_capture_on_commit_callbacks)
    ocid = Release.objects.get(consultation_id=consultation.pk).ocid
    answer = client.get(reverse("api:get_ocds_record", kwargs={"ocid": ocid}))
    assert answer.status_code == 200
    assert_valid(answer.json(), schemas.RECORD_PACKAGE)
    assert answer.json()["records"][0]["compiledRelease"]["ocid"] == ocid
    missing = client.get(reverse("api:get_ocds_record", kwargs={"ocid": "ocds-mutual-999999"}))
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "forged"}, 400),
        ({"cursor": "a\x00b"}, 400),
        ({"cursor": "x" * 20000}, 400),
        ({"cursor": "x" * 300}, 422),
        ({"buyer": "12345"}, 422),
        ({"buyer": "\xff"}, 422),
        ({"limit": 0}, 422),
        ({"limit": 10**6}, 422),
        ({"since": "not a date"}, 422),
        # Year 1 at +17:30 is year 0 in UTC, which no date holds.
        ({"since": "0001-01-01T00:00:00+17:30"}, 422),
    ],
)
def test_bad_input_is_refused_clearly(client, params, status):
    answer = client.get(RELEASES, params)
    assert answer.status_code == status
    assert answer.json()["code"]


def test_an_offset_postgresql_refuses_is_read_in_utc(
    client, buyer, django_capture_on_commit_callbacks
):
    # Python reads offsets up to ±23:59, PostgreSQL past ±15:59 refused them (a 500).
    published(buyer, django_capture_on_commit_callbacks)
    answer = client.get(RELEASES, {"since": "0266-08-09T22:11:55+17:30"})
    assert answer.status_code == 200
    assert len(answer.json()["releases"]) == 1
    later = client.get(RELEASES, {"since": "2999-01-01T23:00:00+17:30"})
    assert (later.status_code, later.json()["releases"]) == (200, [])


def test_a_bad_ocid_is_refused(client):
    assert client.get("/api/v1/ocds/records/" + "a" * 200).status_code == 422
    assert client.get("/api/v1/ocds/records/a%00b").status_code in (400, 404, 422)
    assert client.get("/api/v1/ocds/records/%C3%28").status_code in (400, 404, 422)


def test_bulk_files_are_valid_packages_listed_on_the_public_page(
    client, buyer, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    for n in range(3):
        published(buyer, capture, reference=f"C-{n}")
    with scopes_disabled():
        day = Release.objects.order_by("pk").first().created_at.date()
    from datetime import UTC, datetime, time, timedelta

    tomorrow = datetime.combine(day + timedelta(days=1), time(2), tzinfo=UTC)
    assert bulk.write_bulk_files(now=tomorrow) == 2
    # Run again: nothing new to write.
    assert bulk.write_bulk_files(now=tomorrow) == 0
    for kind in (BulkKind.DAY, BulkKind.FULL):
        stored = BulkFile.objects.get(kind=kind)
        with open_stored_file(stored.file) as raw:
            package = json.loads(gzip.decompress(raw.read()))
        assert_valid(package, schemas.RELEASE_PACKAGE)
        assert len(package["releases"]) == stored.releases == 3
    page = client.get(reverse("ocds:bulk_files"))
    assert page.status_code == 200
    full = BulkFile.objects.get(kind=BulkKind.FULL)
    assert full.file.get_absolute_url() in page.content.decode()
    download = client.get(full.file.get_absolute_url())
    assert download.status_code == 200
