"""Benchmark: importing a 50 MB PES_Aller, against lxml's bare schema validation of the
same file in the same run.

Usage: ``DATABASE_URL=postgres://… python bench/pes_import.py [--megabytes 50]``

On a throwaway PostgreSQL database: a member with its SIRET, subscribed to the legality
service, and one accounting agent. The flow: a ``PES_Aller`` of expenses whose bordereaux
each carry an invoice attachment of about 300 KB (gzip then base64, as finance software
sends scanned invoices), not dematerialised (no signature to verify), about 50 MB in all.

Each measurement runs in a fresh process of its own, Django set up and the PES schema
loaded before the clock starts:

1. reference: ``lxml.etree.parse`` of the file and ``XMLSchema.validate`` against the
   same PES V2 schema;
2. the platform's import: ``legality.pes.services.import_flow`` as the agent's page calls
   it (read, parse and validate, identity and ``NomFic`` checks, the file stored with its
   SHA-256, the row and its audit event).

Time is wall time; memory is the process's peak resident memory above what it held when
the clock started (``VmHWM`` after resetting it, against ``VmRSS`` then). Target: the
import at most 2 x the reference's time and its memory. Rewrites the ``pes_import``
section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import REPO, machine, table, write_section
from serving import bench_platform, require_postgres

SIREN = "213102678"
SIRET = "21310267800012"
ATTACHMENT_BYTES = 300_000
TARGET = 2.0


def make_flow(path: Path, megabytes: int) -> int:
    """Write the flow; its size in bytes."""
    from mutualis.core.pdf import text_pdf
    from mutualis.legality.pes import samples

    pdf = text_pdf(["Facture", "Fournitures scolaires"], title="Facture")
    # A scanned invoice does not compress: random bytes after the PDF's end.
    scanned = pdf + os.urandom(ATTACHMENT_BYTES)
    per_bordereau = len(scanned) * 4 // 3 + 3000
    count = max(1, megabytes * 1_000_000 // per_bordereau)
    original = samples.text_pdf
    samples.text_pdf = lambda lines, title="": scanned  # type: ignore[assignment]
    try:
        data = samples.pes_aller(
            SIRET, bordereaux=range(1, count + 1), dematerialised=False, serial=1
        )
    finally:
        samples.text_pdf = original  # type: ignore[assignment]
    path.write_bytes(data)
    return len(data)


def prepare() -> int:
    """The member, its subscription and its accounting agent: the agent's membership id."""
    sys.path.insert(0, str(REPO))
    from tests.factories.core import OrganisationFactory
    from tests.factories.identity import make_member
    from tests.factories.legality import subscribe

    organisation = OrganisationFactory(
        name="Commune A", slug="commune-a", adhesion_status="member", siren=SIREN
    )
    organisation.siret = SIRET
    organisation.save(update_fields=["siret"])
    subscribe(organisation)
    agent = make_member(organisation, "comptable@example.org", roles=["legality_accountant"])
    return int(agent.pk)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> int:
    """Reset the process's peak resident memory (Linux: clear_refs 5); its RSS now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def child(kind: str, path: str, membership_id: int) -> None:
    """One measurement, in this fresh process; prints its figures as JSON."""
    import django

    django.setup()
    from django_scopes import scope, scopes_disabled
    from lxml import etree

    from mutualis.legality.pes import flows, services

    schema = flows.aller_schema()
    if kind == "import":
        from mutualis.identity.models import Membership

        with scopes_disabled():
            actor = Membership.objects.select_related("organisation", "user").get(pk=membership_id)
    before = _reset_peak()
    began = time.perf_counter()
    if kind == "reference":
        document = etree.parse(path, flows.parser())
        if not schema.validate(document):
            raise SystemExit(f"invalid: {schema.error_log.last_error}")
    else:
        # As the agent's page: inside the member's scope.
        with open(path, "rb") as source, scope(organisation=actor.organisation_id):
            flow = services.import_flow(actor=actor, upload=services.Upload(source, "pes.xml"))
        if flow.bordereaux < 1:
            raise SystemExit("nothing imported")
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "peak_kib": _status_kib("VmHWM") - before}))


def measure(env: dict[str, str], kind: str, path: Path, membership_id: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), str(membership_id)],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the {kind} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args, _others = parser.parse_known_args(argv)
    if args.child:
        kind, path, membership_id = args.child
        child(kind, path, int(membership_id))
        return 0
    admin_url = require_postgres("pes_import.py")
    with bench_platform(admin_url, "pes", {}) as plat:
        membership_id = prepare()
        with tempfile.TemporaryDirectory(prefix="mutualis-bench-pes-") as directory:
            path = Path(directory) / "pes_aller.xml"
            size = make_flow(path, args.megabytes)
            print(f"PES_Aller of {size / 1e6:.1f} MB; reference, then import…", flush=True)
            reference = measure(plat.env, "reference", path, membership_id)
            imported = measure(plat.env, "import", path, membership_id)
        version = plat.server_version

    time_ratio = imported["seconds"] / reference["seconds"]
    memory_ratio = imported["peak_kib"] / max(reference["peak_kib"], 1)
    met = time_ratio <= TARGET and memory_ratio <= TARGET
    rows = [
        ("reference: lxml parse + XMLSchema.validate", f"{reference['seconds']:.2f} s",
         f"{reference['peak_kib'] / 1024:.0f} MiB", "1.00", "1.00", ""),
        ("import_flow (parse, validate, checks, store, row, audit)",
         f"{imported['seconds']:.2f} s", f"{imported['peak_kib'] / 1024:.0f} MiB",
         f"{time_ratio:.2f}", f"{memory_ratio:.2f}",
         f"≤ {TARGET} both: {'met' if met else '**missed**'}"),
    ]  # fmt: skip
    body = (
        f"A PES_Aller of {size / 1e6:.1f} MB (expenses, each bordereau with an invoice "
        f"attachment of {ATTACHMENT_BYTES // 1000} KB, not dematerialised), each measurement "
        "in a fresh process with Django set up and the schema loaded before the clock; "
        "memory is the peak resident memory above the process's at the start.\n\n"
        + table(("Run", "Time", "Peak memory", "Time ratio", "Memory ratio", "Target"), rows)
        + "\n\n"
        + table(("Measured on", ""), machine(version))
    )
    print(body)
    write_section("pes_import", body)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
