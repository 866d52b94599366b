"""The archive package of a finished procedure and the export of all (reversibility);
the retention period and the purge of the applications and tenders not retained, with
the clock given (``now``)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.contracts import archive, errors, retention
from mutualis.contracts.models import ArchivePackage, PackageState, RetentionPurge
from mutualis.core import audit
from mutualis.core.files import store as file_store
from mutualis.core.models import AuditEvent
from mutualis.deposits import purge as deposit_purge
from tests.factories.contracts import bidder, notified_contract, offer, open_offers
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def procedure(buyer):
    """A MAPA without lots: two offers, the first contracted (the procedure finished)."""
    winner, loser = bidder(1, "Menuiserie Dupont"), bidder(2, "Charpente Martin")
    consultation = make_consultation(buyer, publish=True)
    open_offers(consultation, buyer)
    won, lost = offer(consultation, winner), offer(consultation, loser)
    contract = notified_contract(buyer, consultation, winner)
    return consultation, contract, won, lost


def content_of(package) -> dict[str, bytes]:
    with scopes_disabled():
        package = ArchivePackage.objects.select_related("file").get(pk=package.pk)
        with file_store.open_stored_file(package.file) as handle:
            content = handle.read()
    assert hashlib.sha256(content).hexdigest() == package.sha256
    return archive.zip_entries(content)


def check_sums(files: dict[str, bytes], prefix: str = "") -> dict:
    manifest = json.loads(files[f"{prefix}manifest.json"])
    for line in files[f"{prefix}SHA256SUMS"].decode().splitlines():
        digest, path = line.split("  ", 1)
        assert hashlib.sha256(files[prefix + path]).hexdigest() == digest
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed == {
        name.removeprefix(prefix)
        for name in files
        if name.startswith(prefix) and name not in (f"{prefix}manifest.json", f"{prefix}SHA256SUMS")
    }
    return manifest


def test_the_package_of_a_finished_procedure(buyer, procedure):
    consultation, contract, won, lost = procedure
    package = archive.request_package(actor=buyer, consultation_id=consultation.pk)
    assert package.state == PackageState.REQUESTED
    # Asked again while waiting: the same request.
    assert archive.request_package(actor=buyer, consultation_id=consultation.pk).pk == package.pk
    archive.build(package.pk)
    files = content_of(package)
    manifest = check_sums(files)
    assert manifest["consultation"]["reference"] == consultation.reference
    for name in (
        "registers/downloads.csv",
        "registers/deposits.csv",
        "deposits/deposits.json",
        "awards.json",
        f"contracts/{contract.reference}.json",
        "audit.jsonl",
    ):
        assert name in files, name
    deposits = json.loads(files["deposits/deposits.json"])
    assert {d["reference"] for d in deposits} == {won.reference, lost.reference}
    assert sum(name.startswith("letters/") for name in files) == 2
    assert all(files[n].startswith(b"%PDF") for n in files if n.startswith("letters/"))
    record = json.loads(files[f"contracts/{contract.reference}.json"])
    assert record["holder"]["siret"] == contract.holder_siret
    actions = [json.loads(line)["action"] for line in files["audit.jsonl"].decode().splitlines()]
    assert {"contracts.award_decided", "contracts.contract_signed"} <= set(actions)
    assert "contracts.receipt_confirmed" in actions  # the company's chain too
    # Built twice: nothing changes.
    with scopes_disabled():
        file_id = ArchivePackage.objects.get(pk=package.pk).file_id
    assert archive.build(package.pk) == str(file_id)


def test_no_package_before_the_end_and_only_the_buyers(buyer, agent_b):
    consultation = make_consultation(buyer, publish=True)
    with pytest.raises(errors.NotFinished):
        archive.request_package(actor=buyer, consultation_id=consultation.pk)
    client = Client()
    client.force_login(agent_b.user)
    assert client.get(
        reverse("contracts:package", kwargs={"org": "commune-b", "package_id": 1})
    ).status_code in (403, 404)


def test_the_buyer_downloads_the_package_and_the_export(buyer, procedure, agent_b):
    consultation = procedure[0]
    client = Client()
    client.force_login(buyer.user)
    answer = client.post(
        reverse("contracts:archive", kwargs={"org": "commune-a", "pk": consultation.pk})
    )
    assert answer.status_code == 302
    assert client.post(reverse("contracts:export", kwargs={"org": "commune-a"})).status_code == 302
    with scopes_disabled():
        packages = list(ArchivePackage.objects.order_by("pk"))
    for package in packages:
        archive.build(package.pk)
    page = client.get(reverse("contracts:export", kwargs={"org": "commune-a"}))
    assert page.status_code == 200
    url = reverse("contracts:package", kwargs={"org": "commune-a", "package_id": packages[1].pk})
    assert url in page.content.decode()
    download = client.get(url)
    assert download.status_code == 200
    files = archive.zip_entries(b"".join(download.streaming_content))
    top = check_sums(files)
    [folder] = top["procedures"]
    check_sums(files, prefix=f"{folder}/")
    assert f"{folder}/audit.jsonl" in files
    # Another member's buyer: not found.
    other = Client()
    other.force_login(agent_b.user)
    assert other.get(url.replace("commune-a", "commune-b")).status_code in (403, 404)


# --- Retention ----------------------------------------------------------------------------


@pytest.fixture
def purged(monkeypatch):
    calls = []

    def purge_deposit_files(*, deposit_ids, reason):
        calls.append((list(deposit_ids), reason))
        return {"files": len(deposit_ids)}

    monkeypatch.setattr(deposit_purge, "purge_deposit_files", purge_deposit_files)
    return calls


def test_the_files_not_retained_are_purged_once_past_retention(buyer, procedure, purged):
    consultation, contract, _won, lost = procedure
    signed = timezone.now().replace(hour=12)
    with scopes_disabled():
        assert retention.procedure_end(consultation) == contract.signed_on
    almost = signed + timedelta(days=5 * 365)  # one day short (a leap year between)
    assert retention.purge_due(now=almost) == 0
    assert purged == []
    later = signed + timedelta(days=5 * 366)
    assert retention.purge_due(now=later) == 1
    assert purged == [([lost.pk], "retention")]  # the winner's offer stays (R2184-13)
    with scopes_disabled():
        row = RetentionPurge.objects.get(consultation=consultation)
        assert row.deposits == [lost.pk]
        event = AuditEvent.objects.get(
            chain=audit.organisation_chain(buyer.organisation_id),
            action="contracts.retention_purged",
        )
    assert event.payload["years"] == 5
    assert event.actor == "system:retention"
    # Run again: nothing more.
    assert retention.purge_due(now=later + timedelta(days=1)) == 0
    assert len(purged) == 1


def test_the_retention_period_is_configurable(buyer, procedure, purged, settings):
    settings.PROCUREMENT_RETENTION_YEARS = 10
    later = timezone.now() + timedelta(days=6 * 366)
    assert retention.purge_due(now=later) == 0
    assert retention.purge_due(now=timezone.now() + timedelta(days=10 * 366)) == 1


def test_a_running_procedure_is_never_purged(buyer, purged):
    consultation = make_consultation(buyer, publish=True)
    open_offers(consultation, buyer)
    offer(consultation, bidder(1, "Menuiserie Dupont"))
    with scopes_disabled():
        assert retention.procedure_end(consultation) is None
    assert retention.purge_due(now=timezone.now() + timedelta(days=50 * 366)) == 0
