"""Benchmark: a consultation's files through the platform as deployed, against nginx.

Usage: ``DATABASE_URL=postgres://… python bench/files.py [--repeat N]`` (also run by
``make bench``). Set-up, once: ``apt-get install -y nginx-light curl`` — the benchmark
starts its own nginx on a free loopback port with a temporary configuration, never the
system service.

On a throwaway PostgreSQL database next to DATABASE_URL's, stores through
``store_file(policy="consultation_documents")`` a 500 MB file and 20 files of 50 MB, the
files of a published consultation (1 GB of documents), whose archive the job
``procurement.tasks.archive_consultation_files`` then writes, as it does once the
consultation is published. Then serves, in the same run:

1. the platform under gunicorn sync workers, as ``deploy/mutualis-web.service`` runs it:
   the 500 MB file through the one download view (``FileResponse``, sendfile); the
   consultation's ZIP from its public route ``/consultations/<pk>/files.zip``, which
   serves the stored archive of the current version through ``core.files`` (sendfile);
   and, for reference, the same 20 files as one ZIP streamed by ``serve_zip``
   (zipstream-ng, the route's fallback until the job has run) from a route that
   ``bench/zip_app.py`` adds to the platform;
2. reference: Debian's nginx (``sendfile on``) serving the very same file, the very same
   stored archive, and the streamed archive written once to disk (the same entries,
   sizes and length; only the entries' DOS timestamps differ).

curl downloads to /dev/null with 1 and 4 clients, best of ``--repeat`` runs, the servers
alternating. Both ZIPs from the platform are checked once: the length is what was
announced, it opens with ``zipfile`` and every entry's SHA-256 is the stored file's.
Reported: MB/s and ratios, and each server's peak resident memory (``VmHWM`` of every
worker). Targets: the file at least 0.9 x nginx, the consultation's ZIP at least 0.8 x
nginx, worker memory flat (peak within 32 MiB of the size before the downloads).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from files_download import NGINX, curl, nginx, status_kib, timed, workers_of
from results import REPO, machine, table, write_section
from serving import Platform, bench_platform, gunicorn, require_postgres

FILE_SIZE = 500 * 1000 * 1000
ZIP_FILES = 20
ZIP_FILE_SIZE = 50 * 1000 * 1000
WORKERS = 4
FILE_TARGET = 0.9
ZIP_TARGET = 0.8
MEMORY_SLACK = 32 * 1024 * 1024
# Registered in the server by bench/zip_app.py too: anyone may read (the permission
# check of a real service costs a query or two, as the download view's own lookup does).
OWNER = "bench.consultation"


def make_file(path: Path, size: int) -> None:
    """``size`` bytes of random blocks behind a PDF header (an accepted type)."""
    block = os.urandom(4 * 1024 * 1024)
    with open(path, "wb") as out:
        out.write(b"%PDF-1.7\n")
        left = size - 9
        while left:
            out.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def store(path: Path, name: str) -> tuple[str, str, str]:
    """Store a file under the consultation policy: its id, key and download path."""
    from mutualis.core.files import CONSULTATION_DOCUMENTS, store_file

    with open(path, "rb") as source:
        stored = store_file(file=source, name=name, owner_kind=OWNER, policy=CONSULTATION_DOCUMENTS)
    return str(stored.pk), stored.key, stored.get_absolute_url()


def write_reference_zip(ids: list[str], target: Path) -> int:
    """The archive the platform serves, written once for nginx; its length."""
    from mutualis.core.files import zip_stream
    from mutualis.core.models import StoredFile

    rows = {str(f.pk): f for f in StoredFile.objects.filter(pk__in=ids)}
    stream = zip_stream([rows[i] for i in ids])
    with open(target, "wb") as out:
        for chunk in stream:
            out.write(chunk)
    return target.stat().st_size


def publish_consultation(ids: list[str]) -> int:
    """A published consultation of a member whose files are the stored ``ids`` (rows
    written as the services leave them): its id."""
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scopes_disabled

    from mutualis.core.models import Organisation, StoredFile
    from mutualis.procurement.models import (
        DOCUMENT_OWNER_KIND,
        Consultation,
        ConsultationDocument,
        State,
    )

    now = timezone.now().replace(second=0, microsecond=0)
    with scopes_disabled():
        member = Organisation.objects.create(
            name="Département du Bench",
            kind="departement",
            insee_code="99",
            slug="departement-du-bench",
            search_name="departement du bench",
            adhesion_status="member",
        )
        consultation = Consultation.objects.create(
            organisation=member,
            reference="BENCH-2027-001",
            title="Rénovation du groupe scolaire",
            object="Travaux de rénovation.",
            procedure="open",
            category="works",
            main_cpv="45000000",
            questions_deadline=now + timedelta(days=20),
            response_deadline=now + timedelta(days=30),
            contact="Service des marchés",
            state=State.PUBLISHED,
            published_at=now,
        )
        StoredFile.objects.filter(pk__in=ids).update(
            owner_kind=DOCUMENT_OWNER_KIND, owner_ref=str(consultation.pk)
        )
        for stored_id in ids:
            ConsultationDocument.objects.create(
                organisation=member, consultation=consultation, file_id=stored_id
            )
    return int(consultation.pk)


def archive_consultation(consultation_id: int) -> tuple[str, float]:
    """Run the archiving job as the worker would: the stored archive's key, and the
    seconds it took."""
    from django_scopes import scopes_disabled

    from mutualis.procurement import tasks
    from mutualis.procurement.models import Consultation, ConsultationArchive

    with scopes_disabled():
        organisation_id = Consultation.objects.get(pk=consultation_id).organisation_id
    t0 = time.perf_counter()
    version = tasks.archive_consultation_files.call(
        consultation_id=consultation_id, organisation_id=organisation_id
    )
    seconds = time.perf_counter() - t0
    if version != 1:
        raise RuntimeError("the consultation was not archived")
    with scopes_disabled():
        archive = ConsultationArchive.objects.select_related("file").get(
            consultation_id=consultation_id
        )
    return archive.file.key, seconds


def check_zip(url: str, ids: list[str]) -> int:
    """Download one of the platform's archives once: its length, and each entry's
    SHA-256."""
    from mutualis.core.models import StoredFile

    expected = [StoredFile.objects.get(pk=i).sha256 for i in ids]
    with tempfile.NamedTemporaryFile(prefix="mutualis-bench-zip-", suffix=".zip") as out:
        process = curl(url, output=out.name)
        stdout, _ = process.communicate()
        if not stdout.startswith("200 "):
            raise RuntimeError(f"ZIP download: {stdout}")
        with zipfile.ZipFile(out.name) as archive:
            got = []
            for info in archive.infolist():
                digest = hashlib.sha256()
                with archive.open(info) as entry:
                    while data := entry.read(1024 * 1024):
                        digest.update(data)
                got.append(digest.hexdigest())
        if got != expected:
            raise RuntimeError("the platform's ZIP entries differ from the stored files")
        return Path(out.name).stat().st_size


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


class Meter:
    """Best rate per (what, server, clients), and the servers' CPU seconds per GB sent."""

    def __init__(self) -> None:
        self.best: dict[tuple[str, str, int], float] = {}
        self.cpu: dict[tuple[str, str], float] = {}
        self.sent: dict[tuple[str, str], int] = {}

    def run(self, what: str, server: str, url: str, clients: int, pids: list[int]) -> float:
        cpu = cpu_seconds(pids)
        seconds, received = timed(url, [""] * clients, 200)
        self.cpu[what, server] = self.cpu.get((what, server), 0.0) + cpu_seconds(pids) - cpu
        self.sent[what, server] = self.sent.get((what, server), 0) + received
        rate = received / seconds
        key = (what, server, clients)
        self.best[key] = max(self.best.get(key, 0.0), rate)
        print(f"{what} {server} {clients} client(s): {rate / 1e6:.0f} MB/s", flush=True)
        return rate

    def cpu_per_gb(self, what: str, server: str) -> float:
        return self.cpu[what, server] / (self.sent[what, server] / 1e9)


