"""Benchmark: preparing and sending 10,000 acts to the ministry's stand-in, against packing
and POSTing the same files as a plain ``tar.gz`` in the same run.

Usage: ``DATABASE_URL=postgres://… python bench/actes_send.py [--acts 10000] [--members 20]``

On a throwaway PostgreSQL database: ``--members`` communes, each subscribed to the legality
service, enrolled (through ``services.save_enrolment``) and with one agent holding
``legality_agent`` and ``legality_sender``; the acts are spread evenly over them. The
stand-in (``legality/standin/server.py``: HTTPS, the client certificate required and
checked against its CA, each package opened and its XML checked against the @ctes
schema, ``201``, the ``ARActe`` written to a Maildir) runs in a process of its own on a
loopback port, so that it never shares this process's interpreter lock.

The platform, as production runs it (configured through the environment only):

1. prepare: for each act, ``services.prepare_act`` (the agent's form: checks, a
   deliberation PDF and one annex PDF stored in the private file store, the row, the
   audit event) then ``services.validate_act`` (the agent's "validate": PDF readability,
   duplicate number, classification, the @ctes message built and checked against the
   schema, numbering of the day's serial, the ``tar.gz`` built and stored, audit event);
2. send: the sending job ``tasks.send_acts`` run again and again until nothing is left
   (each run takes up to ``transmission.BATCH`` due acts by chunks of
   ``transmission.CHUNK``: claims a chunk in one transaction, POSTs each package over
   mutual TLS, then records the chunk's answers in one transaction — each act its
   attempt, its transition and its own audit event; idempotent on the package's name).
   Operator settings: no transmission windows, no hourly cap, endpoint switched on, so
   nothing throttles the run.

The reference, in the same run, after the stand-in was restarted with an empty memory of
names and an empty Maildir: for each act, the very files of its package (read back from
the platform's packages before the clock starts: envelope, message, PDF, annex) packed by
``tarfile`` with gzip in memory and POSTed with ``requests`` (one session, the same client
certificate, CA, headers and package name) to the same stand-in endpoint; no platform code.

Preparation and sending are timed separately; the target applies to the whole chain
("prepare and send") against "pack and POST": at least 0.2 x the reference's acts/s.
Rewrites the ``actes_send`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from results import REPO, machine, table, write_section
from serving import bench_platform, free_port, require_postgres

TARGET = 0.2


class Statements:
    """Counts the SQL statements this process sends (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)


# --- The stand-in, in a process of its own -----------------------------------------------


def standin_child(pki_dir: str, maildir: str, port: int) -> None:
    import django

    django.setup()
    from mutualis.legality.standin.pki import make_pki
    from mutualis.legality.standin.server import StandinServer

    server = StandinServer(("127.0.0.1", port), make_pki(Path(pki_dir)), Path(maildir))
    print("ready", flush=True)
    server.serve_forever()


class Standin:
    """The stand-in process: started on ``port`` with an empty Maildir, stopped after."""

    def __init__(self, pki_dir: Path, maildir: Path, port: int) -> None:
        self.maildir = maildir
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--standin", str(pki_dir), str(maildir), str(port)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if line.strip() != "ready":
            self.process.kill()
            raise SystemExit("the stand-in did not start")

    def mails(self) -> int:
        new = self.maildir / "new"
        return sum(1 for _ in new.iterdir()) if new.is_dir() else 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


# --- The members and their acts ----------------------------------------------------------


def make_members(count: int) -> list[object]:
    """``count`` subscribed, enrolled communes; their agents."""
    sys.path.insert(0, str(REPO))
    from tests.factories.core import OrganisationFactory, valid_siren
    from tests.factories.identity import make_member
    from tests.factories.legality import enrol, subscribe

    agents = []
    for index in range(count):
        organisation = OrganisationFactory(
            name=f"Commune {index + 1}",
            slug=f"commune-{index + 1}",
            adhesion_status="member",
            siren=valid_siren(index + 100),
        )
        subscribe(organisation)
        admin = make_member(organisation, f"admin{index}@example.org", roles=["org_admin"])
        enrol(admin)
        agents.append(
            make_member(
                organisation,
                f"agent{index}@example.org",
                roles=["legality_agent", "legality_sender"],
            )
        )
    return agents


def make_documents(count: int) -> list[tuple[bytes, bytes]]:
    """Each act's deliberation and annex, as PDFs (made before any clock starts)."""
    from mutualis.core.pdf import text_pdf

    return [
        (
            text_pdf(
                [f"Délibération n° {n}", "Le conseil municipal, après en avoir délibéré…"],
                title=f"Délibération {n}",
            ),
            text_pdf([f"Annexe à la délibération n° {n}", "Plan de financement."]),
        )
        for n in range(count)
    ]


