"""The checkpoint file names the instance that wrote it.

A database started beside another database's checkpoint file (a checkout whose ``var/``
served another database) is told so, instead of being accused of rewriting its events;
a line relabelled with this instance's identifier still fails its signature.
"""

from __future__ import annotations

import base64
import importlib
import json
import uuid
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.instance import ensure_instance, instance_identifier
from mutualis.core.models import AuditCheckpoint, AuditEvent, Instance

pytestmark = pytest.mark.django_db

OTHER = "0b8a3d6e-5c1f-4f0e-9d43-2f7c1e9a6b55"


@pytest.fixture
def chain(org_a) -> str:
    for step in range(3):
        audit.record(actor=None, organisation=org_a, action="test.step", payload={"step": step})
    return audit.organisation_chain(org_a.pk)


def checkpoint_file() -> Path:
    return Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE)


def file_records() -> list[dict]:
    return [json.loads(line) for line in checkpoint_file().read_text().splitlines()]


def signed_line(
    chain: str, sequence: int, hash_: str, *, instance: str | None, signed_for: str | None = None
) -> dict:
    """A checkpoint line signed with the platform key, as an instance sharing it writes.

    ``signed_for`` signs for another instance than the one the line names (a relabelled
    line); by default the line names the instance it was signed for.
    """
    key = audit.load_signing_key()
    signed_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat(timespec="seconds")
    signed = signed_for if signed_for is not None else instance
    signature = key.sign(audit.checkpoint_message(chain, sequence, hash_, signed_at, signed))
    line = {
        "chain": chain,
        "sequence": sequence,
        "hash": hash_,
        "signed_at": signed_at,
        "key_id": audit.key_id(key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }
    if instance is not None:
        line["instance"] = instance
    return line


def append(*lines: dict) -> None:
    checkpoint_file().parent.mkdir(parents=True, exist_ok=True)
    with checkpoint_file().open("a") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")


def test_the_migration_names_the_instance_once():
    identifier = instance_identifier()

    assert identifier is not None
    assert ensure_instance() == identifier
    assert Instance.objects.count() == 1


def test_every_checkpoint_names_this_instance_and_signs_it(chain):
    made = audit.checkpoint_all_chains()

    this = str(instance_identifier())
    assert [r["instance"] for r in file_records()] == [this] * len(made)
    assert {str(c.instance) for c in AuditCheckpoint.objects.all()} == {this}
    assert audit.verify_all_chains().ok


def test_another_instances_file_is_reported_as_such_not_as_tampering(chain):
    # The other database had its own events #1 and #2 on a chain of the same name.
    append(
        signed_line(chain, 1, "a" * 64, instance=OTHER),
        signed_line(chain, 2, "b" * 64, instance=OTHER),
    )

    report = audit.verify_all_chains()

    assert [p.code for p in report.problems] == ["checkpoint_file_foreign"]
    message = report.problems[0].message
    assert OTHER in message
    assert str(instance_identifier()) in message
    assert "rewritten" not in message


def test_audit_verify_says_the_file_is_another_instances(chain):
    append(signed_line(chain, 2, "b" * 64, instance=OTHER))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("audit_verify", stdout=out, stderr=err)

    assert "could not be checked against this instance" in str(failed.value)
    assert "another instance" in err.getvalue()
    assert "broken" not in str(failed.value)
    assert "rewritten" not in err.getvalue()


def test_this_instances_checkpoints_are_still_checked_beside_foreign_ones(chain):
    audit.checkpoint_all_chains()
    append(signed_line(chain, 2, "b" * 64, instance=OTHER))
    # A well-signed line of this instance that disagrees with the chain: rewritten events.
    append(signed_line(chain, 3, "c" * 64, instance=str(instance_identifier())))

    report = audit.verify_all_chains()

    codes = {p.code for p in report.problems}
    assert codes == {"rewritten", "checkpoint_file_foreign"}


def test_a_line_relabelled_with_this_instance_fails_its_signature(chain):
    this = str(instance_identifier())
    # Signed by the shared key for the other instance, then relabelled as this one's.
    append(signed_line(chain, 2, "b" * 64, instance=this, signed_for=OTHER))

    report = audit.verify_all_chains()

    assert [(p.code, p.chain, p.sequence) for p in report.problems] == [("bad_signature", chain, 2)]


def test_old_lines_beside_a_database_named_at_birth_are_another_databases(chain):
    """The reported case: a new database, and a file left by another one before
    checkpoints named their instance (format 1)."""
    append(
        signed_line(chain, 1, "a" * 64, instance=None),
        signed_line(chain, 2, "b" * 64, instance=None),
    )

    report = audit.verify_all_chains()

    assert [p.code for p in report.problems] == ["checkpoint_file_foreign"]
    assert "names no instance" not in report.problems[0].message  # plural form
    assert "name no instance" in report.problems[0].message
    assert "rewritten" not in report.problems[0].message


def adopt_old_lines_until(when: datetime) -> None:
    """As the naming migration does on a database that had checkpoints already."""
    Instance.objects.filter(pk=1).update(legacy_checkpoints_until=when)


def test_old_lines_of_an_upgraded_database_are_still_compared(chain):
    adopt_old_lines_until(datetime(2026, 6, 1, tzinfo=UTC))
    with scopes_disabled():
        head = AuditEvent.objects.get(chain=chain, sequence=3)
    append(signed_line(chain, 3, head.hash, instance=None))  # signed 2026-01-05
    assert audit.verify_all_chains().ok

    # One that disagrees with the chain reports rewritten events, as before.
    append(signed_line(chain, 2, "b" * 64, instance=None))
    assert [p.code for p in audit.verify_all_chains().problems] == ["rewritten"]


def test_an_old_line_signed_after_the_database_was_named_is_not_its_own(chain):
    adopt_old_lines_until(datetime(2026, 1, 1, tzinfo=UTC))

    append(signed_line(chain, 2, "b" * 64, instance=None))  # signed 2026-01-05

    assert [p.code for p in audit.verify_all_chains().problems] == ["checkpoint_file_foreign"]


def test_naming_an_upgraded_database_adopts_its_old_checkpoints(chain):
    from django.apps import apps

    naming = importlib.import_module("mutualis.core.migrations.0010_name_this_instance")
    audit.checkpoint_all_chains()
    newest = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    # Checkpoints signed before instances were named carry none.
    AuditCheckpoint.objects.update(instance=None, signed_at=newest)
    Instance.objects.all().delete()

    naming.name_this_instance(apps, None)

    assert Instance.objects.get().legacy_checkpoints_until == newest


def test_naming_a_new_database_adopts_nothing():
    from django.apps import apps

    naming = importlib.import_module("mutualis.core.migrations.0010_name_this_instance")
    Instance.objects.all().delete()

    naming.name_this_instance(apps, None)

    assert Instance.objects.get().legacy_checkpoints_until is None


def test_a_changed_instance_identifier_is_reported(chain):
    audit.checkpoint_all_chains()
    Instance.objects.filter(pk=1).update(identifier=uuid.UUID(OTHER))

    codes = {p.code for p in audit.verify_all_chains().problems}

    # The database's checkpoints name the old identifier, and so does the file.
    assert codes == {"instance_changed", "checkpoint_file_foreign"}