def diagnose(
    plat: Platform, meter: Meter, nginx_url: str, nginx_pids: list[int], repeat: int
) -> None:
    """A second server whose ZIPs skip the CRC-32 (bench/zip_app.py): what computing it
    at upload instead would leave (measured as ``zip-no-crc``)."""
    plat.env["MUTUALIS_BENCH_ZIP_NO_CRC"] = "1"
    try:
        with gunicorn(plat, workers=WORKERS, app="zip_app:application") as base:
            pids = workers_of(int(plat.extra["gunicorn_pid"]))
            for _run in range(repeat):
                for clients in (1, 4):
                    url = f"{base}/bench/consultation.zip"
                    meter.run("zip-no-crc", "app", url, clients, pids)
                    meter.run("zip-no-crc", "nginx", nginx_url, clients, nginx_pids)
    finally:
        del plat.env["MUTUALIS_BENCH_ZIP_NO_CRC"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each download (best)")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also serve the ZIP with the CRC-32 step removed (invalid archives, no target)",
    )
    args = parser.parse_args(argv)
    if not Path(NGINX).exists() or not shutil.which("curl"):
        print("bench/files.py needs nginx and curl: apt-get install -y nginx-light curl")
        return 2
    admin_url = require_postgres("files.py")

    with bench_platform(admin_url, "files", {}) as plat:
        from mutualis.core.files import anyone, register_owner

        register_owner(OWNER, can_read=anyone, public=False)
        var = Path(plat.env["MUTUALIS_VAR_DIR"])
        print("Storing a 500 MB file and 20 files of 50 MB…", flush=True)
        source = var / "source.bin"
        make_file(source, FILE_SIZE)
        t0 = time.perf_counter()
        _file_id, file_key, file_path = store(source, "Plans.pdf")
        store_seconds = time.perf_counter() - t0
        make_file(source, ZIP_FILE_SIZE)
        ids = [store(source, f"Pièce {n + 1:02d}.pdf")[0] for n in range(ZIP_FILES)]
        source.unlink()
        from django.conf import settings

        root = Path(settings.MUTUALIS_FILES_ROOT)
        zip_length = write_reference_zip(ids, root / "consultation.zip")
        consultation_id = publish_consultation(ids)
        archive_key, archive_seconds = archive_consultation(consultation_id)
        archive_length = (root / archive_key).stat().st_size
        # nginx's workers run as another user: let them through the private temp directory.
        var.chmod(0o755)
        plat.env["MUTUALIS_BENCH_ZIP_IDS"] = ",".join(ids)
        nginx_master: list[int] = []
        with (
            gunicorn(plat, workers=WORKERS, app="zip_app:application") as app_base,
            nginx(root, nginx_master) as nginx_base,
        ):
            urls = {
                ("file", "app"): app_base + file_path,
                ("file", "nginx"): f"{nginx_base}/{file_key}",
                ("zip", "app"): f"{app_base}/bench/consultation.zip",
                ("zip", "nginx"): f"{nginx_base}/consultation.zip",
                ("consultation", "app"): f"{app_base}/consultations/{consultation_id}/files.zip",
                ("consultation", "nginx"): f"{nginx_base}/{archive_key}",
            }
            served = check_zip(urls["zip", "app"], ids)
            if served != zip_length:
                raise RuntimeError(f"ZIP of {served} bytes, {zip_length} announced")
            served = check_zip(urls["consultation", "app"], ids)
            if served != archive_length:
                raise RuntimeError(f"ZIP of {served} bytes, {archive_length} stored")
            app_pids = workers_of(int(plat.extra["gunicorn_pid"]))
            nginx_pids = workers_of(nginx_master[0])
            before = {pid: status_kib(pid, "VmRSS") for pid in app_pids + nginx_pids}
            meter = Meter()
            pids = {"app": app_pids, "nginx": nginx_pids}
            for _run in range(args.repeat):
                for what in ("file", "consultation", "zip"):
                    for clients in (1, 4):
                        for server in ("app", "nginx"):
                            meter.run(what, server, urls[what, server], clients, pids[server])
            peaks = {pid: status_kib(pid, "VmHWM") for pid in app_pids + nginx_pids}
            if args.diagnose:
                diagnose(plat, meter, urls["zip", "nginx"], nginx_pids, args.repeat)
        version = plat.server_version

    rows = []
    verdicts = []
    scenarios: list[tuple[str, str, float | None]] = [
        ("file", f"{FILE_SIZE / 1e6:.0f} MB file", FILE_TARGET),
        (
            "consultation",
            f"consultation ZIP, `/consultations/<pk>/files.zip` ({ZIP_FILES} files, "
            f"{archive_length / 1e9:.2f} GB, archive stored by the job)",
            ZIP_TARGET,
        ),
        (
            "zip",
            "reference: the same ZIP streamed by `serve_zip` (the route's fallback "
            "until the job has run)",
            ZIP_TARGET,
        ),
    ]
    if args.diagnose:
        scenarios.append(
            ("zip-no-crc", "diagnostic: the same ZIP, CRC-32 not computed (invalid)", None)
        )
    for what, label, target in scenarios:
        cpu = f"{meter.cpu_per_gb(what, 'app'):.2f} / {meter.cpu_per_gb(what, 'nginx'):.2f}"
        for clients in (1, 4):
            app, ref = meter.best[what, "app", clients], meter.best[what, "nginx", clients]
            ratio = app / ref
            if target is None:
                verdict = "no target"
            elif what == "zip":
                # Served only in the minutes before the job has run: shown for reference.
                verdict = f"≥ {target}: {'met' if ratio >= target else 'missed'} (fallback)"
            else:
                verdicts.append(ratio >= target)
                verdict = f"≥ {target}: {'met' if ratio >= target else '**missed**'}"
            rows.append(
                (
                    f"{label}, {clients} client{'s' if clients > 1 else ''}",
                    f"{app / 1e6:.0f} MB/s",
                    f"{ref / 1e6:.0f} MB/s",
                    f"{ratio:.2f}",
                    verdict,
                    cpu,
                )
            )
    header = ("Download (curl, loopback)", "platform", "nginx", "ratio", "target")
    results = table((*header, "server CPU s per GB: platform / nginx"), rows)
    growth = max(peaks[pid] - before[pid] for pid in app_pids) * 1024
    memory_ok = growth <= MEMORY_SLACK
    memory = table(
        ("process", "RSS before", "peak RSS (VmHWM) after all downloads"),
        [
            (
                f"{'gunicorn' if pid in app_pids else 'nginx'} worker {pid}",
                f"{before[pid] / 1024:.0f} MiB",
                f"{peaks[pid] / 1024:.0f} MiB",
            )
            for pid in app_pids + nginx_pids
        ],
    )
    print(results)
    print(memory)
    ok = all(verdicts) and memory_ok
    about = (
        f'Files stored through `store_file(policy="consultation_documents")` (the '
        f"{FILE_SIZE / 1e6:.0f} MB file in {store_seconds:.2f} s: type and name checked,\n"
        "SHA-256 and size measured while written, fsynced); the 20 files of 50 MB made the\n"
        "files of a published consultation, whose archive the job\n"
        "`procurement.tasks.archive_consultation_files` wrote with `store_zip` in "
        f"{archive_seconds:.1f} s\n"
        "(once per published version). Then downloaded with curl to /dev/null from the\n"
        f"platform (gunicorn, {WORKERS} sync workers, `mutualis.wsgi` as deployed: the file\n"
        "through the download view; the consultation's ZIP from its public route, which\n"
        "serves the stored archive through `core.files` (`FileResponse`, sendfile, ranges);\n"
        "for reference the same files streamed by `serve_zip`, the route's fallback until\n"
        "the job has run, from a route `bench/zip_app.py` adds) and from Debian's nginx\n"
        "(2 workers, `sendfile on`) serving the same file, the same stored archive, and the\n"
        f"streamed archive written once to disk. Best of {args.repeat} runs each, servers\n"
        "alternating; client and servers share the two cores of a machine shared with other\n"
        "sessions (load average below): rates swing with the neighbours' load, the CPU\n"
        "column does not. Both platform ZIPs were checked: announced length, opens with\n"
        "`zipfile`, every entry's SHA-256 equal to the stored file's.\n\n"
        f"Targets: file ≥ {FILE_TARGET} x nginx, consultation ZIP ≥ {ZIP_TARGET} x nginx, "
        f"worker memory flat (peak within {MEMORY_SLACK // 2**20} MiB of the size before): "
        f"{'all met' if ok else 'NOT all met (see below)'}; largest worker growth "
        f"{growth / 2**20:.1f} MiB.\n\n"
        "The last column is the servers' CPU time per GB sent (user + system of every\n"
        "worker, all runs). The stored archive costs the platform what a file costs it:\n"
        "gunicorn hands the descriptor to sendfile. The streamed ZIP cannot go out that\n"
        "way (WSGI sends one file by sendfile, not headers interleaved with files): each\n"
        "byte is read into Python, passed through zlib's CRC-32 by zipstream-ng, then\n"
        "copied into the socket; it is now served only until the job has archived the\n"
        "current version. With `--diagnose` a second server skips the CRC-32 (archives\n"
        "then invalid, no target)."
    )
    where = table(("Measured on", ""), machine(version))
    path = write_section("files", f"{about}\n\n{results}\n{memory}\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
