"""Benchmark: reading and processing 10,000 acknowledgement e-mails (``ARActe``) from
IMAP, against fetching the same messages with a bare IMAP client in the same run.

Usage: ``DATABASE_URL=postgres://… python bench/imap_acks.py [--messages 10000] [--members 20]``
(as root: dovecot's master process needs it).

A real IMAP server: Debian's dovecot, started on a loopback port by
``mutualis.legality.standin.dovecot`` (as the tests start it), plain IMAP with a
password, one mailbox. On a throwaway PostgreSQL database: ``--members`` enrolled
communes and ``--messages`` of their acts existing as sent (rows written directly, in
bulk: their preparation and sending is ``bench/actes_send.py``'s subject), each with its
``{dept}-{SIREN}-{date}-{number}-DE`` identifier. For each act, the e-mail the ministry's
stand-in sends back (``standin/messages.py``: the ``ARActe`` with the ``ActeRecu`` it
acknowledges, the ``EnveloppeMISILLCL``, packed as a ``tar.gz`` attached to an e-mail)
is appended to the mailbox before any clock starts.

1. reference: ``imaplib.IMAP4`` with the same host, port, user and password, ``SELECT``,
   ``UID SEARCH UNSEEN``, then ``UID FETCH <uid> (BODY.PEEK[])`` of every message, one
   after the other (as the platform asks for them), full bodies read; measured before
   and after the platform's run (both together give the rate). For information, the
   same messages fetched by one ``UID FETCH 1:* (BODY.PEEK[])`` too.
2. platform: the return channel's periodic job ``tasks.read_returns`` as production runs
   it (``MUTUALIS_LEGALITY_MAILBOX=imap``, configured through the environment): every
   unseen message read, its raw bytes kept in the private file store, parsed and checked
   against the @ctes schema, routed by SIREN and act identifier, the acknowledgement
   recorded (sent → acknowledged, its reception date, the audit event, the stamp queued),
   the classification version it announces noted, then the message flagged ``\\Seen``.

Target: the platform at least 0.5 x the reference's messages/s. Rewrites the
``imap_acks`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import imaplib
import io
import sys
import time
from datetime import timedelta

from results import REPO, machine, table, write_section
from serving import bench_platform, require_postgres

TARGET = 0.5


class Statements:
    """Counts the SQL statements this process sends (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)


SENDER = "actes@ministere.standin.localhost"
RETURN_ADDRESS = "actes@mutualis.example.org"


def make_acts(members: int, count: int) -> list[tuple[str, str, str, bytes]]:
    """``members`` enrolled communes and ``count`` of their acts, sent; for each act,
    its SIREN, département, identifier and its ``Acte`` message."""
    sys.path.insert(0, str(REPO))
    from django.utils import timezone
    from django_scopes import scopes_disabled
    from tests.factories.core import OrganisationFactory, valid_siren
    from tests.factories.identity import make_member
    from tests.factories.legality import enrol, subscribe

    from mutualis.core import files as file_store
    from mutualis.core.pdf import text_pdf
    from mutualis.legality import actes, classification
    from mutualis.legality.models import ACT_OWNER_KIND, Act, ActStatus

    now = timezone.now()
    decided_on = timezone.localdate() - timedelta(days=3)
    version = classification.VERSION_DATE
    result = []
    with scopes_disabled():
        enrolments = []
        for index in range(members):
            organisation = OrganisationFactory(
                name=f"Commune {index + 1}",
                slug=f"commune-{index + 1}",
                adhesion_status="member",
                siren=valid_siren(index + 100),
            )
            subscribe(organisation)
            admin = make_member(organisation, f"admin{index}@example.org", roles=["org_admin"])
            enrolments.append((organisation, enrol(admin)))
        document = file_store.store_file(
            file=io.BytesIO(text_pdf(["Délibération"], title="Délibération")),
            name="deliberation.pdf",
            owner_kind=ACT_OWNER_KIND,
            owner_ref=str(enrolments[0][0].pk),
            allowed_types=frozenset({"application/pdf"}),
        )
        rows = []
        for n in range(count):
            organisation, enrolment = enrolments[n % members]
            number = f"DEL_{n:06d}"
            message = actes.ActMessage(
                departement=enrolment.departement,
                arrondissement=enrolment.arrondissement,
                siren=organisation.siren,
                nature=actes.Nature.DE,
                number=number,
                decided_on=decided_on,
                matieres=[1, 1],
                subject=f"Délibération n° {n} : attribution du marché de voirie",
                classification_date=version,
                document=actes.Piece(b"", "pdf", "99_DE"),
                annexes=[actes.Piece(b"", "pdf", "99_AU")],
            )
            rows.append(
                Act(
                    organisation=organisation,
                    nature=1,
                    number=number,
                    decided_on=decided_on,
                    classification="1.1",
                    classification_date=version,
                    subject=message.subject,
                    status=ActStatus.SENT,
                    document=document,
                    package_name=f"EACT-MUTUALIS--{organisation.siren}--"
                    f"{now:%Y%m%d}-{n // members + 1}.tar.gz",
                    identifier=message.identifier,
                    sent_at=now,
                    send_attempts=1,
                )
            )
            result.append(
                (
                    organisation.siren,
                    enrolment.departement,
                    message.identifier,
                    actes.act_message(message),
                )
            )
        Act.objects.bulk_create(rows, batch_size=1000)
    return result