def prepare_all(agents: list[object], documents: list[tuple[bytes, bytes]]) -> list[int]:
    """The agents prepare and validate every act, as their pages do; the acts' ids."""
    from django.utils import timezone

    from mutualis.legality import services

    decided_on = timezone.localdate() - timedelta(days=3)
    ids = []
    for n, (document, annex) in enumerate(documents):
        agent = agents[n % len(agents)]
        act = services.prepare_act(
            actor=agent,
            nature=1,
            number=f"DEL_{n:06d}",
            decided_on=decided_on,
            classification_code="1.1",
            subject=f"Délibération n° {n} : attribution du marché de voirie",
            paper_follows=False,
            document=services.Upload(io.BytesIO(document), "deliberation.pdf"),
            annexes=[services.AnnexUpload(io.BytesIO(annex), "annexe.pdf", "99_AU")],
        )
        services.validate_act(actor=agent, act_id=act.pk)
        ids.append(act.pk)
    return ids


def send_all() -> tuple[int, int]:
    """The sending job, run until nothing is left: acts sent, job runs."""
    from mutualis.legality import tasks

    sent = runs = 0
    while True:
        counts = tasks.send_acts.call()
        runs += 1
        if counts.get("closed") or counts.get("capped"):
            raise SystemExit(f"the sending job was throttled: {counts}")
        if counts["retry"] or counts["failed"]:
            raise SystemExit(f"the sending job failed: {counts}")
        if not counts["sent"]:
            return sent, runs
        sent += int(counts["sent"])


def packages(ids: list[int]) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """Each act's package name and the files it holds, in order, read back from the
    platform's stored packages."""
    from django_scopes import scopes_disabled

    from mutualis.core import files as file_store
    from mutualis.legality.models import Act

    result = []
    with scopes_disabled():
        acts = Act.objects.select_related("package").filter(pk__in=ids).order_by("pk")
        for act in acts:
            with (
                file_store.open_stored_file(act.package) as source,
                tarfile.open(fileobj=source, mode="r:gz") as archive,
            ):
                entries = [
                    (m.name, archive.extractfile(m).read())  # type: ignore[union-attr]
                    for m in archive.getmembers()
                ]
            result.append((act.package_name, entries))
    return result


