"""The prefecture's mail for tests: answers delivered to the return channel's Maildir and
read, and the messages the platform sent (their package's XML documents), with the
member's audit trail."""

from __future__ import annotations

import io
import mailbox
import tarfile

from django_scopes import scope, scopes_disabled
from lxml import etree

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent
from mutualis.legality import actes, returns
from mutualis.legality.mailbox import MaildirBox
from mutualis.legality.models import OutboundMessage
from mutualis.legality.standin import messages
from tests.factories.standin import SIREN


def read(maildir) -> dict[str, int]:
    box = MaildirBox(maildir)
    try:
        return returns.read_mailbox(box)
    finally:
        box.close()


def deliver(maildir, mail: bytes) -> None:
    box = mailbox.Maildir(str(maildir), create=True)
    box.add(mail)
    box.close()


def return_mail(message: bytes, name: str, siren: str = SIREN) -> bytes:
    assert actes.schema_errors(message) == []
    return messages.return_mail(
        to="actes@mutualis.example.org",
        subject=name,
        attachment_name="retour.tar.gz",
        attachment=messages.return_package(siren, "021", name, message),
        sender="prefecture@example.org",
    )


def package_messages(row: OutboundMessage) -> dict[str, bytes]:
    """The files of an outbound package, by name (each XML checked against the schema)."""
    with file_store.open_stored_file(row.package) as handle:
        data = handle.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    for name, content in files.items():
        if name.endswith(".xml"):
            assert actes.schema_errors(content) == [], name
    return files


def root_of(files: dict[str, bytes], kind: str) -> etree._Element:
    for name, content in files.items():
        if name.endswith(".xml"):
            root = etree.fromstring(content)
            if etree.QName(root).localname == kind:
                return root
    raise AssertionError(f"no {kind} in {sorted(files)}")


def outbound(org, kind: str | None = None) -> list[OutboundMessage]:
    with scope(organisation=org.pk):
        rows = OutboundMessage.objects.select_related("package").order_by("pk")
        if kind:
            rows = rows.filter(kind=kind)
        return list(rows)


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.")
            .order_by("sequence")
            .values_list("action", flat=True)
        )
