"""Regenerate the vendored territory extract from the full Etalab files.

Usage: ``python scripts/extract_territory.py [--source DIR] [--dest DIR] [--region 27]``

The extract keeps the upstream format record for record, so that the importer reads
it exactly as it reads the full files, and ``import_territory --region 27`` gives the
same organisations from either. It holds, for the région:

- its current communes (the only ones the importer reads);
- every EPCI with at least one of those communes as a member, whole (members in other
  régions included: the importer links only the communes it has);
- its départements and the région itself.

Records are written one per line, as upstream does, so that a new release diffs well.
Plain Python on purpose: no Django, no project import, runnable on a bare checkout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "decoupage-administratif"
DEFAULT_DEST = REPO / "src" / "mutualis" / "core" / "data" / "territory"


def load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def dump(path: Path, records: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


def extract(source: Path, dest: Path, regions: set[str]) -> dict[str, int]:
    communes = [
        c
        for c in load(source / "communes.json")
        if c.get("type") == "commune-actuelle" and c.get("region") in regions
    ]
    codes = {c["code"] for c in communes}
    epcis = [e for e in load(source / "epci.json") if any(m["code"] in codes for m in e["membres"])]
    departements = [d for d in load(source / "departements.json") if d.get("region") in regions]
    regions_ = [r for r in load(source / "regions.json") if r.get("code") in regions]
    dest.mkdir(parents=True, exist_ok=True)
    dump(dest / "communes.json", communes)
    dump(dest / "epci.json", epcis)
    dump(dest / "departements.json", departements)
    dump(dest / "regions.json", regions_)
    shutil.copyfile(source / "LICENSE", dest / "LICENSE")
    return {
        "communes": len(communes),
        "epci": len(epcis),
        "departements": len(departements),
        "regions": len(regions_),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--region", action="append", dest="regions", default=[])
    args = parser.parse_args()
    counts = extract(args.source, args.dest, set(args.regions) or {"27"})
    sys.stdout.write("".join(f"{name}: {count}\n" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