def reference(items: list[tuple[str, list[tuple[str, bytes]]]], url: str, pki_dir: Path) -> float:
    """Pack each act's files with tarfile + gzip and POST them (mutual TLS): seconds."""
    import requests

    session = requests.Session()
    cert = (str(pki_dir / "client.pem"), str(pki_dir / "client.key"))
    began = time.perf_counter()
    for name, entries in items:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for entry, content in entries:
                info = tarfile.TarInfo(entry)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
        response = session.post(
            url,
            data=buffer.getvalue(),
            headers={
                "Content-Type": "application/x-gzip",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
            cert=cert,
            verify=str(pki_dir / "ca.pem"),
            timeout=60,
            allow_redirects=False,
        )
        if response.status_code != 201:
            raise SystemExit(f"reference: {name} answered {response.status_code}: {response.text}")
    seconds = time.perf_counter() - began
    session.close()
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acts", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--standin", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--profile", help="write a cProfile of prepare+send to this file")
    args, _others = parser.parse_known_args(argv)
    if args.standin:
        pki_dir, maildir, port = args.standin
        standin_child(pki_dir, maildir, int(port))
        return 0
    admin_url = require_postgres("actes_send.py")
    with tempfile.TemporaryDirectory(prefix="mutualis-bench-actes-") as scratch:
        root = Path(scratch)
        pki_dir = root / "pki"
        sys.path.insert(0, str(REPO / "src"))
        from mutualis.legality.standin.pki import make_pki

        make_pki(pki_dir)
        port = free_port()
        url = f"https://localhost:{port}/actes"
        server_env = {
            "MUTUALIS_LEGALITY_ENDPOINT_URL": url,
            "MUTUALIS_LEGALITY_RESCUE_URL": "",
            "MUTUALIS_LEGALITY_CLIENT_CERTIFICATE": str(pki_dir / "client.pem"),
            "MUTUALIS_LEGALITY_CLIENT_KEY": str(pki_dir / "client.key"),
            "MUTUALIS_LEGALITY_SERVER_CA": str(pki_dir / "ca.pem"),
            "MUTUALIS_LEGALITY_PROTOCOL": "201",
            # Nothing throttles the run: no windows, no hourly cap, endpoint on.
            "MUTUALIS_LEGALITY_WINDOWS": "",
            "MUTUALIS_LEGALITY_HOURLY_CAP_BYTES": "0",
            "MUTUALIS_LEGALITY_ENDPOINT_AVAILABLE": "true",
            "MUTUALIS_LEGALITY_MAILBOX": "maildir",
            "MUTUALIS_LEGALITY_MAILDIR": str(root / "platform-mailbox"),
        }
        with bench_platform(admin_url, "actes", server_env) as plat:
            agents = make_members(args.members)
            documents = make_documents(args.acts)
            standin = Standin(pki_dir, root / "returns-platform", port)
            try:
                print(f"{args.acts} acts for {args.members} members: prepare…", flush=True)
                profiler = None
                if args.profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                from django.db import connection

                counter = Statements()
                with connection.execute_wrapper(counter):
                    began, cpu = time.perf_counter(), time.process_time()
                    ids = prepare_all(agents, documents)
                    prepared = time.perf_counter() - began
                    prepared_cpu = time.process_time() - cpu
                    prepared_sql, counter.count = counter.count, 0
                    print(f"prepared in {prepared:.1f} s; send…", flush=True)
                    began, cpu = time.perf_counter(), time.process_time()
                    sent, runs = send_all()
                    sending = time.perf_counter() - began
                    sending_cpu = time.process_time() - cpu
                    sending_sql = counter.count
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(args.profile)
                acknowledgements = standin.mails()
            finally:
                standin.stop()
            if sent != args.acts or acknowledgements != args.acts:
                raise SystemExit(
                    f"sent {sent}, stand-in acknowledged {acknowledgements}, of {args.acts}"
                )
            print(f"sent in {sending:.1f} s ({runs} job runs); reference…", flush=True)
            items = packages(ids)
            standin = Standin(pki_dir, root / "returns-reference", port)
            try:
                cpu = time.process_time()
                packed = reference(items, url, pki_dir)
                packed_cpu = time.process_time() - cpu
                if standin.mails() != args.acts:
                    raise SystemExit("the reference's packages were not all acknowledged")
            finally:
                standin.stop()
            version = plat.server_version
            package_bytes = sum(len(c) for _name, entries in items for _e, c in entries)

    count = args.acts
    whole = prepared + sending
    rate = count / whole
    reference_rate = count / packed
    ratio = rate / reference_rate
    met = ratio >= TARGET

    header = ("Run", "Time", "Rate", "CPU of this process per act", "SQL statements per act",
              "vs reference", "Target")  # fmt: skip

    def per_act(seconds: float) -> str:
        return f"{seconds / count * 1000:.1f} ms"

    rows = [
        ("reference: tarfile + gzip, POST (requests, mutual TLS)", f"{packed:.1f} s",
         f"{reference_rate:.1f} acts/s", per_act(packed_cpu), "0", "1.00", ""),
        ("platform: prepare (prepare_act + validate_act)", f"{prepared:.1f} s",
         f"{count / prepared:.1f} acts/s", per_act(prepared_cpu), f"{prepared_sql / count:.0f}",
         f"{count / prepared / reference_rate:.2f}", ""),
        (f"platform: send (tasks.send_acts, {runs} runs)", f"{sending:.1f} s",
         f"{count / sending:.1f} acts/s", per_act(sending_cpu), f"{sending_sql / count:.0f}",
         f"{count / sending / reference_rate:.2f}", ""),
        ("platform: prepare and send", f"{whole:.1f} s", f"{rate:.1f} acts/s",
         per_act(prepared_cpu + sending_cpu), f"{(prepared_sql + sending_sql) / count:.0f}",
         f"{ratio:.2f}", f"≥ {TARGET}: {'met' if met else '**missed**'}"),
    ]  # fmt: skip
    body = (
        f"{count:,} acts (deliberations, each a PDF and one annex PDF; "
        f"{package_bytes / count / 1024:.1f} KiB of files per act before packing) for "
        f"{args.members} enrolled communes, on a throwaway PostgreSQL database; the "
        "stand-in (HTTPS, client certificate checked, each package opened and its XML "
        "validated, `201`, the `ARActe` written to a Maildir) in a process of its own. "
        "Platform: `services.prepare_act` then `services.validate_act` per act (timed "
        "together: *prepare*), then the sending job `tasks.send_acts` until nothing is "
        "left (*send*: each run claims the due acts by chunks, POSTs them one by one "
        "and records each chunk's answers in one transaction, every act with its own "
        "transition and audit event); operator settings through the environment: no "
        "transmission window, no hourly cap, endpoint switched on. Reference, same run, "
        "stand-in "
        "restarted empty: the same files of each package read back beforehand, packed "
        "with `tarfile` (gzip) in memory and POSTed with one `requests` session, same "
        "client certificate and CA. The target applies to the whole chain, prepare and "
        "send, against pack and POST.\n\n"
        + table(header, rows)
        + "\n\n"
        + table(("Measured on", ""), machine(version))
    )
    print(body)
    write_section("actes_send", body)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