def make_mails(acts: list[tuple[str, str, str, bytes]]) -> list[bytes]:
    """The stand-in's acknowledgement e-mail of each act."""
    from django.utils import timezone
    from lxml import etree

    from mutualis.legality.standin import messages

    today = timezone.localdate()
    mails = []
    for siren, departement, identifier, acte in acts:
        file_name = identifier + messages.ACK_SUFFIX
        message = messages.ar_acte(etree.fromstring(acte), identifier, today)
        mails.append(
            messages.return_mail(
                to=RETURN_ADDRESS,
                subject=f"[@ctes] {file_name}",
                attachment_name=f"{identifier}.tar.gz",
                attachment=messages.return_package(siren, departement, file_name, message),
                sender=SENDER,
            )
        )
    return mails


def connect(server: dict[str, str | int]) -> imaplib.IMAP4:
    client = imaplib.IMAP4(str(server["host"]), int(server["port"]), timeout=60)
    client.login(str(server["user"]), str(server["password"]))
    status, _ = client.select("INBOX")
    if status != "OK":
        raise SystemExit("cannot select INBOX")
    return client


def append_all(server: dict[str, str | int], mails: list[bytes]) -> None:
    client = connect(server)
    for mail in mails:
        status, detail = client.append("INBOX", None, None, mail)
        if status != "OK":
            raise SystemExit(f"APPEND failed: {detail}")
    client.logout()


def fetch_one_by_one(server: dict[str, str | int], search: str) -> tuple[float, int, int]:
    """The bare client: seconds, messages and bytes fetched."""
    began = time.perf_counter()
    client = connect(server)
    status, data = client.uid("SEARCH", search)
    uids = data[0].split() if status == "OK" and data and data[0] else []
    count = size = 0
    for uid in uids:
        status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
        for part in parts:
            if isinstance(part, tuple) and len(part) == 2:
                count += 1
                size += len(part[1])
                break
    client.logout()
    return time.perf_counter() - began, count, size


