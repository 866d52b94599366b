"""The rules of the OCDS releases without a database: tags from what changed, calendar
months, canonical digests, and the vendored schemas used offline."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime

import pytest

from mutualis.ocds import releases, schemas
from mutualis.ocds.models import Stage


def content(**parts):
    base = {
        "ocid": "ocds-mutual-1",
        "initiationType": "tender",
        "tender": {"id": "T-1", "status": "active", "title": "Toiture", "lots": []},
    }
    return {**base, **parts}


AWARD = {"id": "award-1", "status": "pending", "value": {"amount": 10, "currency": "EUR"}}
CONTRACT = {"id": "contract-1", "awardID": "award-1", "status": "pending"}


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, content(), (["tender"], Stage.TENDER)),
        (
            None,
            content(tender={"id": "T-1", "status": "planning"}),
            (["planning"], Stage.TENDER),
        ),
        (
            content(),
            content(tender={"id": "T-1", "status": "active", "title": "Toiture (rectifiée)"}),
            (["tenderUpdate"], Stage.TENDER),
        ),
        (
            content(),
            content(tender={"id": "T-1", "status": "cancelled", "title": "Toiture", "lots": []}),
            (["tenderCancellation"], Stage.TENDER),
        ),
        # The tender's status and tenderers follow the award: not a tender update.
        (
            content(),
            content(
                tender={
                    "id": "T-1",
                    "status": "complete",
                    "title": "Toiture",
                    "lots": [],
                    "numberOfTenderers": 2,
                },
                awards=[AWARD],
            ),
            (["award"], Stage.AWARD),
        ),
        (
            content(awards=[AWARD]),
            content(awards=[{**AWARD, "status": "active"}]),
            (["awardUpdate"], Stage.AWARD),
        ),
        (
            content(awards=[AWARD]),
            content(awards=[{**AWARD, "status": "cancelled"}]),
            (["awardCancellation"], Stage.AWARD),
        ),
        (
            content(awards=[AWARD]),
            content(awards=[AWARD], contracts=[CONTRACT]),
            (["contract"], Stage.CONTRACT),
        ),
        (
            content(contracts=[CONTRACT]),
            content(contracts=[{**CONTRACT, "status": "active"}]),
            (["contractUpdate"], Stage.CONTRACT),
        ),
        (
            content(contracts=[{**CONTRACT, "status": "active"}]),
            content(contracts=[{**CONTRACT, "status": "active", "amendments": [{"id": "a-1"}]}]),
            (["contractAmendment"], Stage.CONTRACT),
        ),
        (
            content(contracts=[{**CONTRACT, "status": "active"}]),
            content(contracts=[{**CONTRACT, "status": "active", "period": {"startDate": "x"}}]),
            (["implementation"], Stage.CONTRACT),
        ),
        (
            content(contracts=[{**CONTRACT, "status": "active"}]),
            content(contracts=[{**CONTRACT, "status": "terminated"}]),
            (["contractTermination"], Stage.CONTRACT),
        ),
    ],
)
def test_tags_say_what_changed(previous, current, expected):
    assert releases.tags(previous, current) == expected


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2027, 1, 15), 12, date(2028, 1, 15)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2027, 5, 31), 1, date(2027, 6, 30)),
    ],
)
def test_calendar_months(start, months, end):
    assert releases.add_months(start, months) == end


def test_the_digest_is_canonical():
    assert releases.digest({"b": 1, "a": "é"}) == releases.digest({"a": "é", "b": 1})
    assert releases.canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_ocid_prefix_comes_from_the_setting(settings):
    settings.OCDS_OCID_PREFIX = "ocds-abc123"
    assert releases.ocid_of(42) == "ocds-abc123-42"
    del settings.OCDS_OCID_PREFIX
    assert releases.ocid_of(42) == "ocds-mutual-42"


def test_the_vendored_schemas_work_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    schemas.validator.cache_clear()
    schemas.merge_rules.cache_clear()
    first = releases.release(
        {**content(), "tender": {"id": "T-1", "status": "active"}},
        release_id="ocds-mutual-1-1",
        at=datetime(2027, 1, 5, 10, tzinfo=UTC),
        tags=["tender"],
    )
    second = releases.release(
        {**content(), "tender": {"id": "T-1", "status": "complete"}, "awards": [AWARD]},
        release_id="ocds-mutual-1-2",
        at=datetime(2027, 2, 5, 10, tzinfo=UTC),
        tags=["award"],
    )
    package = {
        "uri": "https://mutualis.example/api/v1/ocds/releases",
        "version": "1.1",
        "publishedDate": "2027-02-05T10:00:00Z",
        "publisher": {"name": "Mutualis"},
        "releases": [first, second],
    }
    assert schemas.errors(package, schemas.RELEASE_PACKAGE) == []
    assert schemas.errors({**package, "releases": [{"ocid": "x"}]}, schemas.RELEASE_PACKAGE)
    # ocdsmerge compiles from the vendored schema's rules (it would download it otherwise).
    compiled = schemas.merger().create_compiled_release([first, second])
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["status"] == "complete"
    assert schemas.merge_rules()[("tag",)] == "omitWhenMerged"
    record = {**package, "records": [{"ocid": "ocds-mutual-1", "releases": [first, second],
                                       "compiledRelease": compiled}]}  # fmt: skip
    del record["releases"]
    assert schemas.errors(record, schemas.RECORD_PACKAGE) == []