def fetch_at_once(server: dict[str, str | int]) -> tuple[float, int]:
    began = time.perf_counter()
    client = connect(server)
    _status, parts = client.uid("FETCH", "1:*", "(BODY.PEEK[])")
    count = sum(1 for part in parts if isinstance(part, tuple) and len(part) == 2)
    client.logout()
    return time.perf_counter() - began, count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--profile", help="write a cProfile of the platform's run here")
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("imap_acks.py")
    sys.path.insert(0, str(REPO / "src"))
    from mutualis.legality.standin import dovecot

    if not dovecot.available():
        print("bench/imap_acks.py starts dovecot: run it as root, dovecot-imapd installed.")
        return 2
    count = args.messages
    with dovecot.running() as imap:
        server = imap.as_dict()
        server_env = {
            "MUTUALIS_LEGALITY_MAILBOX": "imap",
            "MUTUALIS_LEGALITY_IMAP_HOST": str(server["host"]),
            "MUTUALIS_LEGALITY_IMAP_PORT": str(server["port"]),
            "MUTUALIS_LEGALITY_IMAP_USER": str(server["user"]),
            "MUTUALIS_LEGALITY_IMAP_PASSWORD": str(server["password"]),
            "MUTUALIS_LEGALITY_IMAP_SSL": "false",
            "MUTUALIS_LEGALITY_IMAP_FOLDER": "INBOX",
            "MUTUALIS_LEGALITY_RETURN_ADDRESS": RETURN_ADDRESS,
        }
        with bench_platform(admin_url, "imap", server_env) as plat:
            print(f"{count} acts sent, for {args.members} members…", flush=True)
            mails = make_mails(make_acts(args.members, count))
            print("appending the acknowledgements to the mailbox…", flush=True)
            append_all(server, mails)
            del mails
            before, fetched, size = fetch_one_by_one(server, "UNSEEN")
            if fetched != count:
                raise SystemExit(f"the reference fetched {fetched} of {count}")
            print(f"reference: {count / before:.0f} messages/s; the platform…", flush=True)

            from django_scopes import scopes_disabled

            from mutualis.legality import tasks
            from mutualis.legality.models import Act, ActStatus

            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            from django.db import connection

            statements = Statements()
            with connection.execute_wrapper(statements):
                began, cpu = time.perf_counter(), time.process_time()
                counts = tasks.read_returns.call()
                platform = time.perf_counter() - began
                platform_cpu = time.process_time() - cpu
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            with scopes_disabled():
                acknowledged = Act.objects.filter(status=ActStatus.ACKNOWLEDGED).count()
            if counts.get("processed") != count or acknowledged != count:
                raise SystemExit(f"the job processed {counts}, {acknowledged} acknowledged")
            client = connect(server)
            _status, unseen = client.uid("SEARCH", "UNSEEN")
            client.logout()
            if unseen and unseen[0]:
                raise SystemExit("messages left unseen after the platform's run")
            after, fetched_after, _size = fetch_one_by_one(server, "ALL")
            bulk, fetched_bulk = fetch_at_once(server)
            if fetched_after != count or fetched_bulk != count:
                raise SystemExit("the reference did not fetch every message after the run")
            version = plat.server_version

    reference_rate = 2 * count / (before + after)
    rate = count / platform
    ratio = rate / reference_rate
    met = ratio >= TARGET
    header = ("Run", "Time", "Rate", "CPU of this process per message",
              "SQL statements per message", "vs reference", "Target")  # fmt: skip
    rows = [
        ("reference: imaplib, UID FETCH BODY.PEEK[] one by one", f"{(before + after) / 2:.1f} s",
         f"{reference_rate:.0f} msg/s ({count / before:.0f} before, {count / after:.0f} after)",
         "", "0", "1.00", ""),
        ("for information: imaplib, one UID FETCH 1:* BODY.PEEK[]", f"{bulk:.1f} s",
         f"{count / bulk:.0f} msg/s", "", "0", f"{count / bulk / reference_rate:.2f}", ""),
        ("platform: tasks.read_returns (read, keep, parse, route, acknowledge, flag)",
         f"{platform:.1f} s", f"{rate:.1f} msg/s", f"{platform_cpu / count * 1000:.1f} ms",
         f"{statements.count / count:.0f}", f"{ratio:.3f}",
         f"≥ {TARGET}: {'met' if met else '**missed**'}"),
    ]  # fmt: skip
    body = (
        f"{count:,} `ARActe` e-mails (as the stand-in writes them, "
        f"{size / count / 1024:.1f} KiB each) for {count:,} sent acts of {args.members} "
        "enrolled communes, in one mailbox of a real dovecot on loopback (plain IMAP, "
        "password login), read by the return channel's job `tasks.read_returns` "
        "(`MUTUALIS_LEGALITY_MAILBOX=imap`) on a throwaway PostgreSQL database. The "
        "reference is a bare `imaplib` client with the same connection parameters "
        "fetching every message's full body, measured before and after the platform's "
        "run. The platform asks the server exactly as the reference does (one `UID "
        "SEARCH UNSEEN`, one `UID FETCH` per message, then one `UID STORE +FLAGS "
        "(\\Seen)`); what the ratio measures is the work on each message: the raw "
        "e-mail kept in the private file store (fsynced), the `InboundMessage` row, the "
        "act locked and acknowledged with its audit event on the member's hash chain, "
        "the stamp queued as a task, all committed before the message is flagged.\n\n"
        + table(header, rows)
        + "\n\n"
        + table(("Measured on", ""), machine(version))
    )
    print(body)
    write_section("imap_acks", body)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
